"""Issue 14 replayed as its users would: a teacher's mistakes in figure exercises, and what an LMS
administrator gets; each test pins a problem found that way."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from engine.export.figures import FilesBeside

PLOT = """\
    id: {id}
    title: A plot
    kind: integer
    topic: t
    params:
      a: [2, 3]
    figures:
      curve:
        type: plot
        alt: "The line y = [[ a ]] x"
        x: {{min: 1, max: 3}}
        series:
          - {{label: "y", y: "a*x"}}
    question: |
      [[ curve ]]

      What is the slope? {prose}
    answer: a
    explanation: e
"""

TABLE = """\
    id: table
    title: A table
    kind: integer
    topic: t
    params:
      a: [2, 3]
    figures:
      rows:
        type: table
        caption: "Values"
        x: {min: 1, max: 2}
        columns:
          - {header: "y", value: "a*x"}
    question: |
      [[ rows ]]

      What is the slope? The plots of this course are named like figures/fig-0000000000000000.png.
    answer: a
    explanation: e
"""


def _bank(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    for name, body in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")
    return folder


def _generate(bank: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["generate", str(bank), "--seed", "1", *options])
    return result.exit_code, result.output


def test_prose_that_names_a_figure_path_is_text_not_a_link(tmp_path: Path) -> None:
    prose = "(Files: figures/fig-0000000000000000.png.)"
    bank = _bank(tmp_path, plot=PLOT.format(id="plot", prose=prose), table=TABLE)
    for fmt in ("moodle", "qti"):
        code, output = _generate(bank, "-f", fmt, "-o", str(tmp_path / f"quiz.{fmt}"))
        assert code == 0, output
    xml = (tmp_path / "quiz.moodle").read_text(encoding="utf-8")
    assert "figures/fig-0000000000000000.png" in xml and "@@PLUGINFILE@@/fig-0000000000000000" not in xml
    code, output = _generate(bank, "-f", "gift")
    assert code == 0, output
    assert "::A table" in output and "left out 1 exercise(s)" in output  # only the plot is left out


def test_a_figure_named_as_a_template_word_is_refused_with_why(tmp_path: Path) -> None:
    for word in ("range", "none", "not", "self"):
        body = PLOT.format(id="plot", prose="").replace("curve", word)
        code, output = _generate(_bank(tmp_path, plot=body), "-f", "json")
        assert code == 1, output
        assert f"plot.yaml:8: figures.{word}: {word!r} is a word of the text templates" in output, output
        assert "never shown" not in output


def _series(tmp_path: Path, y: str, extra: str = "") -> str:
    body = PLOT.format(id="plot", prose="").replace('"a*x"', f'"{y}"').replace("type: plot", "type: plot" + extra)
    return _generate(_bank(tmp_path, plot=body), "-f", "json")[1]


def test_a_value_a_plot_cannot_show_is_named_with_its_x(tmp_path: Path) -> None:
    assert "series[0].y: zoo is not a finite real number that a plot can show (at a=2, x=1)" in _series(
        tmp_path, "log(x - 1)")
    huge = _series(tmp_path, "10**400")
    assert f"1{'0' * 39}… (401 characters) is too large for a plot (at most about 1.8e308)" in huge
    assert "0" * 60 not in huge


def test_a_log_axis_error_names_the_value_and_its_x(tmp_path: Path) -> None:
    output = _series(tmp_path, "a*x - 4", "\n        yscale: log").replace("\n", " ")
    assert "figures.curve.yscale: a log axis shows only positive values, and series 0 ('y') is -2 at x=1" in output


def test_a_plot_that_cannot_be_drawn_leaves_no_folder_behind(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="").replace("type: plot", 'type: plot\n        xlabel: "$\\\\frac{x$"')
    bank = _bank(tmp_path, good=PLOT.format(id="good", prose=""), plot=body)
    for fmt, name in (("markdown", "quiz.md"), ("json", "quiz.json"), ("pdf", "quiz.pdf")):
        out = tmp_path / "out" / fmt
        out.mkdir(parents=True)
        code, output = _generate(bank, "-f", fmt, "-o", str(out / "new" / name))
        assert code == 1 and "cannot read the TeX" in output, output
        assert list(out.iterdir()) == [], fmt  # neither figures/ nor the folder made for the output


def test_tex_matplotlib_cannot_read_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="").replace('{label: "y"', '{label: "$\\\\frac{y$"')
    body = body.replace("type: plot", "type: plot\n        legend: true")  # a label is drawn in a legend
    bank = _bank(tmp_path, plot=body)
    where = f"{bank / 'plot.yaml'}:14: figures.curve.series[0].label: figure 'curve' cannot be drawn"
    for fmt in ("moodle", "html"):
        code, output = _generate(bank, "-f", fmt, "--count", "2", "-o", str(tmp_path / "quiz.out"))
        assert code == 1 and where in output and "(in plot.1.1)" in output, output
    result = CliRunner().invoke(cli, ["check", str(bank)])
    assert where in result.output, result.output


def test_a_table_cell_that_is_no_real_number_is_an_error_not_a_silent_cell(tmp_path: Path) -> None:
    for value, shown in (("log(x - 1)", "zoo"), ("sqrt(x - 3)", "sqrt(2)*I"), ("x > 1", "False")):
        body = TABLE.replace('"a*x"', f'"{value}"').replace("figures/fig-0000000000000000.png", "")
        code, output = _generate(_bank(tmp_path, table=body), "-f", "json")
        assert code == 1, output
        assert f"figures.rows.columns[0].value: {shown} is not a finite real number that a table can show " \
               "(at a=" in output and ", x=1)" in output, output
    body = TABLE.replace('"a*x"', '"10**(100*x)"')
    assert _generate(_bank(tmp_path, table=body), "-f", "json")[0] == 0  # exact and finite, if wide


def test_an_alt_text_written_as_a_block_of_paragraphs_keeps_its_plot(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="").replace(
        'alt: "The line y = [[ a ]] x"', "alt: |\n          The line y = [[ a ]] x.\n\n          It rises.")
    bank = _bank(tmp_path, plot=body)
    code, output = _generate(bank, "-f", "moodle", "--count", "1")
    assert code == 0, output
    assert 'alt="The line y = 2 x. It rises."' in output.replace("3 x", "2 x") and "@@PLUGINFILE@@/fig-" in output
    code, output = _generate(bank, "-f", "markdown", "--count", "1")
    assert "![The line y = 2 x. It rises.](figures/fig-" in output.replace("3 x", "2 x"), output


def test_an_authors_pluginfile_text_stays_text_in_moodle(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="Files: @@PLUGINFILE@@/z.png.").replace(
        'alt: "The line', 'alt: "@@PLUGINFILE@@/x.png The line')
    code, output = _generate(_bank(tmp_path, plot=body), "-f", "moodle", "--count", "1")
    assert code == 0, output
    assert "Files: &#64;@PLUGINFILE@@/z.png." in output and 'alt="&#64;@PLUGINFILE@@/x.png The line' in output
    assert output.count("@@PLUGINFILE@@/") == 1 and '<img src="@@PLUGINFILE@@/fig-' in output  # the plot's own


def test_the_note_on_standard_output_fits_json_too(tmp_path: Path) -> None:
    code, output = _generate(_bank(tmp_path, plot=PLOT.format(id="plot", prose="")), "-f", "json")
    assert code == 0 and "give one with -o (-o out/quiz.md or out/quiz.json: out/figures/)" in output, output


def test_a_figure_shown_in_an_option_says_where_figures_go(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="").replace("kind: integer", "kind: choice").replace(
        "answer: a\n", 'options:\n      - {text: "[[ curve ]]", correct: true}\n      - {text: "no", feedback: f}\n')
    code, output = _generate(_bank(tmp_path, plot=body), "-f", "json")
    assert code == 1 and "options[0].text: undefined template variable 'curve': a figure is shown only by the " \
                         "question or the explanation" in output, output


def test_a_plot_the_text_leaves_out_in_a_draw_is_not_written(tmp_path: Path) -> None:
    body = PLOT.format(id="plot", prose="").replace("      [[ curve ]]\n", "      [% if a == 2 %][[ curve ]][% endif %]\n")
    out = tmp_path / "out" / "quiz.md"
    code, output = _generate(_bank(tmp_path, plot=body), "--count", "4", "-o", str(out))
    assert code == 0, output
    linked = set(re.findall(r"figures/(fig-[0-9a-f]{16})\.png", out.read_text(encoding="utf-8")))
    assert len(linked) == 1  # a = 2 only
    assert sorted(p.name for p in (out.parent / "figures").iterdir()) == sorted(
        f"{file}.{kind}" for file in linked for kind in FilesBeside.KINDS)
