"""Figures at scale: N variants of a figure exercise in each format, timed as whole runs, with the
plots drawn counted against the plots shown, and what drawing every shown plot would cost.

    python benchmarks/figures.py                          # N = 1000, every format that holds plots
    python benchmarks/figures.py --count 50 --formats json  # a few seconds (the test does this)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BANK, ROOT  # noqa: E402
from bench.timing import Runner, byte_compile, child_env, failure, quizwright_cmd  # noqa: E402

SUFFIX = {"markdown": "md", "json": "json", "moodle": "xml", "gift": "gift", "html": "html", "qti": "zip",
          "pdf": "pdf"}
SAMPLE = 20  # plots drawn one by one to estimate the cost of drawing every shown plot


def figure_exercises(bank: Path) -> list[str]:
    """The ids of the bank's exercises that declare figures."""
    from engine import api

    return [ex.id for ex in api.bank([bank]).exercises if ex.spec.figures]


def shown_plots(bank: Path, exercise: str, count: int) -> tuple[int, int, list[object]]:
    """Plots shown over `count` variants, distinct plots among them, and a sample of them."""
    from engine import api
    from engine.generation.quiz import Plot

    shown: list[Plot] = [figure for copy in api.generate([bank], seed=1, count=count, exercises=[exercise]).copies
                         for variant in copy.variants for figure in variant.figures if isinstance(figure, Plot)]
    return len(shown), len({plot.file for plot in shown}), list(shown[:SAMPLE])


def draw_cost(sample: list[object]) -> float:
    """Mean seconds to draw one plot as a PNG, without the run's cache."""
    from engine.export.figures import draw

    draw(sample[0], "png")  # type: ignore[arg-type]  # matplotlib's import and font cache, not a drawing
    start = time.perf_counter()
    for plot in sample:
        draw(plot, "png")  # type: ignore[arg-type]
    return (time.perf_counter() - start) / len(sample)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bank", type=Path, default=BANK)
    parser.add_argument("--exercise", help="a figure exercise of the bank (default: the first)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--formats", default="markdown,json,moodle,html,qti,pdf")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the rows as JSON here too")
    args = parser.parse_args()
    exercise = args.exercise or figure_exercises(args.bank)[0]
    shown, distinct, sample = shown_plots(args.bank, exercise, args.count)
    per_draw = draw_cost(sample)
    byte_compile(ROOT)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        runner = Runner(Path(work), "auto", None)
        for fmt in args.formats.split(","):
            walls, peaks = [], []
            for run in range(args.runs):
                out = Path(work) / f"run{run}" / f"quiz.{SUFFIX[fmt]}"
                cmd = [*quizwright_cmd(), "generate", str(args.bank), "-e", exercise, "--seed", "1", "--count",
                       str(args.count), "-f", fmt, "-o", str(out), "--no-size-limit"]
                timed = runner.run(cmd, cwd=ROOT, env=child_env(ROOT))
                if (problem := failure(timed)) is not None:
                    print(f"{fmt}: {problem}", file=sys.stderr)
                    return 1
                walls.append(timed.wall)
                peaks.append(timed.peak_kb)
            rows.append({"format": fmt, "wall_s": round(statistics.median(walls), 2),
                         "peak_mb": round(max(peaks) / 1024, 1)})
    print(f"{exercise}: {args.count} variants show {shown} plots, {distinct} distinct: each run draws "
          f"{distinct} (PNG and/or SVG), not {shown}")
    print(f"one PNG drawing: {per_draw * 1000:.0f} ms; drawing every shown plot would add about "
          f"{(shown - distinct) * per_draw:.1f} s to each run\n")
    print("| format | wall (s) | peak (MB) |\n|---|---|---|")
    for row in rows:
        print(f"| {row['format']} | {row['wall_s']} | {row['peak_mb']} |")
    if args.json:
        args.json.write_text(json.dumps({"exercise": exercise, "count": args.count, "shown": shown,
                                         "distinct": distinct, "draw_s": per_draw, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
