"""The figure exercises of the bundled bank: the figure each variant shows agrees with its key."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.export.figures import Drawings
from engine.export.formats import FORMATS
from engine.generation.quiz import BooleanAnswer, Plot, Table, Variant

PLOTS = ("depth-activation-scales", "diverging-loss-curve", "xavier-uniform-density")
TABLES = ("init-rule-table",)
COUNT = 150  # variants per exercise and seed
SEEDS = (0, 7)


@cache
def variants(exercise: str) -> tuple[Variant, ...]:
    return tuple(copy.variants[0] for seed in SEEDS
                 for copy in api.quiz(seed=seed, count=COUNT, exercises=[exercise]).copies)


def plot(variant: Variant) -> Plot:
    (figure,) = variant.figures
    assert isinstance(figure, Plot)
    return figure


def key_text(variant: Variant) -> str:
    return next(option.text for option in variant.options if option.correct)


def series_named(variant: Variant, label: str) -> list[float]:
    return next(s.y for s in plot(variant).series if s.label == label)


def test_the_bundled_bank_holds_the_figure_exercises() -> None:
    # The bank's slots put each on some of the sheets: over a class, every one shows.
    shown = [v for copy in api.quiz(seed=1, count=12).copies for v in copy.variants]
    with_plots = {v.exercise for v in shown if any(isinstance(f, Plot) for f in v.figures)}
    with_tables = {v.exercise for v in shown if any(isinstance(f, Table) for f in v.figures)}
    assert with_plots == set(PLOTS) and with_tables == set(TABLES)


@pytest.mark.parametrize("exercise", PLOTS + TABLES)
def test_each_figure_exercise_has_many_distinct_figures_and_answers(exercise: str) -> None:
    seen = variants(exercise)
    figures = {f.file if isinstance(f, Plot) else tuple(map(tuple, f.rows)) for v in seen for f in v.figures}
    answers = {key_text(v) if v.options else v.answer_text for v in seen}
    assert len(figures) >= 4 and len(answers) >= 2
    assert len({(v.question, v.answer_text) for v in seen}) >= 4


def test_the_run_named_by_the_key_is_the_flat_curve_the_others_vanish_and_explode() -> None:
    for v in variants("depth-activation-scales"):
        flat = series_named(v, key_text(v))
        assert flat == [1.0] * len(flat), v.id
        others = [s.y for s in plot(v).series if s.label != key_text(v)]
        assert sorted(ys[-1] < 1 for ys in others) == [False, True], v.id  # one vanishes, one explodes
        assert all(abs(ys[-1] - 1) > 0.5 for ys in others), v.id
    assert len({(key_text(v), plot(v).series[0].label) for v in variants("depth-activation-scales")}) > 12
    assert {[s.label for s in plot(v).series].index(key_text(v)) for v in variants("depth-activation-scales")} == {0, 1, 2}


def test_the_run_named_by_the_key_diverges_and_the_others_do_not() -> None:
    for v in variants("diverging-loss-curve"):
        bad = series_named(v, key_text(v))
        assert bad[-1] > 10 * bad[0] and min(bad) < bad[0], v.id  # dips first, then blows up
        for s in plot(v).series:
            if s.label != key_text(v):
                assert s.y[-1] < s.y[0] and max(s.y) <= s.y[0], v.id
        stalled = [s.y for s in plot(v).series if s.label != key_text(v) and s.y[-1] > 0.9 * s.y[0]]
        assert len(stalled) == 1, v.id  # one stalls, one converges
    assert {[s.label for s in plot(v).series].index(key_text(v)) for v in variants("diverging-loss-curve")} == {0, 1, 2}


def test_the_alt_text_gives_each_run_s_last_value() -> None:
    # A student who cannot see the plot reads the flat, the vanishing and the diverging run off the alt text.
    for v in variants("depth-activation-scales")[:40]:
        for s in plot(v).series:
            gain = s.y[1]  # the factor per layer, from layer 0's 1
            assert f"{s.label.lower()}: multiplied by {gain:.1f} at every layer" in plot(v).alt.lower(), plot(v).alt
    for v in variants("diverging-loss-curve")[:40]:
        for s in plot(v).series:
            assert f"{s.label.lower()} is at {s.y[10]:.2f} and {s.y[-1]:.2f}" in plot(v).alt.lower(), plot(v).alt
        assert f"](figures/{plot(v).file}.png)" in v.question


def test_the_limit_on_the_density_plot_gives_the_integer_answer() -> None:
    for v in variants("xavier-uniform-density"):
        (density,) = plot(v).series
        inside = [x for x, y in zip(plot(v).x, density.y, strict=True) if y > 0]
        limit = Fraction(max(inside)).limit_denominator(1000)
        assert -min(inside) == max(inside) and min(plot(v).x) < -limit and max(plot(v).x) > limit
        n_in = int(v.params["n_in"])
        assert int(v.answer_text) == 6 / limit**2 - n_in, v.id  # L = sqrt(6/(n_in + n_out))
        assert max(density.y) == pytest.approx(1 / (2 * limit))  # the box's height confirms L
        assert f"{float(limit):.2f}" in plot(v).alt


def _number(cell: str) -> Fraction:
    match = re.fullmatch(r"\$\\frac\{(\d+)\}\{(\d+)\}\$|(\d+)", cell)
    assert match, cell
    return Fraction(int(match[3])) if match[3] else Fraction(int(match[1]), int(match[2]))


def test_the_table_s_variances_follow_the_rule_the_key_names() -> None:
    for v in variants("init-rule-table"):
        (table,) = v.figures
        assert isinstance(table, Table) and len(table.rows) == 3
        assert isinstance(v.answer, BooleanAnswer)
        he = v.answer.value  # "they used He initialization": true or false
        for _, n_in, n_out, variance in ([_number(c) for c in row] for row in table.rows):
            assert variance == (2 / n_in if he else 2 / (n_in + n_out)), v.id
    assert {v.answer_text for v in variants("init-rule-table")} == {"① True", "② False"}


@pytest.mark.parametrize("exercise", PLOTS)
def test_the_plots_draw_as_png(exercise: str) -> None:
    drawings = Drawings()
    for v in variants(exercise)[:2]:
        assert drawings.draw(plot(v), "png").startswith(b"\x89PNG")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_bundled_bank_exports_in_every_format(fmt: str, tmp_path: Path) -> None:
    figures = [arg for exercise in PLOTS + TABLES for arg in ("-e", exercise)]  # each sheet holds them all
    result = CliRunner().invoke(cli, ["generate", "-s", "3", "-n", "2", *figures, "-f", fmt, "-o", str(tmp_path / "quiz")])
    assert result.exit_code == 0, result.output
    if fmt == "gift":  # GIFT cannot carry images: the plot exercises are left out, by name
        gift = (tmp_path / "quiz").read_text(encoding="utf-8")
        assert all(f"// exercise {exercise} left out" in gift for exercise in PLOTS)
        assert "$CATEGORY: $course$/top/Weight initialization/In practice/He or Xavier? Read the table" in gift
