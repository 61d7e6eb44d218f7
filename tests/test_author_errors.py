"""Every kind of author mistake gives one TemplateError line: file:line: field: what (expected)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from engine.api import check
from engine.authoring.bank import load_bank
from engine.errors import TemplateError
from engine.generation.pipeline import generate

GOOD = """\
id: ex
title: Sum
kind: integer
topic: layer-size
params:
  n_in: {min: 2, max: 8}
  n_out: {min: 2, max: 8}
question: What is [[ n_in ]] + [[ n_out ]]?
answer: n_in + n_out
explanation: "[[ n_in ]] + [[ n_out ]] = [[ answer ]]"
"""


class Case(NamedTuple):
    name: str
    text: str
    expected: str  # the message after "ex.yaml:"


CASES = [
    Case("bad yaml", GOOD.replace("title: Sum", "title: [Sum"), r"\d+: yaml: invalid YAML"),
    Case("unknown field", GOOD + "colour: blue\n", r"11: colour: unknown field"),
    Case("wrong type", GOOD.replace("max: 8}\n  n_out", "max: eight}\n  n_out"),
         r"6: params.n_in.max: Input should be a valid integer.*'eight'"),
    Case("missing field", GOOD.replace("topic: layer-size\n", ""), r"1: topic: required field is missing"),
    Case("bad kind", GOOD.replace("kind: integer", "kind: essay"), r"3: kind: kind must be one of"),
    Case("max below min", GOOD.replace("{min: 2, max: 8}\n  n_out", "{min: 9, max: 8}\n  n_out"),
         r"6: params.n_in: .*max must be >= min \(got 8 < 9\)"),
    Case("undefined template variable", GOOD.replace("What is [[ n_in ]]", "What is [[ n_inn ]]"),
         r"8: question: undefined template variable 'n_inn' \(defined: n_in, n_out\)"),
    Case("template syntax", GOOD.replace("What is [[ n_in ]]", "What is [% if %]"),
         r"8: question: template does not parse"),
    Case("unclosed print", GOOD.replace("What is [[ n_in ]]", "What is [[ n_in ]"),
         r"8: question: template does not parse: unexpected '\]'"),
    Case("unknown filter", GOOD.replace("What is [[ n_in ]]", "What is [[ n_in | upper2 ]]"),
         r"8: question: template does not parse: No filter named 'upper2'"),
    Case("float division in text", GOOD.replace("What is [[ n_in ]]", "What is [[ n_in / 2 ]]"),
         r"8: question: '/' inside \[\[ \]\] divides in floating point"),
    Case("expression does not parse", GOOD.replace("answer: n_in + n_out", "answer: n_in +* n_out"),
         r"9: answer: 'n_in \+\* n_out' does not parse"),
    Case("unknown name in expression", GOOD.replace("answer: n_in + n_out", "answer: n_in + m"),
         r"9: answer: unknown name 'm'"),
    Case("caret power", GOOD.replace("answer: n_in + n_out", "answer: n_in ^ 2"), r"9: answer: use \*\* for powers"),
    Case("id differs from file", GOOD.replace("id: ex", "id: other"), r"1: id: id 'other' differs from the file name"),
    Case("choice without correct", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: A, feedback: wrong}
  - {text: B, feedback: wrong}
explanation: E
""", r"\d+: options: .*exactly one option must be correct \(got 0\)"),
    Case("distractor without feedback", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: A, correct: true}
  - {text: B}
explanation: E
""", r"8: options\[1\]: .*a distractor needs feedback"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_errors(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_bank([path])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ":") or message.startswith("ex.yaml:") or "ex.yaml:" in message
    tail = message.split("ex.yaml:", 1)[1]
    assert __import__("re").match(case.expected, tail), message


SOLVE_CASES = [
    Case("options always equal", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: Same, correct: true}
  - {text: Same, feedback: wrong}
explanation: E
""", r"6: options: two options \(or misconceptions\) are always equal"),
    Case("integer answer not integral", GOOD.replace("answer: n_in + n_out", "answer: n_in / n_out"),
         r"9: answer: not an exact integer: \d+/\d+ at n_in=\d+, n_out=\d+"),
    Case("constraint never satisfied", GOOD.replace("question:", "constraints:\n  - n_in > 100\nquestion:"),
         r"\d+: constraints: no parameter values satisfy the constraints"),
    Case("division by zero in some variant", GOOD.replace("answer: n_in + n_out", "answer: 10/(n_in - n_out)"),
         r"9: answer: division by zero \(at n_in=(\d+), n_out=\1\)"),
]


