"""PDF export: read back page by page with pypdf (a real PDF reader), typeset by Typst.

Each sheet and each sheet's key is a part: it starts on a new page and every page of it says
its name and "page k of n" in the footer. Golden file: the Typst source of the Moodle fixture
bank (tests/golden/pdf/fixtures.typ); `UPDATE_GOLDEN=1 python -m pytest tests/test_export_pdf.py`
rewrites it.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from engine import api
from engine.cli import cli
from engine.export.pdf import texmath
from engine.export.pdf.markup import MarkupConverter, Math, escape
from engine.export.pdf.writer import compile_pdf, typst_sources
from engine.generation.quiz import Copy, Variant, question_labels
from tests.conftest import without_notes
from tests.golden import assert_golden

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "moodle"  # one exercise per kind, and one of hostile XML text
GOLDEN = HERE / "golden" / "pdf" / "fixtures.typ"
FOOTER = re.compile(r"(Sheet|Key) (\S+)\s*page (\d+) of (\d+)\s*$")
HOSTILE = r"""id: hostile
title: "Title #x $ * [z] <w> @a _b"
kind: concept
topic: typst
question: |
  Literal: \# \$ \* \_ @ref <label> \[a\] \\ \` ~ = -- --- // /* */ + ... 1. #set page(width: 1pt)

  #strong[not markup] and `#raw("code")` and ] and [ and $x_{1} * y$.
options:
  - text: "Option #let x = 1 @cite <tag> \\[b\\] ~~ ==="
    correct: true
  - text: "Other $a < b$ and \\* star \\_ under"
    feedback: "Feedback #[x] <y> @z"
explanation: "Because #: @here and \\$5 and <end>."
"""


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def footers(texts: list[str]) -> list[tuple[str, str, int, int]]:
    """(part, sheet id, k, n) of every page, read from its last line."""
    out = []
    for text in texts:
        match = FOOTER.search(text)
        assert match, f"no footer on a page: ...{text[-200:]!r}"
        out.append((match[1], match[2], int(match[3]), int(match[4])))
    return out


def parts(pdf: bytes) -> list[tuple[str, str, list[str]]]:
    """The parts in order: (Sheet|Key, sheet id, the texts of its pages), checking their numbering."""
    out: list[tuple[str, str, list[str]]] = []
    texts = pages(pdf)
    for (part, sheet, k, n), text in zip(footers(texts), texts, strict=True):
        if k == 1:
            out.append((part, sheet, []))
        assert out and out[-1][:2] == (part, sheet), f"page {k} of {part} {sheet} does not follow its part"
        assert len(out[-1][2]) == k - 1 and k <= n
        out[-1][2].append(text)
    for part, sheet, held in out:
        assert {int(m) for t in held for m in re.findall(r"page \d+ of (\d+)", t)} == {len(held)}, (part, sheet)
    return out


def quiz(paths: list[Path], seed: int = 0, count: int = 2) -> tuple[bytes, list[Copy]]:
    pdf = api.export("pdf", paths, seed=seed, count=count)
    assert isinstance(pdf, bytes)
    return pdf, api.quiz(paths, seed=seed, count=count).copies


def flat(text: str) -> str:
    """The text without spaces, Typst's typographic quotes read as the straight ones written."""
    return re.sub(r"\s+", "", text).translate(str.maketrans("‘’“”", "''\"\""))


def key_answer(variant: Variant) -> str:
    """What the key page must print for the answer, spaces aside."""
    answer = variant.answer
    if answer.type in ("option", "boolean"):
        return variant.answer_text
    if answer.type == "integer":
        return str(answer.value)
    if answer.type == "numeric":
        return answer.display
    return ""  # a formula is typeset math: its glyphs are not its TeX


# -- the layout: parts, pages, footers ------------------------------------------------------------------


