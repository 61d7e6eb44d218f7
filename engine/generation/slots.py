"""Which exercise each slot gives each sheet: seeded, spread evenly over its pool, never a give-away pair.

Sheet i, slot s: among the pool's exercises, the one used least so far by that slot, ties broken
by a seeded order drawn afresh for each block of len(pool) sheets; so over any block every
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


def _order(seed: int, slot: int, block: int, size: int) -> list[int]:
    """The rank of each pool position in block `block` of slot `slot` (a seeded permutation)."""
    digest = hashlib.sha256(f"quizwright-slot:{seed}:{slot}:{block}".encode()).digest()
    positions = list(range(size))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(positions)
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
    uses = [[0] * len(pool) for pool in pools]
    ranks: list[list[int]] = [[] for _ in pools]
    for sheet in range(count):
        prefer: list[list[str]] = []
        for s, pool in enumerate(pools):
            if sheet % len(pool) == 0:
                ranks[s] = _order(seed, s, sheet // len(pool), len(pool))
            keys = sorted(zip(uses[s], ranks[s], range(len(pool)), strict=True))
            prefer.append([pool[position] for _, _, position in keys])
        chosen = _search(prefer, avoid)
        if chosen is None:
            raise UsageError(_impossible(pools, avoid))
        for s, exercise in enumerate(chosen):
            uses[s][pools[s].index(exercise)] += 1
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
