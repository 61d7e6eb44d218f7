"""Sampling the variants of one exercise: draws that meet the constraints and show distinct options,
kept distinct from each other while the space has enough (then repeated evenly, in seeded rounds),
and counted exactly when it is small; true/false draws balanced between true and false."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from engine.authoring.loader import CompiledExercise
from engine.authoring.params import ENUMERATION_LIMIT, variant_seed
from engine.errors import QuizwrightError, TemplateError, UsageError
from engine.generation.fields import describe_env
from engine.generation.orders import Orders, balanced_truth
from engine.generation.solving import Clash
from engine.language.values import ExprError, Value

MAX_DRAWS = 100  # draws per variant before falling back to exact enumeration
COUNT_EAGERLY_BELOW = 4096  # spaces this small are always counted
COUNT_ON_DUPLICATE_BELOW = 20_000  # a duplicate draw triggers an exact count below this size

Env = dict[str, Value]
Key = int  # what makes a variant distinct: its draw's combination (its option order when nothing is drawn)


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


def shown_correct(ex: CompiledExercise) -> list[bool]:
    """Whether each option shown is correct, as `shown_pinned` lists them (a pool's drawn distractors never are)."""
    correct = [option.correct for option in ex.options]
    drawn = len(ex.shown_pinned) - len(correct)
    return correct[:ex.pool_at] + [False] * drawn + correct[ex.pool_at:] if drawn else correct


class Pool:
    """The keys of every usable draw in the space's order, and which are unseen.

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
        """Position of a uniformly chosen unseen key (some must be left), as `rng.choice` over them chooses it."""
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
    of them are picked among the unseen draws directly. Once every usable draw is taken, they
    repeat in rounds, each a seeded permutation of them all. Option orders come from `Orders`.
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
        self.orders = Orders(ex.shown_pinned, shown_correct(ex), quiz_seed, ex.id)
        # A true/false answer that depends on the draw: draws are steered to true and false in turn.
        self._truths = ex.kind == "true_false" and ex.answer is not None and bool(self.space.drawn)
        self._scarce: set[bool] = set()  # truth values no unseen draw was found for
        self._truth_of: list[bool] | None = None  # each usable draw's truth, listed when random draws fail
        self._repeats = 0  # variants made since every usable draw was taken
        self._round: tuple[int, list[int]] | None = None  # the current round of repeats
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
        self._pool, self._repeats, self._scarce = None, 0, set()
        for index in range(count):
            yield self._next(index, seen)

    def _next(self, index: int, seen: set[Key]) -> Plan:
        seed = variant_seed(self.quiz_seed, self.ex.id, index)
        if not self.space.drawn:
            return self._undrawn(index, seed, seen)
        if self._exhausted(seen):
            return self._repeat(index, seed)
        rng = random.Random(seed)
        if self._pool is not None and 2 * self._pool.unseen <= len(self._pool):
            # Near exhaustion random draws mostly repeat: pick among the unseen ones directly.
            return self._pick(index, seed, rng, seen)
        truth = self._truth_target(index)
        for attempt in range(MAX_DRAWS):
            self.stats.draws += 1
            values, combination = self.space.draw_combination(rng)
            if combination in seen:
                self.stats.duplicates += 1
                # Counting tells whether the space is used up; in a large space a duplicate is
                # only bad luck, and counting it would cost far more than drawing again.
                if not self._counted and self.space.size() <= COUNT_ON_DUPLICATE_BELOW:
                    self.distinct_count(force=True)
                    if self._exhausted(seen):
                        return self._repeat(index, seed)
                continue
            if not self._usable(values, self.stats):
                continue
            if truth is not None and not self._truthful(values, truth):
                if attempt < MAX_DRAWS // 2:
                    continue
                position = self._unseen_of_truth(truth, seen, rng)
                if position is not None:
                    keys, draws = self._usable_draws
                    return self._accept(index, seed, draws[position], self._order(rng, index), keys[position], seen)
                self._scarce.add(truth)  # a draw of the other truth will do, from now on too
            return self._accept(index, seed, values, self._order(rng, index), combination, seen)
        return self._pick(index, seed, rng, seen)

    def _order(self, rng: random.Random, index: int) -> tuple[int, ...]:
        """The option order of a drawn variant, drawn right after the draw."""
        return self.orders.shuffled(rng, index) if self.shuffles else self._unshuffled

    def _undrawn(self, index: int, seed: int, seen: set[Key]) -> Plan:
        """Nothing is drawn: the options' order is all that varies, each order once before any repeats."""
        self.stats.draws += 1
        if not seen:
            self._check_undrawn()
            seen.add(0)
        return Plan(index, seed, (), self.orders.nth(index) if self.shuffles else self._unshuffled)

    def _exhausted(self, seen: set[Key]) -> bool:
        return self._counted and self._count is not None and 0 < self._count <= len(seen)

    def _truth_target(self, index: int) -> bool | None:
        """The truth variant `index` is steered to (None: any), true and false in turn over pairs of variants."""
        if not self._truths:
            return None
        truth = balanced_truth(self.quiz_seed, self.ex.id, index)
        return None if truth in self._scarce else truth

    def _truthful(self, values: tuple[Value, ...], truth: bool) -> bool:
        assert self.ex.answer is not None
        try:
            return self.ex.answer.truth(self.space.complete(dict(zip(self.drawn, values, strict=True)),
                                                            self.ex.symbols)) == truth
        except ExprError:
            return True  # solving names the broken answer

    def _unseen_of_truth(self, truth: bool, seen: set[Key], rng: random.Random) -> int | None:
        """Random draws of this truth keep failing: one of the unseen usable draws that have it, in a
        space small enough to list (its position among them), or None."""
        if self.space.size() > COUNT_EAGERLY_BELOW:
            return None
        if self._truth_of is None:
            self._truth_of = [self._truthful(draw, True) for draw in self._usable_draws[1]]
        keys = self._usable_draws[0]
        found = [p for p, (key, true) in enumerate(zip(keys, self._truth_of, strict=True))
                 if true == truth and key not in seen]
        return rng.choice(found) if found else None

    def _accept(self, index: int, seed: int, values: tuple[Value, ...], order: tuple[int, ...], key: Key,
                seen: set[Key]) -> Plan:
        seen.add(key)
        if self._pool is not None:
            self._pool.mark(key)
        return Plan(index, seed, values, order)

    def _pick(self, index: int, seed: int, rng: random.Random, seen: set[Key]) -> Plan:
        """Random draws keep failing: pick uniformly among the exactly enumerated usable draws, unseen ones first."""
        pool = self._pool if self._pool is not None else self._build_pool(seen)
        if not pool.unseen:
            return self._repeat(index, seed)
        position = pool.pick(rng)
        return self._accept(index, seed, self._usable_draws[1][position], self._order(rng, index),
                            pool.keys[position], seen)

    def _repeat(self, index: int, seed: int) -> Plan:
        """Every usable draw is taken: they come again in rounds, each a seeded permutation of them
        all, so that each is used ⌊N/V⌋ or ⌈N/V⌉ times."""
        draws = self._usable_draws[1]
        round_, at = divmod(self._repeats, len(draws))
        self._repeats += 1
        if self._round is None or self._round[0] != round_:
            positions = list(range(len(draws)))
            random.Random(variant_seed(self.quiz_seed, f"{self.ex.id}/repeats", round_)).shuffle(positions)
            self._round = (round_, positions)
        return Plan(index, seed, draws[self._round[1][at]], self._order(random.Random(seed), index))

    def _build_pool(self, seen: set[Key]) -> Pool:
        """The pool of usable draws, built when random draws first fail."""
        self._pool = Pool(self._draw_keys(), seen)
        return self._pool

    def _check_undrawn(self) -> None:
        """An exercise that draws nothing has one draw: it must be usable."""
        ex = self.ex
        if self.space.failed_constraint(self.space.complete({}, ex.symbols)) is not None:
            raise self._unsatisfiable()
        if not self._usable((), self.stats):
            loc = ["options"] if ex.options else ["distractors"]
            raise TemplateError("two options (or misconceptions) are always equal, as values or as shown "
                                "(expected pairwise different ones)",
                                path=ex.source, line=ex.lines.line(loc), field=loc[0])

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
