"""PDF export of figures, read back with pypdf: each plot is set in vector (its SVG drawn into the
page, no raster image) on the page of its question or worked solution, its alt text in the PDF's
structure tree; tables are ruled with their columns aligned; hostile text prints literally.

Golden file: the Typst source of tests/fixtures/figures-pdf (tests/golden/figures-pdf/fixtures.typ);
`UPDATE_GOLDEN=1 python -m pytest tests/test_figures_pdf.py` rewrites it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import typst
from click.testing import CliRunner
from pypdf import PdfReader

from engine import api
from engine.cli import cli
from engine.export.figures import plots
from engine.export.pdf import writer
from engine.export.pdf.markup import MarkupConverter
from engine.export.pdf.writer import compile_pdf, drawn_plots, memory_needed, typst_sources
from engine.generation.quiz import Copy, Plot, Table
from tests.golden import assert_golden
from tests.test_export_pdf import flat, footers, pages

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "figures-pdf"
GOLDEN = HERE / "golden" / "figures-pdf" / "fixtures.typ"
PLOT_QUESTION, PLOT_EXPLANATION = "Read the plot #1", "Loss after training"


def _quiz(seed: int = 1, count: int = 3) -> tuple[bytes, list[Copy]]:
    pdf = api.export("pdf", [FIXTURES], seed=seed, count=count)
    assert isinstance(pdf, bytes)
    return pdf, api.quiz([FIXTURES], seed=seed, count=count).copies


def _plot(copy: Copy, title: str) -> Plot:
    variant = next(v for v in copy.variants if v.title == title)
    found = [f for f in variant.figures if isinstance(f, Plot)]
    assert len(found) == 1
    return found[0]


def _figures(pdf: bytes) -> list[tuple[int, str, bytes]]:
    """(page index, alt text, the drawing's content) of every figure of the structure tree, in order."""
    reader = PdfReader(io.BytesIO(pdf))
    index = {page.indirect_reference.idnum: i for i, page in enumerate(reader.pages)}  # type: ignore[union-attr]
    found: list[tuple[int, str, bytes]] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if not isinstance(node, dict):
            return
        if node.get("/S") == "/Figure":
            page = index[node.raw_get("/Pg").idnum]
            content = reader.pages[page].get_contents()
            assert content is not None
            for mcid in node["/K"]:  # the marked content of the figure: from its BDC to the EMC after
                drawn = re.search(rb"/MCID %d\b.*?BDC(.*?)EMC" % mcid, content.get_data(), re.S)
                assert drawn, f"no marked content {mcid} on page {page + 1}"
                found.append((page, str(node["/Alt"]), drawn[1]))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def _page_of(texts: list[str], part: str, sheet: str, heading: str) -> int:
    """The index of the page of part `part` (Sheet, Key) of `sheet` that holds `heading`."""
    return next(i for i, ((p, s, _, _), text) in enumerate(zip(footers(texts), texts, strict=True))
                if (p, s) == (part, sheet) and flat(heading) in flat(text))


# -- plots ---------------------------------------------------------------------------------------------


def test_a_plot_is_set_in_vector_on_the_page_of_its_question_and_of_its_solution() -> None:
    pdf, copies = _quiz()
    texts, found = pages(pdf), _figures(pdf)
    expected = []
    for copy in copies:
        expected.append((_page_of(texts, "Sheet", copy.sheet, f"2. {PLOT_QUESTION}"), _plot(copy, PLOT_QUESTION).alt))
    for copy in copies:
        expected.append((_page_of(texts, "Key", copy.sheet, f"1. {PLOT_EXPLANATION}:"), _plot(copy, PLOT_EXPLANATION).alt))
    assert [(page, alt) for page, alt, _ in found] == expected
    reader = PdfReader(io.BytesIO(pdf))
    for page, _, content in found:
        # Vector: the SVG's paths drawn into the page, no image XObject (a raster would be one).
        assert len(re.findall(rb"\s(?:l|c|re)\n", content)) > 50 and b" Do" not in content
        assert "/XObject" not in reader.pages[page]["/Resources"]


def test_the_alt_text_reaches_the_pdf_as_written() -> None:
    pdf, copies = _quiz(count=1)
    alts = [alt for _, alt, _ in _figures(pdf)]
    assert alts == [_plot(copies[0], PLOT_QUESTION).alt, _plot(copies[0], PLOT_EXPLANATION).alt]
    assert alts[0] == 'Alt: # $ * _ @ <b> [c] \\ | & " two curves, k = 3'  # hostile: a string, never markup
    assert "Alt:" not in pages(pdf)[0]  # an alt text is not printed


def test_each_distinct_plot_is_drawn_once_and_given_only_to_the_documents_that_set_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, drawn: list[tuple[str, str]]) -> None:
    given: list[set[str]] = []
    typeset = typst.compile

    def compile_with(source: bytes, **options: Any) -> bytes:
        if b"<qw-end>" in source:  # a document, not the fonts' probe
            given.append(set(options["sys_inputs"]))
        return typeset(source, **options)

    monkeypatch.setattr(typst, "compile", compile_with)
    copies = api.quiz([FIXTURES], seed=1, count=6).copies
    distinct = [plot.file for plot in plots(copies)]
    uses = sum(isinstance(f, Plot) for copy in copies for v in copy.variants for f in v.figures)
    assert len(distinct) == 4 < uses
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-s", "1", "-n", "6", "-f", "pdf", "--split",
                                      "--no-size-limit", "-o", str(tmp_path / "q.pdf")])
    assert result.exit_code == 0, result.output
    assert sorted(file for file, _ in drawn) == sorted(distinct)
    # --split: each sheet's file is given the one plot it sets, the key every plot of the explanations.
    assert given == [{_plot(c, PLOT_QUESTION).file} for c in copies] + [{_plot(c, PLOT_EXPLANATION).file for c in copies}]
    for copy in copies:
        sheet = PdfReader(tmp_path / f"q-{copy.sheet}.pdf")
        assert [alt for _, alt, _ in _figures(_bytes(sheet))] == [_plot(copy, PLOT_QUESTION).alt]


