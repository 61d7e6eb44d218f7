"""Hostile parameters: constants, decimals, `num` near zero, fractions under powers, and `--param`
values checked against the declared domain and the constraints before anything is written."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import pytest
from click.testing import CliRunner

from engine import api
from engine.authoring.params import parse_value
from engine.authoring.text import compile_text
from engine.cli import cli
from engine.errors import TemplateError, UsageError
from engine.language.decimals import DecimalFraction
from engine.language.exact import compile_expr
from engine.language.printing import exact, latex, num
from engine.language.values import ExprError

HEADER = "id: {id}\ntitle: T\nkind: numeric\ntopic: t\ntolerance: {{relative: '0.01'}}\n"


def _bank(tmp_path: Path, **exercises: str) -> Path:
    """A bank folder with one numeric exercise per keyword: its id and the rest of its YAML."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "bank.yaml").write_text("title: T\ncode: TT\n", encoding="utf-8")
    for ex_id, body in exercises.items():
        (tmp_path / f"{ex_id}.yaml").write_text(HEADER.format(id=ex_id) + body, encoding="utf-8")
    return tmp_path


def _variant(bank: Path, **options: Any) -> dict[str, Any]:
    document = json.loads(api.export("json", [bank], **options))
    return dict(document["copies"][0]["variants"][0])


# -- constants and the list shorthand --------------------------------------------------------


class Constant(NamedTuple):
    written: str
    shown: str
    exact: str


CONSTANTS = [
    Constant("5", "5", "5"),
    Constant("'5'", "5", "5"),
    Constant("'0.05'", "0.05", "1/20"),
    Constant("0.05", "0.05", "1/20"),
    Constant("'1/2'", "1/2", "1/2"),
    Constant("-3", "-3", "-3"),
]


@pytest.mark.parametrize("case", CONSTANTS, ids=[c.written for c in CONSTANTS])
def test_a_constant_is_a_parameter(case: Constant, tmp_path: Path) -> None:
    bank = _bank(tmp_path, c=f"params:\n  n: {case.written}\nquestion: 'n is [[ n ]]'\nanswer: n\nexplanation: x\n")
    variant = _variant(bank)
    assert variant["question"] == f"n is {case.shown}"
    assert variant["params"] == {"n": case.exact}
    assert variant["answer"]["exact"] == case.exact


def test_a_bare_list_is_a_list_of_values(tmp_path: Path) -> None:
    body = "question: '[[ n ]]'\nanswer: n\nexplanation: x\n"
    short = _bank(tmp_path / "short", c="params:\n  n: [1, 2, 3]\n" + body)
    long = _bank(tmp_path / "long", c="params:\n  n: {values: [1, 2, 3]}\n" + body)
    copies = [json.loads(api.export("json", [bank], seed=3, count=6))["copies"] for bank in (short, long)]
    assert copies[0] == copies[1]


@pytest.mark.parametrize(("written", "message"), [
    ("null", "params.n: expected a number (5, 0.05, '1/2'), a list of values ([1, 2, 3])"),
    ("true", "params.n: expected a number"),
    ("[1, 1]", "params.n: values must be distinct"),
    ("[]", "params.n: List should have at least 1 item"),
    ("[1, abc]", "params.n[1]: n: value 2 ('abc') is a text, value 1 (1) a number"),
    ("{min: 0.1, max: 1}", "params.n.min: a range holds integers; list other numbers instead: {values: [0.1, 0.2]}"),
    ("{min: 1, max: '2.5'}", "params.n.max: a range holds integers"),
    (".inf", "params.n: n: inf is not a finite number"),
])
def test_a_bad_constant_names_file_line_and_field(written: str, message: str, tmp_path: Path) -> None:
    bank = _bank(tmp_path, c=f"params:\n  n: {written}\nquestion: '[[ n ]]'\nanswer: 1\nexplanation: x\n")
    with pytest.raises(TemplateError) as caught:
        api.generate([bank])
    assert str(caught.value).startswith(f"{tmp_path / 'c.yaml'}:7: {message}")


