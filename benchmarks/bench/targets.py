"""The verdict on each target: met only on a figure measured in this run with the target's own work."""

from __future__ import annotations

import argparse
from typing import Any

from .common import DOC_TIMES, EXTERNAL_IDS, R_EXAMS_DOC, Row
from .external import ours_against

FLOOR_TARGETS = {1000: 2.5, 20000: 2.0, 100000: 2.0}  # N: ours / floor at most


def _ok(row: Row | None) -> bool:
    return row is not None and row.measured()


class Verdicts:
    """The rows of one run, looked up by (id, N) or id, and the verdicts given on them."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.found = {(r.id, r.n): r for r in rows}
        self.out: list[dict[str, Any]] = []

    def first(self, row_id: str) -> Row | None:
        return next((r for r in self.rows if r.id == row_id), None)

    def add(self, target: str, measured: str | None, met: bool | None, other_work: str | None = None) -> None:
        if measured is None:
            verdict = "not measured"
        elif other_work:
            verdict = f"not measured (this run: {other_work})"
        else:
            verdict = "met" if met else "NOT met"
        self.out.append({"target": target, "measured": measured or "-", "verdict": verdict})


def verdicts(rows: list[Row], args: argparse.Namespace) -> list[dict[str, Any]]:
    v = Verdicts(rows)
    _wi4_targets(v)
    _check_and_grading_targets(v, args)
    _issue15_targets(v)
    ours_rows = [r for r in rows if r.id not in EXTERNAL_IDS]
    failed = [f"{r.id} N={r.n}" for r in ours_rows if r.check.startswith("FAIL")]
    v.add("every check of quizwright's outputs passes",
          f"{len(ours_rows)} rows, failed: {', '.join(failed) or 'none'}" if ours_rows else None, not failed)
    return v.out


def _wi4_targets(v: Verdicts) -> None:
    """Faster than pymoodef and R/exams; N = 100 000 in time and memory."""
    ours, theirs = v.found.get(("wi4", 1000)), v.found.get(("pymoodef", 1000))
    if _ok(ours) and _ok(theirs):
        mine, paired = ours_against(theirs, ours)
        v.add(f"weight-init-4 N=1000 faster than pymoodef (measured here{', runs alternated' if paired else ''})",
              f"{mine:.2f} s vs {theirs.wall_s:.2f} s", mine is not None and mine < theirs.wall_s)
    elif _ok(ours):
        v.add("weight-init-4 N=1000 faster than pymoodef (0.92 s, doc figure)",
              f"{ours.wall_s:.2f} s vs 0.92 s", ours.wall_s < DOC_TIMES["pymoodef"][1000])
    else:
        v.add("weight-init-4 N=1000 faster than pymoodef", None, None)
    for n, doc in R_EXAMS_DOC.items():
        row = v.found.get(("wi4", n))
        if _ok(row):
            ratio = doc / row.wall_s
            v.add(f"≥100× faster per variant than R/exams at N={n} ({doc:g} s, doc figure)",
                  f"{ratio:.1f}× ({row.per_variant_ms:.3f} vs {1000 * doc / (4 * n):.2f} ms/variant)", ratio >= 100)
        else:
            v.add(f"≥100× faster per variant than R/exams at N={n}", None, None)
    big, base = v.found.get(("wi4", 100000)), v.found.get(("wi4", 1000))
    _under(v, "weight-init-4 N=100000 under 30 s", big, 30)
    if _ok(big) and _ok(base):
        ratio = big.peak_mb / base.peak_mb
        v.add("peak memory N=100000 / N=1000 ≤ 1.5", f"{ratio:.2f} ({big.peak_mb:.0f} / {base.peak_mb:.0f} MB)",
              ratio <= 1.5)
    else:
        v.add("peak memory N=100000 / N=1000 ≤ 1.5", None, None)


def _under(v: Verdicts, target: str, row: Row | None, limit: float, other_work: str | None = None) -> None:
    """A target on a row's wall time (shown to 0.1 s)."""
    v.add(target, f"{row.wall_s:.1f} s" if _ok(row) else None, _ok(row) and row.wall_s < limit, other_work)


def _check_and_grading_targets(v: Verdicts, args: argparse.Namespace) -> None:
    seeds, students = args.check_seeds, args.students
    _under(v, "check --seeds 1000 under 30 s (exit 0)", v.first("check"), 30,
           None if seeds == 1000 else f"--seeds {seeds}")
    _under(v, "grading 10000 students under 20 s", v.first("grading"), 20,
           None if students == 10_000 else f"{students} students")
    for fid in ("formula", "formula-cold"):
        row = v.first(fid)
        if row is not None:
            d = row.details
            v.add(f"{row.work}: median < 20 ms and p99 < 200 ms",
                  f"median {d['median_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
                  d["median_ms"] < 20 and d["p99_ms"] < 200)
        else:
            what = "SymPy cache cleared" if fid == "formula-cold" else "SymPy warm"
            v.add(f"one formula check ({what}): median < 20 ms and p99 < 200 ms", None, None)


def _issue15_targets(v: Verdicts) -> None:
    """Issue 15: close to the floor, start-up, no exhaustion cliff, a big saved key."""
    for n, limit in FLOOR_TARGETS.items():
        ours, floor = v.found.get(("wi4", n)), v.found.get(("floor", n))
        if _ok(ours) and _ok(floor):
            d = floor.details
            cpu = f", CPU {d['ours_over_floor_cpu']:.2f}×" if d.get("ours_over_floor_cpu") else ""
            v.add(f"weight-init-4 N={n} within {limit:g}× the floor script (wall, runs alternated)",
                  f"{d['ours_over_floor']:.2f}× ({ours.wall_s:.2f} s vs {floor.wall_s:.2f} s{cpu})",
                  d["ours_over_floor"] <= limit)
        else:
            v.add(f"weight-init-4 N={n} within {limit:g}× the floor script", None, None)
    for name in ("help", "list", "compare", "generate"):
        row = v.first(f"startup-{name}")
        v.add(f"{row.work if row else 'start-up: quizwright ' + name} under 0.2 s",
              f"{row.wall_s:.2f} s" if _ok(row) else None, _ok(row) and row.wall_s < 0.2)
    _cliff_target(v)
    row = v.found.get(("bigkey", 10_000))
    v.add("grading 10000 students against a 10000-sheet key under 20 s and 1 GB",
          f"{row.wall_s:.1f} s, {row.peak_mb:.0f} MB" if _ok(row) and row.peak_mb else None,
          _ok(row) and row.wall_s < 20 and (row.peak_mb or 0) < 1000)


def _cliff_target(v: Verdicts) -> None:
    cliff = sorted((r for r in v.rows if r.id == "cliff"), key=lambda r: r.n or 0)
    if len(cliff) == 3 and all(_ok(r) for r in cliff):
        small, full = cliff[1].details["marginal_us_per_variant"], cliff[2].details["marginal_us_per_variant"]
        v.add(f"cliff: N = the distinct count ({cliff[2].n:,}) at ≤ 2× the time per variant of N={cliff[1].n:,}",
              f"{full:.1f} vs {small:.1f} µs per variant beyond N=1 ({full / small:.2f}×)", full <= 2 * small)
    elif cliff and cliff[-1].check.startswith("not finished"):
        v.add(f"cliff: N = the distinct count ({cliff[-1].n:,}) in linear time", cliff[-1].check, False)
    else:
        v.add("cliff: N = the distinct count in linear time", None, None)
