"""The report: the Markdown table with its notes and verdicts, and the JSON of the whole run."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .common import ROOT
from .core import Bench

TIMER_NOTE = ("per variant = wall / (4N) for weight-init-4 and the other tools, wall / (exercises × N) for "
              "the bank and check; MB = 10⁶ bytes; R/exams and '(doc: …)' figures are constants from "
              "shared/benchmarks/weight-init-4.md, not measured here; CPU = user + system; load = the highest "
              "1-minute load average before or after a timed run of the row.")


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(bench: Bench, targets: list[dict[str, Any]]) -> str:
    lines = ["| work | N | wall s (median) | CPU s | per variant | peak MB | output MB | load | check | vs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in bench.rows:
        cells = [r.work, f"{r.n:,}" if r.n is not None else "-", fmt(r.wall_s), fmt(r.cpu_s), r.per or "-",
                 fmt(r.peak_mb, 1), fmt(r.output_mb, 1), fmt(r.details.get("load_1min_max")), r.check, r.vs or ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", f"Timer: {bench.runner.describe()}, median of {bench.args.runs} run(s); {TIMER_NOTE}",
              f"Engine: {bench.engine_root}; machine: {os.cpu_count()} CPUs, 1-minute load average "
              f"{fmt(bench.load.get('start'))} at the start of the run and {fmt(bench.load.get('end'))} at its end.",
              *notes(bench),
              "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {t['verdict']} |" for t in targets]
    return "\n".join(lines)


def notes(bench: Bench) -> list[str]:
    """Each row's note once, with its N where the work has one."""
    found: list[str] = []
    for r in bench.rows:
        per_n = r.n is not None and r.id not in ("pymoodef", "text2qti") and not r.id.startswith("formula")
        line = f"- {r.work} (N={r.n:,}): {r.note}" if per_n else f"- {r.work}: {r.note}"
        if r.note and line not in found:
            found.append(line)
    return found


def meta(bench: Bench) -> dict[str, Any]:
    def git(where: Path, *args: str) -> str:
        result = subprocess.run(["git", *args], capture_output=True, text=True, cwd=where)
        return result.stdout.strip()

    root = bench.engine_root
    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": git(ROOT, "rev-parse", "HEAD"),
        "engine_root": str(root),
        "engine_commit": git(root, "rev-parse", "HEAD"),
        "engine_dirty": bool(git(root, "status", "--porcelain", "--", "engine")),
        "load_1min": bench.load,
        "timer": bench.runner.describe(),
        "quizwright": f"PYTHONPATH={root} {shlex.join(bench.qw)}",
        "args": {k: v for k, v in vars(bench.args).items()},
    }


def write_json(path: Path, bench: Bench, targets: list[dict[str, Any]], table: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": meta(bench), "rows": [asdict(r) for r in bench.rows], "targets": targets, "table": table}
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
