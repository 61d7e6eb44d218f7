"""How many really different variants each exercise of a bank has.

    python benchmarks/variety.py                    # the bundled bank, 300 copies
    python benchmarks/variety.py BANK --sample 500 --json

Per exercise it counts, among `--sample` generated copies, the distinct (stem, answer) pairs, the
distinct stems and the distinct answers. The stem is the rendered question; the answer is the
correct options' texts (so option order does not count) or the printed key; a multi-part exercise
counts its parts together. What two sheets share is measured by `benchmarks/sheets.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import api  # noqa: E402
from engine.generation.quiz import Copy, Variant  # noqa: E402


def answer_content(variant: Variant) -> str:
    """The key as content: the correct options' texts (not their numbers), or the printed key."""
    if variant.options:
        return " | ".join(sorted(option.text for option in variant.options if option.correct))
    return variant.answer_text


def distinct(copies: Iterable[Copy]) -> dict[str, dict[str, int]]:
    """Per exercise: distinct (stem, answer) pairs, distinct stems and distinct answers."""
    seen: dict[str, set[tuple[tuple[str, str], ...]]] = defaultdict(set)
    for copy in copies:
        parts: dict[str, list[Variant]] = defaultdict(list)
        for variant in copy.variants:  # a multi-part exercise flattens into consecutive parts
            parts[variant.exercise].append(variant)
        for exercise, variants in parts.items():
            seen[exercise].add(tuple((v.question, answer_content(v)) for v in variants))
    return {exercise: {"pairs": len(keys), "stems": len({tuple(q for q, _ in key) for key in keys}),
                       "answers": len({tuple(a for _, a in key) for key in keys})}
            for exercise, keys in sorted(seen.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bank", nargs="?", type=Path, help="a bank folder (default: the bundled bank)")
    parser.add_argument("--sample", type=int, default=300, help="copies generated (seed 0)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    counts = distinct(api.generate([args.bank] if args.bank else None, seed=0, count=args.sample).copies)
    if args.json:
        print(json.dumps(counts, indent=1))
        return 0
    print(f"{'pairs':>5} {'stems':>5} {'answers':>7}  exercise")
    for exercise, c in counts.items():
        print(f"{c['pairs']:5d} {c['stems']:5d} {c['answers']:7d}  {exercise}")
    pairs = [c["pairs"] for c in counts.values()]
    print(f"{len(pairs)} exercises; under 4 distinct (stem, answer) pairs: {sum(p < 4 for p in pairs)}; "
          f"10 or more: {sum(p >= 10 for p in pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
