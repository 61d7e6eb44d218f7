"""Runs the benchmarks: weight-init-4 at several sizes against the floor script and other tools, the
whole bank, check, grading, start-up, the exhaustion cliff and grading against a big saved key.

Run from anywhere: ``python benchmarks/run.py`` (every measurement at its default size; the
N = 100 000 run alone takes minutes), or, while developing,
``python benchmarks/run.py --only wi4 --sizes 20 --runs 1 --skip-external``.
See benchmarks/README.md for what each row means and how the other tools are invoked.

Every timed run is a whole process started from a shell under ``/usr/bin/time -v`` (wall clock and
peak resident memory; with ``--timer rusage``, or when /usr/bin/time is missing, a small Python
wrapper process times the command and reads ``getrusage(RUSAGE_CHILDREN)``). Each figure is the
median of ``--runs`` runs. Every output is checked (a fast wrong answer must not look good): the
check column says ``ok`` or what is wrong. The table is printed as Markdown and written as JSON
(``--json``, default benchmarks/results/latest.json), followed by the verdict on each target;
a target is only ever called met on a figure measured in this run. Each run records its CPU
time and the machine's 1-minute load before and after it; ``--engine-root DIR`` times another
checkout's engine with the same script.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
WI4 = BENCH / "weight-init-4"
EXTERNAL = BENCH / "external"
BANK = ROOT / "exercises" / "weight-initialization"
DEFAULT_JSON = BENCH / "results" / "latest.json"

WI4_SEED = 1
BANK_SEED = 7
# shared/benchmarks/weight-init-4.md, "Other tools on the same work" (a 2-core machine): constants,
# never measured here.
R_EXAMS_DOC = {100: 18.9, 1000: 159.0}
DOC_TIMES = {"text2qti": {100: 0.67, 1000: 4.7}, "pymoodef": {100: 0.57, 1000: 0.92}}
EXTERNAL_PACKAGES = ["text2qti==0.8.0", "pymoodef==0.1.0"]
TIME_BIN = "/usr/bin/time"
WORKS = ("wi4", "external", "bank", "check", "grading", "startup", "cliff", "bigkey")
CLIFF_EXERCISE = "xavier-sum"
FLOOR_TARGETS = {1000: 2.5, 20000: 2.0, 100000: 2.0}  # N: ours / floor at most
EXTERNAL_IDS = ("pymoodef", "text2qti")  # their failures are findings, not failures of this run

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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Timed processes


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
        timed_out = False
        load_before = os.getloadavg()[0]
        with open(os.devnull, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(["/bin/sh", "-c", line], cwd=cwd, env=env, stdout=out, stderr=err,
                                    start_new_session=True)
            try:
                returncode = proc.wait(timeout=timeout or self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the session this call started, nothing else
                returncode = proc.wait()
                timed_out = True
            except BaseException:  # Ctrl-C or SIGTERM: do not leave the timed command running
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            outer = time.perf_counter() - start
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        err_path.unlink()
        wall: float | None = None
        peak: int | None = None
        cpu: float | None = None
        if report.exists():
            text = report.read_text(encoding="utf-8", errors="replace")
            report.unlink()
            if self.timer == "time":
                wall, peak, status = _parse_time_v(text)
                cpu = _parse_cpu(text)
                if status is not None and not timed_out:
                    returncode = status
            else:
                try:
                    data = json.loads(text)
                    wall, peak, cpu = data["wall"], data["peak_kb"], data["cpu"]
                except (ValueError, KeyError):
                    pass
        return Timed(wall if wall is not None else outer, peak or 0, returncode, outer, stderr, timed_out,
                     (load_before, os.getloadavg()[0]), cpu)


# ----------------------------------------------------------------------------------------------
# Rows and helpers


@dataclass
class Row:
    id: str  # wi4, wi4-repeat, pymoodef, text2qti, bank-markdown, ..., check, grading
    work: str
    n: int | None
    wall_s: float | None = None
    cpu_s: float | None = None  # median user + system seconds
    per: str = ""  # shown in the "per variant" column
    per_variant_ms: float | None = None
    peak_mb: float | None = None
    output_mb: float | None = None
    check: str = "not run"
    vs: str = ""
    note: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    command: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def timed(self, timings: list[Any], units: int | None, suffix: str = "ms") -> None:
        """Median wall time, CPU time and peak memory of the runs, and the time per unit of work."""
        self.wall_s, self.peak_mb = summarise(timings)
        cpus = [t.cpu for t in timings if t.cpu is not None]
        self.cpu_s = statistics.median(cpus) if len(cpus) == len(timings) else None
        self.details["load_1min_max"] = max(max(t.load) for t in timings)
        if units:
            self.per_variant_ms = 1000 * self.wall_s / units
            self.per = f"{self.per_variant_ms:.3f} {suffix}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


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


def summarise(timings: list[Timed]) -> tuple[float, float]:
    return statistics.median(t.wall for t in timings), mb(statistics.median(t.peak_kb for t in timings) * 1024)


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


# ----------------------------------------------------------------------------------------------
# Output checks


WI4_KINDS = {"xavier-sum": "numerical", "xavier-limit": "numerical", "he-variance": "multichoice",
             "winit-tf": "truefalse"}
PLAIN_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
N_IN = re.compile(r"n_\{in\} = (\d+)")
N_OUT = re.compile(r"n_\{out\} = (\d+)")
HE_CORRECT = r"\frac{2}{n_{in}}"


def wi4_exercise_of(text: str) -> str | None:
    """Which weight-init-4 question a stem is (the same words in every tool's output)."""
    if "Xavier uniform limit" in text:
        return "xavier-limit"
    if "in Xavier initialization" in text:
        return "xavier-sum"
    if "In He initialization" in text:
        return "he-variance"
    if "True or false: weight initialization" in text:
        return "winit-tf"
    return None


def iter_moodle_questions(path: Path) -> Iterator[ET.Element]:
    """Every <question> of a Moodle XML file, streamed: each element is cleared once handled, so a
    file of any size is checked in little memory. Raises ET.ParseError on malformed XML."""
    depth = 0
    root: ET.Element | None = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            depth += 1
            if root is None:
                root = elem
                if elem.tag != "quiz":
                    raise ET.ParseError(f"root element <{elem.tag}>, expected <quiz>")
            continue
        depth -= 1
        if depth == 1 and elem.tag == "question":
            yield elem
            assert root is not None
            root.clear()  # drop what was handled: memory stays flat


def _ab(text: str) -> tuple[int, int] | None:
    a, b = N_IN.search(text), N_OUT.search(text)
    if not a or not b:
        return None
    return int(a.group(1)), int(b.group(1))


def _decimal(text: str | None) -> Decimal | None:
    if text is None or not PLAIN_DECIMAL.fullmatch(text.strip()):
        return None  # Moodle needs plain decimals: an exponent stops its import
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _fraction(answer: ET.Element) -> float:
    try:
        return float(answer.get("fraction", "0"))
    except ValueError:
        return float("nan")


def xavier_limit_problem(a: int, b: int, answer: Decimal, tolerance: Decimal) -> str | None:
    with localcontext() as ctx:
        ctx.prec = 40
        exact = (Decimal(6) / Decimal(a + b)).sqrt()
        if abs(answer - exact) > Decimal("1e-12") * exact:
            return f"answer {answer} is not sqrt(6/({a}+{b})) = {exact:.15f}"
        expected = Decimal("0.01") * answer
        if abs(tolerance - expected) > Decimal("1e-9") * expected:
            return f"tolerance {tolerance} is not 0.01 x {answer}"
    return None


def check_wi4_moodle(path: Path, n: int, categories: int = 4) -> tuple[list[str], dict[str, Any]]:
    """Checks a weight-init-4 Moodle XML export; returns (problems, counts): no problem means ok.

    Strict XML parse (streamed); `categories` categories (4: one per question, each holding only
    that question's n variants); n multichoice, n truefalse, 2n numerical questions; every numerical
    answer and tolerance recomputed from the A and B printed in its stem (xavier-sum: A + B,
    tolerance 0; xavier-limit: sqrt(6/(A+B)) at 40 digits within 1e-12 relative, tolerance 0.01 x
    answer within 1e-9 relative); he-variance: one 100 % answer, 2/n_in; winit-tf: true.
    """
    problems: list[str] = []
    failures: Counter[str] = Counter()
    types: Counter[str] = Counter()
    per_exercise: Counter[str] = Counter()
    category_members: dict[str, Counter[str]] = {}
    current: str | None = None

    def fail(kind: str, message: str) -> None:
        failures[kind] += 1
        if failures[kind] <= 3:
            problems.append(message)

    try:
        for q in iter_moodle_questions(path):
            qtype = q.get("type") or "?"
            types[qtype] += 1
            if qtype == "category":
                current = q.findtext("category/text") or ""
                if current in category_members:
                    fail("category", f"category {current!r} appears twice")
                category_members.setdefault(current, Counter())
                continue
            name = q.findtext("name/text") or "?"
            text = q.findtext("questiontext/text") or ""
            exercise = wi4_exercise_of(text)
            if exercise is None:
                fail("unknown", f"{name}: not one of the four questions")
                continue
            idnumber = (q.findtext("idnumber") or "").strip()
            if idnumber and idnumber.split(".")[0] != exercise:
                fail("idnumber", f"{name}: idnumber {idnumber} but the stem of {exercise}")
            per_exercise[exercise] += 1
            if current is None:
                fail("category", f"{name}: question before any category")
            else:
                category_members[current][exercise] += 1
            if qtype != WI4_KINDS[exercise]:
                fail("type", f"{name}: {exercise} as {qtype}, expected {WI4_KINDS[exercise]}")
                continue
            answers = q.findall("answer")
            right = [a for a in answers if _fraction(a) == 100]
            if len(right) != 1:
                fail("right", f"{name}: {len(right)} answers at 100 %, expected 1")
                continue
            answer_text = right[0].findtext("text") or ""
            if exercise in ("xavier-sum", "xavier-limit"):
                ab = _ab(text)
                if ab is None:
                    fail("stem", f"{name}: no n_in = A and n_out = B in the stem")
                    continue
                a, b = ab
                if not (2 <= a <= 512 and 2 <= b <= 512):
                    fail("range", f"{name}: A = {a}, B = {b} outside [2, 512]")
                value = _decimal(answer_text)
                tolerance = _decimal(right[0].findtext("tolerance"))
                if value is None or tolerance is None:
                    fail("number", f"{name}: answer {answer_text!r} or its tolerance is not a plain decimal")
                    continue
                if exercise == "xavier-sum":
                    if value != a + b or tolerance != 0:
                        fail("sum", f"{name}: answer {value} tolerance {tolerance}, expected {a + b} exactly")
                else:
                    problem = xavier_limit_problem(a, b, value, tolerance)
                    if problem:
                        fail("limit", f"{name}: {problem}")
            elif exercise == "he-variance":
                if len(answers) != 3 or HE_CORRECT not in answer_text:
                    fail("he", f"{name}: {len(answers)} options, the 100 % one is {answer_text!r}")
            elif answer_text.strip().lower() != "true" or len(answers) != 2:
                fail("tf", f"{name}: the 100 % answer is {answer_text!r}, expected true")
    except ET.ParseError as exc:
        problems.append(f"not well-formed XML: {exc}")
        failures["xml"] += 1

    expected_types = {"category": categories, "multichoice": n, "truefalse": n, "numerical": 2 * n}
    for qtype in sorted(set(types) | set(expected_types)):
        if types[qtype] != expected_types.get(qtype, 0):
            fail("count", f"{types[qtype]} {qtype} questions, expected {expected_types.get(qtype, 0)}")
    for exercise in WI4_KINDS:
        if per_exercise[exercise] != n:
            fail("count", f"{per_exercise[exercise]} variants of {exercise}, expected {n}")
    if categories == len(WI4_KINDS):
        for name, members in category_members.items():
            if len(members) != 1 or next(iter(members.values())) != n:
                fail("category", f"category {name!r} holds {dict(members)}, expected one question x {n}")
    hidden = sum(failures.values()) - len(problems)
    if hidden > 0:
        problems.append(f"... and {hidden} more")
    counts = {"types": dict(types), "per_exercise": dict(per_exercise), "categories": len(category_members),
              "failures": dict(failures)}
    return problems, counts


QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
QTI_KINDS = {"xavier-sum": "numerical_question", "xavier-limit": "numerical_question",
             "he-variance": "multiple_choice_question", "winit-tf": "true_false_question"}


def check_wi4_qti(path: Path, n: int) -> tuple[list[str], dict[str, Any]]:
    """Checks text2qti's QTI zip of the weight-init-4 work: strict XML parse, 4 question groups
    (pick 1) of n items each, one question per group, types, numerical answers against A and B
    (xavier-sum exact; xavier-limit: each end of the accepted range is sqrt(6/(A+B)) ± 1 % as
    text2qti writes it, with 4 decimals), the correct option of he-variance and winit-tf."""
    problems: list[str] = []
    failures: Counter[str] = Counter()
    max_rel = max_accepted = 0.0

    def fail(kind: str, message: str) -> None:
        failures[kind] += 1
        if failures[kind] <= 3:
            problems.append(message)

    types: Counter[str] = Counter()
    groups = 0
    try:
        with zipfile.ZipFile(path) as archive:
            names = [x for x in archive.namelist() if x.endswith(".xml") and "/" in x
                     and not x.endswith("assessment_meta.xml")]
            if len(names) != 1:
                return [f"expected one assessment file in the zip, found {names}"], {}
            with archive.open(names[0]) as fh:
                root = ET.parse(fh).getroot()
    except (zipfile.BadZipFile, ET.ParseError, OSError) as exc:
        return [f"unreadable QTI zip: {exc}"], {}
    for section in root.iter(f"{QTI}section"):
        selection = section.find(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number")
        if selection is None:
            continue
        groups += 1
        items = section.findall(f"{QTI}item")
        if selection.text != "1" or len(items) != n:
            fail("group", f"group {groups}: pick {selection.text}, {len(items)} items, expected pick 1 of {n}")
        exercises: Counter[str] = Counter()
        for item in items:
            title = item.get("title", "?")
            qtype = next((f.findtext(f"{QTI}fieldentry") for f in item.iter(f"{QTI}qtimetadatafield")
                          if f.findtext(f"{QTI}fieldlabel") == "question_type"), "?")
            types[qtype or "?"] += 1
            text = item.findtext(f"{QTI}presentation/{QTI}material/{QTI}mattext") or ""
            exercise = wi4_exercise_of(text)
            if exercise is None:
                fail("unknown", f"{title}: not one of the four questions")
                continue
            exercises[exercise] += 1
            if qtype != QTI_KINDS[exercise]:
                fail("type", f"{title}: {qtype}, expected {QTI_KINDS[exercise]}")
                continue
            scoring = [c for c in item.iter(f"{QTI}respcondition")
                       if (c.findtext(f"{QTI}setvar") or "").strip() == "100"]
            if len(scoring) != 1:
                fail("right", f"{title}: {len(scoring)} conditions scoring 100")
                continue
            condition = scoring[0]
            if exercise in ("xavier-sum", "xavier-limit"):
                ab = _ab(text)
                low = condition.findtext(f".//{QTI}vargte")
                high = condition.findtext(f".//{QTI}varlte")
                equal = condition.findtext(f".//{QTI}varequal")
                if ab is None or low is None or high is None or equal is None:
                    fail("number", f"{title}: no A, B or no accepted range")
                    continue
                a, b = ab
                lo, hi, eq = Decimal(low), Decimal(high), Decimal(equal)
                if exercise == "xavier-sum":
                    if not lo == hi == eq == a + b:
                        fail("sum", f"{title}: accepts [{lo}, {hi}], expected exactly {a + b}")
                else:
                    # text2qti writes the answer and the range with 4 decimals ({:.4f}): each end
                    # must be the 1 % bound rounded so
                    with localcontext() as ctx:
                        ctx.prec = 40
                        exact = (Decimal(6) / Decimal(a + b)).sqrt()
                        max_rel = max(max_rel, float(abs(eq - exact) / exact))
                        accepted = max(exact - lo, hi - exact) / exact
                        max_accepted = max(max_accepted, float(accepted))
                        half = Decimal("0.00005") + Decimal("1e-12")
                        if not (lo <= exact <= hi and abs(lo - Decimal("0.99") * exact) <= half
                                and abs(hi - Decimal("1.01") * exact) <= half):
                            fail("limit", f"{title}: accepts [{lo}, {hi}] for sqrt(6/({a}+{b})) = {exact:.6f}")
            else:
                chosen = condition.findtext(f".//{QTI}varequal")
                label = next((lab for lab in item.iter(f"{QTI}response_label") if lab.get("ident") == chosen), None)
                shown = label.findtext(f".//{QTI}mattext") if label is not None else None
                if exercise == "he-variance":
                    if shown is None or HE_CORRECT not in shown:
                        fail("he", f"{title}: the correct option is {shown!r}")
                elif shown is None or "True" not in shown:
                    fail("tf", f"{title}: the correct option is {shown!r}")
        if len(exercises) != 1:
            fail("group", f"group {groups} holds {dict(exercises)}, expected one question")
    if groups != 4:
        fail("group", f"{groups} question groups, expected 4")
    expected = Counter({"numerical_question": 2 * n, "multiple_choice_question": n, "true_false_question": n})
    if types != expected:
        fail("count", f"question types {dict(types)}, expected {dict(expected)}")
    hidden = sum(failures.values()) - len(problems)
    if hidden > 0:
        problems.append(f"... and {hidden} more")
    return problems, {"types": dict(types), "groups": groups, "limit_max_relative_error": max_rel,
                      "limit_max_accepted_relative": max_accepted, "failures": dict(failures)}


def count_moodle(path: Path) -> tuple[list[str], Counter[str], dict[str, int]]:
    """Question types and questions per category of any Moodle XML file (streamed)."""
    types: Counter[str] = Counter()
    per_category: dict[str, int] = {}
    current = None
    try:
        for q in iter_moodle_questions(path):
            qtype = q.get("type") or "?"
            types[qtype] += 1
            if qtype == "category":
                current = q.findtext("category/text") or ""
                per_category.setdefault(current, 0)
            elif current is not None:
                per_category[current] += 1
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"], types, per_category
    return [], types, per_category


def load_grading() -> Any:
    """benchmarks/grading.py: the class synthesis and the formula timings."""
    spec = importlib.util.spec_from_file_location("qw_bench_grading", BENCH / "grading.py")
    assert spec and spec.loader
    grading = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = grading
    spec.loader.exec_module(grading)
    return grading


def check_cliff(path: Path, n: int) -> list[str]:
    """n xavier-sum questions of n distinct (A, B) pairs, each answer A + B (scanned line by line)."""
    pairs: set[tuple[int, int]] = set()
    questions = wrong = 0
    ab: tuple[int, int] | None = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if '<question type="numerical">' in line:
                questions += 1
            elif "<questiontext" in line:
                ab = None
            elif ab is None and "n_{out} = " in line:
                ab = _ab(line)
                if ab:
                    pairs.add(ab)
            elif "<answer fraction=\"100\">" in line:
                answer = next(fh).strip()
                wrong += ab is None or answer != f"<text>{sum(ab)}</text>"
    problems = [f"{questions} questions, expected {n}"] if questions != n else []
    if len(pairs) != n:
        problems.append(f"{len(pairs)} distinct (A, B) pairs, expected {n}")
    if wrong:
        problems.append(f"{wrong} answers are not A + B")
    return problems


def check_text(problems: list[str]) -> str:
    return "ok" if not problems else "FAIL: " + "; ".join(problems)


# ----------------------------------------------------------------------------------------------
# The measurements


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

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        wall = f"{row.wall_s:.2f} s" if row.wall_s is not None else "-"
        log(f"  {row.work} N={row.n}: {wall}, {row.check[:200]}")
        return row

    # -- 1. weight-init-4 -> Moodle XML -------------------------------------------------------

    def wi4_command(self, n: int, out: Path) -> list[str]:
        return [*self.qw, "generate", str(WI4), "--seed", str(WI4_SEED), "--count", str(n),
                "-f", "moodle", "-o", str(out)]

    def floor_command(self, n: int, out: Path) -> list[str]:
        return [sys.executable, str(BENCH / "floor.py"), str(WI4), "--seed", str(WI4_SEED), "--count", str(n),
                "-o", str(out)]

    def measure_wi4(self, n: int) -> Row:
        """Ours at N, each run followed by a run of the floor script (benchmarks/floor.py)."""
        if n in self.wi4:
            return self.wi4[n]
        log(f"weight-init-4 -> Moodle XML, N={n} ({self.args.runs} run(s), each paired with the floor's)")
        row = Row("wi4", "weight-init-4 → Moodle XML", n)
        floor = Row("floor", "floor: benchmarks/floor.py (stdlib) → Moodle XML", n)
        self.wi4[n] = row
        timings: list[Timed] = []
        floor_timings: list[Timed] = []
        hashes: list[str] = []
        last: Path | None = None
        for i in range(self.args.runs):
            out = self.work / f"wi4-{n}-{i}.xml"
            cmd = self.wi4_command(n, out)
            row.command = shlex.join(cmd)
            t = self.runner.run(cmd, cwd=self.engine_root, env=self.env)
            problem = failure(t)
            if problem or not out.exists():
                row.check = f"FAIL: {problem or 'no output file'}"
                row.runs.append(run_record(t))
                return self.add(row)
            size = out.stat().st_size
            hashes.append(sha256_file(out))
            row.runs.append(run_record(t, output_bytes=size, sha256=hashes[-1]))
            timings.append(t)
            if last is not None:
                last.unlink()
            last = out
            self.floor_run(floor, n, floor_timings, hashes[-1], size)
        assert last is not None
        row.timed(timings, 4 * n)
        row.output_mb = mb(last.stat().st_size)
        start = time.perf_counter()
        problems, counts = check_wi4_moodle(last, n)
        row.details.update(check_seconds=round(time.perf_counter() - start, 2), counts=counts,
                           identical_runs=len(set(hashes)) == 1 if len(hashes) > 1 else None)
        if len(set(hashes)) > 1:
            problems.append(f"the {len(hashes)} runs wrote different bytes")
        row.check = check_text(problems)
        if n in R_EXAMS_DOC:
            row.vs = f"R/exams {R_EXAMS_DOC[n]:g} s (doc) = {R_EXAMS_DOC[n] / row.wall_s:.1f}× ours"
        self.add(row)
        self.floor_result(floor, row, floor_timings, last, n)
        if n == self.determinism_n():
            self.outputs_for_determinism = (last, hashes)
        else:
            last.unlink()
        return row

    def floor_run(self, floor: Row, n: int, timings: list[Timed], ours_sha: str, ours_bytes: int) -> None:
        """One run of the floor script; its output is kept when it differs from ours, for the check."""
        if floor.check.startswith("FAIL"):
            return
        out = self.work / f"floor-{n}.xml"
        cmd = self.floor_command(n, out)
        floor.command = shlex.join(cmd)
        t = self.runner.run(cmd, cwd=ROOT)
        if failure(t) or not out.exists():
            floor.check = f"FAIL: {failure(t) or 'no output file'}"
            floor.runs.append(run_record(t))
            return
        size, sha = out.stat().st_size, sha256_file(out)
        floor.runs.append(run_record(t, output_bytes=size, sha256=sha))
        floor.details.update(bytes_over_ours=round(size / ours_bytes, 4), same_bytes_as_ours=sha == ours_sha)
        timings.append(t)
        if sha == ours_sha:
            out.unlink()

    def floor_result(self, floor: Row, ours: Row, timings: list[Timed], ours_out: Path, n: int) -> None:
        """The floor's row: checked as ours is (the same verdict when it wrote our bytes), and the
        ratio ours / floor of the medians of the alternated runs."""
        out = self.work / f"floor-{n}.xml"
        if len(timings) == len(ours.runs) and timings:
            floor.timed(timings, 4 * n)
            floor.output_mb = mb(ours_out.stat().st_size * floor.details["bytes_over_ours"])
            if floor.details["same_bytes_as_ours"]:
                floor.check = ours.check if not ours.check.startswith("ok") else "ok (the same bytes as ours)"
            else:
                floor.check = check_text(check_wi4_moodle(out, n)[0])
            assert ours.wall_s is not None and floor.wall_s is not None
            ratio = ours.wall_s / floor.wall_s
            cpu = ours.cpu_s / floor.cpu_s if ours.cpu_s and floor.cpu_s else None
            floor.details.update(ours_over_floor=round(ratio, 3), ours_over_floor_cpu=cpu and round(cpu, 3))
            floor.vs = f"ours = {ratio:.2f}× floor (wall, runs alternated)" + (f", {cpu:.2f}× (CPU)" if cpu else "")
            floor.note = (f"output {100 * floor.details['bytes_over_ours']:.1f} % of our bytes"
                          + (", identical" if floor.details["same_bytes_as_ours"] else ""))
        out.unlink(missing_ok=True)
        self.add(floor)

    def determinism_n(self) -> int:
        sizes = self.args.sizes
        return 1000 if 1000 in sizes else min(sizes)

    def wi4_repeat(self) -> None:
        """Same seed, same bytes: two runs compared by SHA-256 (the timed runs when there are two)."""
        n = self.determinism_n()
        first, hashes = getattr(self, "outputs_for_determinism", (None, []))
        row = Row("wi4-repeat", "weight-init-4 repeat run: same bytes", n)
        if len(hashes) < 2:
            out = self.work / f"wi4-{n}-repeat.xml"
            cmd = self.wi4_command(n, out)
            row.command = shlex.join(cmd)
            t = self.runner.run(cmd, cwd=self.engine_root, env=self.env)
            if failure(t) or not out.exists():
                row.check = f"FAIL: {failure(t) or 'no output'}"
                self.add(row)
                return
            hashes = [*hashes, sha256_file(out)]
            out.unlink()
            row.wall_s, row.peak_mb = t.wall, mb(t.peak_kb * 1024)
            row.runs.append(run_record(t, sha256=hashes[-1]))
        row.details = {"sha256": hashes}
        row.check = "ok" if len(hashes) >= 2 and len(set(hashes)) == 1 else f"FAIL: sha256 differ {hashes}"
        row.note = f"sha256 {hashes[0][:16]}… in {len(hashes)} runs"
        self.add(row)
        if first is not None and first.exists():
            first.unlink()

    # -- 2. other tools -------------------------------------------------------------------------

    def external_venv(self) -> tuple[Path | None, str]:
        venv = Path(self.args.external_venv) if self.args.external_venv else self.work / "venv"
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

    def measure_external(self) -> None:
        sizes = self.args.external_sizes
        venv, how = self.external_venv()
        if venv is None:
            for tool in ("pymoodef", "text2qti"):
                for n in sizes:
                    self.add(Row(tool, f"{tool} (skipped)", n, check=f"skipped: {how}"))
            return
        sys.path.insert(0, str(EXTERNAL))
        import wi4_variants  # noqa: E402  (benchmarks/external, standard library only)

        for n in sizes:
            ours = self.measure_wi4(n)
            self.pymoodef(venv, n, ours, wi4_variants)
            self.text2qti(venv, n, ours)

    def _vs(self, row: Row, ours: Row, tool: str) -> None:
        mine, paired = ours_against(row, ours)
        if row.wall_s is not None and mine:
            row.details["ratio_theirs_over_ours"] = round(row.wall_s / mine, 3)
            row.vs = f"wall = {row.wall_s / mine:.2f}× ours{' (runs alternated)' if paired else ''}"
        doc = DOC_TIMES[tool].get(row.n or 0)
        if doc is not None:
            row.vs += f" (doc: {doc:g} s)"

    def _external_runs(self, row: Row, cmd: list[str], cwd: Path, output: Path,
                       env: dict[str, str] | None = None, paired: int | None = None) -> list[Timed] | None:
        """The tool's timed runs; with `paired` = N, each follows a run of ours at N, so that a slow
        spell of a shared machine weighs on both sides of the ratio (ours: details.ours_paired_s)."""
        timings = []
        ours: list[float] = []
        row.command = shlex.join(cmd)
        for i in range(self.args.runs):
            if paired is not None:
                out = self.work / f"wi4-paired-{paired}-{i}.xml"
                mine = self.runner.run(self.wi4_command(paired, out), cwd=self.engine_root, env=self.env)
                if not failure(mine):
                    ours.append(mine.wall)
                out.unlink(missing_ok=True)
            if output.exists():
                output.unlink()
            t = self.runner.run(cmd, cwd=cwd, env=env)
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

    def pymoodef(self, venv: Path, n: int, ours: Row, variants: Any) -> None:
        row = Row("pymoodef", "pymoodef 0.1.0: CSV → Moodle XML", n)
        folder = self.work / f"pymoodef-{n}"
        folder.mkdir(exist_ok=True)
        csv_path = folder / "wi4.csv"
        variants.write_csv(csv_path, n, WI4_SEED)  # not timed: the teacher's script writes it
        shutil.copy(EXTERNAL / "pymoodef-wi4.ini", folder / "wi4.ini")
        output = folder / "wi4.xml"
        cmd = [str(venv / "bin" / "python"), "-m", "pymoodef", "wi4.csv", "wi4.xml"]
        timings = self._external_runs(row, cmd, folder, output, paired=n)
        row.note = ("CSV of the 4N questions written beforehand (not timed; the variants drawn by "
                    "benchmarks/external/wi4_variants.py); one category per file, so 1 not 4")
        if timings:
            row.timed(timings, 4 * n)
            row.output_mb = mb(output.stat().st_size)
            problems, counts = check_wi4_moodle(output, n, categories=1)
            row.check = check_text(problems)
            row.details.update(counts=counts, csv_bytes=csv_path.stat().st_size)
            self._vs(row, ours, "pymoodef")
        self.add(row)

    def text2qti(self, venv: Path, n: int, ours: Row) -> None:
        row = Row("text2qti", "text2qti 0.8.0: Markdown + Python block → QTI zip", n)
        folder = self.work / f"text2qti-{n}"
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
        timings = self._external_runs(row, cmd, folder, output, env)
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
            self._vs(row, ours, "text2qti")
        self.add(row)

    # -- 3. the whole bank ----------------------------------------------------------------------

    def bank_exercises(self) -> int:
        result = subprocess.run([*self.qw, "list", "--json"], capture_output=True, text=True, env=self.env,
                                cwd=self.engine_root, check=True)
        return sum(1 for line in result.stdout.splitlines() if line.strip().startswith("{"))

    def measure_bank(self) -> None:
        exercises = self.bank_exercises()
        count = self.args.bank_count
        code_match = re.search(r"^code:\s*(\S+)", (BANK / "bank.yaml").read_text(encoding="utf-8"), re.M)
        code = code_match.group(1) if code_match else "WI"
        for fmt, ext in (("markdown", "md"), ("json", "json"), ("moodle", "xml")):
            log(f"whole bank -f {fmt}, {count} copies x {exercises} exercises")
            row = Row(f"bank-{fmt}", f"whole bank ({exercises} ex.) → {fmt}", count)
            output = self.work / f"bank.{ext}"
            key = self.work / "bank.key.md"
            cmd = [*self.qw, "generate", "--seed", str(BANK_SEED), "--count", str(count), "-f", fmt,
                   "-o", str(output)]
            row.command = shlex.join(cmd)
            timings = []
            for _ in range(self.args.runs):
                t = self.runner.run(cmd, cwd=self.engine_root, env=self.env)
                row.runs.append(run_record(t))
                if failure(t) or not output.exists():
                    row.check = f"FAIL: {failure(t) or 'no output'}"
                    break
                timings.append(t)
            if len(timings) == self.args.runs:
                variants = exercises * count
                row.timed(timings, variants)
                size = output.stat().st_size + (key.stat().st_size if key.exists() else 0)
                row.output_mb = mb(size)
                row.details["variants_per_s"] = round(variants / row.wall_s, 1)
                row.vs = f"{variants / row.wall_s:,.0f} variants/s"
                problems = self.check_bank(fmt, output, key, count, exercises, code)
                row.check = check_text(problems)
                if fmt == "markdown":
                    row.note = "output = sheets + answer key"
            for path in (output, key):
                if path.exists():
                    path.unlink()
            self.add(row)

    def check_bank(self, fmt: str, output: Path, key: Path, count: int, exercises: int, code: str) -> list[str]:
        problems = []
        if fmt == "json":
            try:
                data = json.loads(output.read_bytes())
            except ValueError as exc:
                return [f"not JSON: {exc}"]
            copies = data.get("copies", [])
            if len(copies) != count:
                problems.append(f"{len(copies)} copies, expected {count}")
            wrong = [c.get("sheet") for c in copies if len(c.get("variants", [])) != exercises]
            if wrong:
                problems.append(f"{len(wrong)} copies without {exercises} variants, e.g. {wrong[0]}")
        elif fmt == "markdown":
            marker = f"Sheet {code}-{BANK_SEED}-"
            for path, what in ((output, "sheets"), (key, "key")):
                if not path.exists():
                    problems.append(f"no {what} file")
                    continue
                with path.open(encoding="utf-8") as fh:
                    found = sum(line.count(marker) for line in fh)
                if found != count:
                    problems.append(f"{found} '{marker}' in the {what}, expected {count}")
        else:
            problems, types, per_category = count_moodle(output)
            questions = sum(v for k, v in types.items() if k != "category")
            if types["category"] != exercises or questions != exercises * count:
                problems.append(f"{types['category']} categories and {questions} questions, expected "
                                f"{exercises} and {exercises * count}")
            odd = {k: v for k, v in per_category.items() if v != count}
            if odd:
                problems.append(f"categories without {count} questions: {odd}")
        return problems

    # -- 4. check -------------------------------------------------------------------------------

    def measure_check(self) -> None:
        seeds = self.args.check_seeds
        log(f"quizwright check --seeds {seeds}")
        row = Row("check", f"quizwright check --seeds {seeds} (whole bank)", seeds)
        cmd = [*self.qw, "check", "--seeds", str(seeds)]
        row.command = shlex.join(cmd)
        timings = []
        for _ in range(self.args.runs):
            t = self.runner.run(cmd, cwd=self.engine_root, env=self.env)
            row.runs.append(run_record(t))
            if failure(t):
                row.check = f"FAIL: {failure(t)}"
                row.details["stderr"] = t.stderr[-2000:]
                break
            timings.append(t)
        if len(timings) == self.args.runs:
            row.timed(timings, self.bank_exercises() * seeds)
            row.check = "ok (exit 0)"
        self.add(row)

    # -- 5. grading -----------------------------------------------------------------------------

    def measure_grading(self) -> None:
        grading = load_grading()
        from engine import api
        from engine.generation.quiz import Quiz

        students, sheets, seed = self.args.students, self.args.sheets, self.args.grading_seed
        folder = self.work / "grading"
        folder.mkdir(exist_ok=True)
        key, submissions = folder / "quiz.json", folder / "answers.csv"
        log(f"grading: setup (not timed) of {students} submissions on {sheets} sheets")
        api.export("json", output=key, seed=seed, count=sheets)
        quiz = Quiz.model_validate_json(key.read_bytes())
        firsts = grading.synthesise(lambda: iter(quiz.copies), students, seed, submissions)
        questions = len(quiz.copies[0].variants)
        row = Row("grading", f"grade {students} students × {questions} questions", students)
        self.add(self.grade(row, folder, key, submissions, firsts, sheets))

        for cold in (False, True):
            what = "SymPy cache cleared" if cold else "SymPy warm, as in grading"
            times = sorted(grading.formula_timings(quiz, self.args.formula_checks, seed, cold))
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            median = statistics.median(times)
            frow = Row("formula-cold" if cold else "formula", f"one formula check ({what})", len(times))
            frow.per = f"med {median:.1f} / p99 {p99:.1f} / max {times[-1]:.1f} ms"
            frow.check = "ok"
            frow.note = "in-process latency of one check in a run that reuses no verdict (engine.grading.checker.compare.Comparer with cache_size=0), via benchmarks/grading.py"
            frow.details = {"median_ms": round(median, 3), "p99_ms": round(p99, 3), "max_ms": round(times[-1], 3)}
            self.add(frow)

    def grade(self, row: Row, folder: Path, key: Path, submissions: Path, firsts: dict[str, list[str]],
              sheets: int) -> Row:
        """The timed runs of `quizwright grade` on a synthesised class, and the check of the last report."""
        students = row.n or 0
        timings = []
        for i in range(self.args.runs):
            out = folder / f"out-{i}"
            cmd = [*self.qw, "grade", str(submissions), "--key", str(key), "-o", str(out)]
            row.command = shlex.join(cmd)
            t = self.runner.run(cmd, cwd=self.engine_root, env=self.env)
            row.runs.append(run_record(t))
            if failure(t):
                row.check = f"FAIL: {failure(t)}"
                return row
            timings.append(t)
            if i:
                shutil.rmtree(folder / f"out-{i - 1}")
        row.timed(timings, students, "ms/sheet")
        out = folder / f"out-{self.args.runs - 1}"
        row.output_mb = mb(sum(p.stat().st_size for p in out.iterdir()))
        row.vs = f"{students / row.wall_s:,.0f} submissions/s"
        problems, statuses = self.check_grades(out / "report.json", firsts, students)
        row.check = check_text(problems)
        row.details["statuses"] = statuses
        row.note = (f"key: {sheets} sheets ({mb(key.stat().st_size):.0f} MB); CSV synthesised by "
                    "benchmarks/grading.py (not timed); " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        return row

    @staticmethod
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

    # -- 6. start-up, the exhaustion cliff, a big saved key ------------------------------------

    def timed_runs(self, row: Row, cmd: list[str], timeout: float | None = None) -> list[Timed] | None:
        """--runs runs of cmd, or None (the row says why) at the first failure."""
        row.command = shlex.join(cmd)
        timings = []
        for _ in range(self.args.runs):
            t = self.runner.run(cmd, cwd=self.engine_root, env=self.env, timeout=timeout)
            row.runs.append(run_record(t))
            if failure(t):
                row.check = f"FAIL: {failure(t)}"
                row.details["stderr"] = t.stderr[-2000:]
                return None
            timings.append(t)
        return timings

    def measure_startup(self) -> None:
        out = self.work / "startup.xml"
        for name, args in (("help", ["--help"]), ("list", ["list"]), ("compare", ["compare", "2*n", "n+n"]),
                           ("generate", ["generate", "--count", "1", "-f", "moodle", "-o", str(out)])):
            log(f"start-up: quizwright {name}")
            shown = shlex.join(args).replace(str(out), "FILE")
            row = Row(f"startup-{name}", f"start-up: quizwright {shown}", None)
            timings = self.timed_runs(row, [*self.qw, *args])
            if timings:
                row.timed(timings, None)
                row.check = "ok (exit 0)"
            out.unlink(missing_ok=True)
            self.add(row)

    def distinct_variants(self, exercise: str) -> int:
        listed = subprocess.run([*self.qw, "list", str(WI4), "--json"], capture_output=True, text=True,
                                env=self.env, cwd=self.engine_root, check=True)
        return next(json.loads(line)["variants"] for line in listed.stdout.splitlines()
                    if line.startswith("{") and json.loads(line)["id"] == exercise)

    def measure_cliff(self) -> None:
        """One exercise at N = 1, a small N and its distinct count; per variant = the time beyond
        N = 1 (start-up, loading, the fixed cost of a run) divided by N - 1."""
        exercise = CLIFF_EXERCISE
        distinct = self.distinct_variants(exercise)
        small = min(self.args.cliff_small, distinct)
        base: Row | None = None
        for n in sorted({1, small, distinct}):
            log(f"cliff: {exercise} at N={n} (distinct: {distinct})")
            row = Row("cliff", f"{exercise} alone → Moodle XML ({distinct:,} distinct)", n)
            out = self.work / f"cliff-{n}.xml"
            cmd = [*self.qw, "generate", str(WI4), "-e", exercise, "--seed", str(WI4_SEED), "--count", str(n),
                   "-f", "moodle", "-o", str(out)]
            timings = self.timed_runs(row, cmd, self.args.cliff_timeout if n == distinct else None)
            if timings is None and row.runs[-1]["timed_out"]:
                row.check = f"not finished in {self.args.cliff_timeout:g} s (killed)"
            elif timings:
                row.timed(timings, n)
                row.output_mb = mb(out.stat().st_size)
                row.check = check_text(check_cliff(out, n))
                if n == 1:
                    base, row.per = row, "(the base)"
                elif base is not None and base.wall_s is not None and row.wall_s is not None:
                    marginal = 1e6 * (row.wall_s - base.wall_s) / (n - 1)
                    row.details["marginal_us_per_variant"] = round(marginal, 2)
                    if row.cpu_s is not None and base.cpu_s is not None:  # steadier on a busy machine
                        row.details["marginal_cpu_us_per_variant"] = round(1e6 * (row.cpu_s - base.cpu_s) / (n - 1), 2)
                    row.per = f"{marginal:.1f} µs beyond N=1"
            row.details["distinct"] = distinct
            out.unlink(missing_ok=True)
            self.add(row)

    def measure_bigkey(self) -> None:
        """Grading a class of as many students as a big saved key has sheets, one student per sheet."""
        from engine import api

        sheets, seed = self.args.bigkey_sheets, self.args.grading_seed
        folder = self.work / "bigkey"
        folder.mkdir(exist_ok=True)
        key, submissions = folder / "quiz.json", folder / "answers.csv"
        log(f"big key: setup (not timed) of a {sheets}-sheet key and {sheets} submissions")
        row = Row("bigkey", f"grade {sheets} students against a {sheets}-sheet key", sheets)
        made = subprocess.run([*self.qw, "generate", "--seed", str(seed), "--count", str(sheets), "-f", "json",
                               "-o", str(key)], env=self.env, cwd=self.engine_root, capture_output=True, text=True)
        if made.returncode != 0:
            row.check = f"FAIL: the key was not made: {made.stderr.strip()[-200:]}"
        else:
            # The class follows the same copies, streamed in this process (a loaded key would take GBs).
            firsts = load_grading().synthesise(lambda: api.generate(seed=seed, count=sheets).copies, sheets,
                                               seed, submissions)
            self.grade(row, folder, key, submissions, firsts, sheets)
        self.add(row)
        shutil.rmtree(folder)


# ----------------------------------------------------------------------------------------------
# Targets and output


def ours_against(theirs: Row, ours: Row) -> tuple[float | None, bool]:
    """Our wall time to compare another tool's with: the runs alternated with its runs when
    there were any (True), else our row's median (False)."""
    paired = theirs.details.get("ours_paired_s")
    return (paired, True) if paired else (ours.wall_s, False)


def verdicts(bench: Bench) -> list[dict[str, Any]]:
    rows = bench.rows
    found = {(r.id, r.n): r for r in rows}

    def ok(row: Row | None) -> bool:
        return row is not None and row.wall_s is not None and row.check.startswith("ok")

    out: list[dict[str, Any]] = []

    def add(target: str, measured: str | None, met: bool | None, other_work: str | None = None) -> None:
        if measured is None:
            verdict = "not measured"
        elif other_work:
            verdict = f"not measured (this run: {other_work})"
        else:
            verdict = "met" if met else "NOT met"
        out.append({"target": target, "measured": measured or "-", "verdict": verdict})

    ours = found.get(("wi4", 1000))
    theirs = found.get(("pymoodef", 1000))
    if ok(ours) and ok(theirs):
        mine, paired = ours_against(theirs, ours)
        add(f"weight-init-4 N=1000 faster than pymoodef (measured here{', runs alternated' if paired else ''})",
            f"{mine:.2f} s vs {theirs.wall_s:.2f} s", mine is not None and mine < theirs.wall_s)
    elif ok(ours):
        add("weight-init-4 N=1000 faster than pymoodef (0.92 s, doc figure)",
            f"{ours.wall_s:.2f} s vs 0.92 s", ours.wall_s < DOC_TIMES["pymoodef"][1000])
    else:
        add("weight-init-4 N=1000 faster than pymoodef", None, None)
    for n, doc in R_EXAMS_DOC.items():
        row = found.get(("wi4", n))
        if ok(row):
            ratio = doc / row.wall_s
            add(f"≥100× faster per variant than R/exams at N={n} ({doc:g} s, doc figure)",
                f"{ratio:.1f}× ({row.per_variant_ms:.3f} vs {1000 * doc / (4 * n):.2f} ms/variant)", ratio >= 100)
        else:
            add(f"≥100× faster per variant than R/exams at N={n}", None, None)
    row = found.get(("wi4", 100000))
    add("weight-init-4 N=100000 under 30 s", f"{row.wall_s:.1f} s" if ok(row) else None,
        ok(row) and row.wall_s < 30)
    big, base = found.get(("wi4", 100000)), found.get(("wi4", 1000))
    if ok(big) and ok(base):
        ratio = big.peak_mb / base.peak_mb
        add("peak memory N=100000 / N=1000 ≤ 1.5", f"{ratio:.2f} ({big.peak_mb:.0f} / {base.peak_mb:.0f} MB)",
            ratio <= 1.5)
    else:
        add("peak memory N=100000 / N=1000 ≤ 1.5", None, None)
    seeds, students = bench.args.check_seeds, bench.args.students
    row = next((r for r in rows if r.id == "check"), None)
    add("check --seeds 1000 under 30 s (exit 0)", f"{row.wall_s:.1f} s" if ok(row) else None,
        ok(row) and row.wall_s < 30, None if seeds == 1000 else f"--seeds {seeds}")
    row = next((r for r in rows if r.id == "grading"), None)
    add("grading 10000 students under 20 s", f"{row.wall_s:.1f} s" if ok(row) else None,
        ok(row) and row.wall_s < 20, None if students == 10_000 else f"{students} students")
    for fid in ("formula", "formula-cold"):
        row = next((r for r in rows if r.id == fid), None)
        if row is not None:
            d = row.details
            add(f"{row.work}: median < 20 ms and p99 < 200 ms",
                f"median {d['median_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
                d["median_ms"] < 20 and d["p99_ms"] < 200)
        else:
            what = "SymPy cache cleared" if fid == "formula-cold" else "SymPy warm"
            add(f"one formula check ({what}): median < 20 ms and p99 < 200 ms", None, None)
    issue15_targets(rows, add)
    ours_rows = [r for r in rows if r.id not in EXTERNAL_IDS]
    failed = [f"{r.id} N={r.n}" for r in ours_rows if r.check.startswith("FAIL")]
    add("every check of quizwright's outputs passes",
        f"{len(ours_rows)} rows, failed: {', '.join(failed) or 'none'}" if ours_rows else None, not failed)
    return out


def issue15_targets(rows: list[Row], add: Any) -> None:
    """Issue 15: close to the floor, start-up, no exhaustion cliff, a big saved key."""
    def ok(row: Row | None) -> bool:
        return row is not None and row.wall_s is not None and row.check.startswith("ok")

    found = {(r.id, r.n): r for r in rows}
    for n, limit in FLOOR_TARGETS.items():
        ours, floor = found.get(("wi4", n)), found.get(("floor", n))
        if ok(ours) and ok(floor):
            d = floor.details
            cpu = f", CPU {d['ours_over_floor_cpu']:.2f}×" if d.get("ours_over_floor_cpu") else ""
            add(f"weight-init-4 N={n} within {limit:g}× the floor script (wall, runs alternated)",
                f"{d['ours_over_floor']:.2f}× ({ours.wall_s:.2f} s vs {floor.wall_s:.2f} s{cpu})",
                d["ours_over_floor"] <= limit)
        else:
            add(f"weight-init-4 N={n} within {limit:g}× the floor script", None, None)
    for name in ("help", "list", "compare", "generate"):
        row = next((r for r in rows if r.id == f"startup-{name}"), None)
        add(f"{row.work if row else 'start-up: quizwright ' + name} under 0.2 s",
            f"{row.wall_s:.2f} s" if ok(row) else None, ok(row) and row.wall_s < 0.2)
    cliff = sorted((r for r in rows if r.id == "cliff"), key=lambda r: r.n or 0)
    if len(cliff) == 3 and all(ok(r) for r in cliff):
        small, full = cliff[1].details["marginal_us_per_variant"], cliff[2].details["marginal_us_per_variant"]
        add(f"cliff: N = the distinct count ({cliff[2].n:,}) at ≤ 2× the time per variant of N={cliff[1].n:,}",
            f"{full:.1f} vs {small:.1f} µs per variant beyond N=1 ({full / small:.2f}×)", full <= 2 * small)
    elif cliff and cliff[-1].check.startswith("not finished"):
        add(f"cliff: N = the distinct count ({cliff[-1].n:,}) in linear time", cliff[-1].check, False)
    else:
        add("cliff: N = the distinct count in linear time", None, None)
    row = found.get(("bigkey", 10_000))
    add("grading 10000 students against a 10000-sheet key under 20 s and 1 GB",
        f"{row.wall_s:.1f} s, {row.peak_mb:.0f} MB" if ok(row) and row.peak_mb else None,
        ok(row) and row.wall_s < 20 and (row.peak_mb or 0) < 1000)


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(bench: Bench, targets: list[dict[str, Any]]) -> str:
    lines = ["| work | N | wall s (median) | CPU s | per variant | peak MB | output MB | load | check | vs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in bench.rows:
        cells = [r.work, f"{r.n:,}" if r.n is not None else "-", fmt(r.wall_s), fmt(r.cpu_s), r.per or "-",
                 fmt(r.peak_mb, 1), fmt(r.output_mb, 1), fmt(r.details.get("load_1min_max")), r.check, r.vs or ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    notes = []
    for r in bench.rows:
        per_n = r.n is not None and r.id not in ("pymoodef", "text2qti") and not r.id.startswith("formula")
        line = f"- {r.work} (N={r.n:,}): {r.note}" if per_n else f"- {r.work}: {r.note}"
        if r.note and line not in notes:
            notes.append(line)
    lines += ["", f"Timer: {bench.runner.describe()}, median of {bench.args.runs} run(s); per variant = wall / "
              "(4N) for weight-init-4 and the other tools, wall / (exercises × N) for the bank and check; "
              "MB = 10⁶ bytes; R/exams and '(doc: …)' figures are constants from "
              "shared/benchmarks/weight-init-4.md, not measured here; CPU = user + system; load = the highest "
              "1-minute load average before or after a timed run of the row.",
              f"Engine: {bench.engine_root}; machine: {os.cpu_count()} CPUs, 1-minute load average "
              f"{fmt(bench.load.get('start'))} at the start of the run and {fmt(bench.load.get('end'))} at its end.",
              *notes,
              "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {t['verdict']} |" for t in targets]
    return "\n".join(lines)


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


def int_list(text: str) -> list[int]:
    try:
        values = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers like 100,1000: {exc}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive numbers like 100,1000")
    return values


def work_list(text: str) -> list[str]:
    values = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in values if x not in WORKS]
    if bad or not values:
        raise argparse.ArgumentTypeError(f"unknown work {bad}; choose from {', '.join(WORKS)}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", type=int_list, default=[100, 1000, 10000, 20000, 100000],
                        help="weight-init-4 sizes N (variants per question)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement (median)")
    parser.add_argument("--external-sizes", type=int_list, default=[100, 1000],
                        help="sizes for text2qti and pymoodef (the shared doc reports 100 and 1000)")
    parser.add_argument("--bank-count", type=int, default=1000, help="copies of the whole bank")
    parser.add_argument("--check-seeds", type=int, default=1000, help="quizwright check --seeds")
    parser.add_argument("--students", type=int, default=10_000, help="grading: students")
    parser.add_argument("--sheets", type=int, default=200, help="grading: distinct sheets in the key")
    parser.add_argument("--grading-seed", type=int, default=0, help="grading: seed of key and answers")
    parser.add_argument("--formula-checks", type=int, default=300, help="formula checks to time")
    parser.add_argument("--cliff-small", type=int, default=10_000,
                        help="cliff: the small N whose time per variant the distinct count's is compared with")
    parser.add_argument("--cliff-timeout", type=float, default=300, help="cliff: seconds the run at the distinct count may take")
    parser.add_argument("--bigkey-sheets", type=int, default=10_000, help="big-key grading: sheets in the key = students")
    parser.add_argument("--engine-root", type=Path, default=None,
                        help="time the engine/ of this checkout (PYTHONPATH=DIR, byte-compiled there); default: this one")
    parser.add_argument("--only", type=work_list, default=None,
                        help=f"comma-separated subset of {','.join(WORKS)}")
    parser.add_argument("--skip-external", action="store_true", help="do not install or run other tools")
    parser.add_argument("--external-venv", default=None,
                        help="venv for text2qti and pymoodef (reused when it has them); default: a temp dir")
    parser.add_argument("--timer", choices=["auto", "time", "rusage"], default="auto",
                        help="auto: /usr/bin/time -v when present, else getrusage(RUSAGE_CHILDREN)")
    parser.add_argument("--timeout", type=float, default=None, help="kill a timed run after this many seconds")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the results")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (outputs, inputs)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    works = args.only or list(WORKS)
    if args.skip_external and "external" in works:
        works.remove("external")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (work folder, child) on kill
    work = Path(tempfile.mkdtemp(prefix="qw-bench-"))
    bench = Bench(args, work)
    log(f"work folder {work}; timer: {bench.runner.describe()}")
    bench.load["start"] = os.getloadavg()[0]
    byte_compile(bench.engine_root)
    imported = engine_imported(bench.env, bench.engine_root)
    if Path(imported) != bench.engine_root:
        raise SystemExit(f"the timed runs would import engine/ from {imported}, not {bench.engine_root}")
    try:
        if "wi4" in works:
            for n in sorted(args.sizes):
                row = bench.measure_wi4(n)
                if row.check.startswith("FAIL: timeout"):
                    log(f"  N={n} timed out: larger sizes skipped")
                    break
            bench.wi4_repeat()
        if "external" in works:
            bench.measure_external()
        if "bank" in works:
            bench.measure_bank()
        if "check" in works:
            bench.measure_check()
        if "grading" in works:
            bench.measure_grading()
        if "startup" in works:
            bench.measure_startup()
        if "cliff" in works:
            bench.measure_cliff()
        if "bigkey" in works:
            bench.measure_bigkey()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    bench.load["end"] = os.getloadavg()[0]
    targets = verdicts(bench)
    table = markdown_table(bench, targets)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": meta(bench), "rows": [asdict(r) for r in bench.rows], "targets": targets,
              "table": table}
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {args.json}")
    print(table, flush=True)
    return 1 if any(r.check.startswith("FAIL") for r in bench.rows if r.id not in EXTERNAL_IDS) else 0


if __name__ == "__main__":
    sys.exit(main())
