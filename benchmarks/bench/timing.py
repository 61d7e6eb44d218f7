"""How a run is timed: /usr/bin/time -v or a getrusage wrapper, load, CPU, and the engine timed."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIME_BIN = "/usr/bin/time"

# The timer of last resort: a wrapper process whose only child is the command, so that
# RUSAGE_CHILDREN's ru_maxrss (kilobytes on Linux) is the command's peak.
RUSAGE_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "wall = time.perf_counter() - start\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    json.dump({'wall': wall, 'peak_kb': usage.ru_maxrss, 'rc': rc,\n"
    "               'cpu': usage.ru_utime + usage.ru_stime}, fh)\n"
    "sys.exit(rc if rc >= 0 else 128 - rc)\n"
)


@dataclass
class Timed:
    wall: float  # seconds, from /usr/bin/time (or the wrapper)
    peak_kb: int  # maximum resident set size, kilobytes
    returncode: int
    outer_wall: float  # seconds around the shell, for reference
    stderr: str
    timed_out: bool = False
    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average before and after the run
    cpu: float | None = None  # user + system seconds


def _parse_time_v(text: str) -> tuple[float | None, int | None, int | None]:
    wall = peak = status = None
    match = re.search(r"Elapsed \(wall clock\) time \([^)]*\): *([0-9:.]+)", text)
    if match:
        seconds = 0.0
        for part in match.group(1).split(":"):
            seconds = seconds * 60 + float(part)
        wall = seconds
    match = re.search(r"Maximum resident set size \(kbytes\): *(\d+)", text)
    if match:
        peak = int(match.group(1))
    match = re.search(r"Exit status: *(\d+)", text)
    if match:
        status = int(match.group(1))
    return wall, peak, status


def _parse_cpu(text: str) -> float | None:
    """User + system seconds from a /usr/bin/time -v report."""
    times = re.findall(r"(?:User|System) time \(seconds\): *([0-9.]+)", text)
    return sum(map(float, times)) if len(times) == 2 else None


def _wait(proc: subprocess.Popen[bytes], timeout: float | None) -> tuple[int, bool]:
    """The return code, and whether the command was killed at the timeout."""
    try:
        return proc.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this call started, nothing else
        return proc.wait(), True
    except BaseException:  # Ctrl-C or SIGTERM: do not leave the timed command running
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


class Runner:
    """Starts each timed command from /bin/sh, in its own session (so a timeout kills its tree)."""

    def __init__(self, work: Path, timer: str, timeout: float | None) -> None:
        self.work = work
        self.timeout = timeout
        if timer == "auto":
            timer = "time" if os.access(TIME_BIN, os.X_OK) else "rusage"
        if timer == "time" and not os.access(TIME_BIN, os.X_OK):
            raise SystemExit(f"{TIME_BIN} is missing; use --timer rusage")
        self.timer = timer
        self.count = 0

    def describe(self) -> str:
        if self.timer == "time":
            return f"{TIME_BIN} -v"
        return "python wrapper, resource.getrusage(RUSAGE_CHILDREN)"

    def shell_line(self, cmd: list[str], report: Path) -> str:
        if self.timer == "time":
            argv = [TIME_BIN, "-v", "-o", str(report), *cmd]
        else:
            argv = [sys.executable, "-c", RUSAGE_WRAPPER, str(report), *cmd]
        return shlex.join(argv)

    def run(self, cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None,
            timeout: float | None = None) -> Timed:
        self.count += 1
        report = self.work / f"timing-{self.count}.txt"
        err_path = self.work / f"stderr-{self.count}.txt"
        line = self.shell_line(cmd, report)
        load_before = os.getloadavg()[0]
        with open(os.devnull, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(["/bin/sh", "-c", line], cwd=cwd, env=env, stdout=out, stderr=err,
                                    start_new_session=True)
            returncode, timed_out = _wait(proc, timeout or self.timeout)
            outer = time.perf_counter() - start
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        err_path.unlink()
        wall, peak, cpu, status = self.read_report(report)
        if status is not None and not timed_out:
            returncode = status
        return Timed(wall if wall is not None else outer, peak or 0, returncode, outer, stderr, timed_out,
                     (load_before, os.getloadavg()[0]), cpu)

    def read_report(self, report: Path) -> tuple[float | None, int | None, float | None, int | None]:
        """Wall, peak, CPU and (from /usr/bin/time) exit status of a run; None where unknown."""
        if not report.exists():
            return None, None, None, None
        text = report.read_text(encoding="utf-8", errors="replace")
        report.unlink()
        if self.timer == "time":
            wall, peak, status = _parse_time_v(text)
            return wall, peak, _parse_cpu(text), status
        try:
            data = json.loads(text)
            return data["wall"], data["peak_kb"], data["cpu"], None
        except (ValueError, KeyError):
            return None, None, None, None


def run_record(t: Timed, **extra: Any) -> dict[str, Any]:
    return {"wall_s": round(t.wall, 3), "cpu_s": t.cpu, "outer_wall_s": round(t.outer_wall, 3), "peak_kb": t.peak_kb,
            "returncode": t.returncode, "timed_out": t.timed_out, "load_1min": t.load, **extra}


def failure(t: Timed) -> str | None:
    if t.timed_out:
        return f"timeout after {t.outer_wall:.0f} s"
    if t.returncode != 0:
        last = t.stderr.strip().splitlines()[-1:] or [""]
        return f"exit {t.returncode}: {last[0][:160]}"
    return None


def quizwright_cmd() -> list[str]:
    # The console script of the environment running this script (a venv's bin/), not the first
    # one on PATH: a version manager's shim there (pyenv) adds ~0.1 s of shell to every run.
    beside = Path(sys.executable).with_name("quizwright")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    return [sys.executable, "-m", "engine"]  # with PYTHONPATH set by the caller's environment


def child_env(engine_root: Path) -> dict[str, str]:
    # First on PYTHONPATH, engine_root's engine/ is the one imported (before the venv's install).
    env = dict(os.environ)
    env["PYTHONPATH"] = str(engine_root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def byte_compile(engine_root: Path) -> None:
    # pip byte-compiles an installed package (and pymoodef's, text2qti's); an editable install
    # under PYTHONDONTWRITEBYTECODE=1 never does, and every timed run would then spend ~50 ms
    # compiling engine/ again. Compiled once here, every run starts as an installed one does.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(engine_root / "engine")], check=True)


def engine_imported(env: dict[str, str], cwd: Path) -> str:
    """Where the timed runs import engine/ from (what --engine-root asked for, checked)."""
    probe = [sys.executable, "-c", "import engine; print(engine.__file__)"]
    result = subprocess.run(probe, capture_output=True, text=True, env=env, cwd=cwd)
    return str(Path(result.stdout.strip()).parent.parent) if result.returncode == 0 else "?"
