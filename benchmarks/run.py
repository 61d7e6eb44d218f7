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
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # loaded by path (the tests): the bench package beside this script
    sys.path.append(HERE)

from bench.bank import measure_bank, measure_check  # noqa: E402
from bench.checkers import check_cliff, check_wi4_moodle  # noqa: E402
from bench.common import DEFAULT_JSON, EXTERNAL_IDS, WI4, WORKS, log  # noqa: E402
from bench.core import Bench  # noqa: E402
from bench.external import measure_external  # noqa: E402
from bench.grade import measure_bigkey, measure_grading  # noqa: E402
from bench.report import markdown_table, write_json  # noqa: E402
from bench.startup_cliff import measure_cliff, measure_startup  # noqa: E402
from bench.targets import verdicts  # noqa: E402
from bench.timing import _parse_time_v, byte_compile, engine_imported  # noqa: E402
from bench.wi4 import measure_sizes  # noqa: E402

# what tests/test_benchmark_script.py uses, beside main
__all__ = ["WI4", "_parse_time_v", "check_cliff", "check_wi4_moodle", "main"]

# each work of --only, run in this order
MEASURES: dict[str, Callable[[Bench], None]] = {
    "wi4": measure_sizes, "external": measure_external, "bank": measure_bank, "check": measure_check,
    "grading": measure_grading, "startup": measure_startup, "cliff": measure_cliff, "bigkey": measure_bigkey,
}
assert tuple(MEASURES) == WORKS


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
        for name, measure in MEASURES.items():
            if name in works:
                measure(bench)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    bench.load["end"] = os.getloadavg()[0]
    targets = verdicts(bench.rows, args)
    table = markdown_table(bench, targets)
    write_json(args.json, bench, targets, table)
    log(f"wrote {args.json}")
    print(table, flush=True)
    return 1 if any(r.check.startswith("FAIL") for r in bench.rows if r.id not in EXTERNAL_IDS) else 0


if __name__ == "__main__":
    sys.exit(main())