def _files(source: str) -> list[str]:
    return re.findall(r'#plot\("(fig-[0-9a-f]{16})"', source)


def _bytes(reader: PdfReader) -> bytes:
    stream = reader.stream
    stream.seek(0)
    data = stream.read()
    assert isinstance(data, bytes)
    return data


def _exercise_pdf(folder: Path, exercises: dict[str, tuple[str, str]], figures: str = "") -> bytes:
    """The PDF of a bank of integer exercises: id -> (question, explanation), Markdown; YAML `figures` for each."""
    for name, (question, explanation) in exercises.items():
        texts = "".join(f"{field}: |\n" + "".join(f"  {line}\n" for line in text.splitlines())
                        for field, text in (("question", question), ("explanation", explanation)))
        (folder / f"{name}.yaml").write_text(f"id: {name}\ntitle: {name.upper()}\nkind: integer\ntopic: t\nanswer: 1\n"
                                             + texts + (figures if "[[" in texts else ""), encoding="utf-8")
    pdf = api.export("pdf", [folder], count=1)
    assert isinstance(pdf, bytes)
    return pdf


def test_an_image_that_is_not_a_plot_of_the_run_prints_its_description(tmp_path: Path) -> None:
    pdf = _exercise_pdf(tmp_path, {"own": (
        "![Hand #made <x> $5](figures/fig-0123456789abcdef.png) and ![A *photo* @y](photo.png)", "e")})
    assert flat("Hand #made <x> $5 and A photo @y") in flat(pages(pdf)[0])
    assert _figures(pdf) == []
    result = CliRunner().invoke(cli, ["generate", str(tmp_path), "-f", "pdf", "-o", str(tmp_path / "q.pdf")])
    assert result.exit_code == 0 and ("Note: 2 images that the quiz links ('figures/fig-0123456789abcdef.png', "
                                      "'photo.png') print as their description in the PDF") in result.output


def test_a_key_page_shows_the_plot_of_a_worked_solution_and_an_authors_image_as_text() -> None:
    pdf, copies = _quiz(count=1)
    texts = pages(pdf)
    key = _page_of(texts, "Key", copies[0].sheet, f"1. {PLOT_EXPLANATION}:")
    assert flat("An author's own image: not a figure #x $ | @y") in flat(texts[key])
    assert [page for page, _, _ in _figures(pdf)][-1] == key


def test_a_plot_question_is_measured_so_a_tall_one_may_break() -> None:
    generated = api.generate([FIXTURES], seed=1, count=1)
    source = typst_sources(generated.header, generated.copies).whole()
    assert re.search(r'#question\(2, \[Read the plot \\#1\], \[1 point\], short: false, ', source)


# -- tables ----------------------------------------------------------------------------------------------


