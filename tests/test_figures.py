"""Figures: plots and tables computed per variant, shown where the text prints their name, drawn
once as SVG and PNG, and written beside a Markdown or JSON export."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from markdown_it import MarkdownIt
from PIL import Image

from engine import api
from engine.cli import cli
from engine.errors import TemplateError
from engine.export.figures import Drawings, FilesBeside, draw, linked, plots, relink
from engine.generation.quiz import Plot, Table

BANK = Path(__file__).resolve().parent / "fixtures" / "figures"
ROOT = Path(__file__).resolve().parent.parent


def _quiz(bank: Path = BANK, **options: object) -> api.Quiz:
    return api.quiz([bank], **{"seed": 3, "count": 4, **options})  # type: ignore[arg-type]


def _variant(exercise: str, **options: object):  # type: ignore[no-untyped-def]
    quiz = _quiz(exercises=[exercise], **options)
    return [copy.variants[0] for copy in quiz.copies]


def _write(tmp_path: Path, body: str, name: str = "ex") -> Path:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    return folder


PLOT = """\
    id: ex
    title: A plot
    kind: integer
    topic: t
    params:
      a: [2, 3, 5]
    figures:
      curve:
        type: plot
        alt: "The line y = [[ a ]] x"
        x: {min: 1, max: 4}
        yscale: YSCALE
        series:
          - {label: "y", y: "a*x - OFFSET"}
    question: |
      Read the slope. [[ curve ]]
    answer: a
    explanation: It is [[ answer ]].
    """


def _plot_bank(tmp_path: Path, yscale: str = "linear", offset: str = "0") -> Path:
    return _write(tmp_path, PLOT.replace("YSCALE", yscale).replace("OFFSET", offset))


def test_a_plot_holds_the_exact_values_of_its_series_for_each_variant() -> None:
    for variant in _variant("loss-read"):
        plot = variant.figures[0]
        assert isinstance(plot, Plot)
        start, rate = (api_value(variant.params[name]) for name in ("start", "rate"))
        assert plot.x == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        assert plot.series[0].y == [float(start * rate**e) for e in range(6)]
        assert plot.series[0].style == "points" and plot.series[1].style == "bars"
        assert plot.alt == f"Training loss over 6 epochs, starting at {variant.params['start']} and falling."


def api_value(text: str):  # type: ignore[no-untyped-def]
    from fractions import Fraction

    return Fraction(text)


def test_the_text_links_the_plot_by_its_content_named_file() -> None:
    variants = _variant("depth-scales", count=12)
    for variant in variants:
        plot = next(f for f in variant.figures if isinstance(f, Plot))
        assert linked(variant.question) == [plot.file]
        assert linked(variant.explanation) == [plot.file]
    by_file: dict[str, Plot] = {}
    for variant in variants:
        plot = next(f for f in variant.figures if isinstance(f, Plot))
        seen = by_file.setdefault(plot.file, plot)
        assert seen.model_dump() == plot.model_dump()  # one name, one drawing
    assert len({p.series[0].y[-1] for p in by_file.values()}) > 1  # and the plots differ per variant


def test_a_table_is_a_real_markdown_table_with_its_caption() -> None:
    variant = _variant("depth-scales")[0]
    table = next(f for f in variant.figures if isinstance(f, Table))
    tokens = MarkdownIt("commonmark").enable("table").parse(variant.question)
    types = [t.type for t in tokens]
    assert "table_open" in types and types.count("tr_open") == 1 + len(table.rows)
    cells = [t.content for t in tokens if t.type == "inline"]
    assert table.caption in cells
    assert table.header == ["Layer", "Run A", "Run C"]
    assert [row[0] for row in table.rows] == ["1", "2", variant.params["depth"]]


def test_alt_text_and_table_cells_stay_text(tmp_path: Path) -> None:
    hostile = "a *b* [c](d) <e> `f` $g$ & h | i ! ] \\"
    bank = _write(tmp_path, f"""\
        id: ex
        title: Hostile
        kind: integer
        topic: t
        figures:
          p:
            type: plot
            alt: {json.dumps(hostile)}
            x: {{values: [1, 2]}}
            series: [{{label: "s", y: x}}]
          t:
            type: table
            caption: cap
            x: {{values: [1]}}
            columns: [{{header: "a | b", value: x}}]
        question: |
          [[ p ]]

          [[ t ]]
        answer: 1
        explanation: one
        """)
    variant = _quiz(bank, count=1).copies[0].variants[0]
    html = MarkdownIt("commonmark").enable("table").render(variant.question)
    assert 'alt="a b [c](d) &lt;e&gt; `f` $g$ &amp; h | i ! ] \\"' in html.replace("*", "")
    alt = html.split('alt="')[1].split('"')[0]
    assert "<em>" not in alt and "<code>" not in alt and "<a " not in alt
    assert html.count("<th style") == 1 and "a | b</th>" in html  # one column: the `|` stayed in its header


@pytest.mark.parametrize(("body", "field", "message"), [
    (PLOT.replace("Read the slope. [[ curve ]]", "Read the slope."), "figures.curve", "never shown"),
    (PLOT.replace("curve:", "a:").replace("[[ curve ]]", "[[ a ]]"), "figures.a", "already a parameter"),
    (PLOT.replace("x: {min: 1, max: 4}", "x: {name: a, min: 1, max: 4}"), "figures.curve.x.name", "also a parameter"),
    (PLOT.replace("x: {min: 1, max: 4}", "x: {min: 1, values: [1]}"), "figures.curve.x", "either min and max"),
    (PLOT.replace("a*x", "b*x"), "figures.curve.series[0].y", "unknown name"),
    (PLOT.replace("alt: \"The line y = [[ a ]] x\"", "alt: \"[[ curve ]]\""), "figures.curve.alt", "undefined"),
    (PLOT.replace("x: {min: 1, max: 4}", "x: {min: 1, max: 5000}"), "figures.curve.x", "over the 400"),
    (PLOT.replace("x: {min: 1, max: 4}", "x: {min: 4, max: 1}"), "figures.curve.x.max", "min < max"),
    (PLOT.replace("a*x", "1/(x - 2)"), "figures.curve.series[0].y", "division by zero (at a=2, x=2)"),
])
def test_a_broken_figure_names_the_file_and_field(tmp_path: Path, body: str, field: str, message: str) -> None:
    bank = _write(tmp_path, body.replace("YSCALE", "linear").replace("OFFSET", "0"))
    with pytest.raises(TemplateError) as caught:
        _quiz(bank, count=1)
    text = str(caught.value)
    assert "ex.yaml" in text and field in text and message in text, text


def test_a_table_must_stand_on_its_own_line(tmp_path: Path) -> None:
    bank = _write(tmp_path, """\
        id: ex
        title: T
        kind: integer
        topic: t
        figures:
          t: {type: table, caption: c, x: {values: [1]}, columns: [{header: h, value: x}]}
        question: See [[ t ]] here.
        answer: 1
        explanation: one
        """)
    with pytest.raises(TemplateError, match=r"figures\.t: a table is shown on a line of its own"):
        _quiz(bank, count=1)


def test_a_log_axis_refuses_values_that_are_not_positive(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"figures\.curve\.yscale: a log axis shows only positive values"):
        _quiz(_plot_bank(tmp_path, "log", "3*a"), count=1)
    assert _quiz(_plot_bank(tmp_path, "log", "0"), count=1).copies[0].variants[0].figures


def test_drawing_is_deterministic_and_ignores_the_users_matplotlibrc(tmp_path: Path) -> None:
    plot = next(plots(_quiz(count=1).copies))
    svg, png = draw(plot, "svg"), draw(plot, "png")
    rc = tmp_path / "matplotlibrc"
    rc.write_text("lines.linewidth: 9\naxes.facecolor: red\nsvg.fonttype: none\n", encoding="utf-8")
    code = ("import sys; from engine import api; from engine.export.figures import draw, plots; "
            "plot = next(plots(api.quiz([sys.argv[1]], seed=3, count=1).copies)); "
            "sys.stdout.buffer.write(draw(plot, sys.argv[2]))")
    env = {**os.environ, "MATPLOTLIBRC": str(rc), "PYTHONPATH": str(ROOT)}
    for kind, expected in (("svg", svg), ("png", png)):
        other = subprocess.run([sys.executable, "-c", code, str(BANK), kind], env=env, capture_output=True,
                               check=True).stdout
        assert other == expected
    assert b"<dc:date>" not in svg and b"Matplotlib v" not in svg and b"Software" not in png
    assert Image.open(io.BytesIO(png)).size == (900, 540)
    assert etree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


def test_each_distinct_plot_is_drawn_once_per_run(drawn: list[tuple[str, str]]) -> None:
    quiz = _quiz(exercises=["loss-read"], count=20)
    drawings = Drawings()
    for copy in quiz.copies:
        for plot in copy.variants[0].figures:
            assert isinstance(plot, Plot)
            drawings.draw(plot, "svg")
    assert sorted(file for file, _ in drawn) == sorted({c.variants[0].figures[0].file for c in quiz.copies})  # type: ignore[union-attr]
    assert len(drawn) < 20


def test_relink_points_the_links_elsewhere() -> None:
    text = '<img src="figures/fig-0123456789abcdef.png" alt="x"> figures/fig-0123.png'
    assert relink(text, "@@PLUGINFILE@@/{file}.png") == '<img src="@@PLUGINFILE@@/fig-0123456789abcdef.png" alt="x"> figures/fig-0123.png'


def test_markdown_writes_each_plot_beside_the_worksheet_once(tmp_path: Path) -> None:
    out = tmp_path / "out" / "quiz.md"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "--seed", "3", "--count", "6", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheets = out.read_text(encoding="utf-8") + (tmp_path / "out" / "quiz.key.md").read_text(encoding="utf-8")
    files = sorted(set(linked(sheets)))
    written = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert written == sorted(f"{f}.{kind}" for f in files for kind in FilesBeside.KINDS)
    html = MarkdownIt("commonmark").enable("table").render(sheets)
    for src in {part.split('"')[0] for part in html.split('<img src="')[1:]}:
        assert (out.parent / src).is_file(), src  # every link resolves, relative to the worksheet
    assert f"Wrote {len(written)} figure files in {out.parent / 'figures'}" in result.output


def test_on_standard_output_the_plots_are_named_in_a_notice() -> None:
    result = CliRunner().invoke(cli, ["generate", str(BANK), "--seed", "3", "--count", "2"])
    assert result.exit_code == 0
    assert "Note: the 4 plots this quiz links as figures/*.png are written beside an output file only" in result.output


def test_json_holds_each_figure_and_its_files_exist(tmp_path: Path) -> None:
    out = tmp_path / "quiz.json"
    api.export("json", [BANK], output=out, seed=3, count=3)
    quiz = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(api.schema("quiz")).validate(quiz)
    figures = [f for copy in quiz["copies"] for v in copy["variants"] for f in v["figures"]]
    assert {f["type"] for f in figures} == {"plot", "table"}
    for figure in figures:
        if figure["type"] == "plot":
            assert (tmp_path / "figures" / f"{figure['file']}.png").is_file()
    reread = api.Quiz.model_validate(quiz)  # the key file reads back, figures and all
    assert reread.copies[0].variants[0].figures


def test_a_bank_without_figures_has_no_figures_field_in_json(basic_bank: Path) -> None:
    text = api.export("json", [basic_bank], seed=7, count=1)
    assert isinstance(text, str) and '"figures"' not in text


def test_check_reports_tex_matplotlib_cannot_draw(tmp_path: Path) -> None:
    bank = _write(tmp_path, PLOT.replace("YSCALE", "linear").replace("OFFSET", "0")
                  .replace("alt:", "xlabel: \"$\\\\frac{1}{$\"\n        alt:"))
    report = api.check([bank], seeds=3)
    assert len(report.problems) == 1
    assert "ex.yaml" in report.problems[0] and "figures.curve.xlabel: figure 'curve' cannot be drawn" in report.problems[0]
    assert "matplotlib cannot read the TeX" in report.problems[0]


def test_the_figure_benchmark_runs_and_counts_the_plots_it_draws(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "figures.py"), "--bank", str(BANK),
                             "--exercise", "loss-read", "--count", "12", "--formats", "json", "--json", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["shown"] == 12 and data["distinct"] == 6  # 3 starts × 2 rates
    assert [row["format"] for row in data["rows"]] == ["json"] and data["rows"][0]["wall_s"] > 0


@given(low=st.integers(-50, 50), span=st.integers(1, 60), step=st.integers(1, 7), points=st.integers(2, 40),
       form=st.sampled_from(["step", "points"]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_variable_runs_from_min_to_max(tmp_path: Path, low: int, span: int, step: int, points: int,
                                           form: str) -> None:
    spread = f"step: {step}" if form == "step" else f"points: {points}"
    bank = _write(tmp_path, PLOT.replace("YSCALE", "linear").replace("OFFSET", "0").replace(
        "x: {min: 1, max: 4}", f"x: {{min: {low}, max: {low} + {span}, {spread}}}"))
    plot = _quiz(bank, count=1).copies[0].variants[0].figures[0]
    assert isinstance(plot, Plot)
    xs = plot.x
    assert xs[0] == low and xs == sorted(xs) and len(set(xs)) == len(xs)
    if form == "step":
        assert len(xs) == span // step + 1 and all(b - a == step for a, b in zip(xs, xs[1:], strict=False))
        assert xs[-1] <= low + span < xs[-1] + step
    else:
        assert len(xs) == points and xs[-1] == low + span


@pytest.mark.parametrize("fmt", ["moodle", "html", "qti", "pdf"])
def test_a_cli_run_draws_each_plot_once_size_estimate_included(tmp_path: Path, drawn: list[tuple[str, str]],
                                                              fmt: str) -> None:
    out = tmp_path / f"quiz.{fmt}"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-e", "loss-read", "--seed", "3", "--count", "4",
                                      "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert drawn and len(drawn) == len(set(drawn))  # the estimate of the first copy drew it for the run
