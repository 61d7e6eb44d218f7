"""How different a class's sheets are: the figures of issue 12's "Done when", for a bank, seed and count.

    python benchmarks/sheets.py                       # the bundled bank, --seed 7 --count 30
    python benchmarks/sheets.py BANK --seed 3 --count 50 --json

Reports: the share of identical items two sheets hold (same exercise, same stem, same options in
the same order), and of identical key answers; sheets that hold an item together with one that
shows its answer (when the engine has a give-away finder); with --cost, the time of the give-away
search against generation's; each correct position's share of the
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


def giveaway_sheets(copies: list[Copy], paths: list[Path] | None = None) -> int | None:
    """Sheets holding an item and another that shows its answer, or None without a finder.

    Each item's drawn parameters are its data, not a give-away (as `generate` and `check` judge).
    """
    try:
        from engine.generation import giveaways
    except ImportError:
        return None
    drawn = {ex.id: {d.name for d in ex.space.drawn} for ex in api.bank(paths).exercises}
    return sum(bool(giveaways.sheet_giveaways(copy.variants, drawn)) for copy in copies)


def giveaway_cost(paths: list[Path] | None, seed: int, count: int) -> dict[str, float]:
    """Seconds `generate` takes for `count` copies (made, not written), and of them, the give-away
    search: the first variant of every exercise (reused by the copies) and the pairs among them."""
    import time

    from engine.generation import giveaways, pipeline

    bank = api.bank(paths)
    start = time.perf_counter()
    for _ in pipeline.generate(bank, seed=seed, count=count).copies:
        pass
    total = time.perf_counter() - start
    giveaways.read_math.cache_clear()  # as a fresh run finds them
    giveaways._printed.cache_clear()
    start = time.perf_counter()
    samples = [pipeline._first(ex, seed, {}) for ex in bank.exercises]
    drawn = {ex.id: {d.name for d in ex.space.drawn} for ex in bank.exercises}
    giveaways.giveaway_pairs([[variant for _, group in samples for variant in group]], drawn)
    search = time.perf_counter() - start
    return {"generate_seconds": round(total, 3), "giveaway_seconds": round(search, 3),
            "giveaway_share": round(search / total, 4) if total else 0.0}


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
        "giveaway_sheets": giveaway_sheets(copies, paths),
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
    parser.add_argument("--cost", type=int, nargs="*", metavar="COUNT",
                        help="Also time the give-away search against generating COUNT copies (default: --count)")
    args = parser.parse_args()
    result = measure(args.paths or None, args.seed, args.count)
    if args.cost is not None:
        result["giveaway_cost"] = {str(n): giveaway_cost(args.paths or None, args.seed, n)
                                   for n in args.cost or [args.count]}
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
    for n, cost in result.get("giveaway_cost", {}).items():
        print(f"give-away search: {cost['giveaway_seconds']:.3f} s of {cost['generate_seconds']:.2f} s generating "
              f"{n} copies ({cost['giveaway_share']:.1%})")


if __name__ == "__main__":
    main()
