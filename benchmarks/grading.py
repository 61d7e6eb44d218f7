"""Times `quizwright grade` on a synthetic class (default 10 000 students × the whole bundled bank) and one uncached formula check.

Run: ``python benchmarks/grading.py [--students 10000] [--sheets 200] [--seed 0] [--checks 300]``.

Setup (not timed): a JSON key of ``--sheets`` copies of the bundled bank is generated and a CSV of
``--students`` rows is synthesised, each student on sheet ``i mod sheets`` with a realistic mix
per answer: right answers (60 %, a third of them in another format: ``①``, `` 2 ``, ``+10``,
``.5``, full-width digits, ``true``/``O``), the exercise's common mistakes (15 %: misconception
values, distractor options), other wrong answers (10 %), blanks (8 %) and garbage (7 %: ``0,5``,
``abc``, ``x^^2``, ``__import__('os')``, ``9**9**9**9``, random text).

Timed: the whole process ``python -m engine grade CSV --key KEY -o OUT`` (interpreter start,
reading, grading, item analysis, all three outputs), as submissions per second; then the median
and 99th percentile of one formula check with the verdict cache off (the bank's formula
questions against right, rewritten, misconception, wrong and invalid answers), once with
SymPy's internal cache warm (as during grading) and once cleared before every check.
Target: 10 000 students under 20 s.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import api  # noqa: E402
from engine.generation.quiz import Copy, Quiz, Variant  # noqa: E402
from engine.grading.checker.compare import Comparer  # noqa: E402
from engine.grading.checker.sandbox import default_sandbox  # noqa: E402
from engine.grading.checker.verdict import CompareRequest  # noqa: E402
from engine.language.printing import circled  # noqa: E402

FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
GARBAGE = ["0,5", "abc", "x^^2", "__import__('os')", "9**9**9**9", "?", "n/a", "1 000", "--", "lol"]


@functools.cache  # the class repeats sheets' values (not timed: setup)
def _decimal(value: str, places: int) -> str:
    import sympy

    return f"{float(sympy.N(sympy.sympify(value), 30)):.{places}f}"  # the bank's own exact strings


def right_answers(variant: Variant) -> list[str]:
    """The right answer as most students write it first, then other accepted formats."""
    answer = variant.answer
    if answer.type == "option":
        n = answer.option
        return [str(n), circled(n), f" {n} ", f"({n})", str(n).translate(FULL_WIDTH)]
    if answer.type == "boolean":
        return ["1", "①", "true", "T", "O"] if answer.value else ["2", "②", "false", "F", "X"]
    if answer.type == "integer":
        v = answer.value
        return [str(v), f"+{v}", f"{v}.0", str(v).translate(FULL_WIDTH), f" {v} "]
    if answer.type == "numeric":
        shown = answer.display
        short = shown[1:] if shown.startswith("0.") else shown
        return [shown, short, shown.translate(FULL_WIDTH), answer.decimal[:8]]
    expr = answer.expr
    return [expr, expr.replace(" ", ""), expr.replace("**", "^"), f"1*({expr})"]


def mistakes(variant: Variant) -> list[str]:
    """The exercise's common mistakes: distractor options and misconception values."""
    answer = variant.answer
    if answer.type == "option":
        return [str(o.number) for o in variant.options if not o.correct]
    if answer.type == "boolean":
        return ["2" if answer.value else "1"]
    if answer.type == "numeric":
        places = len(answer.display.partition(".")[2])
        return [_decimal(m.value, places) for m in variant.misconceptions] or ["0"]
    return [m.value for m in variant.misconceptions] or ["0"]


def other_wrong(variant: Variant, rng: random.Random) -> str:
    answer = variant.answer
    if answer.type in ("option", "boolean"):
        return str(rng.randint(1, max(2, len(variant.options))))
    if answer.type == "integer":
        return str(answer.value + rng.choice([-2, -1, 1, 3, 10]))
    if answer.type == "numeric":
        return f"{rng.uniform(0, 1):.4f}"
    return rng.choice(["n_in", "1/n_out", "n_in + n_out", "sqrt(n_in)", "2*n_out"])


