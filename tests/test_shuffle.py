"""Shuffled options: names that print an option as numbered on its sheet, --no-shuffle, balanced keys."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import api
from engine.authoring.loader import load_exercise
from engine.cli import cli
from engine.errors import TemplateError, UsageError
from engine.generation.orders import Orders, permuted, unrank
from engine.generation.quiz import Quiz, Variant
from engine.generation.variants import VariantMaker
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


# ---------------------------------------------------------------------------------------------
# Balanced correct positions


def _shares(variants: list[Variant]) -> dict[int, float]:
    counts: dict[int, int] = {}
    for variant in variants:
        counts[variant.answer.option] = counts.get(variant.answer.option, 0) + 1  # type: ignore[union-attr]
    return {place: 100 * n / len(variants) for place, n in counts.items()}


@pytest.mark.parametrize("seed", [7, 1, 2])
@pytest.mark.parametrize("count", [30, 31, 47])
def test_each_correct_place_holds_its_fair_share_over_the_class(seed: int, count: int) -> None:
    quiz = _quiz(count=count, seed=seed)
    balanced = [("concept", 4), ("pinned", 4), ("drawn", 3), ("few", 4)]
    # The relation is true for 15 draws only: past 30 sheets, the other sheets are false rather than repeated.
    for exercise, places in balanced + ([("relation", 2)] if count <= 30 else []):
        shares = _shares(_variants(quiz, exercise))
        assert sorted(shares) == list(range(1, places + 1)), exercise  # a pinned option keeps place 5
        assert all(abs(share - 100 / places) <= 5 for share in shares.values()), (exercise, shares)


@settings(max_examples=150, deadline=None)
@given(pinned=st.lists(st.booleans(), min_size=2, max_size=10), correct=st.integers(0, 9),
       count=st.integers(1, 80), seed=st.integers(0, 2**32))
def test_orders_balance_the_correct_place_per_block(pinned: list[bool], correct: int, count: int, seed: int) -> None:
    correct %= len(pinned)
    orders = Orders(pinned, [i == correct for i in range(len(pinned))], seed, "ex")
    free = [i for i, pin in enumerate(pinned) if not pin]
    rng = random.Random(seed)
    for make in (lambda i: orders.shuffled(rng, i), orders.nth):
        made = [make(i) for i in range(count)]
        assert all(sorted(order) == list(range(len(pinned))) for order in made)
        assert all(order[i] == i for order in made for i, pin in enumerate(pinned) if pin)
        places = [order.index(correct) for order in made]
        if correct in free and len(free) > 1:
            tally = [places.count(place) for place in free]
            assert max(tally) - min(tally) <= 1 and sum(tally) == count


@pytest.mark.parametrize(("pinned", "correct"), [([False] * 4, 0), ([False, False, True, False], 3),
                                                 ([False, True, False, False], 1), ([False] * 2, 1)])
def test_orders_of_an_undrawn_exercise_are_distinct_then_repeat_evenly(pinned: list[bool], correct: int) -> None:
    orders = Orders(pinned, [i == correct for i in range(len(pinned))], 7, "ex")
    distinct = math.factorial(sum(not pin for pin in pinned))
    made = [orders.nth(i) for i in range(2 * distinct + 3)]
    assert len(set(made[:distinct])) == distinct
    assert set(made[distinct:2 * distinct]) == set(made[:distinct])
    assert made[:distinct] != made[distinct:2 * distinct] or distinct <= 2


@given(size=st.integers(1, 3000), key=st.binary(min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_permuted_is_a_permutation(size: int, key: bytes) -> None:
    assert sorted(permuted(i, size, key) for i in range(size)) == list(range(size))


def test_unrank_lists_every_permutation_once() -> None:
    assert sorted(tuple(unrank(rank, [5, 6, 7, 8])) for rank in range(24)) == sorted(itertools.permutations([5, 6, 7, 8]))


def test_a_true_false_relation_is_true_on_half_the_sheets() -> None:
    # n_in < n_out holds for 15 of the 120 draws: random draws would make it true on 1 sheet in 8.
    for seed in range(5):
        truths = [v.answer.value for v in _variants(_quiz(count=30, seed=seed), "relation")]  # type: ignore[union-attr]
        assert truths.count(True) == 15
    truths = [v.answer.value for v in _variants(_quiz(count=60), "relation")]  # type: ignore[union-attr]
    assert truths.count(True) == 15  # no more true draws: the others are false


# ---------------------------------------------------------------------------------------------
# Repeats and distinct variants


def test_too_few_variants_repeat_evenly_in_seeded_rounds() -> None:
    for count in (3, 7, 30, 31):
        draws = [v.params["n_in"] for v in _variants(_quiz(count=count), "few")]
        tally = [draws.count(n) for n in ("3", "5", "7")]
        assert max(tally) - min(tally) <= 1 and sum(tally) == count, (count, tally)
    quiz = _quiz(count=24)
    orders = [tuple(o.text for o in v.options) for v in _variants(quiz, "concept")]
    assert len(set(orders)) == 24  # every order of four options once
    pinned = [tuple(o.text for o in v.options) for v in _variants(quiz, "pinned")]
    assert len(set(pinned)) == 24 and {p[-1] for p in pinned} == {"None of the above"}


def test_distinct_counts_and_copies_slices_are_kept() -> None:
    exercises = {ex.id: ex for ex in api.bank([BANK]).exercises}
    assert VariantMaker(exercises["concept"], 0).distinct_count(force=True) == 24
    assert VariantMaker(exercises["concept"], 0, shuffle=False).distinct_count(force=True) == 1
    assert VariantMaker(exercises["few"], 0).distinct_count(force=True) == 3
    full = _quiz(count=40)
    assert _quiz(count=40, copies=(17, 33)).copies == full.copies[16:33]
    assert _quiz(count=33).copies == full.copies[:33]  # a regenerated key has the same sheets


def test_sampling_is_deterministic_and_draws_stay_distinct(tmp_path: Path) -> None:
    quiz = _quiz(count=30)
    assert quiz == _quiz(count=30)
    drawn = [(v.params["n_in"], v.params["n_out"]) for v in _variants(quiz, "drawn")]
    assert len(set(drawn)) == 30
    relation = [(v.params["n_in"], v.params["n_out"]) for v in _variants(quiz, "relation")]
    assert len(set(relation)) == 30


# ---------------------------------------------------------------------------------------------
# check: fixed option numbers in a shuffled exercise


def test_check_warns_of_a_fixed_option_number_in_a_shuffled_exercise(tmp_path: Path) -> None:
    options = ("  - {name: right, text: A, correct: true}\n  - {text: B, feedback: \"Option 1 is right.\"}\n"
               "  - {text: C, feedback: c}\n  - {text: None, feedback: \"See ④ and [[ options.right ]].\", pinned: true}\n")
    path = _write(tmp_path, options, "The answer is ③, not [[ answer_text ]].")
    result = CliRunner().invoke(cli, ["check", str(path), "--seeds", "2"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        f"Warning: {path}:11: explanation: '③' names an option by a fixed number, but the options are shuffled: "
        "on most sheets it is another option; name it instead, [[ options.NAME ]] (its number on the sheet and "
        "its text, with name: NAME on the option) or [[ answer_text ]] (the correct one)",
        f"Warning: {path}:8: options[1].feedback: 'Option 1' names an option by a fixed number, but the options "
        "are shuffled: on most sheets it is another option; name it instead, [[ options.NAME ]] (its number on "
        "the sheet and its text, with name: NAME on the option) or [[ answer_text ]] (the correct one)",
    ]  # ④ is pinned: its number holds on every sheet
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "named.yaml").write_text(path.read_text(encoding="utf-8") + "shuffle: false\n", encoding="utf-8")
    assert api.check([kept / "named.yaml"], seeds=2).warnings == []


# ---------------------------------------------------------------------------------------------
# Distractor pools


POOLED = """id: pooled
title: Pooled
kind: choice
topic: he
symbols: {n_in: positive_integer, n_out: positive_integer}
question: In He initialization, $\\\\sigma^2$ is?
options:
  - {name: he, expr: "2/n_in", correct: true}
  - {name: none, text: "None of these", pinned: true, feedback: "[[ options.he ]] is shown."}
