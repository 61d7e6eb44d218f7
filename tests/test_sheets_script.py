"""benchmarks/sheets.py: the figures it reports follow from the quiz it measures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "tests" / "fixtures" / "basic"


def _load():
    spec = importlib.util.spec_from_file_location("qw_bench_sheets", ROOT / "benchmarks" / "sheets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sheets = _load()


def test_fixed_items_are_shared_by_every_pair_of_sheets() -> None:
    from engine import api

    quiz = api.quiz([BANK], seed=3, count=4, exercises=["definition", "he-formula"])
    shares = sheets.pair_shares(quiz.copies, sheets.item)
    # Both exercises have one variant: every pair of sheets holds both items identically.
    assert shares == [1.0] * 6


def test_measure_reports_positions_and_moodle_categories() -> None:
    result = sheets.measure([BANK], 3, 6)
    assert result["sheets"] == 6
    assert result["moodle_categories"] == 9
    shares = [p["share"] for p in result["positions"].values()]
    assert abs(sum(shares) - 1) < 1e-3
    # definition and he-formula have a single variant: Moodle gets it once, not 6 times.
    assert result["moodle_categories_with_repeats"] == 0
    assert result["moodle_questions"] < 6 * 9
    assert 0 < result["identical_items_median"] <= result["identical_items_max"] <= 1
