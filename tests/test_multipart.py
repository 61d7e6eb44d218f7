"""Multi-part exercises: authoring, one shared draw flattened into one variant per part, the writers'
labels (5a, 5b) and grading part by part."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine import api
from engine.authoring.loader import load_exercise
from engine.cli import cli
from engine.errors import TemplateError
from engine.generation.quiz import Quiz, number_parts, question_labels

FIXTURES = Path(__file__).parent / "fixtures" / "multipart"

BASE = """\
id: ex
title: A layer
kind: multipart
topic: layers
params:
  n: {values: [2, 3, 4]}
question: A layer has $[[ n ]]$ inputs.
parts:
  - kind: integer
    question: Twice that?
    answer: 2*n
    explanation: $[[ answer ]]$.
  - kind: numeric
    question: Its inverse?
    answer: 1/n
    tolerance: {absolute: "0.01"}
    explanation: $[[ answer | latex ]]$.
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "ex.yaml"
    path.write_text(text, encoding="utf-8")
    return load_exercise(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(TemplateError) as info:
        _load(tmp_path, text)
    return str(info.value)


def _quiz(count: int = 2, seed: int = 5, exercises: list[str] | None = None) -> Quiz:
    return api.quiz([FIXTURES], seed=seed, count=count, exercises=exercises)


# -- authoring -----------------------------------------------------------------------------


def test_a_multipart_exercise_compiles_each_part_as_its_kind(tmp_path: Path) -> None:
    ex = _load(tmp_path, BASE)
    assert [part.kind for part in ex.parts] == ["integer", "numeric"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("change", "expected"), [
    (("answer: 2*n", "answer: n/7"), None),  # an integer part that is not an integer: found when generating
    (("answer: 2*n", "answer: 2*q"), "ex.yaml:11: parts[0].answer: unknown name 'q'"),
    (("    tolerance: {absolute: \"0.01\"}\n", ""), "ex.yaml:13: parts[1].tolerance: required field is missing"),
    (("question: Twice that?", "question: Twice [[ m ]]?"), "ex.yaml:10: parts[0].question: undefined template"),
    (("explanation: $[[ answer ]]$.", "explanation: $[[ answr ]]$."), "ex.yaml:12: parts[0].explanation: undefined"),
    (("  - kind: integer", "  - kind: multipart"), "parts[0].kind"),
])
def test_errors_name_the_part(tmp_path: Path, change: tuple[str, str], expected: str | None) -> None:
    text = BASE.replace(*change)
    assert text != BASE
    if expected is None:
        path = tmp_path / "ex.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(TemplateError, match=r"parts\[0\]\.answer: not an exact integer"):
            api.quiz([path], seed=1, count=1)
        return
    assert expected in _error(tmp_path, text)


def test_a_choice_part_keeps_the_choice_rules(tmp_path: Path) -> None:
    text = BASE + """\
  - kind: choice
    question: Which?
    options:
      - text: A
        correct: true
      - text: B
        correct: true
    explanation: x
"""
    message = _error(tmp_path, text)
    assert "parts[2]" in message and "exactly one option must be correct" in message


def test_a_formula_part_needs_the_shared_symbols(tmp_path: Path) -> None:
    text = BASE + """\
  - kind: formula
    question: As a formula?
    answer: 2*m
    explanation: x
"""
    assert "ex.yaml:18: parts[2].symbols: a formula exercise declares the symbols" in _error(tmp_path, text)
    with_symbols = text.replace("question: A layer", "symbols: {m: positive}\nquestion: A layer")
    assert len(_load(tmp_path, with_symbols).parts) == 3  # type: ignore[attr-defined]


def test_a_formula_part_must_be_gradable(tmp_path: Path) -> None:
    text = BASE.replace("question: A layer", "symbols: {m: positive}\nquestion: A layer") + """\
  - kind: formula
    question: As a formula?
    answer: Mod(m, 2)
    explanation: x
"""
    assert "parts[2].answer" in _error(tmp_path, text)


@pytest.mark.parametrize("parts", [1, 11])
def test_two_to_ten_parts(tmp_path: Path, parts: int) -> None:
    part = "  - kind: true_false\n    question: q\n    answer: true\n    wrong_feedback: w\n    explanation: e\n"
    text = BASE[:BASE.index("parts:")] + "parts:\n" + part * parts
    assert "parts" in _error(tmp_path, text)


def test_symbols_without_a_part_that_uses_them(tmp_path: Path) -> None:
    text = BASE.replace("question: A layer", "symbols: {m: positive}\nquestion: A layer")
    assert "symbols: only formula and choice parts use free symbols" in _error(tmp_path, text)


def test_shared_fields_stay_shared(tmp_path: Path) -> None:
    text = BASE.replace("    answer: 2*n\n", "    answer: 2*n\n    params: {k: 1}\n")
    assert "parts[0].params: unknown field" in _error(tmp_path, text)


def test_a_figure_may_be_shown_by_a_part(tmp_path: Path) -> None:
    figure = "figures:\n  t:\n    type: table\n    caption: c\n    x: {min: 1, max: 2}\n    columns: [{header: h, value: x}]\n"
    text = BASE.replace("parts:", figure + "parts:").replace("question: Its inverse?", "question: |\n      Its inverse?\n\n      [[ t ]]")
    assert _load(tmp_path, text)
    assert "figure is never shown" in _error(tmp_path, BASE.replace("parts:", figure + "parts:"))


def test_the_schema_shows_the_parts() -> None:
    schema = api.schema("exercise")
    assert "MultipartExercise" in schema["$defs"]
    assert {"ChoicePart", "IntegerPart", "NumericPart", "FormulaPart", "TrueFalsePart"} <= set(schema["$defs"])


# -- generation ----------------------------------------------------------------------------


def test_parts_are_consecutive_variants_on_one_draw() -> None:
    quiz = _quiz()
    variants = quiz.copies[0].variants
    assert [v.id.split(".", 3)[-1] if v.part else "" for v in variants] == ["", *"abcde", *"abc", *"abc"]
    assert question_labels(variants) == ["1", "2a", "2b", "2c", "2d", "2e", "3a", "3b", "3c", "4a", "4b", "4c"]
    layer = [v for v in variants if v.exercise == "layer"]
    assert len({json.dumps(v.params) for v in layer}) == 1
    assert {v.index for v in layer} == {0} and len({v.seed for v in layer}) == 1
    n_in, n_out = int(layer[0].params["n_in"]), int(layer[0].params["n_out"])
    assert layer[0].answer.value == n_in * n_out  # type: ignore[union-attr]
    assert Fraction(layer[1].answer.exact) == Fraction(2, n_in + n_out)  # type: ignore[union-attr]
    assert layer[4].answer.value == (n_in > n_out)  # type: ignore[union-attr]
    for v in layer:
        assert v.part is not None and v.question == f"{v.part.scenario}\n\n{v.part.question}"
        assert v.title == "One dense layer, five questions"
    assert layer[0].explanation.startswith("The same layer is used in every part.")
    assert not layer[1].explanation.startswith("The same layer")


def test_plain_exercises_keep_their_numbering_and_json() -> None:
    quiz = api.quiz([FIXTURES], seed=5, count=2, exercises=["single"])
    dumped = quiz.model_dump(mode="json")
    assert all("part" not in v for copy in dumped["copies"] for v in copy["variants"])
    assert question_labels(quiz.copies[0].variants) == ["1"]


def test_variants_differ_per_draw_and_repeat_as_one_group() -> None:
    quiz = _quiz(count=20, exercises=["layer"])
    draws = [json.dumps(copy.variants[0].params) for copy in quiz.copies]
    assert quiz.exercises[0].distinct_variants == 8 and quiz.exercises[0].repeats
    assert len(set(draws[:8])) == 8
    for copy in quiz.copies:
        assert [v.id for v in copy.variants] == [f"layer.5.{copy.index + 1}.{x}" for x in "abcde"]
        assert {v.index for v in copy.variants} == {copy.index}


def test_json_round_trips_the_parts() -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "--seed", "5", "--count", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    quiz = Quiz.model_validate_json(result.output)
    assert quiz == _quiz()
    part = json.loads(result.output)["copies"][0]["variants"][1]["part"]
    assert set(part) == {"label", "scenario", "question"} and part["label"] == "a"


def test_generation_is_deterministic_and_sliceable() -> None:
    whole = _quiz(count=4)
    assert whole == _quiz(count=4)
    sliced = list(api.generate([FIXTURES], seed=5, count=4, copies=(3, 4)).copies)
    assert sliced == whole.copies[2:]


def test_check_runs_every_part() -> None:
    report = api.check([FIXTURES], seeds=5)
    assert not report.problems, report.problems
    assert any("layer " in line and "multipart" in line for line in report.lines)


def test_list_counts_the_shared_draws() -> None:
    rows = {row["id"]: row for row in api.list_exercises([FIXTURES])}
    assert rows["layer"]["kind"] == "multipart" and rows["layer"]["variants"] == 8


# -- Markdown ------------------------------------------------------------------------------


def test_markdown_prints_the_scenario_once_then_the_parts() -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "--seed", "5", "--count", "1",
                                       "--format", "markdown"])
    assert result.exit_code == 0, result.output
    text = result.output
    sheet, key = text.split("answer key", 1)
    scenario = _quiz(count=1).copies[0].variants[1].part.scenario  # type: ignore[union-attr]
    assert sheet.count(scenario) == 1 and key.count(scenario) == 1
    assert "## 1. Parameters of a layer (1 point)" in sheet
    assert "## 2. One dense layer, five questions\n\n" + scenario in sheet
    for label in ("2a", "2b", "2c", "2d", "2e", "3a", "3b", "3c", "4a", "4c"):
        assert f"### {label}. (" in sheet
        assert f"   - {label}. **" in key
        assert f"#### {label}. " in key
    assert "### 2b. (2 points)" in sheet