pool:
  draw: 2
  options:
    - {name: lecun, expr: "1/n_in", feedback: "Not [[ options.he.text ]]: that is LeCun's."}
    - {expr: "2/(n_in + n_out)", feedback: "That is Xavier's."}
    - {expr: "sqrt(2/n_in)", feedback: "That is the standard deviation."}
explanation: "[[ options.he ]]."
"""


def test_pool_distractors_move_with_the_others_and_may_name_listed_options(tmp_path: Path) -> None:
    path = tmp_path / "pooled.yaml"
    path.write_text(POOLED, encoding="utf-8")
    quiz = api.quiz([path], seed=7, count=30)
    variants = [copy.variants[0] for copy in quiz.copies]
    shares = _shares(variants)
    assert sorted(shares) == [1, 2, 3] and all(abs(share - 100 / 3) <= 5 for share in shares.values())
    for variant in variants:
        he = f"{variant.answer_text} " + r"$\frac{2}{n_{in}}$"
        assert variant.explanation == f"{he}." and variant.options[-1].feedback == f"{he} is shown."
        assert all(o.feedback == r"Not $\frac{2}{n_{in}}$: that is LeCun's." for o in variant.options
                   if o.text == r"$\frac{1}{n_{in}}$")
    for old, new, message in (("[[ options.he ]].\"", "[[ options.lecun ]].\"", "a pool's option is on some sheets only"),
                              ("- {name: lecun,", "- {name: he,", "'he' names a listed option already")):
        path.write_text(POOLED.replace(old, new), encoding="utf-8")
        with pytest.raises(TemplateError, match=message):
            load_exercise(path)


def test_no_shuffle_tells_an_lms_to_keep_the_order() -> None:
    fixed = {e.id: e.fixed_order for e in _quiz(count=2, shuffle=False).exercises}
    assert fixed == {"concept": True, "pinned": True, "drawn": True, "few": True, "relation": False, "ordered": True}
    assert {e.id for e in _quiz(count=2).exercises if e.fixed_order} == {"pinned", "ordered"}
