"""The quiz pipeline: selected exercises × seed × count → a header and a stream of copies."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from engine.authoring.bank import BANK_FILE, Bank
from engine.authoring.loader import CompiledExercise
from engine.authoring.params import POOL_PICK, parse_value
from engine.authoring.slots import SlotPool
from engine.errors import TemplateError, UsageError
from engine.generation.giveaways import giveaway_pairs
from engine.generation.parts import make_maker, relabel
from engine.generation.quiz import BankRef, Copy, ExerciseSummary, QuizHeader, SlotSummary, Variant
from engine.generation.sampling import Plan, pin_text
from engine.generation.slots import assign
from engine.generation.variants import VariantMaker
from engine.language.values import ExprError, Value

MAX_SEED = 2**63 - 1
# An exercise with at most this many distinct variants repeats them when N is larger: each
# distinct one is made once and relabelled for its later copies.
REUSE_LIMIT = 4096
# Up to this many sheets, the sheets each exercise of a slot lands on are counted exactly.
EXACT_USES = 100_000


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


def fixed_order(ex: CompiledExercise) -> bool:
    """Whether the exercise's option order is content: it does not shuffle, or pins an option."""
    options = getattr(ex.spec, "options", None)
    if not options:
        return False
    return not ex.spec.shuffle or any(option.pinned for option in options)


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
    topics: list[str] | None = None,
    tags: list[str] | None = None,
    shuffle: bool = True,
) -> Generated:
    """The one public call of generation: every writer, and grading, gets its copies from here.

    `copies=(A, B)` yields copies A..B only (1-based, inclusive, as the sheet ids number them),
    the same copies the full run yields there. Repeats (more variants asked than exist) are
    notices, or errors if `unique`. `exercise_ids`, `topics` and `tags` select as `Bank.select`
    does; with the bank's slots, they narrow the slots' pools. `shuffle=False` keeps every
    exercise's options in their authored order.
    """
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed must be between 0 and {MAX_SEED} (got {seed})")
    if count < 1:
        raise UsageError(f"count must be at least 1 (got {count})")
    first, last = check_copies(copies, count)
    selected = bank.select(exercise_ids or [], topics, tags)
    pools = _pools(bank, selected, exercise_ids or [])
    exercises = selected if pools is None else _in_pools(selected, pools)
    pins = parse_pins(params or {}, exercises)
    makers = [make_maker(ex, seed, pins, shuffle) for ex in exercises]
    samples = [_first(ex, seed, pins, shuffle) for ex in exercises]
    drawn = {ex.id: {d.name for d in ex.space.drawn} for ex in exercises}
    pairs = giveaway_pairs([[variant for _, group in samples for variant in group]], drawn)
    avoid = {frozenset((g.shows, g.answer_of)) for g in pairs}
    uses = dict.fromkeys((ex.id for ex in exercises), count) if pools is None else _uses(seed, count, pools, avoid)
    notices: list[str] = []
    summaries = []
    for ex, maker in zip(exercises, makers, strict=True):
        wanted = uses.get(ex.id, 0)
        distinct = maker.distinct_count(wanted=wanted)
        repeats = distinct is not None and distinct < wanted
        if repeats:
            notices.append(f"{ex.id}: {distinct} distinct variant{'s' if distinct != 1 else ''}, "
                           f"{wanted} asked: variants repeat")
        summaries.append(ExerciseSummary(id=ex.id, title=ex.spec.title, kind=ex.kind, topic=ex.spec.topic,
                                         source=ex.path.name, distinct_variants=distinct, repeats=repeats,
                                         # --no-shuffle: an LMS must keep the listed order too.
                                         fixed_order=fixed_order(ex) or (not shuffle and bool(ex.options))))
    if unique and notices:
        raise UsageError("--unique: not enough distinct variants: " + "; ".join(notices))
    if pools is None:
        # Without slots every sheet holds every selected exercise: the teacher is told, and
        # chooses (one slot for both, or leave one out), since dropping an item silently would not do.
        notices += [f"{g.shows} shows the answer to {g.answer_of} ({g.example}), and every sheet holds both: "
                    "put them in one slot of bank.yaml, or leave one out (docs/giveaways.md)" for g in pairs]
    header = QuizHeader(
        seed=seed, count=count, pinned={k: str(v) for k, v in sorted((params or {}).items())}, shuffle=shuffle,
        bank=BankRef(title=bank.info.title, code=bank.info.code, hash=bank.hash), exercises=summaries,
        slots=[SlotSummary(title=p.title, exercises=list(p.ids)) for p in pools or []],
    )
    reuse = _reuse(header, samples)
    if pools is None:
        stream = _copies(header, makers, reuse, first - 1, last)
    else:
        sheets = assign(seed, [p.ids for p in pools], avoid, count)
        stream = _slot_copies(header, dict(zip((ex.id for ex in exercises), makers, strict=True)), reuse,
                              sheets, first - 1, last)
    # The first copy is made now: what stops it (a pin no draw can satisfy, a broken template) is
    # an error before any output is written, not in the middle of it.
    head = next(stream)
    return Generated(header=header, notices=notices, copies=itertools.chain([head], stream))