# -- grading -------------------------------------------------------------------------------


def _right(variant: object) -> str:
    answer = variant.answer  # type: ignore[attr-defined]
    if answer.type in ("option", "boolean"):
        return str(answer.option)
    if answer.type == "integer":
        return str(answer.value)
    if answer.type == "numeric":
        return answer.display
    return answer.expr


def test_grading_names_parts_q2a_and_analyses_them_apart(tmp_path: Path) -> None:
    quiz = _quiz(count=3)
    labels = question_labels(quiz.copies[0].variants)
    rows = ["student,sheet," + ",".join(f"q{label}" for label in labels)]
    for copy in quiz.copies:
        answers = [_right(v) for v in copy.variants]
        if copy.index == 1:
            answers[2] = "7"  # 2b wrong on the second sheet
        rows.append(f"s{copy.index},{copy.sheet}," + ",".join(f'"{a}"' for a in answers))
    submissions = tmp_path / "answers.csv"
    submissions.write_text("\n".join(rows) + "\n", encoding="utf-8")
    run = api.grade(submissions, paths=[FIXTURES], seed=5, count=3, output_dir=tmp_path / "out")
    report = run.report
    assert [a.question for a in report.sheets[0].answers] == [f"q{label}" for label in labels]
    assert [s.total for s in report.sheets] == [13, 11, 13]  # 2b is worth 2 points
    assert [item.question for item in report.analysis.items] == [f"q{label}" for label in labels]
    assert report.analysis.items[2].counts["incorrect"] == 1 and report.analysis.items[1].counts["incorrect"] == 0
    grades = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert grades[0] == "student,sheet," + ",".join(f"q{label}" for label in labels) + ",total,max,percent"
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "### q2a. One dense layer, five questions" in markdown and "| q2b |" in markdown