@pytest.mark.parametrize("case", SOLVE_CASES, ids=[c.name for c in SOLVE_CASES])
def test_solve_errors(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(case.text, encoding="utf-8")
    report = check([path], seeds=60)
    assert report.problems, report.lines
    tail = report.problems[0].split("ex.yaml:", 1)[1]
    assert __import__("re").match(case.expected, tail), report.problems[0]
    with pytest.raises(TemplateError):
        list(generate(load_bank([path]), seed=0, count=60).copies)


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "ex.yaml").write_text(GOOD)
    (tmp_path / "b" / "ex.yaml").write_text(GOOD)
    with pytest.raises(TemplateError, match=r"id 'ex' is also used by"):
        load_bank([tmp_path])


# --- every problem of a file, at its real path -------------------------------------------------


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "ex.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_bank([path])
    return [line.split("ex.yaml:", 1)[1] for line in str(info.value).splitlines()]


def test_a_parameter_named_like_a_tag_keeps_its_path(tmp_path: Path) -> None:
    text = GOOD.replace("  n_out: {min: 2, max: 8}\n", "  list:\n    values: [1, 2, 2]\n  range: {min: 2, max: x}\n")
    assert _problems(tmp_path, text) == [
        "8: params.list.values: values must be distinct",
        "9: params.range.max: Input should be a valid integer, unable to parse string as an integer (got 'x')",
    ]


def test_a_misspelt_required_field_is_one_did_you_mean_line(tmp_path: Path) -> None:
    text = GOOD.replace("question:", "qestion:")
    assert _problems(tmp_path, text) == ["8: qestion: unknown field 'qestion' (did you mean 'question'?)"]


def test_every_problem_of_a_file_is_listed_with_its_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("title:", "titel:").replace("{min: 2, max: 8}\n  n_out", "{mn: 2, max: 8}\n  n_out")
    text = text.replace("n_out: {min: 2, max: 8}", "n_out: {vales: [2, 3]}") + "colour: blue\ntgas: [a]\n"
    assert _problems(tmp_path, text) == [
        "2: titel: unknown field 'titel' (did you mean 'title'?)",
        "6: params.n_in.mn: unknown field 'mn' (did you mean 'min'?)",
        "7: params.n_out.vales: unknown field 'vales' (did you mean 'values'?)",
        "11: colour: unknown field 'colour' (allowed here: answer, constraints, distractors, explanation, figures, hints, id, kind, "
        "params, points, question, symbols, tags, title, topic)",
        "12: tgas: unknown field 'tgas' (did you mean 'tags'?)",
    ]


def test_the_alternatives_of_one_field_are_one_problem(tmp_path: Path) -> None:
    text = GOOD.replace("answer: n_in + n_out", "answer: [n_in]")
    assert _problems(tmp_path, text) == ["9: answer: Input should be a valid string or a valid integer"]


def test_a_missing_kind_is_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, GOOD.replace("kind: integer\n", "")) == ["1: kind: required field is missing"]


def test_a_misspelt_kind_is_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, GOOD.replace("kind: integer", "knd: integer")) == [
        "3: knd: unknown field 'knd' (did you mean 'kind'?)"]


def test_an_unknown_kind_close_to_a_known_one_hides_no_other_problem(tmp_path: Path) -> None:
    text = GOOD.replace("kind: integer", "kind: integr").replace("question:", "qestion:")
    assert _problems(tmp_path, text) == [
        "3: kind: kind must be one of concept, scenario, choice, true_false, integer, numeric, formula, multipart "
        "(got 'integr'; did you mean 'integer'?)",
        "8: qestion: unknown field 'qestion' (did you mean 'question'?)"]


