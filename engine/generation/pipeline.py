"""The quiz pipeline: selected exercises × seed × count → a header and a stream of copies."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from engine.authoring.bank import Bank
from engine.authoring.loader import CompiledExercise
from engine.authoring.params import POOL_PICK, parse_value
from engine.errors import TemplateError, UsageError
from engine.generation.quiz import BankRef, Copy, ExerciseSummary, QuizHeader, Variant
from engine.generation.sampling import Plan, pin_text
from engine.generation.variants import VariantMaker
from engine.language.values import ExprError, Value

MAX_SEED = 2**63 - 1
# An exercise with at most this many distinct variants repeats them when N is larger: each
# distinct one is made once and relabelled for its later copies.
REUSE_LIMIT = 4096


@dataclass
class Generated:
    """A generated quiz: its header, notices (repeating variants) and the stream of its copies."""

    header: QuizHeader
    notices: list[str]
    copies: Iterator[Copy]


def sheet_id(header: QuizHeader, index: int) -> str:
    """Sheet id printed on copy `index` (0-based), e.g. WI-7-0001."""
    return f"{header.bank.code}-{header.seed}-{index + 1:04d}"


def parse_pins(raw: Mapping[str, str], exercises: list[CompiledExercise]) -> dict[str, Value]:
    """Check `--param NAME=VALUE` pins against the selected exercises' drawn parameters: each value
    must be one that every selected exercise drawing NAME can take."""
    drawn = {d.name for ex in exercises for d in ex.space.drawn if d.name != POOL_PICK}  # a pool's pick is not pinned
    derived = {d.name for ex in exercises for d in ex.space.derived}
    pins: dict[str, Value] = {}
    for name, text in raw.items():
        if name not in drawn:
            hint = "it is derived from other parameters" if name in derived else (
                f"drawn parameters: {', '.join(sorted(drawn)) or 'none'}")
            raise UsageError(f"--param {name}: no selected exercise draws {name!r} ({hint})")
        where = f"--param {name}={text}"
        drawing = [(ex, d) for ex in exercises for d in ex.space.drawn if d.name == name]
        try:
            value: Value = parse_value(text, where)
        except ExprError as exc:
            # A text parameter is pinned by its text, a record parameter by its first field's.
            if all(d.kind == "number" for _, d in drawing):
                raise UsageError(str(exc)) from None
            value = text
        for ex, param in drawing:
            if param.index(value) is None:
                hint = "; --exercise selects the exercises to pin" if len(drawing) > 1 else ""
                raise UsageError(f"{where}: not a value {name} can take in {ex.id} ({param.domain()}){hint}")
        pins[name] = value
    return pins


def check_copies(copies: tuple[int, int] | None, count: int) -> tuple[int, int]:
    """The 1-based inclusive range of copies to make (all of them by default), checked."""
    if copies is None:
        return 1, count
    first, last = copies
    if not 1 <= first <= last <= count:
        raise UsageError(f"--copies {first}-{last}: expected A-B with 1 <= A <= B <= count ({count})")
    return first, last


def generate(
    bank: Bank,
    *,
    seed: int = 0,
    count: int = 1,
    exercise_ids: list[str] | None = None,
    params: Mapping[str, str] | None = None,
    unique: bool = False,
    copies: tuple[int, int] | None = None,
) -> Generated:
    """The one public call of generation: every writer, and grading, gets its copies from here.

    `copies=(A, B)` yields copies A..B only (1-based, inclusive, as the sheet ids number them),
    the same copies the full run yields there. Repeats (more variants asked than exist) are
    notices, or errors if `unique`.
    """
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed must be between 0 and {MAX_SEED} (got {seed})")
    if count < 1:
        raise UsageError(f"count must be at least 1 (got {count})")
    first, last = check_copies(copies, count)
    exercises = bank.select(exercise_ids or [])
    pins = parse_pins(params or {}, exercises)
    makers = [VariantMaker(ex, seed, pins) for ex in exercises]
    summaries, notices = [], []
    for ex, maker in zip(exercises, makers, strict=True):
        distinct = maker.distinct_count(wanted=count)
        repeats = distinct is not None and distinct < count
        if repeats:
            notices.append(f"{ex.id}: {distinct} distinct variant{'s' if distinct != 1 else ''}, "
                           f"{count} asked: variants repeat")
        summaries.append(ExerciseSummary(id=ex.id, title=ex.spec.title, kind=ex.kind, topic=ex.spec.topic,
                                         source=ex.path.name, distinct_variants=distinct, repeats=repeats))
    if unique and notices:
        raise UsageError("--unique: not enough distinct variants: " + "; ".join(notices))
    header = QuizHeader(
        seed=seed, count=count, pinned={k: str(v) for k, v in sorted((params or {}).items())},
        bank=BankRef(title=bank.info.title, code=bank.info.code, hash=bank.hash), exercises=summaries,
    )
    stream = _copies(header, makers, first - 1, last)
    # The first copy is made now: what stops it (a pin no draw can satisfy, a broken template) is
    # an error before any output is written, not in the middle of it.
    head = next(stream)
    return Generated(header=header, notices=notices, copies=itertools.chain([head], stream))


def _copies(header: QuizHeader, makers: list[VariantMaker], start: int, stop: int) -> Iterator[Copy]:
    """Copies start..stop-1 (0-based); copy i holds variant i of every exercise.

    Variant i must differ from the variants before it, so the plans of 0..start-1 are drawn
    too (drawing is cheap), but only the copies asked for are made.
    """
    streams = [maker.plans(stop) for maker in makers]
    made: list[dict[object, Variant] | None] = [
        {} if s.distinct_variants is not None and s.distinct_variants <= REUSE_LIMIT else None
        for s in header.exercises
    ]
    for index in range(stop):
        plans = [next(stream) for stream in streams]
        if index < start:
            continue
        variants = []
        for maker, plan, reuse in zip(makers, plans, made, strict=True):
            if reuse is None:
                variants.append(_materialize(maker, plan))
                continue
            # A variant's content depends on its draw and option order only, not on its index.
            key = (plan.values, plan.order)
            variant = reuse.get(key)
            if variant is None:
                variant = reuse[key] = _materialize(maker, plan)
            elif variant.index != index:
                variant = variant.model_copy(
                    update={"id": maker.variant_id(index), "index": index, "seed": plan.seed})
            variants.append(variant)
        yield Copy(index=index, sheet=sheet_id(header, index), variants=variants)


def _materialize(maker: VariantMaker, plan: Plan) -> Variant:
    """`maker.materialize(plan)`; a template error met under pins names them, since they chose the draw."""
    try:
        return maker.materialize(plan)
    except TemplateError as exc:
        if not maker.pins:
            raise
        raise UsageError(f"with {pin_text(maker.pins)}: {exc}") from None
