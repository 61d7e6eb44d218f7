"""How varied a bank's sheets are: distinct variants per exercise and what two sheets share.

``python benchmarks/variety.py [BANK] [--sample 300] [--seed 7 --count 30] [--json]``

Per exercise it counts the distinct (stem, answer) pairs among `--sample` generated copies: the
stem is the rendered question, the answer is the correct option's text (so option order does not
count) or the key's value; a multi-part exercise counts its parts together. Over the sheets of
`--seed`/`--count` it gives the largest share of identical items two sheets hold (same exercise,
stem and options in the same order) and how often each position of a choice is the correct one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

from engine import api
from engine.generation.quiz import Copy, Variant


def answer_content(variant: Variant) -> str:
    """The key as content: the correct options' texts (not their numbers), or the printed key."""
    if variant.options:
        return " | ".join(sorted(option.text for option in variant.options if option.correct))
    return variant.answer_text


def copy_items(copy: Copy) -> dict[str, list[Variant]]:
    """A copy's variants grouped by exercise (a multi-part exercise flattens into consecutive parts)."""
    items: dict[str, list[Variant]] = defaultdict(list)
    for variant in copy.variants:
        items[variant.exercise].append(variant)
    return items


def distinct_counts(copies: Iterable[Copy]) -> dict[str, int]:
    """Per exercise, the number of distinct (stem, answer) pairs among the copies."""
    seen: dict[str, set[tuple[tuple[str, str], ...]]] = defaultdict(set)
    for copy in copies:
        for exercise, parts in copy_items(copy).items():
            seen[exercise].add(tuple((v.question, answer_content(v)) for v in parts))
    return {exercise: len(keys) for exercise, keys in seen.items()}


def sheet_items(copy: Copy) -> set[tuple[str, str, tuple[str, ...]]]:
    """A sheet's items as a student sees them: exercise, stem, options in order."""
    return {(v.exercise, v.question, tuple(o.text for o in v.options)) for v in copy.variants}


def sheet_overlap(copies: list[Copy]) -> dict[str, Any]:
    """The largest and the median share of identical items over every pair of sheets."""
    items = [sheet_items(copy) for copy in copies]
    shares = sorted(len(a & b) / max(len(a), len(b)) for a, b in combinations(items, 2))
    return {"max": shares[-1] if shares else 0.0, "median": shares[len(shares) // 2] if shares else 0.0,
            "items_per_sheet": len(items[0]) if items else 0}


def correct_positions(copies: list[Copy]) -> dict[int, Counter[int]]:
    """For each number of options, how often each position is the correct one."""
    positions: dict[int, Counter[int]] = defaultdict(Counter)
    for copy in copies:
        for variant in copy.variants:
            for option in variant.options:
                if option.correct:
                    positions[len(variant.options)][option.number] += 1
    return positions


def measure(bank: Path | None, sample: int, seed: int, count: int) -> dict[str, Any]:
    paths = [bank] if bank else None
    counts = distinct_counts(api.generate(paths, seed=0, count=sample).copies)
    sheets = list(api.generate(paths, seed=seed, count=count).copies)
    return {"distinct": dict(sorted(counts.items())), "overlap": sheet_overlap(sheets),
            "positions": {n: dict(sorted(c.items())) for n, c in sorted(correct_positions(sheets).items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bank", nargs="?", type=Path, help="a bank folder (default: the bundled bank)")
    parser.add_argument("--sample", type=int, default=300, help="copies generated to count distinct variants")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = measure(args.bank, args.sample, args.seed, args.count)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for exercise, distinct in result["distinct"].items():
        print(f"{distinct:5d}  {exercise}")
    values = list(result["distinct"].values())
    print(f"exercises: {len(values)}; under 4 distinct: {sum(v < 4 for v in values)}; "
          f"10 or more: {sum(v >= 10 for v in values)}")
    overlap = result["overlap"]
    print(f"seed {args.seed}, {args.count} sheets of {overlap['items_per_sheet']} items: two sheets share at most "
          f"{overlap['max']:.0%} identical items (median {overlap['median']:.0%})")
    for options, counter in result["positions"].items():
        total = sum(counter.values())
        shares = ", ".join(f"{pos}: {n / total:.0%}" for pos, n in counter.items())
        print(f"correct position among {options} options ({total} answers): {shares}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
