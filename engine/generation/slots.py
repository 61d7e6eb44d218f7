"""Which exercise each slot gives each sheet: seeded, spread evenly over its pool, never a give-away pair.

Sheet i, slot s: among the pool's exercises, the one used least so far by that slot, ties broken
by a seeded order drawn afresh for each block of len(pool) sheets (one generator per slot, so the
blocks are drawn in turn from sheet 0); so over any block every
exercise of the pool is used once, and the order differs from block to block. The slots are
filled in order; an exercise that would share the sheet with one of its give-away partners is
passed over (the next one is tried, and earlier slots are revisited when a later one has no
choice left). The choice of sheet i depends on the sheets before it only, so a run's sheets
A..B are those of the whole run.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterator, Sequence

from engine.errors import UsageError

SEARCH_LIMIT = 10_000  # choices tried for one sheet before giving up


def _shuffler(seed: int, slot: int) -> random.Random:
    """The generator of one slot's block orders: seeded by the quiz seed and the slot's place."""
    digest = hashlib.sha256(f"quizwright-slot:{seed}:{slot}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _ranks(rng: random.Random, size: int) -> list[int]:
    """The rank of each pool position in the next block (a permutation drawn from `rng`)."""
    positions = list(range(size))
    rng.shuffle(positions)
    rank = [0] * size
    for r, position in enumerate(positions):
        rank[position] = r
    return rank


def assign(seed: int, pools: Sequence[Sequence[str]], avoid: Collection[frozenset[str]],
           count: int) -> Iterator[tuple[str, ...]]:
    """The exercise ids of sheets 0..count-1, one per slot, in slot order.

    Raises:
        UsageError: a sheet on which every choice holds a give-away pair (naming one).
    """
    partners: dict[str, set[str]] = {}
    for pair in avoid:
        for exercise in pair:
            partners.setdefault(exercise, set()).update(pair - {exercise})
    # keys[s][p]: uses of pool position p times the pool's size, plus its rank in this block: the
    # smallest is the slot's preferred exercise.
    sizes = [len(pool) for pool in pools]
    keys: list[list[int]] = [[0] * size for size in sizes]
    shufflers = [_shuffler(seed, s) for s in range(len(pools))]
    for sheet in range(count):
        for s, size in enumerate(sizes):
            if sheet % size == 0:
                rank = _ranks(shufflers[s], size)
                keys[s] = [key // size * size + r for key, r in zip(keys[s], rank, strict=True)]
        picks = [key.index(min(key)) for key in keys]
        chosen = [pool[p] for pool, p in zip(pools, picks, strict=True)]
        if not partners.keys().isdisjoint(chosen) and any(partners.get(e, set()) & set(chosen) for e in chosen):
            prefer = [[pool[p] for p in sorted(range(len(pool)), key=key.__getitem__)]
                      for pool, key in zip(pools, keys, strict=True)]
            found = _search(prefer, avoid)
            if found is None:
                raise UsageError(_impossible(pools, avoid))
            chosen = found
            picks = [list(pool).index(e) for pool, e in zip(pools, chosen, strict=True)]
        for s, p in enumerate(picks):
            keys[s][p] += sizes[s]
        yield tuple(chosen)


def _search(prefer: list[list[str]], avoid: Collection[frozenset[str]]) -> list[str] | None:
    """The first choice per slot, in preference order, with no give-away pair; None if there is none."""
    chosen: list[str] = []
    tried = 0

    def fill(slot: int) -> bool:
        nonlocal tried
        if slot == len(prefer):
            return True
        for exercise in prefer[slot]:
            tried += 1
            if tried > SEARCH_LIMIT:
                return False
            if not avoid or all(frozenset((exercise, other)) not in avoid for other in chosen):
                chosen.append(exercise)
                if fill(slot + 1):
                    return True
                chosen.pop()
        return False

    return chosen if fill(0) else None


def _impossible(pools: Sequence[Sequence[str]], avoid: Collection[frozenset[str]]) -> str:
    pairs = sorted(" and ".join(sorted(pair)) for pair in avoid
                   if any(set(pair) & set(pool) for pool in pools))
    return ("the slots cannot fill a sheet without an item that shows another's answer; give-away pairs: "
            + "; ".join(pairs[:5]) + (" ..." if len(pairs) > 5 else "")
            + " (put such exercises in one slot, or give their slots more exercises)")
