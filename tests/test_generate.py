"""Generation: determinism, seeds per variant, pinning, distinct variants, repeats, exact keys."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import jsonschema
import pytest

from engine import api
from engine.authoring.bank import load_bank
from engine.authoring.params import variant_seed
from engine.errors import TemplateError, UsageError
from engine.generation.parts import make_maker
from engine.generation.quiz import Quiz
from engine.generation.solving import ChoiceSolution, solve
from engine.generation.variants import VariantMaker
from engine.vocabulary import KINDS


def test_same_seed_same_bytes(basic_bank: Path) -> None:
    first = api.export("json", [basic_bank], seed=7, count=5)
    second = api.export("json", [basic_bank], seed=7, count=5)
    assert first == second
    assert api.export("json", [basic_bank], seed=8, count=5) != first


def test_variant_seed_is_stable_and_independent() -> None:
    assert variant_seed(7, "layer-size", 0) == variant_seed(7, "layer-size", 0)
    assert len({variant_seed(7, "layer-size", i) for i in range(1000)}) == 1000
    assert variant_seed(7, "a", 0) != variant_seed(7, "b", 0)


def test_adding_an_exercise_keeps_the_others(basic_bank: Path) -> None:
    alone = api.quiz([basic_bank], seed=3, count=4, exercises=["sum"])
    together = api.quiz([basic_bank], seed=3, count=4, exercises=["he", "sum"])
    assert [c.variants[0] for c in alone.copies] == [c.variants[1] for c in together.copies]


def test_pinning_reproduces_the_textbook_example(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=1, count=1, exercises=["sum"], params={"n_in": "4", "n_out": "6"})
    variant = quiz.copies[0].variants[0]
    assert variant.answer.value == 10
    assert variant.params == {"n_in": "4", "n_out": "6"}
    assert "$n_{in} = 4$" in variant.question


def test_pin_errors(basic_bank: Path) -> None:
    with pytest.raises(UsageError, match="no selected exercise draws 'm'"):
        api.generate([basic_bank], exercises=["sum"], params={"m": "3"})
    with pytest.raises(UsageError, match="not an exact number"):
        api.generate([basic_bank], exercises=["sum"], params={"n_in": "four"})


def test_pin_violating_a_constraint_is_an_error(basic_bank: Path) -> None:
    with pytest.raises(UsageError, match=r"--param n_in=3 --param n_out=3: breaks the constraint 'n_in != n_out'"):
        api.generate([basic_bank], exercises=["ratio"], params={"n_in": "3", "n_out": "3"})


def test_variants_are_distinct_while_the_space_allows(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=11, count=40, exercises=["sum"])
    params = [tuple(c.variants[0].params.items()) for c in quiz.copies]
    assert len(set(params)) == 40


def test_no_param_exercise_varies_option_order(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=2, count=6, exercises=["spam"])
    orders = {tuple(o.text for o in c.variants[0].options) for c in quiz.copies}
    assert len(orders) == 6  # 3 options: all 3! orders


def test_pinned_option_stays_last(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=5, count=6, exercises=["purpose"])
    assert all(c.variants[0].options[-1].text == "None of the above" for c in quiz.copies)
    assert len({tuple(o.text for o in c.variants[0].options) for c in quiz.copies}) == 6


def test_repeats_are_reported_and_unique_refuses(basic_bank: Path) -> None:
    plan = api.generate([basic_bank], seed=0, count=3, exercises=["ratio", "definition"])
    assert any("ratio: 2 distinct variants, 3 asked" in n for n in plan.notices)
    assert any("definition: 1 distinct variant, 3 asked" in n for n in plan.notices)
    summary = {s.id: s for s in plan.header.exercises}
    assert summary["ratio"].repeats and summary["ratio"].distinct_variants == 2
    with pytest.raises(UsageError, match="--unique"):
        api.generate([basic_bank], seed=0, count=3, exercises=["ratio"], unique=True)
    copies = list(plan.copies)
    assert len({c.variants[0].params["n_in"] + c.variants[0].params["n_out"] for c in copies[:2]}) == 2


def test_correct_option_is_recorded(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=9, count=10, exercises=["ratio", "he"])
    for copy in quiz.copies:
        for variant in copy.variants:
            correct = [o.number for o in variant.options if o.correct]
            assert correct == [variant.answer.option]
            assert variant.answer_text == "①②③"[variant.answer.option - 1]


def test_ratio_answers_are_exact(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=4, count=2, exercises=["ratio"])
    for copy in quiz.copies:
        v = copy.variants[0]
        total = int(v.params["n_in"]) + int(v.params["n_out"])
        assert v.options[v.answer.option - 1].value == str(6 // total)


def test_json_export_validates_against_the_schema(basic_bank: Path) -> None:
    document = json.loads(api.export("json", [basic_bank], seed=7, count=3))
    jsonschema.Draft202012Validator(api.schema("quiz")).validate(document)
    quiz = Quiz.model_validate(document)
    assert {v.kind for v in quiz.copies[0].variants} >= {"integer", "choice", "concept", "scenario", "true_false",
                                                         "numeric", "formula"}
    assert len(quiz.bank.hash) == 64 and quiz.seed == 7


def test_sheet_ids(basic_bank: Path) -> None:
    quiz = api.quiz([basic_bank], seed=7, count=12)
    assert [c.sheet for c in quiz.copies][:2] == ["FX-7-0001", "FX-7-0002"]
    assert quiz.copies[11].sheet == "FX-7-0012"


def test_bundled_bank_covers_the_chapter(bundled_bank: Path) -> None:
    bank = load_bank([bundled_bank])
    assert len(bank.exercises) >= 15
    # Multi-part exercises join the bundled bank with its rework (issue 12); the other kinds are all there.
    assert {ex.kind for ex in bank.exercises} >= set(KINDS) - {"multipart"}
    topics = {ex.spec.topic for ex in bank.exercises}
    assert topics >= {"definition", "xavier", "he", "vanishing-gradient", "exploding-gradient",
                      "xavier-uniform", "layer-size"}


def test_bundled_layer_size_example(bundled_bank: Path) -> None:
    quiz = api.quiz([bundled_bank], seed=7, count=1, exercises=["layer-size"], params={"n_in": "4", "n_out": "6"})
    assert quiz.copies[0].variants[0].answer.value == 10


def test_bundled_options_are_distinct_over_the_whole_domain(bundled_bank: Path) -> None:
    """Every usable parameter combination gives pairwise different options, as values and as text."""
    for ex in load_bank([bundled_bank]).exercises:
        maker = make_maker(ex, 0)
        count = maker.distinct_count(force=True)
        assert count, f"{ex.id}: no usable variant"
        envs = maker.sampler.usable_envs() if ex.space.drawn else [ex.space.complete({}, ex.symbols)]
        for env in envs:
            for part in ex.parts or [ex]:  # a multi-part exercise: each part, on the shared draw
                solution = solve(part, env)
                shown = solution.options if isinstance(solution, ChoiceSolution) else ()
                assert len({option.text for option in shown}) == len(shown), (ex.id, env)
                for a, b in combinations([option.value for option in shown if option.value is not None], 2):
                    assert a != b, (ex.id, env)


def test_bundled_json_has_every_kind(bundled_bank: Path) -> None:
    quiz = api.quiz([bundled_bank], seed=7, count=30)
    assert len(quiz.copies) == 30
    # The bank's slots give each sheet one exercise per slot: over the class, every kind shows. A
    # multi-part exercise's variants are its parts, each of its own kind.
    assert {v.kind for copy in quiz.copies for v in copy.variants} == set(KINDS) - {"multipart"}


NUMERIC = """\
id: ex
title: T
kind: numeric
topic: t
params:
  n: {values: [16, 100, 400]}
