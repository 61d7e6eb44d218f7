"""Paths, fixed figures and the Row every measurement fills in."""

from __future__ import annotations

import hashlib
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
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
WORKS = ("wi4", "external", "bank", "check", "grading", "startup", "cliff", "bigkey")
EXTERNAL_IDS = ("pymoodef", "text2qti")  # their failures are findings, not failures of this run


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mb(n_bytes: float) -> float:
    return n_bytes / 1e6


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_text(problems: list[str]) -> str:
    return "ok" if not problems else "FAIL: " + "; ".join(problems)


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
        self.wall_s = statistics.median(t.wall for t in timings)
        self.peak_mb = mb(statistics.median(t.peak_kb for t in timings) * 1024)
        cpus = [t.cpu for t in timings if t.cpu is not None]
        self.cpu_s = statistics.median(cpus) if len(cpus) == len(timings) else None
        self.details["load_1min_max"] = max(max(t.load) for t in timings)
        if units:
            self.per_variant_ms = 1000 * self.wall_s / units
            self.per = f"{self.per_variant_ms:.3f} {suffix}"

    def measured(self) -> bool:
        """A figure was taken and its output checked ok: the only kind a target may be judged on."""
        return self.wall_s is not None and self.check.startswith("ok")
