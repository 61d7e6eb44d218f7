"""Select all that apply (`multiple: true`): authoring, generation, every writer with its real
reader, the checker's reading and partial credit, grading end to end and item analysis."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from engine import api
from engine.authoring.loader import load_exercise
from engine.cli import cli
from engine.errors import TemplateError
from engine.export.moodle import questions
from engine.generation.quiz import OptionsAnswer, Quiz, Variant
from engine.grading.checker.compare import compare
from engine.grading.checker.normalize import NormalizeError, Unanswered
from engine.grading.checker.options import normalize_options
from engine.grading.checker.verdict import CompareRequest
from engine.language.printing import circled
from tests.test_export_gift import gift_pegjs, pegjs_read, written
from tests.test_export_gift import moodle_read as gift_moodle_read
from tests.test_export_html import browser, nu_checker_errors, open_page, page_html, verdict
from tests.test_export_qti import (
    QTI_NS,
    items,
    metadata,
    qti_dtd,
    text2qti_items,
    without_namespaces,
)
from tests.test_moodle import ACCEPTED, moodle_read

__all__ = ["browser"]  # the Chromium fixture, shared with test_export_html

BANK = Path(__file__).resolve().parent / "fixtures" / "selectall"
SEED, COUNT = 7, 6


@pytest.fixture(scope="module")
def quiz() -> Quiz:
    return api.quiz([BANK], seed=SEED, count=COUNT)


def variants(quiz: Quiz, exercise: str) -> list[Variant]:
    return [v for copy in quiz.copies for v in copy.variants if v.exercise == exercise]


def several(quiz: Quiz) -> list[Variant]:
    return [v for copy in quiz.copies for v in copy.variants if v.answer.type == "options"]


# -- authoring ---------------------------------------------------------------------------------

EXERCISE = """\
id: pick
title: Pick
kind: choice
topic: t
{multiple}question: Which?
options:
  - {{text: "A", correct: {a}, feedback: "not A"}}
  - {{text: "B", correct: {b}, feedback: "not B"}}
  - {{text: "C", feedback: "not C"}}
