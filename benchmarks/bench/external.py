"""The same weight-init-4 work in pymoodef and text2qti, installed in a venv of their own."""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from .checkers import check_wi4_moodle, check_wi4_qti
from .common import DOC_TIMES, EXTERNAL, WI4_SEED, Row, check_text, log, mb
from .core import Bench
from .timing import Timed, failure, run_record
from .wi4 import measure_wi4

EXTERNAL_PACKAGES = ["text2qti==0.8.0", "pymoodef==0.1.0"]


def ours_against(theirs: Row, ours: Row) -> tuple[float | None, bool]:
    """Our wall time to compare another tool's with: the runs alternated with its runs when
    there were any (True), else our row's median (False)."""
    paired = theirs.details.get("ours_paired_s")
    return (paired, True) if paired else (ours.wall_s, False)


def external_venv(bench: Bench) -> tuple[Path | None, str]:
    venv = Path(bench.args.external_venv) if bench.args.external_venv else bench.work / "venv"
    python = venv / "bin" / "python"
    probe = ("import importlib.metadata as m; "
             "print(m.version('text2qti'), m.version('pymoodef'))")
    if python.exists():
        have = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
        if have.returncode == 0 and have.stdout.split() == ["0.8.0", "0.1.0"]:
            return venv, "reused " + str(venv)
    else:
        log(f"creating a venv for the other tools in {venv}")
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            return None, f"python -m venv failed: {made.stderr.strip()[-200:]}"
    log(f"pip install {' '.join(EXTERNAL_PACKAGES)}")
    try:
        pip = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                              *EXTERNAL_PACKAGES], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return None, "pip install timed out (offline?)"
    if pip.returncode != 0:
        last = (pip.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"pip install failed (offline?): {last[:200]}"
    return venv, "installed in " + str(venv)


def measure_external(bench: Bench) -> None:
    sizes = bench.args.external_sizes
    venv, how = external_venv(bench)
    if venv is None:
        for tool in ("pymoodef", "text2qti"):
            for n in sizes:
                bench.add(Row(tool, f"{tool} (skipped)", n, check=f"skipped: {how}"))
        return
    sys.path.insert(0, str(EXTERNAL))
    import wi4_variants  # noqa: E402  (benchmarks/external, standard library only)

    for n in sizes:
        ours = measure_wi4(bench, n)
        pymoodef(bench, venv, n, ours, wi4_variants)
        text2qti(bench, venv, n, ours)


def _vs(row: Row, ours: Row, tool: str) -> None:
    mine, paired = ours_against(row, ours)
    if row.wall_s is not None and mine:
        row.details["ratio_theirs_over_ours"] = round(row.wall_s / mine, 3)
        row.vs = f"wall = {row.wall_s / mine:.2f}× ours{' (runs alternated)' if paired else ''}"
    doc = DOC_TIMES[tool].get(row.n or 0)
    if doc is not None:
        row.vs += f" (doc: {doc:g} s)"


def _external_runs(bench: Bench, row: Row, cmd: list[str], cwd: Path, output: Path,
                   env: dict[str, str] | None = None, paired: int | None = None) -> list[Timed] | None:
    """The tool's timed runs; with `paired` = N, each follows a run of ours at N, so that a slow
    spell of a shared machine weighs on both sides of the ratio (ours: details.ours_paired_s)."""
    timings = []
    ours: list[float] = []
    row.command = shlex.join(cmd)
    for i in range(bench.args.runs):
        if paired is not None:
            out = bench.work / f"wi4-paired-{paired}-{i}.xml"
            mine = bench.run(bench.wi4_command(paired, out))
            if not failure(mine):
                ours.append(mine.wall)
            out.unlink(missing_ok=True)
        if output.exists():
            output.unlink()
        t = bench.runner.run(cmd, cwd=cwd, env=env)
        row.runs.append(run_record(t))
        if failure(t) or not output.exists():
            row.check = f"FAIL (tool error): {failure(t) or 'no output'}"
            row.details["stderr"] = t.stderr[-2000:]
            return None
        timings.append(t)
    if len(ours) == len(timings):
        row.details["ours_paired_runs_s"] = ours
        row.details["ours_paired_s"] = statistics.median(ours)
    return timings


def pymoodef(bench: Bench, venv: Path, n: int, ours: Row, variants: Any) -> None:
    row = Row("pymoodef", "pymoodef 0.1.0: CSV → Moodle XML", n)
    folder = bench.work / f"pymoodef-{n}"
    folder.mkdir(exist_ok=True)
    csv_path = folder / "wi4.csv"
    variants.write_csv(csv_path, n, WI4_SEED)  # not timed: the teacher's script writes it
    shutil.copy(EXTERNAL / "pymoodef-wi4.ini", folder / "wi4.ini")
    output = folder / "wi4.xml"
    cmd = [str(venv / "bin" / "python"), "-m", "pymoodef", "wi4.csv", "wi4.xml"]
    timings = _external_runs(bench, row, cmd, folder, output, paired=n)
    row.note = ("CSV of the 4N questions written beforehand (not timed; the variants drawn by "
                "benchmarks/external/wi4_variants.py); one category per file, so 1 not 4")
    if timings:
        row.timed(timings, 4 * n)
        row.output_mb = mb(output.stat().st_size)
        problems, counts = check_wi4_moodle(output, n, categories=1)
        row.check = check_text(problems)
        row.details.update(counts=counts, csv_bytes=csv_path.stat().st_size)
        _vs(row, ours, "pymoodef")
    bench.add(row)


def text2qti(bench: Bench, venv: Path, n: int, ours: Row) -> None:
    row = Row("text2qti", "text2qti 0.8.0: Markdown + Python block → QTI zip", n)
    folder = bench.work / f"text2qti-{n}"
    folder.mkdir(exist_ok=True)
    source = (EXTERNAL / "wi4_variants.py").read_text(encoding="utf-8")
    template = (EXTERNAL / "text2qti-wi4.md").read_text(encoding="utf-8")
    quiz = template.replace("@@CODE@@", source.rstrip("\n")).replace("@@N@@", str(n)).replace(
        "@@SEED@@", str(WI4_SEED))
    (folder / "wi4.md").write_text(quiz, encoding="utf-8")
    output = folder / "wi4.zip"
    # HOME: text2qti creates ~/.text2qti.bespon when missing; PATH: its `python` code block runs
    # with the venv's interpreter.
    env = {**os.environ, "HOME": str(folder), "PATH": str(venv / "bin") + os.pathsep + os.environ["PATH"]}
    cmd = [str(venv / "bin" / "text2qti"), "--run-code-blocks", "wi4.md"]
    timings = _external_runs(bench, row, cmd, folder, output, env)
    row.note = ("the variants are drawn inside the timed run, by the quiz's executable Python block; "
                "output QTI 1.2 zip (for Canvas), 4 groups of N, pick 1")
    if timings:
        row.timed(timings, 4 * n)
        row.output_mb = mb(output.stat().st_size)
        problems, counts = check_wi4_qti(output, n)
        row.check = check_text(problems)
        if not problems and counts.get("limit_max_relative_error", 0) > 1e-12:
            row.check = (f"ok (xavier-limit written with 4 decimals: answers off by up to "
                         f"{100 * counts['limit_max_relative_error']:.2f} %, ranges accept up to "
                         f"{100 * counts['limit_max_accepted_relative']:.2f} % instead of 1 %)")
        row.details["counts"] = counts
        _vs(row, ours, "text2qti")
    bench.add(row)
