"""The state of one benchmark run: its options, work folder, runner, engine and the rows so far."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .common import BENCH, ROOT, WI4, WI4_SEED, Row, log
from .timing import Runner, Timed, child_env, failure, quizwright_cmd, run_record


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runner = Runner(work, args.timer, args.timeout)
        self.rows: list[Row] = []
        self.load: dict[str, float] = {}  # the 1-minute load average at the start and end of the run
        self.wi4: dict[int, Row] = {}
        self.engine_root = (args.engine_root or ROOT).resolve()
        self.env = child_env(self.engine_root)
        self.qw = quizwright_cmd()
        # the output and the hashes of the weight-init-4 runs at determinism_n(), for the repeat row
        self.outputs_for_determinism: tuple[Path | None, list[str]] = (None, [])

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        wall = f"{row.wall_s:.2f} s" if row.wall_s is not None else "-"
        log(f"  {row.work} N={row.n}: {wall}, {row.check[:200]}")
        return row

    def run(self, cmd: list[str], timeout: float | None = None) -> Timed:
        """One timed run of the engine timed (its root as working folder, its PYTHONPATH)."""
        return self.runner.run(cmd, cwd=self.engine_root, env=self.env, timeout=timeout)

    def timed_runs(self, row: Row, cmd: list[str], timeout: float | None = None,
                   output: Path | None = None) -> list[Timed] | None:
        """--runs runs of cmd, or None (the row says why) at the first failure or missing output."""
        row.command = shlex.join(cmd)
        timings = []
        for _ in range(self.args.runs):
            t = self.run(cmd, timeout)
            row.runs.append(run_record(t))
            problem = failure(t) or (None if output is None or output.exists() else "no output")
            if problem:
                row.check = f"FAIL: {problem}"
                row.details["stderr"] = t.stderr[-2000:]
                return None
            timings.append(t)
        return timings

    def wi4_command(self, n: int, out: Path) -> list[str]:
        return [*self.qw, "generate", str(WI4), "--seed", str(WI4_SEED), "--count", str(n),
                "-f", "moodle", "-o", str(out)]

    def floor_command(self, n: int, out: Path) -> list[str]:
        return [sys.executable, str(BENCH / "floor.py"), str(WI4), "--seed", str(WI4_SEED), "--count", str(n),
                "-o", str(out)]

    def determinism_n(self) -> int:
        sizes = self.args.sizes
        return 1000 if 1000 in sizes else min(sizes)