question: "sqrt(2/[[ n ]])?"
answer: sqrt(2/n)
tolerance: {relative: "0.01"}
precision: 4
distractors:
  - {expr: "2/n", feedback: "the variance"}
  - {expr: "%s", feedback: "second"}
explanation: e
"""


@pytest.mark.parametrize(
    ("second", "usable"),
    [
        ("sqrt(2/n) * 1001/1000", 0),  # always within the 1 % tolerance: never usable
        ("2/n", 0),  # coincides with the other misconception
        ("sqrt(8)/n", 3),  # never equal to the answer or to 2/n for these n
        ("Rational(1, 50)", 2),  # equals 2/n at n = 100 only
    ],
)
def test_misconceptions_must_be_distinguishable(tmp_path: Path, second: str, usable: int) -> None:
    (tmp_path / "ex.yaml").write_text(NUMERIC % second)
    ex = load_bank([tmp_path]).exercises[0]
    assert VariantMaker(ex, 0).distinct_count(force=True) == usable


def test_bank_order(tmp_path: Path, basic_bank: Path) -> None:
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(basic_bank, bank)
    with (bank / "bank.yaml").open("a") as handle:
        handle.write("order: [sum, he]\n")
    assert [ex.id for ex in load_bank([bank]).exercises][:3] == ["sum", "he", "bigger"]
    (bank / "bank.yaml").write_text((bank / "bank.yaml").read_text().replace("[sum, he]", "[sum, nope]"))

    with pytest.raises(TemplateError, match=r"bank.yaml:\d+: order: unknown exercise 'nope'"):
        load_bank([bank])


def test_bundled_json_export_validates_against_the_schema(bundled_bank: Path) -> None:
    document = json.loads(api.export("json", [bundled_bank], seed=7, count=30))
    jsonschema.Draft202012Validator(api.schema("quiz")).validate(document)


def test_variants_round_trip_through_validation(bundled_bank: Path) -> None:
    quiz = api.quiz([bundled_bank], seed=5, count=3)
    for copy in quiz.copies:
        for variant in copy.variants:
            again = type(variant).model_validate(variant.model_dump())
            assert again == variant
            assert again.model_dump_json() == variant.model_dump_json()


@pytest.mark.parametrize(("bank", "count"), [("basic", 9), ("bundled", 40)])
def test_a_slice_of_copies_is_that_slice_of_the_full_run(basic_bank: Path, bundled_bank: Path, bank: str,
                                                          count: int) -> None:
    # Used-up spaces, repeats and fixed questions included: variant i depends on the ones before it.
    paths = [basic_bank if bank == "basic" else bundled_bank]
    full = api.quiz(paths, seed=4, count=count)
    for first, last in ((1, 1), (2, 5), (count - 2, count), (1, count)):
        part = api.quiz(paths, seed=4, count=count, copies=(first, last))
        assert part.model_dump(exclude={"copies"}) == full.model_dump(exclude={"copies"})
        assert part.copies == full.copies[first - 1:last], (first, last)


def test_json_slices_hold_the_full_header_and_their_copies(basic_bank: Path) -> None:
    full = json.loads(api.export("json", [basic_bank], seed=2, count=6))
    parts = [json.loads(api.export("json", [basic_bank], seed=2, count=6, copies=c)) for c in ((1, 4), (5, 6))]
    for part in parts:
        assert {k: v for k, v in part.items() if k != "copies"} == {k: v for k, v in full.items() if k != "copies"}
    # The README's reassembly: the first part with the copies of all parts, in order.
    assert {**parts[0], "copies": [c for part in parts for c in part["copies"]]} == full


@pytest.mark.parametrize("copies", [(0, 2), (3, 2), (2, 7)])
def test_copies_out_of_range_are_refused(basic_bank: Path, copies: tuple[int, int]) -> None:
    with pytest.raises(UsageError, match=r"--copies .*1 <= A <= B <= count \(6\)"):
        api.generate([basic_bank], count=6, copies=copies)
