"""Solving one draw: typed solutions per kind, clashes, purity, and the variant built from a plan."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from engine.authoring.bank import load_bank
from engine.authoring.loader import CompiledExercise
from engine.generation.quiz import IntegerAnswer, OptionAnswer
from engine.generation.sampling import Plan
from engine.generation.solving import (
    ChoiceSolution,
    Clash,
    TruthSolution,
    ValueSolution,
    screen,
    solve,
)
from engine.generation.variants import VariantMaker, build_variant


@pytest.fixture
def exercises(basic_bank: Path) -> dict[str, CompiledExercise]:
    return {ex.id: ex for ex in load_bank([basic_bank]).exercises}


def _env(ex: CompiledExercise, **values: int) -> dict[str, object]:
    return ex.space.complete(values, ex.symbols)


def test_value_solution_is_typed(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["sum"]
    solution = solve(ex, _env(ex, n_in=3, n_out=4))
    assert isinstance(solution, ValueSolution)
    assert solution.value == 7
    assert solution.answer == IntegerAnswer(value=7)
    assert solution.answer_text == "7"
    assert [(m.value, m.decimal) for m in solution.misconceptions] == [("12", "12")]
    assert "$n_{in} = 3$" in solution.question


def test_choice_solution_keeps_template_order(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["ratio"]
    solution = solve(ex, _env(ex, n_in=1, n_out=2))
    assert isinstance(solution, ChoiceSolution)
    assert [o.value for o in solution.options] == [2, 3, Fraction(1, 2)]
    assert [o.correct for o in solution.options] == [True, False, False]
    assert solution.options[1].feedback is ex.options[1].feedback  # rendered once the sheet orders the options


def test_truth_solution(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["definition"]
    solution = solve(ex, _env(ex))
    assert isinstance(solution, TruthSolution)
    assert solution.answer.value is True and solution.answer_text == "① True"


def test_coinciding_options_clash(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["ratio"]
    # 6/(n_in + n_out) = (n_in + n_out)/6 when n_in + n_out = 6.
    with pytest.raises(Clash):
        screen(ex, _env(ex, n_in=2, n_out=4))
    with pytest.raises(Clash):
        solve(ex, _env(ex, n_in=2, n_out=4))


def test_solve_is_pure(exercises: dict[str, CompiledExercise]) -> None:
    for ex in exercises.values():
        maker = VariantMaker(ex, 3)
        for plan in maker.plans(5):
            env = maker.sampler.env(plan)
            assert solve(ex, env) == solve(ex, env) == solve(ex, env, screen(ex, env)), ex.id


def test_variant_follows_the_plans_order(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["ratio"]
    env = _env(ex, n_in=1, n_out=2)
    solution = solve(ex, env)
    variant = build_variant(ex, solution, "ratio.0.1", Plan(0, 11, (1, 2), (2, 0, 1)))
    assert [o.value for o in variant.options] == ["1/2", "2", "3"]
    assert variant.answer == OptionAnswer(option=2) and variant.answer_text == "②"
    assert "is option 2" in variant.explanation
    assert (variant.index, variant.seed, variant.params) == (0, 11, {"n_in": "1", "n_out": "2"})