def test_an_unknown_kind_far_from_every_kind_is_one_problem(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("kind: integer", "kind: essay").replace("question:", "qestion:"))
    assert len(problems) == 1 and problems[0].startswith("3: kind: kind must be one of") and "mean" not in problems[0]


def test_bank_file_shows_every_problem(tmp_path: Path) -> None:
    (tmp_path / "ex.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bank.yaml").write_text("title: Quiz\ncode: qw\norder: ex\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_bank([tmp_path])
    assert [line.split("bank.yaml:", 1)[1] for line in str(info.value).splitlines()] == [
        "2: code: String should match pattern '^[A-Z][A-Z0-9]{0,7}$' (got 'qw')",
        "3: order: Input should be a valid list (got 'ex')",
    ]


def test_key_file_problems_name_their_lines(tmp_path: Path, basic_bank: Path) -> None:
    import json

    from engine import api
    from engine.errors import UsageError
    from engine.grading.keys import read_key
    from engine.grading.models import SubmissionBatch

    data = json.loads(api.export("json", [basic_bank], seed=1, count=1))
    del data["copies"][0]["variants"][0]["kind"]
    data["seed"] = "one"
    key = tmp_path / "quiz.json"
    text = json.dumps(data, indent=2)
    key.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    seed_line = next(i for i, line in enumerate(lines, 1) if line.startswith('  "seed"'))
    with pytest.raises(UsageError) as info:
        read_key(key, SubmissionBatch(format="csv", unit="row", submissions=[]))
    first, *problems = str(info.value).splitlines()
    assert first == f"{key}: not a quizwright JSON export; make the key with `quizwright generate --format json`"
    assert problems[0] == f"{key}:{seed_line}: seed: Input should be a valid integer, unable to parse string " \
                          "as an integer (got 'one')"
    assert problems[1].startswith(f"{key}:") and problems[1].endswith(
        ": copies[0].variants[0].kind: required field is missing")


class ErrorClass(NamedTuple):
    module: str
    name: str


ERROR_CLASSES = [
    ErrorClass("engine.errors", "TemplateError"),
    ErrorClass("engine.errors", "UsageError"),
    ErrorClass("engine.language.values", "ExprError"),
    ErrorClass("engine.authoring.text", "TextError"),
    ErrorClass("engine.grading.checker.formula", "FormulaError"),
    ErrorClass("engine.language.tokens", "GrammarError"),
    ErrorClass("engine.grading.checker.normalize", "NormalizeError"),
    ErrorClass("engine.grading.checker.normalize", "Unanswered"),
    ErrorClass("engine.export.skeleton", "SkeletonError"),
    ErrorClass("engine.export.moodle.xml", "MoodleExportError"),
]


@pytest.mark.parametrize("case", ERROR_CLASSES, ids=[c.name for c in ERROR_CLASSES])
def test_every_error_has_one_root(case: ErrorClass) -> None:
    import importlib

    from engine.errors import QuizwrightError

    assert issubclass(getattr(importlib.import_module(case.module), case.name), QuizwrightError)


def test_value_errors_stay_value_errors() -> None:
    from engine.authoring.text import TextError
    from engine.language.values import ExprError

    assert issubclass(ExprError, ValueError) and issubclass(TextError, ValueError)


FORMULA = """\
id: ex
title: T
kind: formula
topic: t
symbols: {n_in: positive_integer}
params:
  k: {min: 2, max: 4}
  s: {expr: "n_in + k"}
question: Q
answer: "%s"
distractors:
  - {expr: "%s", feedback: "wrong"}
explanation: E
"""

UNGRADABLE = [
    ("Mod(n_in, 2)", "n_in", r"10: answer: Mod\(\) on a symbol cannot be graded \(a student's formula may use "
     r"\+ - \* / \^ \(or \*\*\) and Abs, Max, .*floor.*\); use it on parameters only"),
    ("n_in % k", "n_in", r"10: answer: '%' on a symbol cannot be graded"),
    ("Mod(s, 2)", "n_in", r"10: answer: Mod\(\) on a symbol"),  # s is derived from the symbol
    ("n_in > k", "n_in", r"10: answer: a formula answer is an expression, not a true/false value"),
    ("n_in if n_in > 2 else k", "n_in", r"10: answer: an 'if' condition on a symbol"),
    ("n_in", "gcd(n_in, k)", r"12: distractors\[0\].expr: gcd\(\) on a symbol cannot be graded"),
]


@pytest.mark.parametrize(("answer", "distractor", "expected"), UNGRADABLE, ids=[u[0] + "|" + u[1] for u in UNGRADABLE])
def test_ungradable_formula_answers_are_refused_at_load(tmp_path: Path, answer: str, distractor: str,
                                                         expected: str) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(FORMULA % (answer, distractor), encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_bank([path])
    assert __import__("re").match(expected, str(info.value).split("ex.yaml:", 1)[1]), str(info.value)


@pytest.mark.parametrize("answer", ["Max(n_in, k)", "Mod(k, 2)*n_in + floor(n_in/k)", "n_in if k > 2 else 2*n_in"])
def test_author_only_functions_on_parameters_and_student_functions_pass_check(tmp_path: Path, answer: str) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(FORMULA % (answer, "n_in + 1"), encoding="utf-8")
    report = check([path], seeds=5)
    assert not report.problems, report.problems


def test_check_fails_an_exercise_whose_key_the_grader_cannot_read() -> None:
    fixture = Path(__file__).resolve().parent / "fixtures" / "ungradable" / "imaginary-root.yaml"
    load_bank([fixture])  # it loads and generates: only grading would fail
    report = check([fixture], seeds=3)
    assert report.lines[0].startswith("FAIL") and "imaginary-root.yaml" in report.lines[0]
    assert len(report.problems) == 1
    assert __import__("re").search(
        r"imaginary-root.yaml:8: answer: the grader cannot use the key 'I\*sqrt\(n_in\)': "
        r"the expected answer is broken \(unknown symbol I at position 1\)", report.problems[0]), report.problems


def test_check_fails_an_exercise_whose_distractor_the_grader_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(FORMULA % ("n_in", "10**3990 * (n_in + n_in**2 + n_in**3 + n_in**4 + n_in**5 + n_in**6)"), encoding="utf-8")
    report = check([path], seeds=3)
    # The key's limits bound a text, not a number's size: only a printed form over 20 000 characters
    # is beyond them.
    assert __import__("re").search(r"ex.yaml:12: distractors\[0\].expr: the grader cannot read the "
                                   r"distractor '10+\*n_in\*\*6 .*formula too long", report.problems[0]), report.problems


@pytest.mark.parametrize("expr", ["n_in * 10**5000", "10**4000 * 10**4000", "sqrt(2) * 10**4200", "1/10**4100"])
def test_a_value_no_sheet_can_print_is_the_templates_error(expr: str, tmp_path: Path) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(FORMULA % ("n_in", expr), encoding="utf-8")
    problems = check([path], seeds=2).problems
    assert len(problems) == 1 and "ex.yaml:12: distractors[0].expr: " in problems[0], problems
    assert "has a value of more than 4000 digits" in problems[0], problems


@pytest.mark.parametrize("args", [["list"], ["generate", "-f", "markdown"], ["check", "--seeds", "2"]])
@pytest.mark.parametrize("text", ["What is [% if %]", "What is [[ n_in ]", "What is [[ n_in | upper2 ]]"])
def test_commands_name_a_broken_template(tmp_path: Path, args: list[str], text: str) -> None:
    from click.testing import CliRunner

    from engine.cli import cli

    path = tmp_path / "ex.yaml"
    path.write_text(GOOD.replace("What is [[ n_in ]]", text), encoding="utf-8")
    result = CliRunner().invoke(cli, [args[0], str(path), *args[1:]])
    assert result.exit_code == 1
    assert "ex.yaml:8: question: template does not parse" in result.output
