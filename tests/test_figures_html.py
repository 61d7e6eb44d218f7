"""Figures in the self-check page (`--format html`): plots as inline SVG stored once per page, tables
as real tables, checked in Debian's Chromium and by the Nu Html Checker.

Golden file: tests/golden/figures-html/fixtures.html (the bank tests/fixtures/figures-html, seed 0,
two sheets); `UPDATE_GOLDEN=1 python -m pytest tests/test_figures_html.py` rewrites it.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.export.figures import Drawings, plots
from engine.export.selfcheck.figures import Figures, boxed_tables, symbol
from engine.generation.quiz import Plot, Table
from tests.golden import assert_golden
from tests.test_export_html import browser, nu_checker_errors, open_page, page_html

HERE = Path(__file__).parent
BANK = HERE / "fixtures" / "figures-html"
GOLDEN = HERE / "golden" / "figures-html" / "fixtures.html"
__all__ = ["browser"]  # the Chromium fixture, shared with test_export_html

_ID = re.compile(r'\sid="([^"]*)"')
_REFERENCE = re.compile(r'(?:href="#|url\(#)([^")]*)')

HOSTILE = """id: hostile
title: Hostile figure
kind: integer
topic: x
figures:
  plot:
    type: plot
    alt: "Alt <script>window.pwned = 1</script> & \\"q\\" $5 | [x] </script> <&>"
    title: "Title </script><script>window.pwned = 2</script>"
    x: {min: 1, max: 3}
    xlabel: "x <&> \\" | cost $5"
    ylabel: "</script>"
    series:
      - {label: "<img src=x onerror='window.pwned = 3'>", y: "x"}
  table:
    type: table
    caption: "Caption <script>window.pwned = 4</script> & | $5 \\"q\\""
    x: {values: [1, 2]}
    columns:
      - {header: "a | b", value: x}
      - {header: "<&>\\" </script>", value: "x/3", places: 2}
      - {header: "$5 and $6", value: "x/3"}
question: |
  [[ plot ]]

  [[ table ]]

  What is the last value of x?
answer: 3
explanation: Three.
"""

COLUMNS = ", ".join(f'{{header: "Column {k}", value: "x*123456789"}}' for k in range(12))
WIDE = f"""id: wide
title: A wide table
kind: integer
topic: x
figures:
  wide:
    type: table
    caption: "Many columns"
    x: {{values: [1, 2]}}
    columns: [{COLUMNS}]
question: |
  [[ wide ]]

  What is 1?
answer: 1
explanation: One.
"""


def bank_of(tmp_path: Path, *texts: str) -> Path:
    bank = tmp_path / "bank"
    bank.mkdir()
    for text in texts:
        name = text.split("\n", 1)[0].removeprefix("id: ")
        (bank / f"{name}.yaml").write_text(text, encoding="utf-8")
    return bank


def assert_ids_resolve(html: str) -> None:
    """Every id of the page is unique, and every SVG reference names one of them."""
    ids = _ID.findall(html)
    assert len(ids) == len(set(ids))
    assert set(_REFERENCE.findall(html)) <= set(ids)


# -- the page's text -----------------------------------------------------------------------------


def test_golden_page() -> None:
    assert_golden(GOLDEN, page_html([BANK], seed=0, count=2).encode("utf-8"))


def test_the_same_bank_and_seed_give_the_same_bytes_in_another_process() -> None:
    here = page_html([BANK], seed=4, count=3)
    assert here == page_html([BANK], seed=4, count=3)
    done = subprocess.run([sys.executable, "-m", "engine", "generate", str(BANK), "--seed", "4", "--count", "3",
                           "-f", "html"], capture_output=True, check=True, cwd=HERE.parent)
    assert done.stdout.decode("utf-8") == here


def test_each_plot_is_drawn_and_stored_once_however_many_sheets_show_it(drawn: list[tuple[str, str]]) -> None:
    html = page_html([BANK], seed=1, count=30)
    distinct = [p.file for p in plots(api.quiz([BANK], seed=1, count=30).copies)]
    assert len(distinct) == 4  # two values of a parameter for each of two plots: 30 sheets repeat them
    assert sorted(file for file, _ in drawn) == sorted(distinct)
    assert re.findall(r'<symbol id="(fig-[0-9a-f]{16})"', html) == distinct
    used = re.findall(r'<use href="#(fig-[0-9a-f]{16})">', html)
    assert set(used) == set(distinct) and len(used) == 30 * 3  # growth: question and solution; reading: question
    assert "figures/" not in html and "<img" not in html
    assert_ids_resolve(html)


def test_split_pages_hold_the_plots_they_show(drawn: list[tuple[str, str]], tmp_path: Path) -> None:
    api.export("html", [BANK], output=tmp_path / "quiz.html", split=True, seed=1, count=6)
    assert len(drawn) == len(set(drawn)) == 4  # drawn once per run, whatever the number of files
    assert len(list(tmp_path.iterdir())) == 6
    for page in tmp_path.iterdir():
        html = page.read_text(encoding="utf-8")
        shown = set(re.findall(r'<use href="#(fig-[0-9a-f]{16})">', html))
        assert len(shown) == 2 and re.findall(r'<symbol id="(fig-[0-9a-f]{16})"', html) == sorted(shown, key=html.index)
        assert_ids_resolve(html)


def test_a_plot_becomes_a_symbol_with_its_own_ids_and_shares_its_shapes() -> None:
    first, second = list(plots(api.quiz([BANK], seed=0).copies))[:2]
    drawings = Drawings()
    one, two = (symbol(p.file, drawings.draw(p, "svg")) for p in (first, second))
    assert one.view_box == "0 0 432 259.2"
    assert one.markup.startswith(f'<symbol id="{first.file}" viewBox="{one.view_box}">')
    assert all(name.startswith(f"{first.file}-") for name in _ID.findall(one.markup)[1:])
    assert set(_REFERENCE.findall(one.markup)) <= set(_ID.findall(one.markup)) | set(one.shared)
    assert set(one.shared) & set(two.shared)  # the glyphs of the digits on both plots' axes, stored once
    for dropped in ("<metadata", "<style", "<?xml", "<!DOCTYPE", "<text", "\n"):
        assert dropped not in one.markup  # text is drawn as paths: no label can become markup


def test_links_to_other_plots_stay_and_tables_without_a_caption_are_boxed() -> None:
    figures = Figures()
    link = '<p><img src="figures/fig-0123456789abcdef.png" alt="x" /></p>'
    assert figures.show(link, []) == link and figures.store() == ""
    table = "<table>\n<tr><td>1</td></tr>\n</table>"
    assert boxed_tables(f"<p>Not a caption</p>\n{table}", ["Caption"]) == (
        f'<p>Not a caption</p>\n<div class="table-box">{table}</div>')
    assert boxed_tables(f"<p>Caption</p>\n{table}", ["Caption"]) == (
        f'<figure class="table">\n<figcaption>Caption</figcaption>\n<div class="table-box">{table}</div>\n</figure>')


def test_a_plot_matplotlib_cannot_draw_is_one_error_and_no_page(tmp_path: Path) -> None:
    broken = HOSTILE.replace('ylabel: "</script>"', 'ylabel: "$\\frac{1}{$"')
    result = CliRunner().invoke(cli, ["generate", str(bank_of(tmp_path, broken)), "-f", "html",
                                      "-o", str(tmp_path / "quiz.html")])
    error = result.output.splitlines()[-1]
    assert result.exit_code == 1 and error.startswith("Error: ") and "figures.plot.ylabel: figure 'plot' cannot be drawn: " in error
    assert not (tmp_path / "quiz.html").exists()


# -- in the browser ------------------------------------------------------------------------------

SHOWN = """() => [...document.querySelectorAll("section.sheet:not([hidden]) svg.figure")].map(svg => {
  const use = svg.querySelector("use");
  const box = svg.getBoundingClientRect();
  return {role: svg.getAttribute("role"), label: svg.getAttribute("aria-label"), width: box.width,
          drawn: use.getBBox().width, visible: svg.checkVisibility(),
          stored: !!document.getElementById(use.getAttribute("href").slice(1))};
})"""


def colours(png: bytes) -> int:
    from PIL import Image

    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or [])


def test_every_plot_shows_with_its_alt_text_on_every_sheet(browser: Any, tmp_path: Path) -> None:
    quiz = api.quiz([BANK], seed=0, count=3)
    page = open_page(browser, tmp_path, page_html([BANK], seed=0, count=3))
    for copy in quiz.copies:
        page.select_option("#sheet-select", copy.sheet)  # sheets 2 and 3 come out of their <template>s
        page.click(f"#sheet-{copy.index + 1} .question:first-of-type summary")  # the solution shows the plot too
        alts = [f.alt for v in copy.variants for f in v.figures if isinstance(f, Plot)]
        shown = [s for s in page.evaluate(SHOWN) if s["visible"]]
        assert [s["label"] for s in shown] == [alts[0], alts[0], alts[1]]
        for figure in shown:
            assert figure["role"] == "img" and figure["stored"] and figure["drawn"] == 432 and figure["width"] > 500
        picture = page.locator(f"#sheet-{copy.index + 1} svg.figure").first
        assert colours(picture.screenshot()) > 20  # painted: axes, curves, anti-aliased labels
        assert page.get_by_role("img", name=alts[1]).count() == 1
    assert page.errors == [] and page.requests == [page.file]


def test_the_tables_are_real_tables(browser: Any, tmp_path: Path) -> None:
    variant = next(v for v in api.quiz([BANK], seed=0).copies[0].variants if v.exercise == "reading")
    table = next(f for f in variant.figures if isinstance(f, Table))
    page = open_page(browser, tmp_path, page_html([BANK], seed=0))
    found = page.evaluate("""() => {
      const t = document.querySelector("figure.table table");
      return {display: getComputedStyle(t).display, caption: t.closest("figure").querySelector("figcaption").textContent,
              header: [...t.querySelectorAll("th")].map(c => c.textContent),
              rows: [...t.querySelectorAll("tbody tr")].map(r => [...r.cells].map(c => c.textContent))};
    }""")
    assert found["display"] == "table" and found["caption"] == table.caption
    assert found["rows"] == table.rows and found["header"][1] == "Height" and len(found["header"]) == 3
    assert page.get_by_role("table").count() == 1 and page.get_by_role("figure", name=table.caption).count() == 1


def test_plots_and_wide_tables_fit_a_phone(browser: Any, tmp_path: Path) -> None:
    bank = bank_of(tmp_path, WIDE, (BANK / "reading.yaml").read_text(encoding="utf-8"))
    page = open_page(browser, tmp_path, page_html([bank], seed=0), width=360)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    boxes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll("figure.table")].map(f => {
      const box = f.querySelector(".table-box");
      return [f.querySelector("figcaption").textContent,
              {scrolls: box.scrollWidth > box.clientWidth, right: box.getBoundingClientRect().right}];
    }))""")
    assert boxes["Many columns"]["scrolls"] and not boxes["Heights, and their squares"]["scrolls"]
    assert all(box["right"] <= 360 for box in boxes.values())
    figure = page.evaluate("""(() => { const r = document.querySelector("svg.figure").getBoundingClientRect();
      return [r.width, r.height, r.right]; })()""")
    assert 300 < figure[0] < 340 and figure[1] == pytest.approx(figure[0] * 259.2 / 432, abs=1) and figure[2] <= 360


