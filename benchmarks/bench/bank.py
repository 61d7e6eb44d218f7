"""The whole bundled bank in three formats, and `quizwright check --seeds`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from .checkers import count_moodle
from .common import BANK, BANK_SEED, Row, check_text, log, mb
from .core import Bench


def bank_exercises(bench: Bench) -> int:
    result = subprocess.run([*bench.qw, "list", "--json"], capture_output=True, text=True, env=bench.env,
                            cwd=bench.engine_root, check=True)
    return sum(1 for line in result.stdout.splitlines() if line.strip().startswith("{"))


def measure_bank(bench: Bench) -> None:
    exercises = bank_exercises(bench)
    count = bench.args.bank_count
    code_match = re.search(r"^code:\s*(\S+)", (BANK / "bank.yaml").read_text(encoding="utf-8"), re.M)
    code = code_match.group(1) if code_match else "WI"
    for fmt, ext in (("markdown", "md"), ("json", "json"), ("moodle", "xml")):
        log(f"whole bank -f {fmt}, {count} copies x {exercises} exercises")
        row = Row(f"bank-{fmt}", f"whole bank ({exercises} ex.) → {fmt}", count)
        output = bench.work / f"bank.{ext}"
        key = bench.work / "bank.key.md"
        cmd = [*bench.qw, "generate", "--seed", str(BANK_SEED), "--count", str(count), "-f", fmt,
               "-o", str(output)]
        timings = bench.timed_runs(row, cmd, output=output)
        if timings:
            variants = exercises * count
            row.timed(timings, variants)
            size = output.stat().st_size + (key.stat().st_size if key.exists() else 0)
            row.output_mb = mb(size)
            row.details["variants_per_s"] = round(variants / row.wall_s, 1)
            row.vs = f"{variants / row.wall_s:,.0f} variants/s"
            row.check = check_text(check_bank(fmt, output, key, count, exercises, code))
            if fmt == "markdown":
                row.note = "output = sheets + answer key"
        for path in (output, key):
            if path.exists():
                path.unlink()
        bench.add(row)


def check_bank(fmt: str, output: Path, key: Path, count: int, exercises: int, code: str) -> list[str]:
    if fmt == "json":
        return _check_bank_json(output, count, exercises)
    if fmt == "markdown":
        problems = []
        marker = f"Sheet {code}-{BANK_SEED}-"
        for path, what in ((output, "sheets"), (key, "key")):
            if not path.exists():
                problems.append(f"no {what} file")
                continue
            with path.open(encoding="utf-8") as fh:
                found = sum(line.count(marker) for line in fh)
            if found != count:
                problems.append(f"{found} '{marker}' in the {what}, expected {count}")
        return problems
    problems, types, per_category = count_moodle(output)
    questions = sum(v for k, v in types.items() if k != "category")
    if types["category"] != exercises or questions != exercises * count:
        problems.append(f"{types['category']} categories and {questions} questions, expected "
                        f"{exercises} and {exercises * count}")
    odd = {k: v for k, v in per_category.items() if v != count}
    if odd:
        problems.append(f"categories without {count} questions: {odd}")
    return problems


def _check_bank_json(output: Path, count: int, exercises: int) -> list[str]:
    try:
        data = json.loads(output.read_bytes())
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    problems = []
    copies = data.get("copies", [])
    if len(copies) != count:
        problems.append(f"{len(copies)} copies, expected {count}")
    wrong = [c.get("sheet") for c in copies if len(c.get("variants", [])) != exercises]
    if wrong:
        problems.append(f"{len(wrong)} copies without {exercises} variants, e.g. {wrong[0]}")
    return problems


def measure_check(bench: Bench) -> None:
    seeds = bench.args.check_seeds
    log(f"quizwright check --seeds {seeds}")
    row = Row("check", f"quizwright check --seeds {seeds} (whole bank)", seeds)
    timings = bench.timed_runs(row, [*bench.qw, "check", "--seeds", str(seeds)])
    if timings:
        row.timed(timings, bank_exercises(bench) * seeds)
        row.check = "ok (exit 0)"
    bench.add(row)
