"""Grading core: sheet ids, one check per kind, feedback, sheet totals, the key, and the three outputs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from engine import api
from engine.authoring.bank import load_bank
from engine.errors import UsageError
from engine.generation.quiz import Quiz
from engine.grading.keys import (
    Key,
    SheetId,
    check_hash,
    key_from_quiz,
    parse_sheet_id,
    regenerate_key,
)
from engine.grading.models import GradeReport, Submission, SubmissionBatch
from engine.grading.questions import Checked, Checker, Question, question_of
from engine.grading.report import grades_csv, make_report, md, report_json, report_markdown
from engine.grading.sheets import _percent, grade_batch

GRADING_BANK = Path(__file__).resolve().parent / "fixtures" / "grading" / "bank"


def check(question: Question, response: str) -> Checked:
    return Checker().check(question, response)


@pytest.fixture(scope="module")
def quiz() -> Quiz:
    """GR-1-0001..0004: count (3 points), pick (2), std (1), variance (1); see the fixture bank."""
    return api.quiz([GRADING_BANK], seed=1, count=4)


@pytest.fixture(scope="module")
def key(quiz: Quiz) -> Key:
    return key_from_quiz(quiz, file="quiz.json")


def batch_of(*rows: tuple[str, str, dict[int, str]], fmt: str = "csv") -> SubmissionBatch:
    subs = [Submission(row=i + 2, student=s, sheet=sh, answers=a, raw=f"{s},{sh}")
            for i, (s, sh, a) in enumerate(rows)]
    return SubmissionBatch(format=fmt, unit="row", submissions=subs, questions=[1, 2, 3, 4])


# ---------------------------------------------------------------------------------------------
# Sheet ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WI-7-0012", SheetId("WI", 7, 12)),
        ("wi-7-12", SheetId("WI", 7, 12)),
        (" WI - 7 - 0012 ", SheetId("WI", 7, 12)),
        ("ＷＩ－７－００１２", SheetId("WI", 7, 12)),
        ("WI\u22127\u22120012", SheetId("WI", 7, 12)),
        ("WI-7-0000", None),
        ("WI-7", None),
        ("7-0012", None),
        ("WI-x-0012", None),
        ("", None),
    ],
)
def test_parse_sheet_id(text: str, expected: SheetId | None) -> None:
    assert parse_sheet_id(text) == expected


def test_sheet_id_prints_like_the_plan() -> None:
    assert str(SheetId("WI", 7, 12)) == "WI-7-0012"
    assert str(SheetId("WI", 7, 12345)) == "WI-7-12345"


# ---------------------------------------------------------------------------------------------
# One check per kind


class Case(NamedTuple):
    question: Question
    response: str
    status: str
    normalized: str | None = None
    feedback: str | None = None


CHOICE = Question("choice", 2, options=3, option_feedback=("wrong one", None, "wrong three"))
TF = Question("true_false", False, option_feedback=("it is false", None))
INTEGER = Question("integer", 10, misconceptions=(("24", "multiplied"),))
NUMERIC = Question("numeric", "sqrt(15)/5", tolerance=("relative", "0.01"),
                   misconceptions=(("3/5", "no square root"), ("sqrt(15)/10", "halved")))
FORMULA = Question("formula", "2/n_in", symbols=(("n_in", "positive_integer"),),
                   misconceptions=(("1/n_in", "LeCun"), ("sqrt(2)/sqrt(n_in)", "standard deviation")))

CASES = [
    Case(CHOICE, "2", "correct", "2"),
    Case(CHOICE, "②", "correct", "2"),
    Case(CHOICE, " 2 ", "correct", "2"),
    Case(CHOICE, "(2)", "correct", "2"),
    Case(CHOICE, "２", "correct", "2"),
    Case(CHOICE, "3", "incorrect", "3", "wrong three"),
    Case(CHOICE, "4", "invalid"),
    Case(CHOICE, "b", "invalid"),
    Case(CHOICE, "", "unanswered"),
    Case(CHOICE, "   ", "unanswered"),
    Case(TF, "2", "correct", "false"),
    Case(TF, "F", "correct", "false"),
    Case(TF, "×", "correct", "false"),
    Case(TF, "①", "incorrect", "true", "it is false"),
    Case(TF, "0", "invalid"),
    Case(INTEGER, "10", "correct", "10"),
    Case(INTEGER, "+10", "correct", "10"),
    Case(INTEGER, "１０", "correct", "10"),
    Case(INTEGER, "10.0", "correct", "10"),
    Case(INTEGER, "24", "incorrect", "24", "multiplied"),
    Case(INTEGER, "11", "incorrect", "11"),
    Case(INTEGER, "1,0", "invalid"),
    Case(NUMERIC, "0.7746", "correct", "0.7746"),
    Case(NUMERIC, ".7746", "correct", "0.7746"),
    Case(NUMERIC, "0.77", "correct", "0.77"),  # within 1 %
    Case(NUMERIC, "0.76", "incorrect", "0.76"),
    Case(NUMERIC, "0.6", "incorrect", "0.6", "no square root"),
    Case(NUMERIC, "0.387", "incorrect", "0.387", "halved"),  # within 1 % of sqrt(15)/10
    Case(NUMERIC, "0,7746", "invalid"),
    Case(FORMULA, "2/n_in", "correct", "2/n_in"),
    Case(FORMULA, "2*n_in^-1", "correct"),
    Case(FORMULA, "4/(2n_in)", "correct"),
    Case(FORMULA, "1/n_in", "incorrect", "1/n_in", "LeCun"),
    Case(FORMULA, "(2/n_in)^(1/2)", "incorrect", None, "standard deviation"),
    Case(FORMULA, "3/n_in", "incorrect", "3/n_in"),
    Case(FORMULA, "__import__('os')", "invalid"),
    Case(FORMULA, "9**9**9**9", "invalid"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.question.kind}:{c.response!r}" for c in CASES])
def test_check(case: Case) -> None:
    checked = check(case.question, case.response)
    assert checked.status == case.status, checked.message
    if case.normalized is not None:
        assert checked.normalized == case.normalized
    assert checked.feedback == case.feedback


def test_choice_answers_record_the_chosen_option() -> None:
    assert check(CHOICE, "③").option == 3
    assert check(TF, "true").option == 1 and check(TF, "x").option == 2
    assert check(CHOICE, "9").option is None


def test_a_broken_key_is_undecided_not_the_students_fault() -> None:
    broken = Question("numeric", "not a number", tolerance=("absolute", "0.1"))
    checked = check(broken, "1")
    assert checked.status == "undecided" and "expected answer is broken" in checked.message


def test_equal_variants_share_one_question(quiz: Quiz) -> None:
    # Copy 1 and 3 of "variance" are the same formula question: one cache entry serves both.
    a, b = quiz.copies[0].variants[3], quiz.copies[2].variants[3]
    assert a.id != b.id and question_of(a) == question_of(b) and hash(question_of(a)) == hash(question_of(b))


def test_question_of_every_kind(quiz: Quiz) -> None:
    count, pick, std, variance = quiz.copies[3].variants
    assert question_of(count) == Question("integer", 50, misconceptions=(("40", count.misconceptions[0].feedback),))
    assert question_of(pick).kind == "choice" and question_of(pick).options == 3
    assert question_of(std).expected == "sqrt(6)/3" and question_of(std).tolerance == ("absolute", "0.005")
    assert question_of(variance).symbols == (("n_in", "positive_integer"),)


# ---------------------------------------------------------------------------------------------
# Sheets and batches


def test_percent_is_exact_and_rounds_half_up() -> None:
    assert _percent(1, 32) == 3.13  # 3.125: half up, not to even
    assert _percent(2, 3) == 66.67
    assert _percent(5, 7) == 71.43
    assert _percent(7, 7) == 100.0
    assert _percent(0, 0) == 0.0


def test_grade_sheet_points_per_question(quiz: Quiz, key: Key) -> None:
    # GR-1-0004: count = 50 (3 points), pick = ② (2), std = sqrt(6)/3 ≈ 0.816 (1), variance = 2/n_in (1)
    outcome = grade_batch(key, batch_of(
        ("all", "GR-1-0004", {1: "50", 2: "②", 3: ".816", 4: "2/n_in"}),
        ("count only", "gr-1-4", {1: "+50", 2: "3", 3: "0.9", 4: "1/n_in"}),
        ("nothing", "GR-1-0004", {}),
    ))
    assert outcome.rejected == []
    assert [(s.student, [a.points for a in s.answers], s.total, s.max, s.percent) for s in outcome.sheets] == [
        ("all", [3, 2, 1, 1], 7, 7, 100.0),
        ("count only", [3, 0, 0, 0], 3, 7, 42.86),
        ("nothing", [0, 0, 0, 0], 0, 7, 0.0),
    ]
    second = outcome.sheets[1]
    assert second.sheet == "GR-1-0004"  # canonical
    assert second.answers[1].feedback == quiz.copies[3].variants[1].options[2].feedback
    assert second.answers[3].feedback == "That is LeCun's variance."
    assert [a.status for a in outcome.sheets[2].answers] == ["unanswered"] * 4


def test_unknown_duplicate_and_unreadable_sheets_are_rejected(key: Key) -> None:
    outcome = grade_batch(key, batch_of(
        ("Ann", "GR-1-0001", {1: "40"}),
        ("Bob", "GR-1-0009", {}),
        ("Cid", "WI-1-0001", {}),
        ("Dan", "sheet one", {}),
        ("Ann", "GR-1-1", {1: "41"}),
        ("Ann", "GR-1-0002", {}),
    ))
    assert [s.student for s in outcome.sheets] == ["Ann", "Ann"]
    assert [(r.row, r.reason) for r in outcome.rejected] == [
        (3, "unknown sheet 'GR-1-0009' (this key has sheets GR-1-0001 to GR-1-0004)"),
        (4, "unknown sheet 'WI-1-0001' (this key has sheets GR-1-0001 to GR-1-0004)"),
        (5, "unreadable sheet id 'sheet one' (expected like GR-1-0001)"),
        (6, "duplicate of row 2 (same student and sheet)"),
    ]
    assert outcome.rejected[0].raw == "Bob,GR-1-0009"
    assert outcome.notices == ["1 student handed in several sheets (each is graded): Ann"]


def test_column_notices(key: Key) -> None:
    batch = SubmissionBatch(format="csv", unit="row", questions=[1, 2, 5, 6],
                            submissions=[Submission(row=2, student="A", sheet="GR-1-0001")])
    assert grade_batch(key, batch).notices == [
        "ignored q5, q6: the quiz has 4 questions",
        "no column for q3, q4: counted as unanswered",
    ]


def test_undecided_answers_are_flagged_for_a_person(key: Key, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.grading.questions as questions
    from engine.grading.checker.verdict import Verdict

    monkeypatch.setattr(questions.Comparer, "compare", lambda self, request, **_: Verdict(
        status="undecided", message="could not decide in time; flagged for a person"))
    outcome = grade_batch(key, batch_of(("Ann", "GR-1-0001", {4: "weird but valid"})))
    assert [(f.row, f.student, f.question, f.response) for f in outcome.flagged] == [
        (2, "Ann", "q4", "weird but valid")]
    assert outcome.sheets[0].answers[3].points == 0


def test_a_run_checks_each_answer_once_and_keeps_its_cache_to_itself(
        key: Key, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.grading.questions as questions
    from engine.grading.checker.compare import Comparer
    from engine.grading.checker.verdict import CompareRequest, Verdict

    calls: list[str] = []
    runs: set[int] = set()
    compare = Comparer.compare

    def counting(self: Comparer, request: CompareRequest, **kwargs: Any) -> Verdict:
        calls.append(request.response)
        runs.add(id(self))
        return compare(self, request, **kwargs)

    monkeypatch.setattr(questions.Comparer, "compare", counting)
    # Copies 1 and 3 share the "variance" question: their equal answers are checked once.
    batch = batch_of(("Ann", "GR-1-0001", {1: "40", 4: "2/n_in"}), ("Bob", "GR-1-0001", {1: "40"}),
                     ("Cid", "GR-1-0003", {4: "2/n_in"}))
    grade_batch(key, batch)
    assert calls == ["40", "2/n_in"]
    grade_batch(key, batch)
    assert calls == ["40", "2/n_in"] * 2
    assert len(runs) == 2  # each grading run checks in a session of its own


def test_grading_regenerates_only_through_the_public_call() -> None:
    import ast

    folder = Path(__file__).resolve().parent.parent / "engine" / "grading"
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                assert not (node.module or "").startswith("engine.export"), module.name
                assert not names & {"plan_quiz", "QuizPlan", "VariantMaker"}, module.name


# ---------------------------------------------------------------------------------------------
# The key


def test_key_from_a_changed_bank_names_both_hashes(quiz: Quiz) -> None:
    other = load_bank([Path(__file__).resolve().parent / "fixtures" / "basic"])
    with pytest.raises(UsageError) as info:
        key_from_quiz(quiz, bank=other)
    assert quiz.bank.hash in str(info.value) and other.hash in str(info.value)
    assert key_from_quiz(quiz, bank=load_bank([GRADING_BANK])).info.source == "key file"


def test_variants_with_equal_items_share_one(quiz: Quiz) -> None:
    # The fixture's one-variant exercise repeats on every sheet under its own id and seed.
    items = key_from_quiz(quiz).items()
    assert len(items) == 4 * 4
    assert len({id(item) for item in items.values()}) == len(set(items.values())) < len(items)
    assert items["variance.1.1"] is items["variance.1.4"]


@pytest.mark.parametrize(
    ("wanted", "ok"),
    [("abcdef12", True), ("ABCDEF12", True), ("abcdef1234", True), ("abcdef13", False), ("abcd", False),
     ("not-hex!", False)],
)
def test_check_hash_accepts_the_printed_prefix(wanted: str, ok: bool) -> None:
    actual = "abcdef1234" + "0" * 54
    if ok:
        check_hash(actual, wanted, "the bank's hash")
    else:
        with pytest.raises(UsageError, match="--bank-hash"):
            check_hash(actual, wanted, "the bank's hash")


def test_regenerated_key_equals_the_saved_one(quiz: Quiz) -> None:
    batch = batch_of(("A", "GR-1-0003", {}), ("B", "gr-1-1", {}))
    regenerated = regenerate_key(load_bank([GRADING_BANK]), batch)
    assert regenerated.info.seed == 1 and regenerated.info.count == 3
    assert sorted(regenerated.sheets) == ["GR-1-0001", "GR-1-0003"]  # only the sheets in use are kept
    assert regenerated.sheets["GR-1-0003"] == key_from_quiz(quiz).sheets["GR-1-0003"]


@pytest.mark.parametrize(
    ("sheets", "message"),
    [
        (["GR-1-0001", "GR-2-0001", "GR-2-0002"], "different seeds: 2 (2 rows), 1 (1 row); pass --seed"),
        (["WI-1-0001", "junk"], "no sheet id of bank code GR in the submissions (found codes WI)"),
    ],
)
def test_seed_must_be_clear_from_the_sheets(sheets: list[str], message: str) -> None:
    batch = batch_of(*((f"s{i}", sheet, {}) for i, sheet in enumerate(sheets)))
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        regenerate_key(load_bank([GRADING_BANK]), batch)


def test_count_caps_the_sheet_numbers(quiz: Quiz) -> None:
    batch = batch_of(("A", "GR-1-0002", {}), ("B", "GR-1-0999", {}))
    key = regenerate_key(load_bank([GRADING_BANK]), batch, seed=1, count=4)
    outcome = grade_batch(key, batch)
    assert [r.reason for r in outcome.rejected] == [
        "sheet 'GR-1-0999' is beyond the quiz's 4 sheets (--count 4); if the quiz was generated with more, "
        "grade again with --count N (the count it was generated with)"]


# ---------------------------------------------------------------------------------------------
# Outputs


def _report(key: Key, batch: SubmissionBatch) -> GradeReport:
    return make_report(key, grade_batch(key, batch), "in.csv", "row")


def test_grades_csv(key: Key) -> None:
    report = _report(key, batch_of(("=HYPERLINK(\"x\")", "GR-1-0001", {1: "40", 2: "1"}),
                                   ("Zoë, B.", "GR-1-0002", {1: "25"})))
    text = grades_csv(report)
    assert "\r" not in text
    assert list(csv.reader(io.StringIO(text))) == [
        ["student", "sheet", "q1", "q2", "q3", "q4", "total", "max", "percent"],
        ["'=HYPERLINK(\"x\")", "GR-1-0001", "3", "2", "0", "0", "5", "7", "71.43"],  # no formula runs
        ["Zoë, B.", "GR-1-0002", "3", "0", "0", "0", "3", "7", "42.86"],
    ]


def test_report_json_is_the_models_dump(key: Key) -> None:
    report = _report(key, batch_of(("Ann", "GR-1-0001", {1: "40"}), ("Bob", "GR-1-0009", {})))
    text = report_json(report)
    assert GradeReport.model_validate_json(text) == report
    data = json.loads(text)
    assert data["rejected"] == [{"row": 3, "reason": "unknown sheet 'GR-1-0009' (this key has sheets "
                                 "GR-1-0001 to GR-1-0004)", "raw": "Bob,GR-1-0009"}]
    answer = data["sheets"][0]["answers"][0]
    assert {k: answer[k] for k in ("question", "normalized", "status", "points", "feedback")} == {
        "question": "q1", "normalized": "40", "status": "correct", "points": 3, "feedback": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", r"a\|b"),
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("12. item", r"12\. item"),
        ("[link](http://x)", r"\[link\](http://x)"),
        ("two\nlines\r\x00", "two lines"),
        ("*em* _em_ `code` $x$", r"\*em\* \_em\_ \`code\` \$x\$"),
        ("deep-cnn-stuck", "deep-cnn-stuck"),
    ],
)
def test_md_makes_text_inert(text: str, expected: str) -> None:
    assert md(text) == expected


def test_markdown_report_tables_are_well_formed(key: Key) -> None:
    report = _report(key, batch_of(
        ("Ann | <b>", "GR-1-0001", {1: "40", 2: "1", 3: "0.333", 4: "2/n_in"}),
        ("Bob", "GR-1-0002", {1: "20", 2: "3|4"}),
        ("Cid", "GR-1-0099", {}),
    ))
    text = report_markdown(report)
    assert text.startswith("# Grades: Grading fixture\n")
    for heading in ("## Score distribution", "## Item analysis", "### q1. Parameter count (count)",
                    "## Rejected rows"):
        assert f"\n{heading}\n" in text
    # Every table row has as many cells as its header (escaped pipes do not split cells).
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            width = _cells(line)
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert _cells(lines[j]) == width, lines[j]
                j += 1
    assert "<b>" not in text


def _cells(line: str) -> int:
    return len(line.replace("\\|", "").strip().strip("|").split("|"))


def test_report_json_is_valid_against_the_models_schema(key: Key) -> None:
    import jsonschema

    report = _report(key, batch_of(("Ann", "GR-1-0001", {1: "40", 2: "b"}), ("Bob", "GR-1-0009", {})))
    jsonschema.validate(json.loads(report_json(report)), GradeReport.model_json_schema())


def test_api_grade_without_outputs_writes_nothing(tmp_path: Path, quiz: Quiz) -> None:
    key_file = tmp_path / "quiz.json"
    key_file.write_text(quiz.model_dump_json(), encoding="utf-8")
    answers = tmp_path / "a.csv"
    answers.write_text("student,sheet,q1,q2,q3,q4\nAnn,GR-1-0002,25,③,0.2,2/n_in\n", encoding="utf-8")
    run = api.grade(answers, key=key_file)
    assert run.written == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "quiz.json"]
    assert run.report.sheets[0].percent == 100.0 and run.report.key.file == str(key_file)