def test_hostile_alt_text_labels_and_cells_stay_text(browser: Any, tmp_path: Path) -> None:
    bank = bank_of(tmp_path, HOSTILE)
    variant = api.quiz([bank], seed=0).copies[0].variants[0]
    plot, table = variant.figures
    assert isinstance(plot, Plot) and isinstance(table, Table)
    html = page_html([bank], seed=0)
    assert html.count("<script") == 1 and "<text" not in html  # the page's own script; labels are paths
    page = open_page(browser, tmp_path, html)
    assert page.get_attribute("svg.figure", "aria-label") == plot.alt
    assert page.get_by_role("img", name=plot.alt).count() == 1
    assert page.inner_text("figcaption") == table.caption
    assert page.evaluate("[...document.querySelectorAll('th')].map(c => c.textContent)") == [
        "a | b", "<&>\" </script>", "$5 and $6"]
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelectorAll('img, body script').length") == 1
    assert page.errors == [] and page.requests == [page.file]


# -- a conformance checker -----------------------------------------------------------------------


def test_the_figure_pages_are_valid_html_for_the_nu_checker(tmp_path: Path) -> None:
    pages = []
    for name, paths, count in (("figures", [BANK], 3), ("log-axes", [HERE / "fixtures" / "figures"], 3),
                               ("hostile", [bank_of(tmp_path, HOSTILE, WIDE)], 2)):
        page = tmp_path / f"{name}.html"
        page.write_text(page_html(paths, seed=0, count=count), encoding="utf-8")
        pages.append(page)
    assert nu_checker_errors(pages) == []