explanation: "[[ answer_text ]]"
"""


def write(tmp_path: Path, multiple: bool | None, a: bool, b: bool) -> Path:
    line = "" if multiple is None else f"multiple: {str(multiple).lower()}\n"
    path = tmp_path / "pick.yaml"
    path.write_text(EXERCISE.format(multiple=line, a=str(a).lower(), b=str(b).lower()), encoding="utf-8")
    return path


def test_multiple_needs_at_least_one_correct_option(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="with multiple: true, at least one option must be correct"):
        load_exercise(write(tmp_path, True, False, False))
    assert load_exercise(write(tmp_path, True, True, True)).spec.multiple


@pytest.mark.parametrize("multiple", [None, False])
def test_without_multiple_exactly_one_is_correct_as_before(tmp_path: Path, multiple: bool | None) -> None:
    with pytest.raises(TemplateError, match=r"exactly one option must be correct \(got 2\)"):
        load_exercise(write(tmp_path, multiple, True, True))


# -- generation --------------------------------------------------------------------------------


def test_the_answer_lists_the_correct_options_as_numbered_on_the_sheet(quiz: Quiz) -> None:
    found = several(quiz)
    assert {v.exercise for v in found} == {"symmetric", "pinned-all", "one-right"}
    for v in found:
        assert isinstance(v.answer, OptionsAnswer)
        assert list(v.answer.options) == [o.number for o in v.options if o.correct]
        assert v.answer_text == ", ".join(circled(n) for n in v.answer.options)
        assert v.answer_text in v.explanation  # the worked solution names them as the sheet does
    assert len({v.answer.options for v in variants(quiz, "symmetric")}) > 1  # shuffled per variant


def test_an_lms_may_shuffle_only_what_the_exercise_shuffles_unpinned(quiz: Quiz) -> None:
    shuffle = {v.exercise: v.answer.shuffle for v in several(quiz) if isinstance(v.answer, OptionsAnswer)}
    assert shuffle == {"symmetric": True, "pinned-all": False, "one-right": False}
    for v in variants(quiz, "pinned-all"):
        assert v.options[-1].text == "None of the above"


def test_json_of_a_single_choice_is_unchanged(quiz: Quiz) -> None:
    data = json.loads(api.export("json", [BANK / "single.yaml"], seed=SEED, count=1))
    variant = data["copies"][0]["variants"][0]
    assert variant["answer"] == {"type": "option", "option": variant["answer"]["option"]}
    several_json = json.loads(api.export("json", [BANK / "symmetric.yaml"], seed=SEED, count=1))
    answer = several_json["copies"][0]["variants"][0]["answer"]
    assert answer["type"] == "options" and isinstance(answer["options"], list)
    assert Quiz.model_validate(several_json).copies[0].variants[0].answer == variants(quiz, "symmetric")[0].answer


# -- Markdown and PDF --------------------------------------------------------------------------


def test_markdown_sheet_says_select_all_and_the_key_names_every_option(quiz: Quiz) -> None:
    text = api.export("markdown", [BANK / "symmetric.yaml"], seed=SEED, count=1)
    assert isinstance(text, str)
    variant = variants(quiz, "symmetric")[0]
    assert "**Answer** (select all that apply: option numbers, ①–⑤)" in text
    assert 'Where it says "select all that apply", write every option number' in text
    single = api.export("markdown", [BANK / "single.yaml"], seed=SEED, count=1)
    assert "select all that apply" not in str(single)
    right = "; ".join(o.text for o in variant.options if o.correct)
    assert f"1. **{variant.answer_text}** {right} (" in text


def test_pdf_sheet_says_select_all(tmp_path: Path) -> None:
    import pypdf

    api.export("pdf", [BANK / "symmetric.yaml"], seed=SEED, count=1, output=tmp_path / "sheet.pdf")
    words = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(tmp_path / "sheet.pdf").pages)
    assert "Select all that apply: circle the number of every option that is right." in words
    assert "select all that apply”, circle every number that applies." in words


# -- Moodle XML: the importer, and the multichoice question type's own check --------------------


def moodle_questions() -> tuple[list[Any], list[str]]:
    data = api.export("moodle", [BANK], seed=SEED, count=COUNT)
    assert isinstance(data, str)
    etree.fromstring(data.encode("utf-8"))  # strict parser
    return moodle_read(data.encode("utf-8"))


def test_moodle_imports_several_answers_with_fractions_that_add_to_100() -> None:
    imported, errors = moodle_questions()
    assert errors == []
    found = [q for q in imported if q.options.get("single") == "false"]
    # Identical variants are written once (docs/moodle.md): up to COUNT per exercise, in 3 categories.
    assert len({q.category for q in found}) == 3 and len(found) <= 3 * COUNT
    for q in found:
        # qtype_multichoice::save_question_options: positive fractions, rounded to 2 places, add to 1.
        assert round(sum(a.fraction for a in q.answers if a.fraction > 0), 2) == 1, q.name
        right = [a for a in q.answers if a.fraction > 0]
        wrong = [a for a in q.answers if a.fraction <= 0]
        assert len({a.fraction for a in right}) == 1
        assert abs(right[0].fraction - 1 / len(right)) < 1e-5
        assert all(abs(a.fraction + 1 / len(wrong)) < 1e-5 for a in wrong)
        for a in q.answers:
            assert any(abs(Decimal(str(a.fraction * 100)) - g) <= Decimal("0.001") for g in ACCEPTED)
    single = [q for q in imported if q.qtype == "multichoice" and q.options.get("single") == "true"]
    assert single and all(sorted(a.fraction for a in q.answers)[-1] == 1.0 for q in single)


def test_moodle_shuffles_what_the_exercise_shuffles() -> None:
    imported, _ = moodle_questions()
    shuffled = {q.category.rsplit("/", 1)[-1]: q.options["shuffleanswers"] for q in imported
                if q.options.get("single") == "false"}
    # "Breaking the symmetry" shuffles, but its worked solution names the options by number
    # ("Answer: ①, ③"), which a shuffle per attempt would contradict: Moodle keeps its order.
    assert shuffled == {"Breaking the symmetry": "false", "Variance-keeping rules": "false",
                        "Only one applies": "false"}


@pytest.mark.parametrize(("count", "grade"), [(1, "100"), (2, "50"), (3, "33.33333"), (6, "16.66667"),
                                              (7, "14.28571"), (8, "12.5"), (9, "11.11111"), (10, "10")])
def test_shares_are_moodle_grades(count: int, grade: str) -> None:
    assert questions.share(count) == grade


# -- GIFT: gift-pegjs and Moodle's importer ------------------------------------------------------


def test_gift_weights_read_back_in_both_readers(quiz: Quiz) -> None:
    text = api.export("gift", [BANK], seed=SEED, count=COUNT)
    assert isinstance(text, str)
    by_id = {v.id: v for v in several(quiz)}
    for reads in (pegjs_read(gift_pegjs([text])[0]), gift_moodle_read(text)):
        found = [r for r in reads if r.idnumber in by_id]
        assert [r.idnumber for r in found] == [v.id for v in written(quiz) if v.id in by_id]  # each distinct once
        for read in found:
            variant = by_id[read.idnumber]
            c = len(variant.answer.options)  # type: ignore[union-attr]
            w = len(variant.options) - c
            for (_, fraction, _), option in zip(read.answers, variant.options, strict=True):
                assert abs(fraction - (1 / c if option.correct else -1 / w)) < 1e-6
    assert "=" not in "".join(line[1] for line in text.splitlines() if line.startswith("\t~%"))


# -- QTI: the grammar, and text2qti's multiple answers --------------------------------------------

TEXT2QTI_MULTIPLE = """\
Quiz title: Several

