"""Sampling the variants of one exercise: draws that meet the constraints and show distinct options,
kept distinct from each other while the space has enough, and counted exactly when it is small."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from engine.authoring.loader import CompiledExercise
from engine.authoring.params import ENUMERATION_LIMIT, variant_seed
from engine.errors import QuizwrightError, TemplateError, UsageError
from engine.generation.fields import describe_env
from engine.generation.solving import Clash
from engine.language.values import Value

MAX_DRAWS = 100  # draws per variant before falling back to exact enumeration
COUNT_EAGERLY_BELOW = 4096  # spaces this small are always counted
COUNT_ON_DUPLICATE_BELOW = 20_000  # a duplicate draw triggers an exact count below this size

Env = dict[str, Value]
Key = int | tuple[int, ...]  # what makes a variant distinct: its draw's combination, or its option order when nothing is drawn


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


# Not frozen: one is made per variant, and a frozen dataclass costs twice as much to make.
@dataclass(slots=True)
class Plan:
    """Variant `index` of an exercise: its seed, drawn values (in the space's order) and option order."""

    index: int
    seed: int
    values: tuple[Value, ...]
    order: tuple[int, ...]


def pin_text(pins: Mapping[str, Value]) -> str:
    """Pins as the command line gives them: `--param n_in=3 --param n_out=3`."""
    return " ".join(f"--param {name}={value}" for name, value in pins.items())


def option_order(ex: CompiledExercise, rng: random.Random, shuffles: bool) -> tuple[int, ...]:
    """Displayed order of the options: pinned ones stay put, the others are shuffled."""
    pinned = ex.shown_pinned  # a pool's drawn distractors, after the listed options, are never pinned
    count = len(pinned)
    if not shuffles:
        return tuple(range(count))
    free = [i for i in range(count) if not pinned[i]]
    rng.shuffle(free)
    if len(free) == count:
        return tuple(free)
    moves = iter(free)
    return tuple(i if pinned[i] else next(moves) for i in range(count))


class Pool:
    """The keys of every usable draw (or option order) in the space's order, and which are unseen.

    A Fenwick tree over the unseen flags finds the k-th unseen key and marks a key seen in
    O(log n): picking as `rng.choice(unseen)` would, without listing the unseen ones.
    """

    def __init__(self, keys: Sequence[Key], seen: Collection[Key]) -> None:
        self.keys = keys
        self._first: dict[Key, int] = {}
        self._later: dict[Key, list[int]] = {}  # a list that repeats a value gives its key several positions
        self.unseen = 0
        size = len(keys)
        tree = [0] * (size + 1)
        for position, key in enumerate(keys):
            if self._first.setdefault(key, position) != position:
                self._later.setdefault(key, []).append(position)
            node = position + 1
            if key not in seen:
                self.unseen += 1
                tree[node] += 1
            parent = node + (node & -node)
            if parent <= size:
                tree[parent] += tree[node]
        self._tree = tree

    def __len__(self) -> int:
        return len(self.keys)

    def mark(self, key: Key) -> None:
        """Mark seen a key that was unseen."""
        for position in (self._first[key], *self._later.get(key, ())):
            self.unseen -= 1
            node = position + 1
            while node < len(self._tree):
                self._tree[node] -= 1
                node += node & -node

    def pick(self, rng: random.Random) -> int:
        """Position of a uniformly chosen unseen key (of any key once all are seen), as
        `rng.choice` over them chooses it."""
        if not self.unseen:
            return rng.choice(range(len(self.keys)))
        rest = rng.choice(range(self.unseen)) + 1
        node, step = 0, 1 << (len(self.keys).bit_length() - 1)
        while step:
            if node + step < len(self._tree) and self._tree[node + step] < rest:
                node += step
                rest -= self._tree[node]
            step >>= 1
        return node


class Sampler:
    """Plans the variants of one exercise under one quiz seed.

    `check(env)` raises Clash for a draw whose options (or misconceptions) coincide. Once random
    draws have failed for a variant (the fallback) and half the usable draws are taken, the rest
    of them are picked among the unseen draws directly.
    """

    def __init__(self, ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value],
                 check: Callable[[Env], object], shuffle: bool = True) -> None:
        self.ex = ex
        self.quiz_seed = quiz_seed
        self.space = ex.space.pinned(pins) if pins else ex.space
        self.drawn = tuple(d.name for d in self.space.drawn)
        self.check = check
        # Without options or misconceptions nothing can coincide: the screen cannot reject a draw.
        self.clashable = bool(ex.options or ex.distractors)
        self.stats = Stats()
        # `shuffle=False` (generate --no-shuffle) keeps every exercise's authored order.
        self.shuffles = shuffle and bool(ex.options) and bool(getattr(ex.spec, "shuffle", False))
        self._unshuffled = tuple(range(len(ex.shown_pinned)))
        self._count: int | None = None
        self._counted = False
        self._pool: Pool | None = None  # built when the fallback is first needed
        self.pins = dict(pins)
        if pins:
            env = self.space.draw(random.Random(0), ex.symbols)
            failed = self.space.failed_constraint(env) if self.space.size() == 1 else None
            if failed is not None:
                line = ex.lines.line(["constraints", failed.index])
                raise UsageError(f"{pin_text(pins)}: breaks the constraint {failed.expr.source!r} of {ex.id} "
                                 f"({ex.source}:{line}) at {describe_env(ex, env)}")

    def env(self, plan: Plan) -> Env:
        """Every parameter of a plan's draw, derived ones and free symbols included."""
        return self.space.complete(dict(zip(self.drawn, plan.values, strict=True)), self.ex.symbols)

    # -- counting -------------------------------------------------------------------------

    def permutations(self) -> int:
        if not self.shuffles:
            return 1
        return math.factorial(sum(not pinned for pinned in self.ex.shown_pinned))

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
        if not self.space.constraints and not self.clashable:
            # Nothing can reject a draw: every combination is a distinct variant.
            self._count, self._counted = size, True
            return size
        if size > ENUMERATION_LIMIT or not (force or size <= COUNT_EAGERLY_BELOW or wanted * 4 > size):
            return None
        self._count, self._counted = len(self._usable_draws[0]), True
        return self._count

    @cached_property
    def _usable_draws(self) -> tuple[list[Key], list[tuple[Value, ...]]]:
        """The key and drawn values of every usable draw, in the space's order."""
        keys: list[Key] = []
        draws: list[tuple[Value, ...]] = []
        rejected = Stats()  # enumeration is not drawing: its rejections are not reported
        for combo in self.space.combinations():
            if self._usable(combo, rejected):
                keys.append(self.space.combination(combo))
                draws.append(combo)
        return keys, draws

    def usable_envs(self) -> list[Env]:
        """Every usable draw, in the space's order."""
        return [self.space.complete(dict(zip(self.drawn, combo, strict=True)), self.ex.symbols)
                for combo in self._usable_draws[1]]

    def _usable(self, values: tuple[Value, ...], stats: Stats) -> bool:
        """Whether drawn values meet the constraints and show distinct options; rejections count in `stats`."""
        if not self.space.constraints and not self.clashable:
            return True
        env = self.space.complete(dict(zip(self.drawn, values, strict=True)), self.ex.symbols)
        if self.space.failed_constraint(env) is not None:
            stats.constraint_rejects += 1
            return False
        if self.clashable:
            try:
                self.check(env)
            except Clash:
                stats.clashes += 1
                return False
        return True

    # -- plans ----------------------------------------------------------------------------

    def plans(self, count: int) -> Iterator[Plan]:
        """Which draw and option order each of variants 0..count-1 gets, distinct while the space has enough."""
        seen: set[Key] = set()
        for index in range(count):
            yield self._next(index, seen)

    def _next(self, index: int, seen: set[Key]) -> Plan:
        seed = variant_seed(self.quiz_seed, self.ex.id, index)
        if seen and not self.space.drawn and not self.shuffles:
            # Nothing is random (a fixed question): every variant is the first one again.
            self.stats.draws += 1
            return Plan(index, seed, (), self._unshuffled)
        rng = random.Random(seed)
        if self._pool is not None and 0 < 2 * self._pool.unseen <= len(self._pool):
            # Near exhaustion random draws mostly repeat: pick among the unseen ones directly (once
            # none is left, repeats are drawn at random: any usable draw will do).
            return self._pick(index, seed, rng, seen)
        exhausted = self._counted and self._count is not None and len(seen) >= self._count
        drawn = bool(self.space.drawn)
        for _ in range(MAX_DRAWS):
            self.stats.draws += 1
            values, combination = self.space.draw_combination(rng)
            # A draw seen before was usable then, and usability depends on the draw alone.
            known = combination in seen if drawn else bool(seen)
            if not known and not self._usable(values, self.stats):
                continue
            # The option order is drawn right after the draw; without a draw, it is the key.
            order = option_order(self.ex, rng, self.shuffles) if self.shuffles else self._unshuffled
            key: Key = combination if drawn else order
            if key in seen and not exhausted:
                self.stats.duplicates += 1
                # Counting tells whether the space is used up; in a large space a duplicate is
                # only bad luck, and counting it would cost far more than drawing again.
                if not self._counted and self.space.size() <= COUNT_ON_DUPLICATE_BELOW:
                    self.distinct_count(force=True)
                    exhausted = self._count is not None and len(seen) >= self._count
                continue
            return self._accept(index, seed, values, order, key, seen)
        return self._pick(index, seed, rng, seen)

    def _accept(self, index: int, seed: int, values: tuple[Value, ...], order: tuple[int, ...], key: Key,
                seen: set[Key]) -> Plan:
        if key not in seen:
            seen.add(key)
            if self._pool is not None:
                self._pool.mark(key)
        return Plan(index, seed, values, order)

    def _pick(self, index: int, seed: int, rng: random.Random, seen: set[Key]) -> Plan:
        """Random draws keep failing: pick uniformly among the exactly enumerated usable draws
        (or option orders), unseen ones first."""
        pool = self._pool if self._pool is not None else self._build_pool(seen)
        position = pool.pick(rng)
        if not self.space.drawn:
            order = pool.keys[position]
            assert isinstance(order, tuple)
            return self._accept(index, seed, (), order, order, seen)
        order = option_order(self.ex, rng, self.shuffles)
        return self._accept(index, seed, self._usable_draws[1][position], order, pool.keys[position], seen)

    def _build_pool(self, seen: set[Key]) -> Pool:
        """The pool of usable draws (or option orders), built when random draws first fail."""
        self._pool = Pool(self._draw_keys() if self.space.drawn else self._order_keys(), seen)
        return self._pool

    def _order_keys(self) -> list[Key]:
        ex = self.ex
        if self.space.failed_constraint(self.space.complete({}, ex.symbols)) is not None:
            raise self._unsatisfiable()
        if not self._usable((), Stats()):
            loc = ["options"] if ex.options else ["distractors"]
            raise TemplateError("two options (or misconceptions) are always equal, as values or as shown "
                                "(expected pairwise different ones)",
                                path=ex.source, line=ex.lines.line(loc), field=loc[0])
        orders = itertools.permutations(range(len(ex.options))) if ex.options else [()]
        return [o for o in orders if all(o[i] == i for i, opt in enumerate(ex.options) if opt.pinned)]

    def _draw_keys(self) -> list[Key]:
        ex = self.ex
        self.distinct_count(force=True)
        if self.space.size() > ENUMERATION_LIMIT:
            error = TemplateError(
                f"no usable parameters found in {MAX_DRAWS} draws and the space ({self.space.size()} "
                f"combinations) is too large to enumerate (loosen the constraints)",
                path=ex.source, line=ex.lines.line(["constraints"]), field="constraints",
            )
            raise UsageError(f"with {pin_text(self.pins)}: {error}") if self.pins else error
        if not self._usable_draws[0]:
            raise self._unsatisfiable()
        return self._usable_draws[0]

    def _unsatisfiable(self) -> QuizwrightError:
        ex = self.ex
        if self.pins:
            return UsageError(f"{pin_text(self.pins)}: no draw of {ex.id} ({ex.source}) with "
                              f"{'this value' if len(self.pins) == 1 else 'these values'} satisfies its "
                              f"constraints with distinct options")
        loc = ["constraints"] if ex.space.constraints else ["params"]
        return TemplateError("no parameter values satisfy the constraints with distinct options (expected at least one)",
                             path=ex.source, line=ex.lines.line(loc), field=loc[0])