def _uses(seed: int, count: int, pools: list[SlotPool], avoid: set[frozenset[str]]) -> dict[str, int]:
    """How many sheets hold each exercise of the pools: counted, up to EXACT_USES sheets; beyond,
    the even share of its pool (the counts only decide which variants repeat, and counting ten
    million sheets would cost minutes before a size check could refuse them)."""
    if count > EXACT_USES:
        return {e: -(-count // len(pool.ids)) for pool in pools for e in pool.ids}
    return Counter(e for sheet in assign(seed, [p.ids for p in pools], avoid, count) for e in sheet)


def _pools(bank: Bank, selected: list[CompiledExercise], named: list[str]) -> list[SlotPool] | None:
    """The bank's slots narrowed to the selected exercises (empty ones left out); None without slots.

    Raises:
        UsageError: an exercise named with --exercise that is in no slot, or no slot left.
    """
    if not bank.slots:
        return None
    in_slots = {e for pool in bank.slots for e in pool.ids}
    outside = [e for e in named if e not in in_slots]
    if outside:
        raise UsageError(f"exercise {outside[0]!r} is in no slot of the bank's {BANK_FILE}, so no sheet holds it")
    chosen = {ex.id for ex in selected}
    pools = [SlotPool(pool.title, tuple(e for e in pool.ids if e in chosen)) for pool in bank.slots]
    pools = [pool for pool in pools if pool.ids]
    if not pools:
        raise UsageError(f"no selected exercise is in a slot of the bank's {BANK_FILE}")
    return pools


def _in_pools(selected: list[CompiledExercise], pools: list[SlotPool]) -> list[CompiledExercise]:
    """The exercises of the pools, slot by slot."""
    by_id = {ex.id: ex for ex in selected}
    return [by_id[e] for pool in pools for e in pool.ids]


# A plan's variants by content: one, or one per part of a multi-part exercise.
Reuse = dict[object, list[Variant]] | None


def _first(ex: CompiledExercise, seed: int, pins: Mapping[str, Value], shuffle: bool = True) -> tuple[Plan, list[Variant]]:
    """Variant 0 of an exercise and its plan, from a sampler of its own (the quiz's start the same)."""
    maker = make_maker(ex, seed, pins, shuffle)
    plan = next(maker.plans(1))
    return plan, _materialize(maker, plan)


def _reuse(header: QuizHeader, samples: list[tuple[Plan, list[Variant]]]) -> list[Reuse]:
    """Per exercise, the variants already made by their content (its first one, made to look for
    give-aways, among them), when it has few enough distinct variants to keep them all."""
    first = {group[0].exercise: (plan, group) for plan, group in samples}
    made: list[Reuse] = []
    for summary in header.exercises:
        small = summary.distinct_variants is not None and summary.distinct_variants <= REUSE_LIMIT
        found = first.get(summary.id)
        made.append(None if not small else {} if found is None else {(found[0].values, found[0].order): found[1]})
    return made


def _variant(maker: VariantMaker, plan: Plan, reuse: Reuse) -> list[Variant]:
    """The variants of `plan` (one per part of a multi-part exercise), made once per distinct
    content when `reuse` keeps them."""
    if reuse is None:
        return _materialize(maker, plan)
    # A variant's content depends on its draw and option order only, not on its index.
    key = (plan.values, plan.order)
    group = reuse.get(key)
    if group is None:
        group = reuse[key] = _materialize(maker, plan)
    elif group[0].index != plan.index:
        group = relabel(group, maker, plan.index, plan.seed)
    return group


def _copies(header: QuizHeader, makers: list[VariantMaker], made: list[Reuse], start: int, stop: int) -> Iterator[Copy]:
    """Copies start..stop-1 (0-based); copy i holds variant i of every exercise.

    Variant i must differ from the variants before it, so the plans of 0..start-1 are drawn
    too (drawing is cheap), but only the copies asked for are made.
    """
    streams = [maker.plans(stop) for maker in makers]
    for index in range(stop):
        plans = [next(stream) for stream in streams]
        if index < start:
            continue
        variants = [v for maker, plan, reuse in zip(makers, plans, made, strict=True) for v in _variant(maker, plan, reuse)]
        yield Copy(index=index, sheet=sheet_id(header, index), variants=variants)


def _slot_copies(header: QuizHeader, makers: dict[str, VariantMaker], made: list[Reuse],
                 sheets: Iterator[tuple[str, ...]], start: int, stop: int) -> Iterator[Copy]:
    """Copies start..stop-1 of a bank with slots: copy i holds, for each slot, the exercise the
    assignment gives it, and an exercise's k-th appearance is its variant k (so its variants stay
    distinct over the sheets that hold it)."""
    # Plans are drawn lazily: `stop` bounds any exercise's appearances.
    streams = {e: maker.plans(stop) for e, maker in makers.items()}
    reuse = dict(zip(makers, made, strict=True))
    for index, sheet in zip(range(stop), sheets, strict=False):  # `sheets` holds count >= stop sheets
        plans = [(e, next(streams[e])) for e in sheet]
        if index < start:
            continue
        variants = [v for e, plan in plans for v in _variant(makers[e], plan, reuse[e])]
        yield Copy(index=index, sheet=sheet_id(header, index), variants=variants)


def _materialize(maker: VariantMaker, plan: Plan) -> list[Variant]:
    """`maker.group(plan)`; a template error met under pins names them, since they chose the draw."""
    try:
        return maker.group(plan)
    except TemplateError as exc:
        if not maker.pins:
            raise
        raise UsageError(f"with {pin_text(maker.pins)}: {exc}") from None
