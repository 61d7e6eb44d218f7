"""A distractor pool's pick: which k of its n options a variant shows, drawn as a parameter is."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import cast, overload

from engine.authoring.params import Drawn
from engine.language.values import Value


class Subsets(Sequence[tuple[int, ...]]):
    """The k-subsets of range(n) in lexicographic order, each found by its rank without listing them."""

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k
        self._len = math.comb(n, k)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, rank: int) -> tuple[int, ...]: ...
    @overload
    def __getitem__(self, rank: slice) -> Sequence[tuple[int, ...]]: ...
    def __getitem__(self, rank: int | slice) -> tuple[int, ...] | Sequence[tuple[int, ...]]:
        if isinstance(rank, slice):
            return [self[i] for i in range(*rank.indices(self._len))]
        if not 0 <= rank < self._len:
            raise IndexError(rank)
        subset: list[int] = []
        low = 0
        for left in range(self.k, 0, -1):
            while (count := math.comb(self.n - low - 1, left - 1)) <= rank:  # subsets starting at `low`
                rank -= count
                low += 1
            subset.append(low)
            low += 1
        return tuple(subset)

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return itertools.combinations(range(self.n), self.k)

    def rank(self, subset: tuple[int, ...]) -> int:
        """Position of a subset (sorted) in the order above."""
        rank, low = 0, 0
        for i, item in enumerate(subset):
            left = self.k - i
            rank += sum(math.comb(self.n - j - 1, left - 1) for j in range(low, item))
            low = item + 1
        return rank


class _Ranks(dict[tuple[int, ...], int]):
    """Positions of subsets, computed on lookup (a pool's subsets are too many to list)."""

    def __init__(self, subsets: Subsets) -> None:
        super().__init__()
        self.subsets = subsets

    def __missing__(self, subset: tuple[int, ...]) -> int:
        return self.subsets.rank(subset)


@dataclass(frozen=True)
class PoolPick(Drawn):
    """The k distractors a variant shows of a pool of n: a drawn value that is a sorted tuple of indices."""

    @cached_property
    def positions(self) -> dict[Value, int]:
        assert isinstance(self.values, Subsets)
        return _Ranks(self.values)

    @cached_property
    def firsts(self) -> tuple[int, ...]:
        return cast(tuple[int, ...], range(len(self.values)))  # every subset is its own first
