"""PDF export, acceptance: what a teacher runs into, replayed end to end and read back with pypdf.

A terminal is refused the binary PDF (as gzip and the qti writer do), characters the fonts lack fail the run (not empty boxes),
very long words break instead of running off the paper, TeX pandoc cannot read prints as
written, --copies prints the sheets of the full run, and the bytes depend on nothing but the
bank and the seed. Printed double-sided, every sheet and key starts on an odd page (a blank back
is named and counted); a run that would need too much memory is refused before typesetting.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.export.pdf import writer
from engine.export.pdf.writer import compile_pdf, memory_needed, typst_sources
from tests.conftest import without_notes
from tests.test_export_pdf import FIXTURES, flat, pages, parts, quiz
from tests.test_formats_acceptance import stdout_on_a_terminal

ROOT = Path(__file__).resolve().parents[1]
BLANK = "this page is left blank"
# Sheets and keys of one page (two short questions).
SHORT = (str(FIXTURES.parent / "basic"), "-e", "purpose", "-e", "he")


def _exercise(folder: Path, name: str, question: str, options: tuple[str, str] = ("yes", "no"),
              title: str = "T") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    right, wrong = (option.replace('"', '\\"') for option in options)
    (folder / f"{name}.yaml").write_text(
        f'id: {name}\ntitle: "{title}"\nkind: concept\ntopic: t\nquestion: |\n  {question}\noptions:\n'
        f'  - text: "{right}"\n    correct: true\n  - text: "{wrong}"\n    feedback: f\nexplanation: e\n',
        encoding="utf-8")
    return folder


def _generate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["generate", *args])
    return result.exit_code, result.output


# -- a terminal --------------------------------------------------------------------------------------


def _drain(primary: int, seen: list[bytes]) -> None:
    """Read what reaches a terminal until its last writer is gone."""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            return
        if not chunk:
            return
        seen.append(chunk)


def test_standard_output_on_a_terminal_gets_an_error_not_pdf_bytes() -> None:
    status, seen, error = stdout_on_a_terminal("generate", str(FIXTURES), "-f", "pdf")
    assert status == 1 and seen == b""
    assert without_notes(error.decode()).startswith("Error: pdf writes a PDF file, which a terminal cannot show: give a file")


def test_an_output_file_that_is_a_terminal_is_refused_too() -> None:
    primary, secondary = pty.openpty()
    name = os.ttyname(secondary)
    seen: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(primary, seen))  # a terminal that shows what it gets
    reader.start()
    try:
        code, output = _generate(str(FIXTURES), "-f", "pdf", "-o", name)
    finally:
        os.close(secondary)
        reader.join(timeout=60)
        os.close(primary)
    assert code == 1 and seen == []
    assert without_notes(output).startswith("Error: pdf writes a PDF file, which a terminal cannot show: give a file (-o quiz.pdf)")


def test_a_pipe_still_gets_the_pdf() -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "generate", str(FIXTURES), "-f", "pdf"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith(b"%PDF")
    assert [p for p, _, _ in parts(done.stdout)] == ["Sheet", "Key"]


# -- fonts -------------------------------------------------------------------------------------------


def test_cjk_and_emoji_fail_the_run_naming_the_characters_and_the_exercise(tmp_path: Path) -> None:
    bank = _exercise(tmp_path / "bank", "chinese", "Greek αβγ and 权重初始化 😀?", ("是", "no"))
    out = tmp_path / "out" / "quiz.pdf"
    code, output = _generate(str(bank), "-f", "pdf", "-o", str(out))
    assert code == 1 and "\nError: the PDF fonts have no glyph for " in output
    assert "初 (U+521D)" in output and "(exercise chinese)" in output and "--format html" in output
    assert "α" not in output.split("(exercise")[0]  # Greek prints
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_greek_cyrillic_hebrew_and_arabic_print(tmp_path: Path) -> None:
    text = "Greek αβγ ΔΣΩ, Cyrillic Привет мир, Hebrew שלום, Arabic مرحبا, ❤ é ß ∑ ℝ"
    pdf, _ = quiz([_exercise(tmp_path, "scripts", text)], count=1)
    sheet = pages(pdf)[0]
    assert "\x00" not in sheet  # Typst's empty box (glyph 0) reads back as NUL
    for word in ("αβγ", "ΔΣΩ", "Привет", "שלום", "❤", "ß"):
        assert word in sheet


# -- layout ------------------------------------------------------------------------------------------


def test_a_very_long_word_breaks_instead_of_running_off_the_page(tmp_path: Path) -> None:
    word = "ж" * 400
    url = "https://example.com/" + "ы" * 300
    pdf, _ = quiz([_exercise(tmp_path, "long", f"See {word} and {url}.", (word, "no"), title="щ" * 200)], count=1)
    text = " ".join(parts(pdf)[0][2]).replace("\u200b", "")
    # Broken over lines of at most a page's width (about 95 characters), none of it lost.
    runs = {char: [len(run) for run in re.findall(f"{char}+", text)] for char in "жыщ"}
    assert sum(runs["ж"]) == 800 and max(runs["ж"]) < 110 and len(runs["ж"]) >= 8
    assert sum(runs["ы"]) == 300 and max(runs["ы"]) < 110
    assert sum(runs["щ"]) == 200 and max(runs["щ"]) < 110


def test_an_option_pandoc_cannot_read_prints_its_tex_as_written(tmp_path: Path) -> None:
    bank = _exercise(tmp_path, "tex", r"Pick: $\frac{1}{2}$.", (r"$\\notamacro{x}$", r"$\\frac{1}{2}$"))
    pdf, _ = quiz([bank], count=1)
    sheet = flat(parts(pdf)[0][2][0])
    assert r"\notamacro{x}" in sheet and "displaystyle" not in sheet


# -- double-sided printing -----------------------------------------------------------------------------


def _starts(pdf: bytes) -> list[tuple[str, str, int]]:
    """(Sheet|Key, sheet id, physical page number) of the first page of every part."""
    out, number = [], 1
    for part, sheet, texts in parts(pdf):
        out.append((part, sheet, number))
        number += len(texts)
    return out


def _blank_pages(pdf: bytes) -> list[tuple[str, str, int, int]]:
    """(Sheet|Key, sheet id, k, n) of every padding page, checking that it prints nothing else."""
    found = []
    for part, sheet, texts in parts(pdf):
        for k, text in enumerate(texts, start=1):
            if BLANK in text:
                assert re.fullmatch(rf"{part} {sheet}: {BLANK}\.\s*{part} {sheet}\s*page {k} of {len(texts)}\s*",
                                    text), text
                found.append((part, sheet, k, len(texts)))
    return found


def test_every_sheet_and_key_starts_on_an_odd_page_printed_double_sided(tmp_path: Path) -> None:
    code, _ = _generate(*SHORT, "-n", "3", "-f", "pdf", "-o", str(tmp_path / "q.pdf"))
    assert code == 0
    sheets, keys = ((tmp_path / name).read_bytes() for name in ("q.pdf", "q.key.pdf"))
    ids = ["FX-0-0001", "FX-0-0002", "FX-0-0003"]
    # A one-page sheet gets a blank back, named and counted as its page 2 of 2; the last one does not.
    assert _starts(sheets) == [("Sheet", ids[0], 1), ("Sheet", ids[1], 3), ("Sheet", ids[2], 5)]
    assert _blank_pages(sheets) == [("Sheet", ids[0], 2, 2), ("Sheet", ids[1], 2, 2)]
    assert len(pages(sheets)) == 5
    assert [n for _, _, n in _starts(keys)] == [1, 3, 5]  # and so do the keys, one page each
    assert _blank_pages(keys) == [("Key", ids[0], 2, 2), ("Key", ids[1], 2, 2)]


def test_on_standard_output_the_key_starts_on_an_odd_page_after_the_last_sheet() -> None:
    result = CliRunner().invoke(cli, ["generate", *SHORT, "-n", "3", "-f", "pdf"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"%PDF")
    pdf = result.stdout_bytes
    assert [(p, n) for p, _, n in _starts(pdf)] == [("Sheet", 1), ("Sheet", 3), ("Sheet", 5), ("Key", 7),
                                                    ("Key", 9), ("Key", 11)]
    # The last sheet's back is blank: the key is never printed on the back of a student's page.
    assert ("Sheet", "FX-0-0003", 2, 2) in _blank_pages(pdf)


def test_a_split_sheet_is_not_padded_and_its_key_file_is(tmp_path: Path) -> None:
    code, _ = _generate(*SHORT, "-n", "2", "-f", "pdf", "--split", "--no-key", "-o", str(tmp_path / "q.pdf"))
    assert code == 0
    for sheet in ("FX-0-0001", "FX-0-0002"):  # a file per student, printed alone: no blank page
        assert [(p, s, len(t)) for p, s, t in parts((tmp_path / f"q-{sheet}.pdf").read_bytes())] == [("Sheet", sheet, 1)]
    code, _ = _generate(str(FIXTURES.parent / "basic"), "-n", "2", "-f", "pdf", "--split", "-o", str(tmp_path / "k.pdf"))
    key = (tmp_path / "k.key.pdf").read_bytes()  # keys of one page (the basic bank): the first one padded
    assert code == 0 and [n for _, _, n in _starts(key)] == [1, 3] and _blank_pages(key) == [("Key", "FX-0-0001", 2, 2)]


# The bundled bank of quizwright 0.1, frozen: the page counts and memory peaks below were measured on it
# (it still loads as it did: the exercise format is a public interface).
BANK_01 = Path(__file__).parent / "fixtures" / "bank-0.1"


def test_the_bundled_banks_even_page_sheets_and_keys_get_no_blank_page() -> None:
    pdf, _ = quiz([BANK_01], count=2)
    found = parts(pdf)
    assert [(p, len(t)) for p, _, t in found] == [("Sheet", 8), ("Sheet", 8), ("Key", 6), ("Key", 6)]
    assert _blank_pages(pdf) == []  # 8-page sheets and 6-page keys each start on an odd page already
    assert [n for _, _, n in _starts(pdf)] == [1, 9, 17, 23]


# -- memory ------------------------------------------------------------------------------------------


def test_a_run_over_the_memory_limit_is_refused_before_typesetting(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    generated = api.generate([FIXTURES], count=1)
    first = next(iter(generated.copies))
    need = memory_needed(generated.header, first, 3)
    monkeypatch.setattr(writer, "MEMORY_LIMIT", need - 1)
    typeset: list[str] = []
    real = writer.compile_pdf
    monkeypatch.setattr(writer, "compile_pdf", lambda source, *plots: typeset.append(source) or real(source, *plots))
    code, output = _generate(str(FIXTURES), "-n", "3", "-f", "pdf", "-o", str(tmp_path / "q.pdf"))
    assert code == 1 and output.count("\n") == 1 and typeset == [] and list(tmp_path.iterdir()) == []
    assert output.startswith(f"Error: this PDF run would need about {need / 10**9:.3g} GB of memory (3 sheets; ")
    assert "--copies A-B" in output and "--split" in output and "--no-size-limit" in output
    # Told --no-size-limit, or asked for fewer sheets, it typesets.
    assert _generate(str(FIXTURES), "-n", "3", "-f", "pdf", "--no-size-limit", "-o", str(tmp_path / "q.pdf"))[0] == 0
    assert _generate(str(FIXTURES), "-n", "3", "--copies", "1-2", "-f", "pdf", "-o", str(tmp_path / "r.pdf"))[0] == 0
    assert typeset


def test_split_sheets_are_typeset_one_by_one_so_only_the_key_counts(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    generated = api.generate([FIXTURES], count=1)
    first = next(iter(generated.copies))
    whole, split = memory_needed(generated.header, first, 50), memory_needed(generated.header, first, 50, split=True)
    alone = memory_needed(generated.header, first, 50, key=False, split=True)
    assert whole > split > alone == memory_needed(generated.header, first, 1, key=False, split=True)
    monkeypatch.setattr(writer, "MEMORY_LIMIT", alone)
    code, output = _generate(str(FIXTURES), "-n", "3", "-f", "pdf", "--split", "-o", str(tmp_path / "q.pdf"))
    assert code == 1 and "print it in --no-key" in output and "--copies A-B" in output
    code, output = _generate(str(FIXTURES), "-n", "3", "-f", "pdf", "--split", "--no-key", "-o", str(tmp_path / "q.pdf"))
    assert code == 0, output


def test_the_memory_estimate_matches_the_measured_figures(basic_bank: Path) -> None:
    """Peaks measured with /usr/bin/time -v (docs/pdf.md): the estimate is within 15% of them."""
    measured = {(BANK_01, True, False): 5.10e9, (BANK_01, False, False): 2.49e9,
                (BANK_01, True, True): 3.21e9, (basic_bank, True, False): 1.11e9}  # 300 sheets
    for (bank, key, split), peak in measured.items():
        generated = api.generate([bank], count=1)
        estimate = memory_needed(generated.header, next(iter(generated.copies)), 300, key=key, split=split)
        assert 0.85 < estimate / peak < 1.15, (bank.name, key, split, estimate / peak)


# -- runs --------------------------------------------------------------------------------------------


def test_copies_a_to_b_print_the_sheets_and_keys_of_the_full_run(tmp_path: Path, bundled_bank: Path) -> None:
    full, part = tmp_path / "full.pdf", tmp_path / "part.pdf"
    assert _generate(str(bundled_bank), "-s", "7", "-n", "5", "-f", "pdf", "-o", str(full))[0] == 0
    assert _generate(str(bundled_bank), "-s", "7", "-n", "5", "--copies", "2-3", "-f", "pdf", "-o", str(part))[0] == 0
    for suffix in (".pdf", ".key.pdf"):
        whole = {(p, s): _printed(t) for p, s, t in parts(full.with_suffix(suffix).read_bytes())}
        some = parts(part.with_suffix(suffix).read_bytes())
        assert [s for _, s, _ in some] == ["WI-7-0002", "WI-7-0003"]
        assert all(_printed(t) == whole[p, s] for p, s, t in some)


def _printed(texts: list[str]) -> str:
    """A part's text, without the page counts and the blank page that pads it (not the last part's)."""
    return flat(re.sub(r"page \d+ of \d+", "", " ".join(t for t in texts if BLANK not in t)))


def test_the_bytes_do_not_depend_on_the_hash_seed_or_the_working_folder(tmp_path: Path) -> None:
    outputs = []
    for hash_seed, cwd in (("1", ROOT), ("2", tmp_path)):
        done = subprocess.run([sys.executable, "-m", "engine", "generate", str(FIXTURES), "-n", "2", "-f", "pdf"],
                              cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hash_seed},
                              capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == api.export("pdf", [FIXTURES], count=2)


def test_a_question_known_to_be_short_is_set_as_if_measured(bundled_bank: Path) -> None:
    """The fast path (no measuring) lays the bundled bank out exactly as measuring does."""
    generated = api.generate([bundled_bank], seed=7, count=4)
    source = typst_sources(generated.header, generated.copies, key=False).whole()
    assert source.count("short: true") > 40 and "short: false" in source  # formulas in lists, $$ ... are measured
    assert compile_pdf(source) == compile_pdf(source.replace("short: true", "short: false"))
