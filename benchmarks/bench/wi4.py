"""weight-init-4 → Moodle XML at each N, each run paired with the floor script's, and the repeat row."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from .checkers import check_wi4_moodle
from .common import R_EXAMS_DOC, ROOT, Row, check_text, log, mb, sha256_file
from .core import Bench
from .timing import Timed, failure, run_record


def measure_wi4(bench: Bench, n: int) -> Row:
    """Ours at N, each run followed by a run of the floor script (benchmarks/floor.py)."""
    if n in bench.wi4:
        return bench.wi4[n]
    log(f"weight-init-4 -> Moodle XML, N={n} ({bench.args.runs} run(s), each paired with the floor's)")
    row = Row("wi4", "weight-init-4 → Moodle XML", n)
    floor = Row("floor", "floor: benchmarks/floor.py (stdlib) → Moodle XML", n)
    bench.wi4[n] = row
    timings: list[Timed] = []
    floor_timings: list[Timed] = []
    hashes: list[str] = []
    last: Path | None = None
    for i in range(bench.args.runs):
        out = bench.work / f"wi4-{n}-{i}.xml"
        cmd = bench.wi4_command(n, out)
        row.command = shlex.join(cmd)
        t = bench.run(cmd)
        problem = failure(t)
        if problem or not out.exists():
            row.check = f"FAIL: {problem or 'no output file'}"
            row.runs.append(run_record(t))
            return bench.add(row)
        size = out.stat().st_size
        hashes.append(sha256_file(out))
        row.runs.append(run_record(t, output_bytes=size, sha256=hashes[-1]))
        timings.append(t)
        if last is not None:
            last.unlink()
        last = out
        floor_run(bench, floor, n, floor_timings, hashes[-1], size)
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
    bench.add(row)
    floor_result(bench, floor, row, floor_timings, last, n)
    if n == bench.determinism_n():
        bench.outputs_for_determinism = (last, hashes)
    else:
        last.unlink()
    return row


def floor_run(bench: Bench, floor: Row, n: int, timings: list[Timed], ours_sha: str, ours_bytes: int) -> None:
    """One run of the floor script; its output is kept when it differs from ours, for the check."""
    if floor.check.startswith("FAIL"):
        return
    out = bench.work / f"floor-{n}.xml"
    cmd = bench.floor_command(n, out)
    floor.command = shlex.join(cmd)
    t = bench.runner.run(cmd, cwd=ROOT)
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


def floor_result(bench: Bench, floor: Row, ours: Row, timings: list[Timed], ours_out: Path, n: int) -> None:
    """The floor's row: checked as ours is (the same verdict when it wrote our bytes), and the
    ratio ours / floor of the medians of the alternated runs."""
    out = bench.work / f"floor-{n}.xml"
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
    bench.add(floor)


def wi4_repeat(bench: Bench) -> None:
    """Same seed, same bytes: two runs compared by SHA-256 (the timed runs when there are two)."""
    n = bench.determinism_n()
    first, hashes = bench.outputs_for_determinism
    row = Row("wi4-repeat", "weight-init-4 repeat run: same bytes", n)
    if len(hashes) < 2:
        out = bench.work / f"wi4-{n}-repeat.xml"
        cmd = bench.wi4_command(n, out)
        row.command = shlex.join(cmd)
        t = bench.run(cmd)
        if failure(t) or not out.exists():
            row.check = f"FAIL: {failure(t) or 'no output'}"
            bench.add(row)
            return
        hashes = [*hashes, sha256_file(out)]
        out.unlink()
        row.wall_s, row.peak_mb = t.wall, mb(t.peak_kb * 1024)
        row.runs.append(run_record(t, sha256=hashes[-1]))
    row.details = {"sha256": hashes}
    row.check = "ok" if len(hashes) >= 2 and len(set(hashes)) == 1 else f"FAIL: sha256 differ {hashes}"
    row.note = f"sha256 {hashes[0][:16]}… in {len(hashes)} runs"
    bench.add(row)
    if first is not None and first.exists():
        first.unlink()


def measure_sizes(bench: Bench) -> None:
    """Every --sizes N, smallest first (a timeout skips the larger ones), then the repeat row."""
    for n in sorted(bench.args.sizes):
        row = measure_wi4(bench, n)
        if row.check.startswith("FAIL: timeout"):
            log(f"  N={n} timed out: larger sizes skipped")
            break
    wi4_repeat(bench)