def synthesise(copies: Callable[[], Iterator[Copy]], students: int, seed: int, path: Path) -> dict[str, list[str]]:
    """Writes the class's CSV: student i on the (i mod sheets)-th of the key's copies, read as a
    stream (`copies()` starts it again when there are more students than sheets), so that a
    key of any size fits in memory. Returns each sheet's first right answers (`right_answers`)."""
    rng = random.Random(seed)
    firsts: dict[str, list[str]] = {}
    stream = copies()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for i in range(students):
            copy = next(stream, None)
            if copy is None:
                stream = copies()
                copy = next(stream)
            if i == 0:
                writer.writerow(["student", "sheet", *(f"q{k}" for k in range(1, len(copy.variants) + 1))])
            pool = [(right_answers(v), mistakes(v)) for v in copy.variants]
            firsts[copy.sheet] = [right[0] for right, _ in pool]
            skill = rng.random()  # stronger students are right more often: item analysis has signal
            row = []
            for variant, (right, wrong) in zip(copy.variants, pool, strict=True):
                r = rng.random()
                if r < 0.45 + 0.3 * skill:
                    row.append(right[0] if rng.random() < 0.67 else rng.choice(right[1:]))
                elif r < 0.88:
                    row.append(rng.choice(wrong) if rng.random() < 0.6 else other_wrong(variant, rng))
                elif r < 0.94:
                    row.append(rng.choice(["", " "]))
                else:
                    row.append(rng.choice(GARBAGE) if rng.random() < 0.7 else "".join(
                        rng.choices(string.ascii_letters + string.punctuation, k=rng.randint(1, 12))))
            writer.writerow([f"student{i:05d}", copy.sheet, *row])
    return firsts


def _clear_worker_caches() -> None:
    from sympy.core.cache import clear_cache

    from engine.grading.checker import expected

    clear_cache()
    expected.expected_expr.cache_clear()


def formula_timings(quiz: Quiz, checks: int, seed: int, cold: bool) -> list[float]:
    rng = random.Random(seed)
    formulas = {v.exercise: v for copy in quiz.copies for v in copy.variants if v.answer.type == "formula"}
    cases: list[tuple[Variant, str]] = []
    for variant in formulas.values():
        for text in [*right_answers(variant), *mistakes(variant), "n_in", "1/n_out", "x^^2", "sqrt(n_in"]:
            cases.append((variant, text))
    times = []
    sandbox = default_sandbox()
    sandbox.run(int, 0)  # start the worker outside the measurement
    run = Comparer(sandbox, cache_size=0)  # keys prepared once, as in grading; no verdict is reused
    for _ in range(checks):
        variant, text = rng.choice(cases)
        answer: Any = variant.answer
        request = CompareRequest(kind="formula", expected=answer.expr, response=text, vars=answer.symbols)
        if cold:
            sandbox.run(_clear_worker_caches)  # not timed
        start = time.perf_counter()
        run.compare(request)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--sheets", type=int, default=200, help="Distinct worksheets (copies) in the class.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checks", type=int, default=300, help="Uncached formula checks to time.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qw-bench-") as tmp:
        folder = Path(tmp)
        key, submissions, out = folder / "quiz.json", folder / "answers.csv", folder / "out"
        start = time.perf_counter()
        api.export("json", output=key, seed=args.seed, count=args.sheets)
        quiz = Quiz.model_validate_json(key.read_bytes())
        synthesise(lambda: iter(quiz.copies), args.students, args.seed, submissions)
        setup = time.perf_counter() - start
        questions = len(quiz.copies[0].variants)
        print(f"setup (not timed): key of {args.sheets} sheets × {questions} questions and "
              f"{args.students} submissions in {setup:.1f} s")

        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, "-m", "engine", "grade", str(submissions), "--key", str(key), "-o", str(out)]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"grade failed ({result.returncode}): {result.stderr[-2000:]}")
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        statuses: dict[str, int] = {}
        for sheet in report["sheets"]:
            for answer in sheet["answers"]:
                statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(out.iterdir()))
        print(f"grade: {args.students} students × {questions} questions in {seconds:.2f} s "
              f"= {args.students / seconds:,.0f} submissions/s (target: {args.students} under 20 s)")
        print(f"  {result.stdout.strip()}; answers: "
              + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        print(f"  outputs: {sizes}")

    for cold in (False, True):
        times = sorted(formula_timings(quiz, args.checks, args.seed, cold))
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        what = "verdict and SymPy caches cleared" if cold else "verdict cache off, SymPy warm as in grading"
        print(f"formula check ({what}), {len(times)} checks: median {statistics.median(times):.1f} ms, "
              f"p99 {p99:.1f} ms, max {times[-1]:.1f} ms")


if __name__ == "__main__":
    main()