def test_the_schema_describes_constants_and_bare_lists() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(api.schema_json("exercise")))
    base = {"id": "c", "title": "T", "kind": "integer", "topic": "t", "question": "q", "explanation": "e",
            "answer": "n"}
    for param in (5, "5", "0.05", 0.05, [1, 2, 3], [0.1, "1/2"], {"values": [0.1]}):
        assert not list(validator.iter_errors({**base, "params": {"n": param}})), param
    for param in (None, True, [], {"values": []}):
        assert list(validator.iter_errors({**base, "params": {"n": param}})), param


# -- decimals stay decimals --------------------------------------------------------------------

DECAY = """params:
  lr0: {values: ["0.05"]}
  k: {values: [0.1]}
  keep: {expr: "1 - lr0"}
  third: {expr: "lr0 / 3"}
question: "[[ lr0 ]] [[ k ]] $[[ lr0 | latex ]]$ [[ keep ]] [[ third ]]"
answer: lr0 * keep**4
explanation: "$[[ lr0 ]] \\\\cdot [[ keep ]]^{4} = [[ answer | latex ]]$; $[[ third ]]^{2}$, $[[ third | latex ]]^2$"
"""


def test_decimal_values_print_as_decimals_and_stay_exact(tmp_path: Path) -> None:
    variant = _variant(_bank(tmp_path, decay=DECAY))
    # A decimal and what decimals make stay decimals; 0.05/3 has no finite decimal: a fraction.
    assert variant["question"] == "0.05 0.1 $0.05$ 0.95 1/60"
    assert variant["explanation"] == (r"$0.05 \cdot 0.95^{4} = 0.0407253125$; $(1/60)^{2}$, "
                                      r"$\left(\frac{1}{60}\right)^2$")
    # Underneath, exact rationals, recorded as SymPy reads them exactly.
    assert variant["params"] == {"lr0": "1/20", "k": "1/10", "keep": "19/20", "third": "1/60"}
    assert variant["answer"]["exact"] == "130321/3200000"


@pytest.mark.parametrize(("raw", "value", "shown"), [
    (0.1, Fraction(1, 10), "0.1"),
    ("0.1", Fraction(1, 10), "0.1"),
    (0.30000, Fraction(3, 10), "0.3"),
    (1e-05, Fraction(1, 100000), "0.00001"),
    ("-0.05", Fraction(-1, 20), "-0.05"),
    ("1e-3", Fraction(1, 1000), "0.001"),
    (2.0, 2, "2"),
    ("1/2", Fraction(1, 2), "1/2"),
])
def test_a_decimal_is_read_exactly_as_written(raw: float | str, value: Fraction, shown: str) -> None:
    parsed = parse_value(raw, "n")
    assert parsed == value
    assert str(parsed) == shown


def test_an_unquoted_number_with_more_digits_than_a_float_keeps_is_refused_with_a_hint() -> None:
    with pytest.raises(ExprError, match="write it in quotes"):
        parse_value(0.1 + 0.2, "n")


def test_unquoted_decimal_values_are_accepted(tmp_path: Path) -> None:
    bank = _bank(tmp_path, k="params:\n  k: {values: [0.1, 0.25]}\nquestion: '[[ k ]]'\nanswer: 3*k\nexplanation: x\n")
    answers = {v["answer"]["exact"] for c in json.loads(api.export("json", [bank], count=2))["copies"]
               for v in c["variants"]}
    assert answers == {"3/10", "3/4"}