1.  Which are random?
... Random ones break the symmetry.
[*] Xavier
[*] He
[ ] Zeros
"""


def text2qti_multiple() -> etree._Element:
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "quiz.md").write_text(TEXT2QTI_MULTIPLE, encoding="utf-8")
        done = subprocess.run([sys.executable, "-c", "from text2qti.cmdline import main; main()", "quiz.md"],
                              cwd=tmp, env={**os.environ, "HOME": tmp}, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        data = (Path(tmp) / "quiz.zip").read_bytes()
    return next(item for _, item in items(data))


def conditions(item: etree._Element) -> set[str]:
    """Each condition's continue flag and the elements it holds (the options' number aside)."""
    return {str((c.get("continue"), sorted({etree.QName(e).localname for e in c.iter()})))
            for c in item.iter(f"{QTI_NS}respcondition")}


def test_qti_multiple_answers_question_as_text2qti_writes_it(quiz: Quiz) -> None:
    data = api.export("qti", [BANK / "pinned-all.yaml"], seed=SEED, count=2)
    assert isinstance(data, bytes)
    assert text2qti_items()  # text2qti runs here
    theirs = text2qti_multiple()
    for _, ours in items(data):
        assert qti_dtd().validate(without_namespaces(etree.tostring(ours))), qti_dtd().error_log
        assert metadata(ours)["question_type"] == metadata(theirs)["question_type"] == "multiple_answers_question"
        assert ours.find(f".//{QTI_NS}response_lid").get("rcardinality") == "Multiple"
        assert {c for c in conditions(ours) if "'and'" in c} == {c for c in conditions(theirs) if "'and'" in c}
        correct = ours.find(f".//{QTI_NS}and")
        right = [e.text for e in correct if etree.QName(e).localname == "varequal"]
        variant = next(v for v in variants(quiz, "pinned-all") if ours.get("title").endswith(f"{v.id})"))
        assert [r.rsplit("_", 1)[1] for r in right] == [str(n) for n in variant.answer.options]  # type: ignore[union-attr]
        assert "Select all that apply." in ours.findtext(f".//{QTI_NS}mattext")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "imsmanifest.xml" in archive.namelist()


# -- the self-check page ------------------------------------------------------------------------


def test_self_check_page_offers_checkboxes_and_the_key() -> None:
    html = api.export("html", [BANK / "symmetric.yaml"], seed=SEED, count=1)
    assert isinstance(html, str)
    assert html.count('type="checkbox"') == 5 and 'type="radio"' not in html
    assert "<legend>Select all that apply</legend>" in html
    assert "&#34;kind&#34;:&#34;options&#34;" in html


def test_self_check_page_is_valid_html(tmp_path: Path) -> None:
    page = tmp_path / "several.html"
    page.write_text(page_html([BANK], seed=SEED, count=2), encoding="utf-8")
    assert nu_checker_errors([page]) == []


def test_self_check_page_grades_as_the_grader(browser: Any, tmp_path: Path, quiz: Quiz) -> None:
    page = open_page(browser, tmp_path, page_html([BANK / "symmetric.yaml"], seed=SEED, count=1))
    variant = variants(quiz, "symmetric")[0]
    right = list(variant.answer.options)  # type: ignore[union-attr]
    wrong = next(o for o in variant.options if not o.correct)

    def answer(numbers: list[int]) -> str:
        for number in range(1, len(variant.options) + 1):
            page.set_checked(f"#s1q1-o{number}", number in numbers)
        page.click("#s1q1 button")
        return verdict(page, "s1q1")

    assert answer(right) == "✓ Correct."
    assert answer(right[:1]).startswith("◐ Partly correct: credit 33 %: 1 of 3 right options chosen.")
    said = answer([*right[:2], wrong.number])  # 2/3 − 1/2
    assert said.startswith("◐ Partly correct: credit 17 %") and wrong.feedback in said  # type: ignore[operator]
    assert answer([wrong.number]).startswith("✗ Not correct.")
    assert answer([]) == "⚠ Choose at least one option first."
    assert page.errors == []


# -- the checker ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1,3", "1 3", "①③", "①, ③", "13", "3;1", " 3, 1, 1 ", "１，３"])
def test_accepted_forms(raw: str) -> None:
    assert normalize_options(raw, 5) == (1, 3)


@pytest.mark.parametrize(("raw", "options", "message"), [
    ("13", 12, "option 13 does not exist"), ("0", 5, "option 0 does not exist"),
    ("1,6", 5, "option 6 does not exist"), ("a, c", 5, "not letters"), (",,", 5, "option numbers"),
    ("1-3", 5, "separated by commas"), ("9" * 20, 12, r"option does not exist \(1–12\)"), ("1" * 201, 5, "too long"),
])
def test_refused_forms(raw: str, options: int, message: str) -> None:
    with pytest.raises(NormalizeError, match=message):
        normalize_options(raw, options)


def test_ten_options_read_two_digit_numbers() -> None:
    assert normalize_options("10, 2", 12) == (2, 10)
    assert normalize_options("⑩⑪", 12) == (10, 11)
    with pytest.raises(Unanswered):
        normalize_options("  ", 5)


@given(st.text(max_size=60), st.integers(min_value=1, max_value=20))
def test_any_text_is_read_or_refused_in_range(raw: str, options: int) -> None:
    try:
        chosen = normalize_options(raw, options)
    except (NormalizeError, Unanswered):
        return
    assert chosen == tuple(sorted(set(chosen))) and all(1 <= n <= options for n in chosen)


@given(st.sets(st.integers(1, 6), min_size=1), st.sets(st.integers(1, 6), min_size=1))
def test_credit_is_moodles_rule(right: set[int], chosen: set[int]) -> None:
    request = CompareRequest(kind="options", expected=",".join(map(str, sorted(right))),
                             response=" ".join(map(str, chosen)), options=6)
    verdict = compare(request)
    wrong_options = 6 - len(right)
    credit = Fraction(len(chosen & right), len(right))
    if wrong_options:
        credit -= Fraction(len(chosen - right), wrong_options)
    credit = max(credit, Fraction(0))
    assert verdict.credit == str(credit)
    assert verdict.status == ("correct" if chosen == right else "partial" if credit else "incorrect")


def test_compare_cli_reads_options() -> None:
    result = CliRunner().invoke(cli, ["compare", "--kind", "options", "--options", "4", "1,3", "③"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"status": "partial", "message": "partly correct: 1/2 of the points",
                                         "normalized": "3", "credit": "1/2"}
    assert "options" in CliRunner().invoke(cli, ["compare", "--kind", "options", "1", "1"]).output


# -- grading end to end -----------------------------------------------------------------------------


def test_grading_gives_partial_credit_and_reports_it(tmp_path: Path, quiz: Quiz) -> None:
    runner = CliRunner()
    key = tmp_path / "key.json"
    assert runner.invoke(cli, ["generate", str(BANK), "-s", str(SEED), "-n", "2", "-f", "json",
                               "-o", str(key)]).exit_code == 0
    first, second = quiz.copies[0], quiz.copies[1]
    sym, pin = first.variants[0], second.variants[1]
    assert sym.exercise == "symmetric" and pin.exercise == "pinned-all"
    sym_right = list(sym.answer.options)  # type: ignore[union-attr]
    pin_right = list(pin.answer.options)  # type: ignore[union-attr]
    pin_wrong = next(o for o in pin.options if not o.correct)
    rows = [  # student, sheet, q1 (symmetric), q2 (pinned-all), q3, q4
        ("ann", first.sheet, "".join(map(circled, reversed(sym_right))), "", "", ""),
        ("bob", second.sheet, "", f"{pin_right[0]}, {pin_wrong.number}, {pin_right[0]}", "", ""),
        ("cy", first.sheet, str(sym_right[0]), "", "", ""),
        ("dee", first.sheet, "1,9", "", "", ""),
    ]
    submissions = tmp_path / "answers.csv"
    with submissions.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([("student", "sheet", "q1", "q2", "q3", "q4"), *rows])
    result = runner.invoke(cli, ["grade", str(submissions), "--key", str(key), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    grades = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open(encoding="utf-8"))}
    assert grades["ann"]["q1"] == "1" and grades["ann"]["total"] == "1"
    assert grades["bob"]["q2"] == "0"  # 1/2 right − 1/2 wrong
    assert grades["cy"]["q1"] == "0.33" and grades["cy"]["total"] == "0.33" and grades["cy"]["percent"] == "8.25"
    assert grades["dee"]["q1"] == "0"
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    answers = {s["student"]: s["answers"] for s in report["sheets"]}
    assert answers["cy"][0]["status"] == "partial" and answers["cy"][0]["options"] == [sym_right[0]]
    assert answers["bob"][1]["status"] == "incorrect" and answers["bob"][1]["feedback"] == pin_wrong.feedback
    assert answers["dee"][0]["status"] == "invalid" and "option 9 does not exist" in answers["dee"][0]["message"]
    assert "options" not in answers["ann"][2]  # other kinds are written as before
    q1 = report["analysis"]["items"][0]
    assert q1["counts"]["partial"] == 1 and q1["counts"]["correct"] == 1
    assert q1["p"] == round((1 + 1 / 3) / 4, 3)  # the mean share of the points
    chosen = {o["label"]: o["count"] for o in q1["options"]}
    assert all(chosen[o.text] == (2 if o.number == sym_right[0] else 1 if o.correct else 0)
               for o in sym.options)
    assert "partial" not in report["analysis"]["items"][3]["counts"]
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| correct | partial | incorrect |" in markdown


def test_moodle_category_says_how_several_answers_are_graded() -> None:
    data = api.export("moodle", [BANK], seed=SEED, count=1)
    assert isinstance(data, str)
    assert data.count("multichoice, several answers (select all that apply)") == 3
