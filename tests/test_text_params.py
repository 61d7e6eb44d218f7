"""Text and record parameters and conditional text: values that are not numbers, records whose
numeric fields expressions read as `act.gain`, `[% if %]` text, pins, the JSON export and counting."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine import api
from engine.authoring.params import BadValue, Record, read_values
from engine.authoring.text import compile_text
from engine.cli import cli
from engine.errors import TemplateError, UsageError
from engine.language.allow import STUDENT
from engine.language.exact import compile_expr
from engine.language.grammar import parse
from engine.language.tokens import DEFAULT_LIMITS, GrammarError
from engine.language.values import ExprError

FIXTURE = Path(__file__).parent / "fixtures" / "textparams" / "bank"
RECORDS = """params:
  act:
    values:
      - {name: tanh, rule: Xavier, gain: 1}
      - {name: ReLU, rule: He, gain: 2}
  n: [10, 20]
"""


def _bank(tmp_path: Path, body: str, kind: str = "numeric", ex_id: str = "t") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "bank.yaml").write_text("title: T\ncode: TT\n", encoding="utf-8")
    head = f"id: {ex_id}\ntitle: T\nkind: {kind}\ntopic: t\n"
    if kind == "numeric":
        head += "tolerance: {relative: '0.01'}\n"
    (tmp_path / f"{ex_id}.yaml").write_text(head + body, encoding="utf-8")
    return tmp_path


def _variants(bank: Path, count: int = 1, **options: Any) -> list[dict[str, Any]]:
    document = json.loads(api.export("json", [bank], count=count, **options))
    return [v for copy in document["copies"] for v in copy["variants"]]


def _error(bank: Path) -> str:
    with pytest.raises(TemplateError) as caught:
        api.generate([bank])
    return str(caught.value)


# -- classification ----------------------------------------------------------------------------


def test_strings_that_are_not_numbers_are_texts() -> None:
    assert read_values(["tanh", "leaky ReLU"], "act") == ("tanh", "leaky ReLU")
    assert read_values(["1/2", "0.05", 3], "p") == (Fraction(1, 2), Fraction(1, 20), 3)


def test_a_mix_of_numbers_and_texts_names_the_value() -> None:
    with pytest.raises(BadValue, match=r"act: value 3 \('tanh'\) is a text, value 1 \(1\) a number") as caught:
        read_values([1, "1/2", "tanh"], "act")
    assert caught.value.at == ("values", 2)


def test_records_have_the_same_fields() -> None:
    with pytest.raises(BadValue, match="record 2 has the fields name, rule, record 1 has name, gain") as caught:
        read_values([{"name": "tanh", "gain": 1}, {"name": "ReLU", "rule": "He"}], "act")
    assert caught.value.at == ("values", 1)
    with pytest.raises(BadValue, match="value 2 is not a record"):
        read_values([{"name": "tanh"}, "ReLU"], "act")


def test_a_record_field_mixing_numbers_and_texts_names_record_and_field() -> None:
    with pytest.raises(BadValue, match=r"act.gain: value 2 \('two'\) is a text") as caught:
        read_values([{"name": "tanh", "gain": 1}, {"name": "ReLU", "gain": "two"}], "act")
    assert caught.value.at == ("values", 1, "gain")


@given(st.lists(st.one_of(st.integers(-10**6, 10**6), st.fractions(max_denominator=1000).map(str)),
                min_size=1, max_size=6))
def test_strings_that_read_as_numbers_stay_numbers(values: list[int | str]) -> None:
    assert all(not isinstance(v, str) for v in read_values(list(values), "p"))


@given(st.lists(st.from_regex(r"[A-Za-z][A-Za-z ]{0,8}[a-z]", fullmatch=True), min_size=1, max_size=6))
def test_words_are_texts_kept_as_written(words: list[str]) -> None:
    """Words (not a constant such as E or pi, which read as numbers that are not rational) are texts."""
    assert read_values(list(words), "p") == tuple(words)


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=4), st.lists(st.sampled_from(["tanh", "ReLU"]),
                                                                        min_size=1, max_size=4), st.randoms())
def test_any_mix_of_numbers_and_texts_is_refused(numbers: list[int], texts: list[str], rng: Any) -> None:
    mixed: list[int | str] = [*numbers, *texts]
    rng.shuffle(mixed)
    with pytest.raises(BadValue, match="give all numbers or all texts"):
        read_values(mixed, "p")


def test_a_record_prints_its_first_field_and_reads_fields_by_name() -> None:
    record = read_values([{"name": "ReLU", "gain": 2}], "act")[0]
    assert isinstance(record, Record)
    assert str(record) == "ReLU" and record["gain"] == 2
    assert record == Record((("name", "ReLU"), ("gain", 2))) and len({record, Record((("name", "ReLU"), ("gain", 2)))}) == 1


# -- the dotted name -----------------------------------------------------------------------------


def test_authors_read_a_record_field_by_its_dotted_name() -> None:
    assert compile_expr("act.gain / n", {"act.gain", "n"}).evaluate({"act.gain": 2, "n": 10}) == Fraction(1, 5)
    with pytest.raises(ExprError, match="Attribute is not allowed"):
        compile_expr("n.real + 1", {"n", "act.gain"})
    with pytest.raises(ExprError, match="Attribute is not allowed"):
        compile_expr("act.gain.x", {"act.gain"})


def test_students_dialect_has_no_dotted_names() -> None:
    with pytest.raises(GrammarError, match="attribute access"):
        parse("act.gain", STUDENT, {"act.gain", "act"}, DEFAULT_LIMITS)


# -- generation ----------------------------------------------------------------------------------


def test_text_and_records_print_and_answer(tmp_path: Path) -> None:
    bank = _bank(tmp_path, RECORDS + "question: '[[ act ]]/[[ act.name ]]/[[ act.rule ]]: n=[[ n ]]'\n"
                 "answer: act.gain / n\nexplanation: '[[ act.gain ]] over [[ n ]]'\n")
    variants = _variants(bank, count=4)
    seen = set()
    for v in variants:
        p = v["params"]
        assert set(p) == {"act.name", "act.rule", "act.gain", "n"}
        assert v["question"] == f"{p['act.name']}/{p['act.name']}/{p['act.rule']}: n={p['n']}"
        assert Fraction(v["answer"]["exact"]) == Fraction(int(p["act.gain"]), int(p["n"]))
        seen.add((p["act.name"], p["n"]))
    assert len(seen) == 4  # every combination, once: records count in distinct variants
    assert api.list_exercises([bank])[0]["variants"] == 4


def test_conditional_text_on_texts_and_numbers(tmp_path: Path) -> None:
    bank = _bank(tmp_path, RECORDS + "question: >-\n  [% if act.name == \"ReLU\" %]R[% else %]T[% endif %]"
                 "[% if n > 15 %] wide[% endif %]\nanswer: n\nexplanation: x\n")
    for v in _variants(bank, count=4):
        p = v["params"]
        assert v["question"] == ("R" if p["act.name"] == "ReLU" else "T") + (" wide" if p["n"] == "20" else "")


def test_the_fixture_bank_renders_in_every_format_and_checks() -> None:
    variants = _variants(FIXTURE, count=6, seed=3)
    assert {v["exercise"] for v in variants} == {"act-init", "pick-act", "he-variance"}
    report = api.check([FIXTURE], seeds=20)
    assert not report.problems, report.problems
    for fmt in ("markdown", "moodle", "gift"):
        assert api.export(fmt, [FIXTURE], count=2)


@pytest.mark.parametrize(("field", "expected"), [
    ("answer: act", "answer: act is a text parameter ('tanh' does not read as a number)"),
    ("answer: 1\nconstraints: ['act != 1']", "constraints[0]: act is a text parameter"),
    ("answer: 1\nparams2", "params.d: act is a text parameter"),
])
def test_an_expression_that_uses_a_text_is_refused_at_load(field: str, expected: str, tmp_path: Path) -> None:
    params = "params:\n  act: [tanh, ReLU]\n"
    if field.endswith("params2"):
        params += "  d: {expr: 'act + 1'}\n"
        field = field.replace("\nparams2", "")
    message = _error(_bank(tmp_path, params + f"question: '[[ act ]]'\n{field}\nexplanation: x\n"))
    assert "t.yaml:" in message and expected in message and "expressions use numbers" in message


def test_an_expression_that_uses_a_record_or_its_text_field_is_refused(tmp_path: Path) -> None:
    body = "question: q\nexplanation: x\n"
    assert "answer: act is a record parameter; expressions use its numeric fields (act.name, ...)" in _error(
        _bank(tmp_path / "a", RECORDS + "answer: act\n" + body))
    assert "answer: act.rule is a text field; expressions use numbers" in _error(
        _bank(tmp_path / "b", RECORDS + "answer: act.rule\n" + body))
    assert "answer: act has no field 'speed' (fields: name, rule, gain)" in _error(
        _bank(tmp_path / "c", RECORDS + "answer: act.speed\n" + body))


def test_a_text_naming_a_missing_field_is_refused_at_load(tmp_path: Path) -> None:
    for question in ("'[[ act.nme ]]'", "'[% if act.nme %]x[% endif %]'"):
        message = _error(_bank(tmp_path / str(len(question)), RECORDS + f"question: {question}\nanswer: 1\nexplanation: x\n"))
        assert "question: act has no field 'nme' (fields: name, rule, gain)" in message


def test_a_number_parameter_keeps_its_attributes_in_text(tmp_path: Path) -> None:
    """`[[ p.numerator ]]` of a number parameter read as Jinja reads it, as before."""
    bank = _bank(tmp_path, "params:\n  p: '3/4'\nquestion: '[[ p.numerator ]] of [[ p.denominator ]]'\n"
                 "answer: p\nexplanation: x\n")
    assert _variants(bank)[0]["question"] == "3 of 4"


def test_a_records_fields_are_read_by_jinja_and_named_for_the_loader() -> None:
    record = read_values([{"name": "leaky ReLU", "gain": 2}], "act")[0]
    context = {"act": record, "act.name": "leaky ReLU", "act.gain": 2}
    text, names = compile_text("[[ act.name ]] has gain [[ act.gain ]] and [[ act ]]")
    assert names == {"act"} and text.fields == {"act.name", "act.gain"}
    assert text.render(context) == text.template.render(context) == "leaky ReLU has gain 2 and leaky ReLU"
    simple, simple_names = compile_text("[[ act ]]")  # the direct join prints str(record), as Jinja does
    assert simple.pieces is not None and simple_names == {"act"}
    assert simple.render(context) == simple.template.render(context) == "leaky ReLU"


# -- pins ----------------------------------------------------------------------------------------


def test_pins_take_a_text_or_a_records_first_field(tmp_path: Path) -> None:
    bank = _bank(tmp_path, RECORDS + "  word: [up, down]\nquestion: '[[ act.name ]] [[ word ]]'\nanswer: n\n"
                 "explanation: x\n")
    for v in _variants(bank, count=3, params={"act": "ReLU", "word": "down"}):
        assert v["params"]["act.name"] == "ReLU" and v["params"]["word"] == "down"
    with pytest.raises(UsageError, match="--param act=sigmoid: not a value act can take in t"):
        api.generate([bank], params={"act": "sigmoid"})
    result = CliRunner().invoke(cli, ["generate", str(bank), "--param", "act=tanh", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"act.name":"tanh"' in result.output


def test_a_record_whose_first_field_is_a_number_is_pinned_by_it(tmp_path: Path) -> None:
    bank = _bank(tmp_path, "params:\n  c: {values: [{k: 1, w: one}, {k: '1/2', w: half}]}\n"
                 "question: '[[ c.w ]]'\nanswer: c.k\nexplanation: x\n")
    assert _variants(bank, params={"c": "0.5"})[0]["question"] == "half"


@pytest.mark.parametrize("question", ["'[[ act | latex ]]'", "'[[ act.name | num(2) ]]'",
                                      "'[% if n %][[ act.rule | circled ]][% endif %]'"])
def test_a_printing_filter_on_a_text_is_refused_at_load(question: str, tmp_path: Path) -> None:
    message = _error(_bank(tmp_path, RECORDS + f"question: {question}\nanswer: 1\nexplanation: x\n"))
    assert "question: act" in message and "is a text: print it as [[ act" in message


def test_conditional_option_text_and_feedback(tmp_path: Path) -> None:
    body = ("params:\n  act: [tanh, ReLU]\nquestion: '[[ act ]]?'\noptions:\n"
            "  - text: '[% if act == \"ReLU\" %]He[% else %]Xavier[% endif %]'\n    correct: true\n"
            "  - text: '[% if act == \"ReLU\" %]Xavier[% else %]He[% endif %]'\n"
            "    feedback: '[% if act == \"ReLU\" %]Xavier is for tanh.[% else %]He is for ReLU.[% endif %]'\n"
            "explanation: '[% if act == \"tanh\" %]tanh: Xavier.[% else %]ReLU: He.[% endif %]'\n")
    variants = _variants(_bank(tmp_path, body, kind="choice"), count=2)
    assert {v["params"]["act"] for v in variants} == {"tanh", "ReLU"}
    for v in variants:
        relu = v["params"]["act"] == "ReLU"
        right = next(o for o in v["options"] if o["correct"])
        wrong = next(o for o in v["options"] if not o["correct"])
        assert right["text"] == ("He" if relu else "Xavier")
        assert wrong["feedback"] == ("Xavier is for tanh." if relu else "He is for ReLU.")
        assert v["explanation"] == ("ReLU: He." if relu else "tanh: Xavier.")


def test_an_irrational_string_is_a_text_and_says_why(tmp_path: Path) -> None:
    assert read_values(["sqrt(2)", "pi"], "c") == ("sqrt(2)", "pi")
    message = _error(_bank(tmp_path, "params:\n  c: ['sqrt(2)', 'pi']\nquestion: '[[ c ]]'\nanswer: c\nexplanation: x\n"))
    assert "answer: c is a text parameter ('sqrt(2)' is not an exact rational number); expressions use numbers" in message


def test_a_record_field_is_named_as_a_parameter(tmp_path: Path) -> None:
    message = _error(_bank(tmp_path, "params:\n  c: [{name: a, 2x: 1}]\nquestion: q\nanswer: 1\nexplanation: x\n"))
    assert "params.c[0]" in message and "String should match pattern" in message
