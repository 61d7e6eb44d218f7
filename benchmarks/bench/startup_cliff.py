"""Start-up of four commands, and the exhaustion cliff of one weight-init-4 exercise."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

from .checkers import check_cliff
from .common import WI4, WI4_SEED, Row, check_text, log, mb
from .core import Bench

CLIFF_EXERCISE = "xavier-sum"


def measure_startup(bench: Bench) -> None:
    out = bench.work / "startup.xml"
    for name, args in (("help", ["--help"]), ("list", ["list"]), ("compare", ["compare", "2*n", "n+n"]),
                       ("generate", ["generate", "--count", "1", "-f", "moodle", "-o", str(out)])):
        log(f"start-up: quizwright {name}")
        shown = shlex.join(args).replace(str(out), "FILE")
        row = Row(f"startup-{name}", f"start-up: quizwright {shown}", None)
        timings = bench.timed_runs(row, [*bench.qw, *args])
        if timings:
            row.timed(timings, None)
            row.check = "ok (exit 0)"
        out.unlink(missing_ok=True)
        bench.add(row)
    measure_stack_floor(bench)


# What start-up cannot go below: the interpreter and the libraries a command must import (the
# first pydantic model's build imports the rest of pydantic), before any work of ours.
STACK_FLOORS = (
    ("python", "pass"),
    ("list", "import click, pydantic, yaml\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)"),
    ("generate", "import click, pydantic, yaml, jinja2, markdown_it\nclass M(pydantic.BaseModel):\n"
                 "    x: int\nM(x=1)"),
)


def measure_stack_floor(bench: Bench) -> None:
    """The start-up floor of each command's library stack (issue 15's start-up target is under it)."""
    for name, code in STACK_FLOORS:
        log(f"start-up floor: {name}")
        what = "the interpreter alone" if name == "python" else f"the libraries `{name}` imports, one model"
        row = Row(f"stackfloor-{name}", f"start-up floor: {what}", None)
        timings = bench.timed_runs(row, [sys.executable, "-c", code])
        if timings:
            row.timed(timings, None)
            row.check = "ok (exit 0)"
        bench.add(row)


def distinct_variants(bench: Bench, exercise: str) -> int:
    listed = subprocess.run([*bench.qw, "list", str(WI4), "--json"], capture_output=True, text=True,
                            env=bench.env, cwd=bench.engine_root, check=True)
    return next(json.loads(line)["variants"] for line in listed.stdout.splitlines()
                if line.startswith("{") and json.loads(line)["id"] == exercise)


def measure_cliff(bench: Bench) -> None:
    """One exercise at N = 1, a small N and its distinct count; per variant = the time beyond
    N = 1 (start-up, loading, the fixed cost of a run) divided by N - 1."""
    exercise = CLIFF_EXERCISE
    distinct = distinct_variants(bench, exercise)
    small = min(bench.args.cliff_small, distinct)
    base: Row | None = None
    for n in sorted({1, small, distinct}):
        log(f"cliff: {exercise} at N={n} (distinct: {distinct})")
        row = Row("cliff", f"{exercise} alone → Moodle XML ({distinct:,} distinct)", n)
        out = bench.work / f"cliff-{n}.xml"
        cmd = [*bench.qw, "generate", str(WI4), "-e", exercise, "--seed", str(WI4_SEED), "--count", str(n),
               "-f", "moodle", "-o", str(out)]
        timings = bench.timed_runs(row, cmd, bench.args.cliff_timeout if n == distinct else None)
        if timings is None and row.runs[-1]["timed_out"]:
            row.check = f"not finished in {bench.args.cliff_timeout:g} s (killed)"
        elif timings:
            row.timed(timings, n)
            row.output_mb = mb(out.stat().st_size)
            row.check = check_text(check_cliff(out, n))
            if n == 1:
                base, row.per = row, "(the base)"
            elif base is not None:
                marginal(row, base, n)
        row.details["distinct"] = distinct
        out.unlink(missing_ok=True)
        bench.add(row)


def marginal(row: Row, base: Row, n: int) -> None:
    """The time per variant beyond N = 1, in wall and (steadier on a busy machine) CPU time."""
    if base.wall_s is None or row.wall_s is None:
        return
    per = 1e6 * (row.wall_s - base.wall_s) / (n - 1)
    row.details["marginal_us_per_variant"] = round(per, 2)
    if row.cpu_s is not None and base.cpu_s is not None:
        row.details["marginal_cpu_us_per_variant"] = round(1e6 * (row.cpu_s - base.cpu_s) / (n - 1), 2)
    row.per = f"{per:.1f} µs beyond N=1"
