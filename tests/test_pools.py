"""Distractor pools: k of a pool's named misconceptions drawn per variant, never one equal to the
answer or to another shown option; the pick counts in distinct variants; the loader's checks."""

from __future__ import annotations

import itertools
import json
import math
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import api
from engine.authoring.pools import Subsets
from engine.errors import TemplateError, UsageError
from engine.language.exact import compile_expr

FIXTURE = Path(__file__).parent / "fixtures" / "textparams" / "bank"


def _bank(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bank.yaml").write_text("title: T\ncode: TT\n", encoding="utf-8")
    (folder / "p.yaml").write_text("id: p\ntitle: T\nkind: choice\ntopic: t\nexplanation: x\n" + body, encoding="utf-8")
    return folder


def _pool_body(answer: str, listed: list[str], pool: list[str], draw: int, params: str = "n: [2, 3, 5]\n") -> str:
    lines = [f"params:\n  {params}", "question: 'n = [[ n ]]'", "options:", f"  - expr: '{answer}'", "    correct: true"]
    lines += [f"  - expr: '{e}'\n    feedback: listed {i}" for i, e in enumerate(listed)]
    lines += ["pool:", f"  draw: {draw}", "  options:"]
    lines += [f"    - expr: '{e}'\n      feedback: pool {i}" for i, e in enumerate(pool)]
    return "\n".join(lines) + "\n"


def _variants(bank: Path, count: int, **options: Any) -> list[dict[str, Any]]:
    document = json.loads(api.export("json", [bank], count=count, **options))
    return [v for copy in document["copies"] for v in copy["variants"]]


# -- subsets ---------------------------------------------------------------------------------------


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_subsets_rank_as_itertools_lists_them(nk: tuple[int, int]) -> None:
    n, k = nk
    subsets = Subsets(n, k)
    listed = list(itertools.combinations(range(n), k))
    assert len(subsets) == len(listed) == math.comb(n, k)
    assert list(subsets) == listed
    for rank, subset in enumerate(listed):
        assert subsets[rank] == subset and subsets.rank(subset) == rank


def test_a_pool_of_a_hundred_is_not_listed() -> None:
    subsets = Subsets(100, 9)
    rank = len(subsets) // 3
    assert subsets.rank(subsets[rank]) == rank


# -- drawing -----------------------------------------------------------------------------------------


# Pool expressions over n (drawn from 2, 3, 5): some equal the answer 1/n for every n, some equal
# each other, some are equal only for some n.
POOL_EXPRS = ["1/n", "2/(2*n)", "2/n", "4/(2*n)", "3/n", "n", "n**2/n", "1/(n+1)", "1/(n-1)", "1/2", "1/3",
              "1/5", "1/(n*n)", "Rational(1, 6)"]


def _value(expr: str, n: int) -> Fraction:
    return Fraction(compile_expr(expr, {"n"}).evaluate({"n": n}))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(POOL_EXPRS), min_size=1, max_size=7, unique=True), st.integers(1, 3),
       st.integers(0, 2**16))
def test_every_variant_shows_k_pool_distractors_none_equal_to_a_shown_option(
        pool: list[str], draw: int, seed: int) -> None:
    draw = min(draw, len(pool))
    with tempfile.TemporaryDirectory() as tmp:
        bank = _bank(Path(tmp), _pool_body("1/n", [], pool, draw))
        usable = {n: _picks(pool, draw, n) for n in (2, 3, 5)}
        if not any(usable.values()):
            with pytest.raises(TemplateError, match="distinct options"):
                api.export("json", [bank], count=1, seed=seed)
            return
        variants = _variants(bank, 12, seed=seed)
        assert variants == _variants(bank, 12, seed=seed)  # deterministic
        keys = set()
        for v in variants:
            n = int(v["params"]["n"])
            shown = [Fraction(o["value"]) for o in v["options"]]
            assert len(shown) == 1 + draw and len(set(shown)) == len(shown)
            assert [o["correct"] for o in v["options"]].count(True) == 1
            drawn = tuple(sorted(int(o["feedback"].split()[1]) for o in v["options"] if not o["correct"]))
            assert drawn in usable[n]
            keys.add((n, drawn))
        total = sum(len(picks) for picks in usable.values())
        assert len(keys) == min(12, total)  # distinct while the space has enough
        assert api.list_exercises([bank])[0]["variants"] == total


def _picks(pool: list[str], draw: int, n: int) -> set[tuple[int, ...]]:
    """The picks of `draw` pool options that a draw with this n may show (by brute force)."""
    values = [_value(e, n) for e in pool]
    answer = Fraction(1, n)
    return {pick for pick in itertools.combinations(range(len(pool)), draw)
            if len({answer, *(values[i] for i in pick)}) == draw + 1}


