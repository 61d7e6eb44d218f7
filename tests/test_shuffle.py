"""Shuffled options: names that print an option as numbered on its sheet, --no-shuffle, balanced keys."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import api
from engine.authoring.loader import load_exercise
from engine.cli import cli
from engine.errors import TemplateError, UsageError
from engine.generation.quiz import Quiz, Variant
from engine.language.printing import circled

BANK = Path(__file__).resolve().parent / "fixtures" / "shuffle"
STABLE = "Keep the scale of activations and gradients stable across layers"


def _quiz(count: int = 30, seed: int = 7, **options: object) -> Quiz:
    return api.quiz([BANK], seed=seed, count=count, **options)


def _variants(quiz: Quiz, exercise: str) -> list[Variant]:
    return [v for copy in quiz.copies for v in copy.variants if v.exercise == exercise]


def _number(variant: Variant, text: str) -> str:
    return circled(next(o.number for o in variant.options if o.text == text))


# ---------------------------------------------------------------------------------------------
# Option names


def test_an_option_name_prints_its_number_on_that_sheet_and_its_text() -> None:
    variants = _variants(_quiz(), "concept")
    assert len({v.answer_text for v in variants}) == 4  # the correct option moves
    for variant in variants:
        stable, rate = _number(variant, STABLE), _number(variant, "Raise the learning rate")
        assert variant.explanation.startswith(f"{stable} {STABLE}: initialization")
        assert f"(the answer is {variant.answer_text}, not {rate})" in variant.explanation
        feedback = next(o.feedback for o in variant.options if o.text == "Raise the learning rate")
        assert feedback == f"The learning rate is a separate hyperparameter; {stable} {STABLE} is the purpose."


def test_option_text_and_expression_options_by_name() -> None:
    quiz = _quiz(count=5)
    for variant in _variants(quiz, "pinned"):
        assert variant.explanation.endswith(f"ReLU zeroing half its inputs: {_number(variant, 'ReLU')} ReLU.")
        assert variant.options[-1].feedback == "ReLU is: He doubles the variance for it."
    for variant in _variants(quiz, "drawn"):
        correct = next(o for o in variant.options if o.correct)
        assert variant.explanation.endswith(f": {circled(correct.number)} {correct.text}.")


def _write(tmp_path: Path, options: str, explanation: str = "It is [[ answer_text ]].") -> Path:
    path = tmp_path / "named.yaml"
    path.write_text(
        "id: named\ntitle: Named\nkind: concept\ntopic: t\nquestion: Which?\n"
        f"options:\n{options}"
        f"explanation: \"{explanation}\"\n", encoding="utf-8")
    return path


TWO = ("  - {name: right, text: A, correct: true}\n"
       "  - {name: wrong, text: B, feedback: \"Not [[ options.right.text ]].\"}\n")


@pytest.mark.parametrize(("options", "explanation", "line", "field", "message"), [
    (TWO, "[[ options.rigth ]]", 9, "explanation", "options.rigth: no option is named 'rigth' (named: right, wrong)"),
    ("  - {text: A, correct: true}\n  - {text: B, feedback: \"Not [[ options.a ]].\"}\n", "x", 8,
     "options[1].feedback", "no option has a name: give it one"),
    (TWO, "[[ options ]]", 9, "explanation", "print one option by its name: [[ options.NAME ]]"),
    (TWO, "[[ options.right.value ]]", 9, "explanation", "options.right.value: expected [[ options.right ]], "
     "[[ options.right.number ]] or [[ options.right.text ]]"),
    ("  - {name: same, text: A, correct: true}\n  - {name: same, text: B, feedback: f}\n", "x", 8,
     "options[1].name", "the name 'same' is already option 1's"),
    ("  - {name: 1st, text: A, correct: true}\n  - {text: B, feedback: f}\n", "x", 7, "options[0].name",
     "String should match pattern"),
])
def test_a_broken_option_reference_names_file_line_and_field(
        tmp_path: Path, options: str, explanation: str, line: int, field: str, message: str) -> None:
    path = _write(tmp_path, options, explanation)
    with pytest.raises(TemplateError) as caught:
        load_exercise(path)
    assert f"{path}:{line}: {field}: " in str(caught.value)
    assert message in str(caught.value)


def test_names_read_by_item_and_a_parameter_called_options_keeps_its_meaning(tmp_path: Path) -> None:
    path = _write(tmp_path, TWO, "[[ options['right'].number ]] [[ answer_text ]]")
    variant = next(api.generate([path], seed=1).copies).variants[0]
    assert variant.explanation == f"{variant.answer_text} {variant.answer_text}"
    other = tmp_path / "other"
    other.mkdir()
    param = other / "named.yaml"
    param.write_text(_write(tmp_path, TWO.replace("[[ options.right.text ]]", "it"), "[[ options ]] items")
                     .read_text(encoding="utf-8").replace("question:", "params: {options: 3}\nquestion:"),
                     encoding="utf-8")
    assert next(api.generate([param]).copies).variants[0].explanation == "3 items"


# ---------------------------------------------------------------------------------------------
# --no-shuffle


def _authored(variant: Variant) -> bool:
    """Whether the options stand in the exercise file's order (the fixture's first option is the correct one)."""
    return variant.options[0].correct and (variant.exercise != "concept" or variant.options[0].text == STABLE)


def test_no_shuffle_keeps_the_authored_order_of_every_exercise() -> None:
    shuffled, kept = _quiz(), _quiz(shuffle=False)
    assert not all(_authored(v) for c in shuffled.copies for v in c.variants if v.options and v.kind != "true_false")
    assert all(_authored(v) for c in kept.copies for v in c.variants if v.options and v.kind != "true_false")
    assert (shuffled.shuffle, kept.shuffle) == (True, False)
    # Only the order changes: the draws are the same.
    assert [v.params for c in kept.copies for v in c.variants] == [v.params for c in shuffled.copies for v in c.variants]


def test_generate_no_shuffle_on_the_command_line_and_the_json_header() -> None:
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-n", "3", "-f", "json", "--no-shuffle"])
    assert result.exit_code == 0, result.output
    quiz = Quiz.model_validate(json.loads(result.stdout))
    assert quiz.shuffle is False
    assert all(_authored(v) for c in quiz.copies for v in c.variants if v.kind != "true_false")


def _answers(quiz: Quiz) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "sheet", *(f"q{i + 1}" for i in range(len(quiz.copies[0].variants)))])
    for copy in quiz.copies:
        writer.writerow([f"s{copy.index}", copy.sheet, *(v.answer_text.split()[0] for v in copy.variants)])
    return out.getvalue()


def test_grade_regenerates_a_no_shuffle_key_with_the_flag(tmp_path: Path) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text(_answers(_quiz(count=8, shuffle=False)), encoding="utf-8")
    kept = api.grade(answers, paths=[BANK], shuffle=False).report
    shuffled = api.grade(answers, paths=[BANK]).report
    assert kept.analysis.distribution.mean == 100
    assert shuffled.analysis.distribution.mean is not None and shuffled.analysis.distribution.mean < 100
    runner = CliRunner()
    result = runner.invoke(cli, ["grade", str(answers), str(BANK), "--no-shuffle", "-o", str(tmp_path / "g")])
    assert result.exit_code == 0 and "mean 100.00 %" in result.output, result.output


def test_grade_with_a_key_file_refuses_no_shuffle(tmp_path: Path) -> None:
    key = tmp_path / "quiz.json"
    api.export("json", [BANK], output=key, seed=7, count=2, shuffle=False)
    answers = tmp_path / "answers.csv"
    answers.write_text(_answers(_quiz(count=2, shuffle=False)), encoding="utf-8")
    with pytest.raises(UsageError, match="--no-shuffle: only used without --key"):
        api.grade(answers, key=key, shuffle=False)
    assert api.grade(answers, key=key).report.analysis.distribution.mean == 100
