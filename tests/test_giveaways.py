"""Give-aways: an item whose stem or options show another item's answer, as values and expressions."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine import api
from engine.cli import cli
from engine.generation.exprtree import equal, parse_printed, signature
from engine.generation.giveaways import giveaway_pairs, shows_answer
from engine.generation.quiz import Variant
from engine.generation.texmath import read_expression, read_math
from tests.test_slots import FIXTURE, make_bank


def _variants(*ids: str) -> dict[str, Variant]:
    quiz = api.quiz([FIXTURE], exercises=list(ids), seed=7)
    return {v.exercise: v for v in quiz.copies[0].variants}


def test_the_reader_reads_what_our_texts_print() -> None:
    shown = [s.expr for s in read_math(r"He uses $\sigma^2 = \frac{2}{n_{\text{in}}}$ and $L = \sqrt{6/(n_{in}+n_{out})}$.")]
    assert any(equal(e, ("/", ("n", Fraction(2)), ("s", "n_in"))) for e in shown)
    limit = parse_printed("sqrt(6)/sqrt(n_in + n_out)")
    assert limit is not None and any(equal(e, limit) for e in shown)
    two = read_expression(r"2 \cdot \dfrac{x^{2}}{4}")
    half = parse_printed("x**2/2")
    assert two is not None and half is not None and equal(two.expr, half)
    assert read_expression(r"\mathcal{N}(0, 1)") is None
    assert not equal(("s", "n_in"), ("s", "n_out"))


def test_a_formula_answer_shown_in_another_stem_is_found() -> None:
    found = _variants("he-variance-formula", "relu-initialization")
    formula, other = found["he-variance-formula"], found["relu-initialization"]
    shower = other.model_copy(update={"question": r"He uses $\sigma^2 = \frac{2}{n_{\text{in}}}$. Which rule?"})
    assert shows_answer(shower, formula) is not None
    assert shows_answer(other, formula) is None
    # As an option's expression too: he-variance-options shows 2/n_in among its options.
    options = _variants("he-variance-options")["he-variance-options"]
    assert shows_answer(options, formula) is not None


def test_a_value_is_found_exactly_or_rounded_but_not_as_drawn_data_or_a_bare_integer() -> None:
    found = _variants("he-std-numeric", "layer-size", "relu-initialization")
    numeric, integer, other = found["he-std-numeric"], found["layer-size"], found["relu-initialization"]
    exact = getattr(numeric.answer, "exact", "")
    display = getattr(numeric.answer, "display", "")
    value = parse_printed(exact)
    assert value is not None and signature(value) is not None
    latex = getattr(numeric.answer, "latex", "")
    assert shows_answer(other.model_copy(update={"question": f"The std is ${latex}$."}), numeric)
    assert shows_answer(other.model_copy(update={"question": f"About ${display}$."}), numeric)
    assert shows_answer(other.model_copy(update={"question": "Some $0.123456$."}), numeric) is None
    answer = getattr(integer.answer, "value", 0)
    bare = other.model_copy(update={"question": f"A layer of ${answer}$ neurons."})
    assert shows_answer(bare, integer) is None
    worked = other.model_copy(update={"question": rf"It holds $\frac{{{2 * answer}}}{{2}}$ weights."})
    assert shows_answer(worked, integer) is not None
    data = other.model_copy(update={"question": rf"With $n = \frac{{{2 * answer}}}{{2}}$.", "params": {"n": str(answer)}})
    assert shows_answer(data, integer, drawn={"n"}) is None


def test_pairs_are_found_on_one_sheet_only() -> None:
    found = _variants("he-variance-formula", "he-factor-two", "layer-size")
    sheet = list(found.values())
    pairs = giveaway_pairs([sheet])
    assert [(g.shows, g.answer_of) for g in pairs] == [("he-factor-two", "he-variance-formula")]
    assert giveaway_pairs([[found["he-variance-formula"]], [found["he-factor-two"]]]) == []


def test_check_names_both_files_and_generate_without_slots_keeps_both_and_says_so(tmp_path: Path) -> None:
    bank = make_bank(tmp_path / "b", "title: T\n", ["he-variance-formula", "he-factor-two", "layer-size"])
    result = CliRunner().invoke(cli, ["check", "--seeds", "3", str(bank)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("give-away:"))
    assert "he-factor-two.yaml" in line and "he-variance-formula.yaml" in line and "every sheet holds both" in line
    generated = CliRunner().invoke(cli, ["generate", str(bank), "-f", "json"])
    # What the teacher selected is kept, and she is told that every sheet gives the answer away.
    assert len(json.loads(generated.stdout)["copies"][0]["variants"]) == 3
    note = next(line for line in generated.stderr.splitlines() if "shows the answer" in line)
    assert note.startswith("Note: he-factor-two shows the answer to he-variance-formula")
    assert "every sheet holds both" in note and "one slot of bank.yaml" in note


@given(st.text(max_size=400))
def test_the_reader_never_fails_on_any_text(text: str) -> None:
    read_math.cache_clear()
    for shown in read_math(text) + read_math(f"${text}$") + read_math(f"$$\\frac{{{text}}}{{2}}$$"):
        signature(shown.expr)
    read_expression(text)


@given(st.lists(st.sampled_from(["\\frac", "\\sqrt", "{", "}", "(", ")", "^", "_", "x", "2", "n_{in}", "\\cdot",
                                 "+", "-", "/", "=", ",", "\\text{in}", "[", "]", "9", "\\left(", "\\right)"]),
                max_size=300))
def test_the_reader_is_bounded_on_deep_or_long_math(tokens: list[str]) -> None:
    text = "$" + "".join(tokens) + "$"
    for shown in read_math(text):
        signature(shown.expr)
    assert read_math("$" + "{" * 5000 + "x" + "}" * 5000 + "$") == ()
    assert read_math("$" + "x^{" * 40 + "2" + "}" * 40 + "$") is not None
    towers = read_math("$" + "(" * 12 + "99" + ")^{16}" * 12 + "$")  # 99^(16^12) if it were computed
    assert all(signature(s.expr) is None for s in towers)


def test_the_sheets_script_counts_give_away_sheets_and_times_the_search() -> None:
    from tests.test_sheets_script import sheets

    quiz = api.quiz([FIXTURE], exercises=["he-variance-formula", "he-factor-two", "layer-size"], seed=7, count=2)
    assert sheets.giveaway_sheets(quiz.copies, [FIXTURE]) == 2
    alone = api.quiz([FIXTURE], exercises=["he-variance-formula", "layer-size"], seed=7, count=2)
    assert sheets.giveaway_sheets(alone.copies, [FIXTURE]) == 0
    cost = sheets.giveaway_cost(None, 7, 2)
    assert set(cost) == {"generate_seconds", "giveaway_seconds", "giveaway_share"}