def test_a_pool_option_equal_to_a_listed_distractor_is_never_drawn(tmp_path: Path) -> None:
    bank = _bank(tmp_path, _pool_body("1/n", ["2/n"], ["4/(2*n)", "3/n", "1/(n+1)"], 1))
    for v in _variants(bank, 9):
        assert not any(o["feedback"] == "pool 0" for o in v["options"])
    assert api.list_exercises([bank])[0]["variants"] == 6


def test_a_shown_text_counts_as_well_as_a_value(tmp_path: Path) -> None:
    body = ("params:\n  n: [1, 2]\nquestion: q\noptions:\n  - text: 'yes [[ n ]]'\n    correct: true\n"
            "pool:\n  draw: 1\n  options:\n    - text: 'yes [[ n ]]'\n      feedback: same text\n"
            "    - text: 'no'\n      feedback: other\n")
    bank = _bank(tmp_path, body)
    assert {o["text"] for v in _variants(bank, 4) for o in v["options"]} == {"yes 1", "yes 2", "no"}


def test_the_pick_makes_variants_distinct_without_drawn_parameters(tmp_path: Path) -> None:
    body = ("question: q\nshuffle: false\noptions:\n  - text: right\n    correct: true\n"
            "pool:\n  draw: 2\n  options:\n" + "".join(f"    - text: w{i}\n      feedback: f{i}\n" for i in range(4)))
    bank = _bank(tmp_path, body)
    picks = [tuple(o["text"] for o in v["options"]) for v in _variants(bank, 6)]
    assert len(set(picks)) == 6 == math.comb(4, 2)
    assert all(p[0] == "right" for p in picks)  # no shuffle: the listed options first, as authored


def test_pinned_options_at_the_end_stay_last(tmp_path: Path) -> None:
    variants = _variants(FIXTURE, 10, exercises=["he-variance"])
    for v in variants:
        assert v["options"][-1]["text"] == "None of these"
        assert len(v["options"]) == 4
        assert not any("Never shown" in (o["feedback"] or "") for o in v["options"])
    assert len({o["number"] for v in variants for o in v["options"] if o["correct"]}) == 3  # shuffled


# -- loader checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pool", "message"), [
    ("{draw: 0, options: [{expr: '2/n', feedback: f}]}", "pool.draw: Input should be greater than or equal to 1"),
    ("{draw: 2, options: [{expr: '2/n', feedback: f}]}", "pool: draw (2) is more than the pool's 1 options"),
    ("{draw: 1, options: [{expr: '2/n'}]}", "pool.options[0].feedback: required field is missing"),
    ("{draw: 1, options: [{expr: '2/n', text: x, feedback: f}]}", "give exactly one of text or expr"),
    ("{draw: 1, options: [{expr: '2/n', feedback: f, name: a}, {expr: '3/n', feedback: g, name: a}]}",
     "pool.options[1].name: 'a' names pool option 1 already"),
    ("{draw: 1, options: [{expr: 'm', feedback: f}]}", "pool.options[0].expr: unknown name 'm'"),
    ("{draw: 1, options: [{text: '[[ m ]]', feedback: f}]}", "pool.options[0].text: undefined template variable 'm'"),
])
def test_a_bad_pool_names_file_line_and_field(pool: str, message: str, tmp_path: Path) -> None:
    body = ("params:\n  n: [2, 3]\nquestion: q\noptions:\n  - expr: 1/n\n    correct: true\n"
            f"pool: {pool}\n")
    with pytest.raises(TemplateError) as caught:
        api.generate([_bank(tmp_path, body)])
    assert "p.yaml:" in str(caught.value) and message in str(caught.value)


def test_at_most_ten_options_are_shown(tmp_path: Path) -> None:
    listed = "".join(f"  - text: o{i}\n    feedback: f\n" for i in range(5))
    pool = "".join(f"    - text: p{i}\n      feedback: f\n" for i in range(6))
    body = f"question: q\noptions:\n  - text: right\n    correct: true\n{listed}pool:\n  draw: 5\n  options:\n{pool}"
    with pytest.raises(TemplateError, match="6 options and 5 drawn from the pool make more than 10 options shown"):
        api.generate([_bank(tmp_path, body)])
    api.generate([_bank(tmp_path / "ok", body.replace("draw: 5", "draw: 4"))])


def test_the_schema_describes_pools() -> None:
    definitions = api.schema("exercise")["$defs"]
    assert {"draw", "options"} <= set(definitions["DistractorPool"]["properties"])
    assert "name" in definitions["PoolOption"]["properties"]


def test_a_pools_pick_is_not_a_parameter_to_pin() -> None:
    with pytest.raises(UsageError, match=r"no selected exercise draws 'pool:pick' \(drawn parameters: n_in, n_out\)"):
        api.generate([FIXTURE], exercises=["he-variance"], params={"pool:pick": "1"})