def test_a_table_is_ruled_with_a_bold_header_and_its_columns_aligned_as_the_markdown_says() -> None:
    converter = MarkupConverter()
    source = "".join(str(p) for p in converter.convert("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n"))
    assert source.startswith("#table(columns: 4, align: (left, center, right, auto), stroke: none, ")
    assert "table.header([#strong[a];], [#strong[b];], [#strong[c];], [#strong[d];]), table.hline(" in source
    one = "".join(str(p) for p in converter.convert("| a |\n|--:|\n"))
    assert "align: (right,)" in one and "table.header([#strong[a];]), table.hline(stroke: 0.4pt), " in one
    assert flat("a b c d 1 2 3 4") in flat(pages(compile_pdf(source))[0])


def test_a_figure_table_prints_its_caption_cells_and_tex_literally() -> None:
    pdf, copies = _quiz(count=1)
    table = next(f for v in copies[0].variants for f in v.figures if isinstance(f, Table))
    page = flat(pages(pdf)[_page_of(pages(pdf), "Sheet", copies[0].sheet, "Read the table.")])
    assert flat("Caption #c $ * _ @ <t> [u] \\ | and") in page
    assert flat("𝑖 #i") in page  # TeX typeset, `#` printed
    assert flat("Root @r <s> [t] \\ u v") in page  # Markdown emphasis read, Typst markup printed
    assert all(flat(row[2]) in page for row in table.rows)  # the decimals, right-aligned
    generated = api.generate([FIXTURES], seed=1, count=1)
    source = typst_sources(generated.header, generated.copies).whole()
    assert "#block(sticky: true)[Caption \\#c" in source  # the caption stays with its table
    assert "#table(columns: 4, align: (right, right, right, right), " in source


# -- bytes, golden, memory -----------------------------------------------------------------------------


def test_the_same_bank_and_seed_give_the_same_bytes() -> None:
    assert _quiz(seed=5, count=2)[0] == _quiz(seed=5, count=2)[0]


def test_golden_typst_source() -> None:
    generated = api.generate([FIXTURES], seed=1, count=2)
    copies = list(generated.copies)
    source = typst_sources(generated.header, copies).whole()
    assert_golden(GOLDEN, source.encode("utf-8"))
    assert len(_figures(compile_pdf(source, drawn_plots(copies)))) == 4


def test_the_memory_estimate_counts_each_plot_and_table_a_document_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    generated = api.generate([FIXTURES], seed=1, count=1)
    first = next(iter(generated.copies))
    sources = typst_sources(generated.header, [first])
    assert [len(_files(part)) for part in (*sources.sheets, *sources.keys)] == [1, 1]  # a plot each; a table on the sheet
    need = memory_needed(generated.header, first, 100)
    costs = writer._MEMORY_PLOT, writer._MEMORY_TABLE
    monkeypatch.setattr(writer, "_MEMORY_PLOT", 0)
    monkeypatch.setattr(writer, "_MEMORY_TABLE", 0)
    assert need - memory_needed(generated.header, first, 100) == 100 * (2 * costs[0] + costs[1]) > 0


def test_the_memory_estimate_of_a_figure_bank_matches_the_measured_peaks() -> None:
    """Peaks measured with /usr/bin/time -v for 300 sheets of tests/fixtures/figures-pdf (a plot and a
    table a sheet, a plot a key): the estimate errs on the large side, by at most a third."""
    generated = api.generate([FIXTURES], seed=1, count=1)
    first = next(iter(generated.copies))
    for key, peak in ((False, 0.795e9), (True, 0.971e9)):
        assert 0.9 < memory_needed(generated.header, first, 300, key=key) / peak < 1.35, key


def test_the_cli_writes_the_sheets_and_the_key_of_a_figure_bank(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "2", "-f", "pdf", "-o", str(tmp_path / "q.pdf")])
    assert result.exit_code == 0, result.output
    assert len(_figures((tmp_path / "q.pdf").read_bytes())) == 2
    assert len(_figures((tmp_path / "q.key.pdf").read_bytes())) == 2


def test_a_worked_solution_with_a_plot_starts_a_page_rather_than_leave_its_plot_behind(tmp_path: Path) -> None:
    filler = "\n\n".join(f"Step {i} of a long solution." for i in range(24))
    pdf = _exercise_pdf(tmp_path, {"a": ("q", filler), "b": ("q", "The plot:\n\n[[ p ]]")},
                        "figures:\n  p:\n    type: plot\n    alt: a line\n    x: {min: 0, max: 3}\n"
                        "    series:\n      - {label: y, y: x}\n")
    texts = pages(pdf)
    heading = next(i for i, text in enumerate(texts) if "2. B: 1" in text)
    # Set in the flow, the heading and "The plot:" would end the page of the long solution, the plot
    # on the next; kept together, they start that next page.
    assert "Step 23 of" in texts[heading - 1] and "The plot:" in texts[heading]
    assert [page for page, _, _ in _figures(pdf)] == [heading]