def test_decimal_arithmetic_keeps_the_mark_while_the_decimal_is_finite() -> None:
    lr0 = DecimalFraction(Fraction(1, 20))
    env = {"lr0": lr0, "n": 3}
    results = {source: compile_expr(source, frozenset(env)).evaluate(env)
               for source in ("1 - lr0", "lr0 * n", "lr0**2", "-lr0", "Abs(-lr0)", "sqrt(lr0 / 5)", "lr0 / n",
                              "lr0 * 20", "lr0 + 1/3")}
    assert {source: str(value) for source, value in results.items()} == {
        "1 - lr0": "0.95", "lr0 * n": "0.15", "lr0**2": "0.0025", "-lr0": "-0.05", "Abs(-lr0)": "0.05",
        "sqrt(lr0 / 5)": "0.1", "lr0 / n": "1/60", "lr0 * 20": "1", "lr0 + 1/3": "23/60"}
    assert lr0 == Fraction(1, 20) and hash(lr0) == hash(Fraction(1, 20))
    assert (latex(lr0), exact(lr0), num(lr0, 3)) == ("0.05", "1/20", "0.050")


@pytest.mark.parametrize("source", ["lr0 * 20", "20 * lr0", "lr0 + 0.95", "1 - lr0 * 20", "1/20 * 40", "0.5 + 1/2"])
def test_a_whole_result_is_an_integer(source: str) -> None:
    env = {"lr0": DecimalFraction(Fraction(1, 20))}
    value = compile_expr(source, frozenset(env)).evaluate(env)
    assert type(value) is int


def test_an_integer_answer_over_decimals_is_exact(tmp_path: Path) -> None:
    body = ("params:\n  lr: {values: ['0.05', 0.1]}\n  k: {values: [20, 40]}\n  keep: {expr: 1 - 0.05}\n"
            "question: '[[ lr ]] times [[ k ]], [[ keep ]] kept'\nanswer: lr * k\nexplanation: x\n")
    bank = _bank(tmp_path, k=body.replace("", "", 0))
    (bank / "k.yaml").write_text(HEADER.format(id="k").replace("kind: numeric", "kind: integer")
                                 .replace("tolerance: {relative: '0.01'}\n", "") + body, encoding="utf-8")
    variants = [c["variants"][0] for c in json.loads(api.export("json", [bank], count=4))["copies"]]
    assert {v["answer"]["value"] for v in variants} == {1, 2, 4}
    assert all(v["question"].endswith(", 0.95 kept") for v in variants)


# -- num never prints a non-zero value as zero -------------------------------------------------


@pytest.mark.parametrize(("value", "places", "text"), [
    (Fraction(1, 1000), 2, "0.0010"),
    (Fraction(-1, 1000), 2, "-0.0010"),
    (Fraction(-1, 3000), 2, "-0.00033"),
    (Fraction(1, 3), 0, "0.3"),
    (Fraction(1, 200), 2, "0.01"),
    (Fraction(1, 201), 2, "0.0050"),
    (0, 2, "0.00"),
    (Fraction(1234, 1000), 2, "1.23"),
])
def test_num_never_prints_a_nonzero_value_as_zero(value: Fraction, places: int, text: str) -> None:
    assert num(value, places) == text


# -- a fraction under a power gets parentheses -----------------------------------------------------


@pytest.mark.parametrize(("source", "text"), [
    ("[[ x ]]^{4}", "(19/20)^{4}"),
    ("[[ x | latex ]]^{4}", r"\left(\frac{19}{20}\right)^{4}"),
    ("[[ d ]]^{4}", "0.95^{4}"),
    ("[[ n ]]^2 [[ m ]]^2", "(-5)^2 3^2"),
    ("([[ x ]])^2 [[ x ]] ^2", "(19/20)^2 19/20 ^2"),
    ("[% if m %][[ x ]]^{4}[% endif %]", "(19/20)^{4}"),
])
def test_a_printed_value_under_a_power_is_bracketed(source: str, text: str) -> None:
    context = {"x": Fraction(19, 20), "d": DecimalFraction(Fraction(19, 20)), "n": -5, "m": 3}
    compiled, _ = compile_text(source)
    assert compiled.render(context) == text
    assert compiled.template.render(context) == text  # Jinja's render agrees with the direct join


# -- --param is checked against the domain and the constraints ---------------------------------------

FAN_IN = """params:
  n_in: {min: 2, max: 16}
  even: {min: 2, max: 16, step: 2}
  lr0: {values: ["0.05", "0.1"]}
question: "fan-in [[ n_in ]], [[ even ]], [[ lr0 ]]"
answer: 12 / n_in
explanation: x
"""