def test_every_page_names_its_sheet_and_counts_pages_within_it() -> None:
    pdf, copies = quiz([FIXTURES], count=3)
    found = parts(pdf)
    sheets = [copy.sheet for copy in copies]
    assert [(p, s) for p, s, _ in found] == [("Sheet", s) for s in sheets] + [("Key", s) for s in sheets]
    for part, _, texts in found:
        assert ("Name:" in texts[0] and "Date:" in texts[0]) == (part == "Sheet")
        assert all("Name:" not in text for text in texts[1:])


def test_a_sheet_holds_its_questions_with_answer_space_per_kind() -> None:
    pdf, copies = quiz([FIXTURES], count=1)
    sheet = flat(" ".join(parts(pdf)[0][2]))
    for number, variant in enumerate(copies[0].variants, start=1):
        assert flat(f"{number}. {variant.title}") in sheet or flat(f"{number}.") in sheet
    assert "1True2False" in sheet  # true/false: two numbers in circles to mark
    assert "Answer(aninteger):" in sheet and "Answer(aformulain" in sheet
    source = typst_sources(api.generate([FIXTURES]).header, copies).whole()
    kinds = {v.answer.type for v in copies[0].variants}
    assert {"option", "boolean", "integer", "numeric", "formula"} <= kinds
    assert "#answer-box(4cm)" in source and "#answer-box(7cm)" in source and "#answer-lines(2)" in source
    assert "#option(1, [" in source and "#mark(1) True" in source
    # an option that is a formula alone is displayed, big enough to read on paper
    assert re.search(r"#option\(\d, \[\$#math\.display\[\$", source)


def test_each_key_page_holds_that_sheets_answers() -> None:
    pdf, copies = quiz([FIXTURES], count=3)
    keys = {sheet: flat(" ".join(texts)) for part, sheet, texts in parts(pdf) if part == "Key"}
    for copy in copies:
        for number, variant in enumerate(copy.variants, start=1):
            assert flat(f"{number}. {variant.title}: {key_answer(variant)}") in keys[copy.sheet], variant.id
    integers = [v for copy in copies for v in copy.variants if v.answer.type == "integer"]
    assert len({v.answer_text for v in integers}) > 1  # the sheets' answers differ: each page holds its own


def test_the_whole_bundled_bank_typesets_over_several_seeds(bundled_bank: Path) -> None:
    for seed in (0, 1, 2, 7):
        pdf, copies = quiz([bundled_bank], seed=seed, count=2)
        found = parts(pdf)
        assert [s for p, s, _ in found if p == "Sheet"] == [copy.sheet for copy in copies]
        keys = {sheet: flat(" ".join(texts)) for part, sheet, texts in found if part == "Key"}
        for copy in copies:  # a multi-part exercise's parts are numbered 5a, 5b
            for label, variant in zip(question_labels(copy.variants), copy.variants, strict=True):
                assert flat(f"{label}.") in keys[copy.sheet] and flat(key_answer(variant)) in keys[copy.sheet]


def test_every_tex_snippet_of_the_bundled_bank_converts(bundled_bank: Path) -> None:
    """Symbol coverage: pandoc reads every snippet (a snippet it cannot read comes back as
    escaped TeX text) and Typst knows every symbol pandoc writes."""
    converter = MarkupConverter()
    for seed in range(4):
        for copy in api.quiz([bundled_bank], seed=seed, count=3).copies:
            for v in copy.variants:
                for text in (v.question, v.explanation, *(o.text for o in v.options), *(o.feedback or "" for o in v.options),
                             *(m.feedback for m in v.misconceptions), f"${v.answer.latex}$" if hasattr(v.answer, "latex") else ""):
                    converter.convert(text)
    snippets = converter.slots()
    assert len(snippets) > 100
    math = texmath.convert(snippets)
    failed = [s.tex for s, typst in math.items() if not typst.startswith("$")]
    assert failed == []
    compile_pdf("\n\n".join(math.values()))


