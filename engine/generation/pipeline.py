"""The quiz pipeline: selected exercises × seed × count → a header and streams of variants."""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.authoring.bank import Bank
from engine.authoring.loader import CompiledExercise
from engine.authoring.params import parse_value
from engine.errors import UsageError
from engine.generation.quiz import BankRef, Copy, ExerciseSummary, Quiz, QuizHeader
from engine.generation.variants import Plan, VariantMaker
from engine.language.exact import ExprError, Value

MAX_SEED = 2**63 - 1
CHUNK = 50  # variants or copies per task: large enough to amortise, small enough to stream
R = TypeVar("R")
# The plan a forked worker renders for: set before the pool forks, so workers inherit it.
_ACTIVE: QuizPlan | None = None


def _work(task: tuple) -> Any:
    assert _ACTIVE is not None
    return _ACTIVE.run(task)


def _identity(plan: QuizPlan, items: list) -> list:
    return items


@dataclass
class QuizPlan:
    """A quiz ready to stream: its header, one variant maker per exercise, and notices."""

    header: QuizHeader
    makers: list[VariantMaker]
    notices: list[str] = field(default_factory=list)
    jobs: int = 1
    # Per-process scratch space for writers (such as output already made for a repeated
    # variant): workers inherit the plan when they fork and each keeps its own.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _pool: Any = field(default=None, repr=False)

    def sheet_id(self, index: int) -> str:
        """Sheet id printed on copy `index`, e.g. WI-7-0001."""
        return f"{self.header.bank.code}-{self.header.seed}-{index + 1:04d}"

    def run(self, task: tuple) -> Any:
        """One chunk of work: copies materialised, variant plans rendered, or candidates drawn and rendered."""
        what, k, payload, render = task
        if what == "copies":
            copies = [
                Copy.trusted(index=i, sheet=self.sheet_id(i),
                             variants=[m.materialize(p) for m, p in zip(self.makers, plans, strict=True)])
                for i, plans in payload
            ]
            return render(self, copies)
        if what == "ahead":
            maker = self.makers[k]
            candidates = [maker.candidate(index) for index in range(*payload)]
            # Rendered here, next to their draws (memoised values, warm caches: rendered
            # elsewhere, a plan costs about twice as much); one string and the lengths go back.
            outputs = ["" if c is None else render(self, k, [c]) for c in candidates]
            return candidates, "".join(outputs), [len(output) for output in outputs]
        return render(self, k, payload)

    @contextlib.contextmanager
    def workers(self) -> Iterator[QuizPlan]:
        """Within this block, rendering runs on `jobs` processes; output is identical to one."""
        global _ACTIVE
        if self.jobs <= 1:
            yield self
            return
        _ACTIVE = self
        # Objects made so far (modules, the compiled bank) live on in every worker: frozen, the
        # collector never walks them there, so their pages stay shared instead of being copied.
        gc.freeze()
        try:
            with multiprocessing.get_context("fork").Pool(self.jobs) as pool:
                self._pool = pool
                try:
                    yield self
                finally:
                    self._pool = None
                    _ACTIVE = None
        finally:
            gc.unfreeze()

    def _ordered(self, tasks: Iterable[tuple]) -> Iterator[Any]:
        # Results come back in task order; a bounded number in flight keeps memory flat.
        if self._pool is None:
            for task in tasks:
                yield self.run(task)
            return
        pending: deque = deque()
        for task in tasks:
            pending.append(self._pool.apply_async(_work, (task,)))
            if len(pending) >= 4 * self.jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def map_copies(self, render: Callable[[QuizPlan, list[Copy]], R]) -> Iterator[R]:
        """render(plan, copies) over consecutive chunks of copies, in order."""
        streams = [maker.plans(self.header.count) for maker in self.makers]

        def tasks() -> Iterator[tuple]:
            for start in range(0, self.header.count, CHUNK):
                stop = min(self.header.count, start + CHUNK)
                yield "copies", -1, [(i, [next(s) for s in streams]) for i in range(start, stop)], render

        return self._ordered(tasks())

    def map_variants(self, k: int, render: Callable[[QuizPlan, int, list[Plan]], str], *,
                     spread: bool = True) -> Iterator[str]:
        """render(quiz_plan, k, plans) over consecutive chunks of exercise k's variant plans, in
        order; render materialises them (`makers[k].materialize`), or reuses what it made before.
        With workers, `spread` has them draw and render; otherwise this process does it all."""
        if self._pool is not None and spread:
            return self._ahead(k, render)
        iterator = self.makers[k].plans(self.header.count)

        def chunks() -> Iterator[str]:
            # No workers, or work cheaper to do here than to send to one and back.
            while chunk := list(itertools.islice(iterator, CHUNK)):
                yield self.run(("variants", k, chunk, render))

        return chunks()

    def _ahead(self, k: int, render: Callable[[QuizPlan, int, list[Plan]], str]) -> Iterator[str]:
        # Drawing is serial (a variant must differ from those before it), but a draw is rarely
        # a repeat: workers draw each variant as if its first usable draw were new and render it;
        # here, in order, a candidate that `_next` would not take is drawn again and re-rendered.
        maker, count = self.makers[k], self.header.count
        tasks = (("ahead", k, (start, min(count, start + CHUNK)), render) for start in range(0, count, CHUNK))
        seen: set[int | tuple[int, ...]] = set()
        index = 0
        for candidates, joined, lengths in self._ordered(tasks):
            plans = []
            for candidate in candidates:
                plans.append(maker.confirm(candidate, index, seen))
                index += 1
            if all(plan is candidate for plan, candidate in zip(plans, candidates, strict=True)):
                yield joined
                continue
            pieces, start = [], 0
            for plan, candidate, length in zip(plans, candidates, lengths, strict=True):
                pieces.append(joined[start:start + length] if plan is candidate else render(self, k, [plan]))
                start += length
            yield "".join(pieces)

    def copies(self) -> Iterator[Copy]:
        """Copy i holds variant i of every exercise; variants are made as the copies are read."""
        for chunk in self.map_copies(_identity):
            yield from chunk

    def quiz(self) -> Quiz:
        """The whole quiz in memory (for small quizzes and tests)."""
        return Quiz(**self.header.model_dump(), copies=list(self.copies()))


