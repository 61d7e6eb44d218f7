"""Grading a synthesised class (against a small key and a big one), and one formula check."""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from .common import BENCH, Row, check_text, log, mb
from .core import Bench
from .timing import failure, run_record


def load_grading() -> Any:
    """benchmarks/grading.py: the class synthesis and the formula timings."""
    spec = importlib.util.spec_from_file_location("qw_bench_grading", BENCH / "grading.py")
    assert spec and spec.loader
    grading = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = grading
    spec.loader.exec_module(grading)
    return grading


def measure_grading(bench: Bench) -> None:
    grading = load_grading()
    from engine import api
    from engine.generation.quiz import Quiz

    students, sheets, seed = bench.args.students, bench.args.sheets, bench.args.grading_seed
    folder = bench.work / "grading"
    folder.mkdir(exist_ok=True)
    key, submissions = folder / "quiz.json", folder / "answers.csv"
    log(f"grading: setup (not timed) of {students} submissions on {sheets} sheets")
    api.export("json", output=key, seed=seed, count=sheets)
    quiz = Quiz.model_validate_json(key.read_bytes())
    firsts = grading.synthesise(lambda: iter(quiz.copies), students, seed, submissions)
    questions = len(quiz.copies[0].variants)
    row = Row("grading", f"grade {students} students × {questions} questions", students)
    bench.add(grade(bench, row, folder, key, submissions, firsts, sheets))
    for cold in (False, True):
        times = sorted(grading.formula_timings(quiz, bench.args.formula_checks, seed, cold))
        bench.add(formula_row(times, cold))


def formula_row(times: list[float], cold: bool) -> Row:
    """The latency of one formula check: median, p99 and max of the sorted times (ms)."""
    what = "SymPy cache cleared" if cold else "SymPy warm, as in grading"
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    median = statistics.median(times)
    row = Row("formula-cold" if cold else "formula", f"one formula check ({what})", len(times))
    row.per = f"med {median:.1f} / p99 {p99:.1f} / max {times[-1]:.1f} ms"
    row.check = "ok"
    row.note = "in-process latency of one check in a run that reuses no verdict (engine.grading.checker.compare.Comparer with cache_size=0), via benchmarks/grading.py"
    row.details = {"median_ms": round(median, 3), "p99_ms": round(p99, 3), "max_ms": round(times[-1], 3)}
    return row


def grade(bench: Bench, row: Row, folder: Path, key: Path, submissions: Path, firsts: dict[str, list[str]],
          sheets: int) -> Row:
    """The timed runs of `quizwright grade` on a synthesised class, and the check of the last report."""
    students = row.n or 0
    timings = []
    for i in range(bench.args.runs):
        out = folder / f"out-{i}"
        cmd = [*bench.qw, "grade", str(submissions), "--key", str(key), "-o", str(out)]
        row.command = shlex.join(cmd)
        t = bench.run(cmd)
        row.runs.append(run_record(t))
        if failure(t):
            row.check = f"FAIL: {failure(t)}"
            return row
        timings.append(t)
        if i:
            shutil.rmtree(folder / f"out-{i - 1}")
    row.timed(timings, students, "ms/sheet")
    out = folder / f"out-{bench.args.runs - 1}"
    row.output_mb = mb(sum(p.stat().st_size for p in out.iterdir()))
    row.vs = f"{students / row.wall_s:,.0f} submissions/s"
    problems, statuses = check_grades(out / "report.json", firsts, students)
    row.check = check_text(problems)
    row.details["statuses"] = statuses
    row.note = (f"key: {sheets} sheets ({mb(key.stat().st_size):.0f} MB); CSV synthesised by "
                "benchmarks/grading.py (not timed); " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    return row


def check_grades(report_path: Path, firsts: dict[str, list[str]], students: int) -> tuple[list[str], dict[str, int]]:
    """Every sheet graded, none rejected; every blank answer unanswered and every answer written
    exactly as the key's first accepted form (benchmarks/grading.py's right_answers) correct."""
    problems: list[str] = []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    statuses: Counter[str] = Counter()
    if report.get("graded") != students or report.get("rejected"):
        problems.append(f"graded {report.get('graded')} of {students}, {len(report.get('rejected', []))} rejected")
    wrong = 0
    for sheet in report.get("sheets", []):
        first_answers = firsts.get(sheet["sheet"])
        if first_answers is None or len(sheet["answers"]) != len(first_answers):
            wrong += 1
            continue
        for answer, first in zip(sheet["answers"], first_answers, strict=True):
            statuses[answer["status"]] += 1
            if not answer["response"].strip() and answer["status"] != "unanswered":
                wrong += 1
            elif answer["response"] == first and answer["status"] != "correct":
                wrong += 1
    if wrong:
        problems.append(f"{wrong} answers or sheets graded against expectation")
    return problems, dict(statuses)


def measure_bigkey(bench: Bench) -> None:
    """Grading a class of as many students as a big saved key has sheets, one student per sheet."""
    from engine import api

    sheets, seed = bench.args.bigkey_sheets, bench.args.grading_seed
    folder = bench.work / "bigkey"
    folder.mkdir(exist_ok=True)
    key, submissions = folder / "quiz.json", folder / "answers.csv"
    log(f"big key: setup (not timed) of a {sheets}-sheet key and {sheets} submissions")
    row = Row("bigkey", f"grade {sheets} students against a {sheets}-sheet key", sheets)
    made = subprocess.run([*bench.qw, "generate", "--seed", str(seed), "--count", str(sheets), "-f", "json",
                           "-o", str(key)], env=bench.env, cwd=bench.engine_root, capture_output=True, text=True)
    if made.returncode != 0:
        row.check = f"FAIL: the key was not made: {made.stderr.strip()[-200:]}"
    else:
        # The class follows the same copies, streamed in this process (a loaded key would take GBs).
        firsts = load_grading().synthesise(lambda: api.generate(seed=seed, count=sheets).copies, sheets,
                                           seed, submissions)
        grade(bench, row, folder, key, submissions, firsts, sheets)
    bench.add(row)
    shutil.rmtree(folder)