def test_tex_that_pandoc_cannot_read_prints_as_text() -> None:
    math = texmath.convert([Math(r"\notacommand{x} #", False), Math(r"\odot", False)])
    assert not math[Math(r"\notacommand{x} #", False)].startswith("$")
    text = pages(compile_pdf(" ".join(math.values())))[0]
    assert r"\notacommand{x} #" in text and "⊙" in text  # \odot: the symbol name pinned Typst knows


def test_dfrac_keeps_its_display_style() -> None:
    math = texmath.convert([Math(r"\dfrac{1}{2}, x", False), Math(r"\frac{1}{2}", False)])
    assert math[Math(r"\dfrac{1}{2}, x", False)] == "$#math.display[$1 / 2 \\, x$]$"
    assert math[Math(r"\frac{1}{2}", False)] == "$1 / 2$"


# -- one file, split, no key, stdout ---------------------------------------------------------------------


def test_split_writes_one_pdf_per_sheet_and_one_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "3", "-f", "pdf", "--split",
                                      "-o", str(tmp_path / "quiz.pdf")])
    assert result.exit_code == 0, result.output
    copies = api.quiz([FIXTURES], count=3).copies
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"quiz-{copy.sheet}.pdf" for copy in copies] + ["quiz.key.pdf"])
    for copy in copies:
        assert [(p, s) for p, s, _ in parts((tmp_path / f"quiz-{copy.sheet}.pdf").read_bytes())] == [("Sheet", copy.sheet)]
    key = parts((tmp_path / "quiz.key.pdf").read_bytes())
    assert [(p, s) for p, s, _ in key] == [("Key", copy.sheet) for copy in copies]
    title = "Fixtures / Moodle & XML"
    assert PdfReader(tmp_path / f"quiz-{copies[0].sheet}.pdf").metadata.title == f"{title}: worksheet {copies[0].sheet}"
    assert PdfReader(tmp_path / "quiz.key.pdf").metadata.title == f"{title}: answer keys"


def test_no_key_drops_the_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "2", "-f", "pdf", "--no-key",
                                      "-o", str(tmp_path / "quiz.pdf")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["quiz.pdf"]
    assert {p for p, _, _ in parts((tmp_path / "quiz.pdf").read_bytes())} == {"Sheet"}
    split = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "2", "-f", "pdf", "--no-key", "--split",
                                     "-o", str(tmp_path / "s" / "quiz.pdf")])
    assert split.exit_code == 0 and not (tmp_path / "s" / "quiz.key.pdf").exists()
    assert len(list((tmp_path / "s").iterdir())) == 2


def test_a_file_output_puts_the_key_beside_it_and_stdout_after_the_sheets(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "2", "-f", "pdf", "-o", str(tmp_path / "q.pdf")])
    assert result.exit_code == 0, result.output
    assert {p for p, _, _ in parts((tmp_path / "q.pdf").read_bytes())} == {"Sheet"}
    assert {p for p, _, _ in parts((tmp_path / "q.key.pdf").read_bytes())} == {"Key"}
    stdout = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-n", "2", "-f", "pdf"])
    assert stdout.exit_code == 0 and stdout.stdout_bytes.startswith(b"%PDF")
    assert [p for p, _, _ in parts(stdout.stdout_bytes)] == ["Sheet", "Sheet", "Key", "Key"]


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    first, _ = quiz([FIXTURES], seed=5)
    again, _ = quiz([FIXTURES], seed=5)
    assert first == again
    assert b"/CreationDate" not in first and b"/ModDate" not in first
    assert first != quiz([FIXTURES], seed=6)[0]


# -- text is text ------------------------------------------------------------------------------------