def parse_pins(raw: Mapping[str, str], exercises: list[CompiledExercise]) -> dict[str, Value]:
    """Check `--param NAME=VALUE` pins against the selected exercises' drawn parameters."""
    drawn = {d.name for ex in exercises for d in ex.space.drawn}
    derived = {d.name for ex in exercises for d in ex.space.derived}
    pins: dict[str, Value] = {}
    for name, text in raw.items():
        if name not in drawn:
            hint = "it is derived from other parameters" if name in derived else (
                f"drawn parameters: {', '.join(sorted(drawn)) or 'none'}")
            raise UsageError(f"--param {name}: no selected exercise draws {name!r} ({hint})")
        try:
            pins[name] = parse_value(text, f"--param {name}")
        except ExprError as exc:
            raise UsageError(str(exc)) from None
    return pins


def plan_quiz(
    bank: Bank,
    *,
    seed: int = 0,
    count: int = 1,
    exercise_ids: list[str] | None = None,
    params: Mapping[str, str] | None = None,
    unique: bool = False,
    jobs: int = 1,
) -> QuizPlan:
    """Prepare a quiz; repeats (more variants asked than exist) are notices, or errors if unique."""
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"seed must be between 0 and {MAX_SEED} (got {seed})")
    if count < 1:
        raise UsageError(f"count must be at least 1 (got {count})")
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
    return QuizPlan(header=header, makers=makers, notices=notices, jobs=max(1, jobs))


@dataclass
class Generated:
    """A generated quiz: its header, notices (repeating variants) and the stream of its copies."""

    header: QuizHeader
    notices: list[str]
    copies: Iterator[Copy]


def generate(
    bank: Bank,
    *,
    seed: int = 0,
    count: int = 1,
    exercise_ids: list[str] | None = None,
    params: Mapping[str, str] | None = None,
    unique: bool = False,
) -> Generated:
    """The one public call of generation: every writer, and grading, gets its copies from here."""
    plan = plan_quiz(bank, seed=seed, count=count, exercise_ids=exercise_ids, params=params, unique=unique)
    return Generated(header=plan.header, notices=plan.notices, copies=plan.copies())
