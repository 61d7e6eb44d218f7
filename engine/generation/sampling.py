"""Sampling the variants of one exercise: draws that meet the constraints and show distinct options,
kept distinct from each other while the space has enough, and counted exactly when it is small."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from engine.authoring.loader import CompiledExercise
from engine.authoring.params import ENUMERATION_LIMIT, variant_seed
from engine.errors import TemplateError
from engine.generation.solving import Clash, describe_env
from engine.language.values import Value

MAX_DRAWS = 100  # draws per variant before falling back to exact enumeration
COUNT_EAGERLY_BELOW = 4096  # spaces this small are always counted
COUNT_ON_DUPLICATE_BELOW = 20_000  # a duplicate draw triggers an exact count below this size

Env = dict[str, Value]
Key = int | tuple[int, ...]  # what makes a variant distinct (see `Sampler.key`)


@dataclass
class Stats:
    """What sampling had to reject, reported by `check`."""

    draws: int = 0
    constraint_rejects: int = 0
    clashes: int = 0
    duplicates: int = 0

    def add(self, other: Stats) -> None:
        self.draws += other.draws
        self.constraint_rejects += other.constraint_rejects
        self.clashes += other.clashes
        self.duplicates += other.duplicates


@dataclass(frozen=True, slots=True)
class Plan:
    """Variant `index` of an exercise: its seed, drawn values (in the space's order) and option order."""

    index: int
    seed: int
    values: tuple[Value, ...]
    order: tuple[int, ...]


def option_order(ex: CompiledExercise, rng: random.Random, shuffles: bool) -> tuple[int, ...]:
    """Displayed order of the options: pinned ones stay put, the others are shuffled."""
    count = len(ex.options)
    if not shuffles:
        return tuple(range(count))
    free = [i for i, option in enumerate(ex.options) if not option.pinned]
    rng.shuffle(free)
    moves = iter(free)
    return tuple(i if ex.options[i].pinned else next(moves) for i in range(count))


class Sampler:
    """Plans the variants of one exercise under one quiz seed.

    `check(env)` raises Clash for a draw whose options (or misconceptions) coincide.
    """

    def __init__(self, ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value],
                 check: Callable[[Env], object]) -> None:
        self.ex = ex
        self.quiz_seed = quiz_seed
        self.space = ex.space.pinned(pins) if pins else ex.space
        self.drawn = tuple(d.name for d in self.space.drawn)
        self.check = check
        self.stats = Stats()
        self.shuffles = bool(ex.options) and bool(getattr(ex.spec, "shuffle", False))
        self._count: int | None = None
        self._counted = False
        self._valid_envs: list[Env] | None = None
        if pins:
            env = self.space.draw(random.Random(0), ex.symbols)
            failed = self.space.failed_constraint(env) if self.space.size() == 1 else None
            if failed is not None:
                raise ex.error(["constraints", failed.index],
                               f"pinned values violate {failed.expr.source!r} ({describe_env(ex, env)})")

    def env(self, plan: Plan) -> Env:
        """Every parameter of a plan's draw, derived ones and free symbols included."""
        return self.space.complete(dict(zip(self.drawn, plan.values, strict=True)), self.ex.symbols)

    # -- counting -------------------------------------------------------------------------

    def permutations(self) -> int:
        if not self.shuffles:
            return 1
        return math.factorial(sum(not o.pinned for o in self.ex.options))

    def distinct_count(self, force: bool = False, wanted: int = 0) -> int | None:
        """How many distinct variants exist, or None when the space is too large to count.

        Small spaces are always counted; larger ones only when `force` or when `wanted`
        variants could exhaust them.
        """
        if self._counted:
            return self._count
        if not self.space.drawn:
            self._count, self._counted = self.permutations(), True
            return self._count
        size = self.space.size()
        if not self.space.constraints and not self.ex.options and not self.ex.distractors:
            # Nothing can reject a draw: every combination is a distinct variant.
            self._count, self._counted = size, True
            return size
        if size > ENUMERATION_LIMIT or not (force or size <= COUNT_EAGERLY_BELOW or wanted * 4 > size):
            return None
        self._valid_envs = self.usable_envs()
        self._count, self._counted = len(self._valid_envs), True
        return self._count

    def usable_envs(self) -> list[Env]:
        """Every usable draw, in the space's order."""
        return [env for env in self.space.enumerate(self.ex.symbols) if self._usable(env)]

    def _usable(self, env: Env) -> bool:
        if self.space.failed_constraint(env) is not None:
            return False
        try:
            self.check(env)
        except Clash:
            return False
        return True

    # -- plans ----------------------------------------------------------------------------

    def key(self, env: Mapping[str, Value], order: tuple[int, ...]) -> Key:
        """What makes a variant distinct: its draw (the option order too when nothing is drawn)."""
        if self.space.drawn:
            return self.space.combination(env)
        return order

    def plans(self, count: int) -> Iterator[Plan]:
        """Which draw and option order each of variants 0..count-1 gets, distinct while the space has enough."""
        seen: set[Key] = set()
        for index in range(count):
            yield self._next(index, seen)

    def _plan(self, index: int, seed: int, env: Mapping[str, Value], order: tuple[int, ...]) -> Plan:
        return Plan(index, seed, tuple([env[name] for name in self.drawn]), order)

    def _next(self, index: int, seen: set[Key]) -> Plan:
        seed = variant_seed(self.quiz_seed, self.ex.id, index)
        if seen and not self.space.drawn and not self.shuffles:
            # Nothing is random (a fixed question): every variant is the first one again.
            self.stats.draws += 1
            return Plan(index, seed, (), tuple(range(len(self.ex.options))))
        rng = random.Random(seed)
        exhausted = self._counted and self._count is not None and len(seen) >= self._count
        for env, order in self._usable_draws(rng):
            key = self.key(env, order)
            if key in seen and not exhausted:
                self.stats.duplicates += 1
                # Counting tells whether the space is used up; in a large space a duplicate is
                # only bad luck, and counting it would cost far more than drawing again.
                if not self._counted and self.space.size() <= COUNT_ON_DUPLICATE_BELOW:
                    self.distinct_count(force=True)
                    exhausted = self._count is not None and len(seen) >= self._count
                continue
            seen.add(key)
            return self._plan(index, seed, env, order)
        if not self.space.drawn:
            return self._fallback_order(index, seed, rng, seen)
        return self._fallback_draw(index, seed, rng, seen)

    def _usable_draws(self, rng: random.Random) -> Iterator[tuple[Env, tuple[int, ...]]]:
        """rng's draws that meet the constraints and show distinct options, each with its option
        order (drawn right after it), out of at most MAX_DRAWS draws."""
        for _ in range(MAX_DRAWS):
            self.stats.draws += 1
            env = self.space.draw(rng, self.ex.symbols)
            if self.space.failed_constraint(env) is not None:
                self.stats.constraint_rejects += 1
                continue
            try:
                self.check(env)
            except Clash:
                self.stats.clashes += 1
                continue
            yield env, option_order(self.ex, rng, self.shuffles)

    def _fallback_order(self, index: int, seed: int, rng: random.Random, seen: set[Key]) -> Plan:
        """Nothing is drawn and random orders keep repeating: pick among the unseen orders."""
        ex = self.ex
        orders = list(itertools.permutations(range(len(ex.options)))) if ex.options else [()]
        orders = [o for o in orders if all(o[i] == i for i, opt in enumerate(ex.options) if opt.pinned)]
        env = self.space.complete({}, ex.symbols)
        try:
            self.check(env)
        except Clash:
            loc = ["options"] if ex.options else ["distractors"]
            raise TemplateError("two options (or misconceptions) are always equal, as values or as shown "
                                "(expected pairwise different ones)",
                                path=ex.source, line=ex.lines.line(loc), field=loc[0]) from None
        unseen = [o for o in orders if o not in seen]
        order = rng.choice(unseen or orders)
        seen.add(order)
        return self._plan(index, seed, env, order)

    def _fallback_draw(self, index: int, seed: int, rng: random.Random, seen: set[Key]) -> Plan:
        """Random draws keep failing: pick uniformly among the exactly enumerated usable draws."""
        ex = self.ex
        self.distinct_count(force=True)
        if self._valid_envs is None and self.space.size() <= ENUMERATION_LIMIT:
            self._valid_envs = self.usable_envs()
        if self._valid_envs is None:
            raise TemplateError(
                f"no usable parameters found in {MAX_DRAWS} draws and the space ({self.space.size()} "
                f"combinations) is too large to enumerate (loosen the constraints)",
                path=ex.source, line=ex.lines.line(["constraints"]), field="constraints",
            )
        if not self._valid_envs:
            loc = ["constraints"] if ex.space.constraints else ["params"]
            raise TemplateError(
                "no parameter values satisfy the constraints with distinct options (expected at least one)",
                path=ex.source, line=ex.lines.line(loc), field=loc[0],
            )
        unseen = [env for env in self._valid_envs if self.key(env, ()) not in seen]
        env = dict(rng.choice(unseen or self._valid_envs))
        order = option_order(ex, rng, self.shuffles)
        seen.add(self.key(env, order))
        return self._plan(index, seed, env, order)