def test_hostile_text_prints_literally(tmp_path: Path) -> None:
    (tmp_path / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    pdf, copies = quiz([tmp_path / "hostile.yaml"], count=1)
    sheet, key = (flat(" ".join(texts)) for _, _, texts in parts(pdf))
    variant = copies[0].variants[0]
    assert flat("Title #x $ * [z] <w> @a _b") in sheet and flat("Title #x $ * [z] <w> @a _b") in key
    assert flat(r"Literal: # $ * _ @ref <label> [a] \ ` ~ = -- --- // /* */ + ... 1. #set page(width: 1pt)") in sheet
    assert flat('#strong[not markup] and #raw("code") and ] and [ and') in sheet
    assert flat("Option #let x = 1 @cite <tag> [b] ~~ ===") in sheet
    assert flat("Other") in sheet and flat("and * star _ under") in sheet
    assert flat("Because #: @here and $5 and <end>.") in key
    assert variant.answer_text in key


@pytest.mark.parametrize("char", list("\\#$*_@<>[]`~=-+/.'\"%&{}();,:!?|^"))
def test_every_ascii_punctuation_mark_escapes(char: str) -> None:
    for text in (char, char * 3, f"1{char} x", f"a{char}b"):
        assert flat(pages(compile_pdf(escape(text)))[0]) == flat(text), text


def test_markdown_emphasis_code_lists_and_tables_become_typst() -> None:
    converter = MarkupConverter()
    text = "Some *emph*, **strong**, `co*de`.\n\n- one\n- two $x^2$\n\n3. three\n4. four\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    markup = converter.convert(text)
    math = texmath.convert(converter.slots())
    source = "".join(p if isinstance(p, str) else math[p] for p in markup)
    assert "#emph[emph];" in source and "#strong[strong];" in source and '#raw("co*de");' in source
    assert "#list([one], [two $x^2$]);" in source and "#enum.with(start: 3)([three], [four]);" in source
    assert "table.header([#strong[a];], [#strong[b];]), table.hline(stroke: 0.4pt), [1], [2]," in source
    assert flat("Some emph, strong, co*de. • one • two") in flat(pages(compile_pdf(source))[0])


# -- golden source, errors ---------------------------------------------------------------------------


def test_golden_typst_source() -> None:
    generated = api.generate([FIXTURES], seed=0, count=2)
    source = typst_sources(generated.header, generated.copies).whole()
    assert_golden(GOLDEN, source.encode("utf-8"))
    compile_pdf(source)


@pytest.mark.parametrize(("module", "package"), [("typst", "pip install typst"),
                                                 ("pypandoc", "pip install pypandoc-binary")])
def test_a_missing_typesetter_is_an_error_naming_the_package(monkeypatch: pytest.MonkeyPatch, module: str,
                                                               package: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if it were not installed
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-f", "pdf"])
    assert result.exit_code == 1 and package in result.output and without_notes(result.output).startswith("Error: ")


def test_a_question_taller_than_a_page_breaks_instead_of_running_off_it(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(1500))
    (tmp_path / "long.yaml").write_text(
        f"id: long\ntitle: Long\nkind: concept\ntopic: t\nquestion: {words}\noptions:\n"
        "  - text: 'yes'\n    correct: true\n  - text: 'no'\n    feedback: f\nexplanation: e\n", encoding="utf-8")
    pdf, _ = quiz([tmp_path / "long.yaml"], count=1)
    sheet = parts(pdf)[0][2]
    counts = [len(re.findall(r"word\d+", text)) for text in sheet]
    assert sum(counts) == 1500 and len(sheet) >= 3 and max(counts) < 700


def test_the_math_of_a_whole_class_goes_through_one_pandoc_run(monkeypatch: pytest.MonkeyPatch,
                                                               bundled_bank: Path) -> None:
    runs: list[list[str]] = []
    real = texmath.subprocess.run

    def counted(args: list[str], **kwargs: object) -> object:
        runs.append(args)
        return real(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(texmath.subprocess, "run", counted)
    api.export("pdf", [bundled_bank], count=5)
    assert len(runs) == 1
