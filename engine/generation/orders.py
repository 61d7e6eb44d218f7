"""The option orders of one exercise over a class: the correct option's place balanced across the
sheets, and, when nothing else varies, every order shown once before any repeats.

Sheets are taken in blocks of k, k being the options that move: in each block a seeded permutation
of their places decides where the correct option stands, so over N sheets each place holds it
⌊N/k⌋ or ⌈N/k⌉ times. Everything depends on the variant's index alone, so `--copies` and a
regenerated key see the same orders as the full run.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

from engine.authoring.params import variant_seed

FEISTEL_ROUNDS = 4


def permuted(position: int, size: int, key: bytes) -> int:
    """Entry `position` of a seeded permutation of range(size), without listing it: a Feistel
    network over the smallest even number of bits that covers `size`, walked until it lands below it."""
    half = ((size - 1).bit_length() + 1) // 2 or 1
    mask = (1 << half) - 1
    value = position
    while True:
        left, right = value >> half, value & mask
        for round_ in range(FEISTEL_ROUNDS):
            digest = hashlib.sha256(key + bytes([round_]) + right.to_bytes(8, "big")).digest()
            left, right = right, left ^ (int.from_bytes(digest[:8], "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


def unrank(rank: int, items: Sequence[int]) -> list[int]:
    """The permutation of `items` whose rank, in lexicographic order of positions, is `rank`."""
    rest, out = list(items), []
    for left in range(len(rest), 0, -1):
        index, rank = divmod(rank, math.factorial(left - 1))
        out.append(rest.pop(index))
    return out


def balanced_truth(quiz_seed: int, exercise_id: str, index: int) -> bool:
    """The truth a true/false variant is steered to: true and false once each in every pair of
    variants, in a seeded order."""
    first = random.Random(variant_seed(quiz_seed, f"{exercise_id}/truths", index // 2)).random() < 0.5
    return first if index % 2 == 0 else not first


class Orders:
    """Option orders of one exercise under one quiz seed: pinned options keep their place, the others move."""

    def __init__(self, pinned: Sequence[bool], correct: Sequence[bool], quiz_seed: int, exercise_id: str) -> None:
        self.count = len(pinned)
        self.free = [i for i, pin in enumerate(pinned) if not pin]  # the moving options, and so their places
        answers = [i for i, right in enumerate(correct) if right]
        # Balanced only where there is one correct option and it moves.
        self.correct = answers[0] if len(answers) == 1 and answers[0] in self.free and len(self.free) > 1 else None
        self.quiz_seed = quiz_seed
        self.exercise_id = exercise_id
        self._block: tuple[int, list[int]] | None = None

    def _seed(self, stream: str, index: int) -> int:
        # "/" is not in an exercise id: these streams never meet a variant's own seed.
        return variant_seed(self.quiz_seed, f"{self.exercise_id}/{stream}", index)

    def target(self, index: int) -> int | None:
        """The place of the correct option on variant `index` (None: not balanced)."""
        if self.correct is None:
            return None
        block, at = divmod(index, len(self.free))
        if self._block is None or self._block[0] != block:
            places = list(self.free)
            random.Random(self._seed("places", block)).shuffle(places)
            self._block = (block, places)
        return self._block[1][at]

    def shuffled(self, rng: random.Random, index: int) -> tuple[int, ...]:
        """A random order for variant `index`, its correct option at the balanced place."""
        target = self.target(index)
        others = [i for i in self.free if i != self.correct] if target is not None else list(self.free)
        rng.shuffle(others)
        return self._placed(target, others)

    def nth(self, index: int) -> tuple[int, ...]:
        """The order of variant `index` when nothing is drawn: every order once before any repeats
        (the correct option's place balanced as `target` says), then again in a new seeded order."""
        target = self.target(index)
        if target is None:
            others, use, stream = list(self.free), index, "orders"
        else:
            assert self.correct is not None
            # Block j puts the correct option at each place once: this is place `target`'s j-th use.
            others, use, stream = [i for i in self.free if i != self.correct], index // len(self.free), f"at{target}"
        size = math.factorial(len(others))
        round_, position = divmod(use, size)
        key = self._seed(stream, round_).to_bytes(8, "big")
        return self._placed(target, unrank(permuted(position, size, key), others))

    def _placed(self, target: int | None, others: Sequence[int]) -> tuple[int, ...]:
        """The order with the correct option at `target` (if any) and `others`, in turn, in the other free places."""
        order = list(range(self.count))
        moving = iter(others)
        for place in self.free:
            order[place] = self.correct if place == target and self.correct is not None else next(moving)
        return tuple(order)