def test_json_submissions_name_parts_too(tmp_path: Path) -> None:
    quiz = _quiz(count=1)
    variant = quiz.copies[0].variants[1]
    entry = {"student": "Ann", "sheet": quiz.copies[0].sheet, "answers": {"Q2A": _right(variant), "q2z": "1"}}
    submissions = tmp_path / "answers.json"
    submissions.write_text(json.dumps([entry]), encoding="utf-8")
    run = api.grade(submissions, paths=[FIXTURES], seed=5, count=1, output_dir=tmp_path / "out")
    answers = {a.question: a.status for a in run.report.sheets[0].answers}
    assert answers["q2a"] == "correct" and answers["q2b"] == "unanswered"
    assert any("q2z" in notice for notice in run.report.notices)


def test_a_missing_part_column_is_noticed(tmp_path: Path) -> None:
    quiz = _quiz(count=1)
    submissions = tmp_path / "answers.csv"
    submissions.write_text(f"student,sheet,q1,q2,q2a\nAnn,{quiz.copies[0].sheet},6,1,1\n", encoding="utf-8")
    run = api.grade(submissions, paths=[FIXTURES], seed=5, count=1, output_dir=tmp_path / "out")
    notices = " ".join(run.report.notices)
    assert "ignored q2:" in notices and "no column for q2b" in notices


# -- GIFT, QTI, PDF, self-check page: each part a question of its own, read by the real readers -------


