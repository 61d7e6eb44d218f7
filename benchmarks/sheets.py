"""How different a class's sheets are: the figures of issue 12's "Done when", for a bank, seed and count.

    python benchmarks/sheets.py                       # the bundled bank, --seed 7 --count 30
    python benchmarks/sheets.py BANK --seed 3 --count 50 --json

Reports: the share of identical items two sheets hold (same exercise, same stem, same options in
the same order), and of identical key answers; sheets that hold an item together with one that
shows its answer (when the engine has a give-away finder); each correct position's share of the
single-answer choice and true/false items against its fair share; Moodle categories holding two
identical questions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import api  # noqa: E402
from engine.generation.quiz import Copy, Variant  # noqa: E402


def item(variant: Variant) -> tuple[str, str, tuple[str, ...]]:
    """What a student sees of an item: its exercise, stem and options in order."""
    return variant.exercise, variant.question, tuple(o.text for o in variant.options)


def pair_shares(copies: list[Copy], key: Callable[[Variant], object]) -> list[float]:
    """For each pair of sheets, the share of the first's items that the second holds identically."""
    sets = [Counter(key(v) for v in copy.variants) for copy in copies]
    sizes = [len(copy.variants) for copy in copies]
    return [sum((a & b).values()) / max(sa, sb)
            for (a, sa), (b, sb) in itertools.combinations(zip(sets, sizes, strict=True), 2)]


def positions(copies: list[Copy]) -> dict[int, tuple[float, float]]:
    """Each correct position's share of the single-answer items, and its fair share (1/k per item of k options)."""
    actual: Counter[int] = Counter()
    fair: defaultdict[int, float] = defaultdict(float)
    total = 0
    for copy in copies:
        for variant in copy.variants:
            correct = [o.number for o in variant.options if o.correct]
            if len(correct) != 1:
                continue
            total += 1
            actual[correct[0]] += 1
            for number in range(1, len(variant.options) + 1):
                fair[number] += 1 / len(variant.options)
    return {p: (actual[p] / total, fair[p] / total) for p in sorted(fair)} if total else {}


def giveaway_sheets(copies: list[Copy]) -> int | None:
    """Sheets holding an item and another that shows its answer, or None without a finder."""
    try:
        from engine.generation import giveaways  # type: ignore[attr-defined]
    except ImportError:
        return None
    shows = giveaways.shows_answer
    return sum(any(shows(a, b) for a, b in itertools.permutations(copy.variants, 2)) for copy in copies)


def moodle_duplicates(paths: list[Path] | None, seed: int, count: int) -> tuple[int, int, int]:
    """(categories holding two identical questions, categories, questions) in the Moodle export."""
    text = api.export("moodle", paths, seed=seed, count=count)
    assert isinstance(text, str)
    root = ET.fromstring(text)
    bodies: dict[str, list[str]] = defaultdict(list)
    category = ""
    for question in root.iter("question"):
        if question.get("type") == "category":
            category = question.findtext("category/text") or ""
            continue
        body = ET.tostring(question, encoding="unicode")
        body = re.sub(r"<name>.*?</name>|<idnumber>.*?</idnumber>", "", body, flags=re.S)
        bodies[category].append(body)
    repeated = sum(len(set(b)) < len(b) for b in bodies.values())
    return repeated, len(bodies), sum(len(b) for b in bodies.values())


def measure(paths: list[Path] | None, seed: int, count: int) -> dict[str, Any]:
    quiz = api.quiz(paths, seed=seed, count=count)
    copies = quiz.copies
    items = pair_shares(copies, item)
    answers = pair_shares(copies, lambda v: (v.exercise, v.answer_text, tuple(o.text for o in v.options if o.correct)))
    repeated, categories, questions = moodle_duplicates(paths, seed, count)
    return {
        "sheets": len(copies),
        "items_per_sheet": sorted({len(c.variants) for c in copies}),
        "identical_items_max": max(items, default=0.0),
        "identical_items_median": statistics.median(items) if items else 0.0,
        "identical_answers_median": statistics.median(answers) if answers else 0.0,
        "giveaway_sheets": giveaway_sheets(copies),
        "positions": {str(p): {"share": round(a, 4), "fair": round(f, 4), "off_points": round(100 * (a - f), 1)}
                      for p, (a, f) in positions(copies).items()},
        "moodle_categories_with_repeats": repeated,
        "moodle_categories": categories,
        "moodle_questions": questions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.paths or None, args.seed, args.count)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['sheets']} sheets of {result['items_per_sheet']} items")
    print(f"identical items shared by two sheets: max {result['identical_items_max']:.0%}, "
          f"median {result['identical_items_median']:.0%}; identical key answers: median "
          f"{result['identical_answers_median']:.0%}")
    shown = result["giveaway_sheets"]
    print("sheets holding a give-away pair: " + ("(no finder in this engine)" if shown is None else str(shown)))
    for p, share in result["positions"].items():
        print(f"correct position {p}: {share['share']:.1%} (fair {share['fair']:.1%}, {share['off_points']:+.1f} points)")
    print(f"Moodle: {result['moodle_categories_with_repeats']} of {result['moodle_categories']} categories "
          f"hold two identical questions ({result['moodle_questions']} questions)")


if __name__ == "__main__":
    main()
