"""Sampling: distinct variants up to the size of the space at a cost linear in the count, and the
same plans for the same seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.authoring.bank import load_bank
from engine.authoring.loader import CompiledExercise
from engine.authoring.params import ParamSpace
from engine.errors import TemplateError
from engine.generation.sampling import MAX_DRAWS, Env, Plan, Pool, Sampler
from engine.generation.variants import VariantMaker

EXERCISES = {
    # 24 x 24 draws, one in 24 rejected by the constraint, nothing to screen.
    "sum": """\
id: sum
title: T
kind: integer
topic: t
params:
  A: {min: 1, max: 24}
  B: {min: 1, max: 24}
constraints:
  - A != B
question: "[[ A ]] + [[ B ]]?"
answer: A + B
explanation: e
""",
    # Options that coincide at some draws (n * m = n + m at n = m = 2; n - m = n + m never): screened.
    "options": """\
id: options
title: T
kind: choice
topic: t
params:
  n: {min: 1, max: 12}
  m: {values: [1, 2, 3, "1/2"]}
question: "[[ n ]], [[ m ]]?"
options:
  - {expr: "n + m", correct: true}
  - {expr: "n * m", feedback: f}
  - {expr: "n - m", feedback: g}
shuffle: true
explanation: e
""",
    # Nothing drawn: the variants are the 24 orders of the options.
    "orders": """\
id: orders
title: T
kind: choice
topic: t
question: Q?
options:
  - {text: a, correct: true}
  - {text: b, feedback: f}
  - {text: c, feedback: f}
  - {text: d, feedback: f}
shuffle: true
explanation: e
""",
}


@pytest.fixture(scope="module")
def exercises(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompiledExercise]:
    folder = tmp_path_factory.mktemp("sampling")
    for name, text in EXERCISES.items():
        (folder / f"{name}.yaml").write_text(text)
    return {ex.id: ex for ex in load_bank([folder]).exercises}


def _plans(ex: CompiledExercise, seed: int, count: int) -> tuple[VariantMaker, list[Plan]]:
    maker = VariantMaker(ex, seed)
    maker.distinct_count(wanted=count)
    return maker, list(maker.plans(count))


def _variant(plan: Plan) -> tuple[object, ...]:
    return plan.values or plan.order


@pytest.mark.parametrize("name", sorted(EXERCISES))
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_every_distinct_variant_comes_out_once(exercises: dict[str, CompiledExercise], name: str, seed: int) -> None:
    ex = exercises[name]
    count = VariantMaker(ex, 0).distinct_count(force=True)
    assert count is not None
    maker, plans = _plans(ex, seed, count)
    variants = [_variant(plan) for plan in plans]
    assert len(set(variants)) == count
    if ex.space.drawn:
        assert set(variants) == {tuple(env[d.name] for d in ex.space.drawn) for env in maker.sampler.usable_envs()}
    assert [p.index for p in plans] == list(range(count))
    # Past the size of the space, variants repeat; the same seed gives the same plans.
    assert _plans(ex, seed, 2 * count)[1][:count] == plans


def test_the_same_seed_gives_the_same_plans(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["sum"]
    first, second = _plans(ex, 3, 600)[1], _plans(ex, 3, 600)[1]
    assert first == second
    assert first != _plans(ex, 4, 600)[1]


def test_the_whole_space_costs_no_rescan(exercises: dict[str, CompiledExercise], monkeypatch: pytest.MonkeyPatch) -> None:
    # A variant's key is computed once per draw and once per enumerated draw, never for every usable
    # draw per variant, and once the random draws mostly repeat, variants cost no draws at all.
    ex = exercises["sum"]
    keys = 0
    combination = ParamSpace.combination

    def counted(space: ParamSpace, env: Env) -> int:
        nonlocal keys
        keys += 1
        return combination(space, env)

    monkeypatch.setattr(ParamSpace, "combination", counted)
    count = 24 * 23
    maker = VariantMaker(ex, 1)
    cost, before = [], 0
    for _ in maker.plans(count):
        cost.append(maker.stats.draws - before)
        before = maker.stats.draws
    assert keys <= maker.stats.draws + ex.space.size()
    # The first variant that spends MAX_DRAWS draws falls back to the enumeration; from there on
    # (more than half the space is taken), variants are picked among the unseen draws directly.
    fallback = cost.index(MAX_DRAWS)
    assert fallback > count // 2 and not any(cost[fallback + 1:])


def test_draws_that_cannot_clash_are_not_screened(exercises: dict[str, CompiledExercise]) -> None:
    screened: list[Env] = []
    sampler = Sampler(exercises["sum"], 1, {}, screened.append)
    assert len({plan.values for plan in sampler.plans(300)}) == 300
    assert screened == [] and sampler.stats.constraint_rejects > 0


def test_a_draw_seen_before_is_not_screened_again(exercises: dict[str, CompiledExercise]) -> None:
    ex = exercises["options"]
    maker = VariantMaker(ex, 1)
    screened: list[Env] = []

    def screen(env: Env) -> object:
        screened.append(env)
        return maker.screen(env)

    sampler = Sampler(ex, 1, {}, screen)
    count = sampler.distinct_count(force=True)
    assert count is not None
    screened.clear()
    plans = list(sampler.plans(count))
    assert len({plan.values for plan in plans}) == count
    stats = sampler.stats
    assert stats.duplicates > 0 and stats.clashes > 0
    assert len(screened) == stats.draws - stats.duplicates


def _choice_over_unseen(keys: list[int], seen: set[int], rng: random.Random) -> int:
    unseen = [position for position, key in enumerate(keys) if key not in seen]
    return rng.choice(unseen)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=60),
       seen=st.sets(st.integers(min_value=0, max_value=40)),
       marks=st.lists(st.integers(min_value=0, max_value=40), max_size=60),
       seed=st.integers(min_value=0, max_value=2**32))
def test_the_pool_picks_as_a_choice_over_the_unseen_keys(keys: list[int], seen: set[int], marks: list[int],
                                                         seed: int) -> None:
    pool = Pool(keys, seen)
    seen = set(seen)
    rng, expected = random.Random(seed), random.Random(seed)
    mark: Callable[[int], None] = pool.mark
    for key in marks:
        if pool.unseen:  # once every key is seen, sampling repeats them in rounds instead
            assert pool.pick(rng) == _choice_over_unseen(keys, seen, expected)
        if key in keys and key not in seen:
            seen.add(key)
            mark(key)
        assert pool.unseen == sum(k not in seen for k in keys)
    if pool.unseen:
        assert pool.pick(rng) == _choice_over_unseen(keys, seen, expected)


def test_constraints_that_never_hold_without_drawn_parameters_are_refused(tmp_path: Path) -> None:
    (tmp_path / "orders.yaml").write_text(EXERCISES["orders"].replace("question:", "constraints: ['1 > 2']\nquestion:"))
    ex = load_bank([tmp_path]).exercises[0]
    with pytest.raises(TemplateError, match=r"orders.yaml:\d+: constraints: no parameter values satisfy the constraints"):
        list(VariantMaker(ex, 1).plans(2))