def _generate(bank: Path, *args: str, out: Path | None = None) -> Any:
    options = ["-o", str(out)] if out is not None else []
    return CliRunner().invoke(cli, ["generate", str(bank), "-f", "json", *options, *args])


@pytest.mark.parametrize(("pin", "message"), [
    ("n_in=999", "--param n_in=999: not a value n_in can take in he-init (2..16)"),
    ("n_in=-5", "--param n_in=-5: not a value n_in can take in he-init (2..16)"),
    ("n_in=1/2", "--param n_in=1/2: not a value n_in can take in he-init (2..16)"),
    ("even=3", "--param even=3: not a value even can take in he-init (2..16 step 2)"),
    ("lr0=0.2", "--param lr0=0.2: not a value lr0 can take in he-init (0.05, 0.1)"),
    ("n_in=four", "--param n_in=four: not an exact number"),
])
@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "file"])
def test_a_pin_outside_the_domain_is_an_error_and_nothing_is_written(
        pin: str, message: str, to_file: bool, tmp_path: Path) -> None:
    bank = _bank(tmp_path / "bank", **{"he-init": FAN_IN})
    out = tmp_path / "quiz.json" if to_file else None
    result = _generate(bank, "--param", pin, out=out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}")
    assert list(tmp_path.iterdir()) == [tmp_path / "bank"]


def test_a_pin_takes_the_value_as_the_parameter_declares_it(tmp_path: Path) -> None:
    bank = _bank(tmp_path, **{"he-init": FAN_IN})
    for written in ("0.05", "1/20", "0.050"):
        variant = _variant(bank, params={"lr0": written, "n_in": "4"})
        assert variant["question"].endswith(", 0.05")
        assert variant["answer"]["exact"] == "3"


def test_a_pin_one_exercise_cannot_take_names_it(tmp_path: Path) -> None:
    other = "params:\n  n_in: {values: [16, 32]}\nquestion: '[[ n_in ]]'\nanswer: n_in\nexplanation: x\n"
    bank = _bank(tmp_path, **{"he-init": FAN_IN, "wide": other})
    with pytest.raises(UsageError, match=r"--param n_in=4: not a value n_in can take in wide \(16, 32\); --exercise"):
        api.generate([bank], params={"n_in": "4"})
    assert api.quiz([bank], params={"n_in": "16"}).copies[0].variants[1].params["n_in"] == "16"


RATIO = """params:
  n_in: {min: 1, max: 5}
  n_out: {min: 1, max: 5}
constraints:
  - "n_in != n_out"
  - "n_in + n_out <= 4"
question: "[[ n_in ]] [[ n_out ]]"
answer: n_in / n_out
explanation: x
"""


@pytest.mark.parametrize(("pins", "message"), [
    (["n_in=3", "n_out=3"], "--param n_in=3 --param n_out=3: breaks the constraint 'n_in != n_out' of ratio "),
    (["n_in=4"], "--param n_in=4: no draw of ratio "),
])
@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "file"])
def test_a_constraint_broken_by_a_pin_names_the_pin(pins: list[str], message: str, to_file: bool,
                                                    tmp_path: Path) -> None:
    bank = _bank(tmp_path / "bank", ratio=RATIO)
    out = tmp_path / "quiz.json" if to_file else None
    result = _generate(bank, *[arg for pin in pins for arg in ("--param", pin)], out=out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {message}")
    assert list(tmp_path.iterdir()) == [tmp_path / "bank"]


def test_a_template_error_met_under_a_pin_names_the_pin(tmp_path: Path) -> None:
    body = "params:\n  n_in: {min: 2, max: 16}\nquestion: '[[ n_in ]]'\nanswer: sqrt(-n_in)\nexplanation: x\n"
    bank = _bank(tmp_path / "bank", broken=body)
    result = _generate(bank, "--param", "n_in=5")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: with --param n_in=5: ")
    assert "answer: not a finite real number" in result.stderr