def test_gift_writes_each_part_in_its_part_category() -> None:
    from tests.test_export_gift import (
        check,
        check_categories,
        gift_pegjs,
        moodle_read,
        pegjs_read,
        without_plots,
    )

    quiz = without_plots(_quiz(count=2))
    document = str(api.export("gift", [FIXTURES], seed=5, count=2))
    (parsed,) = gift_pegjs([document])
    check_categories(parsed, quiz)
    check(pegjs_read(parsed), quiz)
    check(moodle_read(document), quiz)
    assert "$CATEGORY: $course$/top/Multi-part fixture/Counting a layer/Part b" in document


def test_qti_has_a_pick_1_group_per_part() -> None:
    from lxml import etree

    from tests.test_export_qti import QTI_NS, assessment, validate_package

    data = api.export("qti", [FIXTURES], seed=5, count=2)
    assert isinstance(data, bytes)
    validate_package(data)
    (top,) = etree.fromstring(assessment(data)).findall(f"{QTI_NS}assessment/{QTI_NS}section")
    titles = [group.get("title") for group in top.findall(f"{QTI_NS}section")]
    assert titles[:3] == ["Parameters of a layer", "One dense layer, five questions (a)",
                          "One dense layer, five questions (b)"]
    assert len(titles) == 1 + 5 + 3 + 3


def test_pdf_numbers_the_parts(tmp_path: Path) -> None:
    from pypdf import PdfReader

    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "--seed", "5", "--count", "1", "--format", "pdf",
                                      "-o", str(tmp_path / "quiz.pdf")])
    assert result.exit_code == 0, result.output
    sheet = "".join(page.extract_text() for page in PdfReader(tmp_path / "quiz.pdf").pages)
    key = "".join(page.extract_text() for page in PdfReader(tmp_path / "quiz.key.pdf").pages)
    for label in ("2a.", "2e.", "3c.", "4a."):
        assert label in sheet and label in key
    assert "1. Parameters of a layer" in sheet


def test_the_self_check_page_checks_each_part(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_export_html import ANSWER_ALL, ARGS, CHROMIUM, open_page, page_html, whole_sheet

    quiz = _quiz(count=1)
    html = page_html([FIXTURES], seed=5, count=1)
    assert 'id="s1q2a"' in html and 'class="number">2b.</span>' in html

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = open_page(chromium, tmp_path, html)
        cases = whole_sheet(0, quiz.copies[0].variants)
        for wanted, got in zip(cases, page.evaluate(ANSWER_ALL, cases), strict=True):
            assert got["status"] == wanted["status"], got
        assert page.errors == []
        chromium.close()


def test_a_saved_key_grades_the_parts_as_a_regenerated_one(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(api.export("json", [FIXTURES], seed=5, count=1), encoding="utf-8")  # type: ignore[arg-type]
    quiz = _quiz(count=1)
    labels = question_labels(quiz.copies[0].variants)
    submissions = tmp_path / "answers.csv"
    answers = ",".join(f'"{_right(v)}"' for v in quiz.copies[0].variants)
    submissions.write_text("student,sheet," + ",".join(f"q{label}" for label in labels)
                           + f"\nAnn,{quiz.copies[0].sheet},{answers}\n", encoding="utf-8")
    saved = api.grade(submissions, key=key, output_dir=tmp_path / "saved").report
    regenerated = api.grade(submissions, paths=[FIXTURES], seed=5, count=1, output_dir=tmp_path / "again").report
    assert [a.question for a in saved.sheets[0].answers] == [f"q{label}" for label in labels]
    assert saved.sheets[0].total == regenerated.sheets[0].total == saved.sheets[0].max == 13


@given(st.lists(st.integers(min_value=0, max_value=4), max_size=12))
def test_labels_number_exercises_and_letter_their_parts(groups: list[int]) -> None:
    """0: a question of its own; k >= 2: an exercise of k parts (1 is read as a question of its own)."""
    parts = [letter for size in groups for letter in ([""] if size < 2 else list("abcd"[:size]))]
    labels = number_parts(parts)
    assert [label.rstrip("abcd") for label in labels] == [str(n) for n, size in enumerate(groups, start=1)
                                                          for _ in range(size if size >= 2 else 1)]
    if all(size < 2 for size in groups):
        assert labels == [str(n) for n in range(1, len(groups) + 1)]


def test_part_columns_are_read_in_any_case() -> None:
    from engine.grading.submissions import read_submissions

    batch = read_submissions(b"student,sheet,q1,Q2A,q2b,q0a,q2k\nAnn,MP-5-0001,6,400,0.04,x,y\n", "answers.csv")
    assert batch.questions == ["1", "2a", "2b"]
    assert batch.submissions[0].answers == {"1": "6", "2a": "400", "2b": "0.04"}
