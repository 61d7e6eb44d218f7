"""Formula answers that were graded wrongly (issue 11): real domains kept whole, keys exempt from
the student limits, a variable before ``(`` multiplies, digits of any script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.grading.checker.compare import Comparer, compare
from engine.grading.checker.formula import FormulaError, parse_formula, parse_syntax
from engine.grading.checker.sandbox import Sandbox
from engine.grading.checker.verdict import CompareRequest
from engine.language.allow import formula_hint


class Case(NamedTuple):
    expected: str
    response: str
    vars: dict[str, str]
    status: str


REAL = {"x": "real"}
ABC = {"a": "real", "b": "real", "c": "real"}

# Where the key is not real, the values are compared as complex numbers (principal branches).
DOMAIN = [
    Case("sqrt(x)", "sqrt(Abs(x))", REAL, "incorrect"),
    Case("log(x)", "log(Abs(x))", REAL, "incorrect"),
    Case("x^(1/3)", "Abs(x)^(1/3)", REAL, "incorrect"),
    Case("(a^b)^c", "a^(b*c)", ABC, "incorrect"),
    Case("sqrt(x)*sqrt(y)", "sqrt(x*y)", {"x": "real", "y": "real"}, "incorrect"),
    # ... and equal where the assumptions make them equal
    Case("sqrt(x)", "sqrt(Abs(x))", {"x": "positive"}, "correct"),
    Case("log(x)", "log(Abs(x))", {"x": "positive"}, "correct"),
    Case("x^(1/3)", "Abs(x)^(1/3)", {"x": "nonnegative"}, "correct"),
    Case("(a^b)^c", "a^(b*c)", {"a": "positive", "b": "real", "c": "real"}, "correct"),
    Case("(a^b)^c", "a^(b*c)", {"a": "real", "b": "integer", "c": "integer"}, "correct"),
    Case("sqrt(x)", "sqrt(Abs(x))", {"x": "positive_integer"}, "correct"),
    # identities that hold on the complex principal branches stay correct
    Case("sqrt(x)", "x^(1/2)", REAL, "correct"),
    Case("asin(x)", "pi/2 - acos(x)", REAL, "correct"),
    Case("sqrt(1-x^2)", "sqrt(1-x)*sqrt(1+x)", REAL, "correct"),
    Case("log(x^2)", "2*log(Abs(x))", REAL, "correct"),
    Case("sqrt(x^2)", "Abs(x)", REAL, "correct"),
    # floor and ceiling of a complex value round each part, as SymPy does
    Case("floor(sqrt(x))", "floor(sqrt(Abs(x)))", REAL, "incorrect"),
    Case("ceiling(x^(1/3))", "ceiling(x^(1/3))+0*x", REAL, "correct"),
    # Max has no value at a complex argument: agreeing where both have one is not enough
    Case("Max(sqrt(x), 0)", "Max(sqrt(Abs(x)), 0)", REAL, "undecided"),
    Case("Max(sqrt(x), 0)", "Max(sqrt(Abs(x)), 0)", {"x": "positive"}, "correct"),
]


@pytest.mark.parametrize("case", DOMAIN, ids=[f"{c.expected}~{c.response}~{c.vars}" for c in DOMAIN])
def test_a_real_variable_keeps_its_whole_domain(case: Case) -> None:
    request = CompareRequest(kind="formula", expected=case.expected, response=case.response, vars=case.vars)
    assert compare(request).status == case.status


# --- the key is exempt from the student limits ------------------------------------------------

XA = {"x": "real", "a": "real"}


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ("(x-a)^6000", "correct"),  # the key's own text, over the student's exponent limit
        ("( x - a ) ^ 6000", "correct"),
        ("x", "incorrect"),
        ("(x-a)^1000*(x-a)^1000", "incorrect"),
        ("(x-a)^5999", "incorrect"),  # the key's notation sets the student's exponent limit
        ("(x-a)^7000", "invalid"),  # beyond it (and a tenth), it stays bounded
    ],
)
def test_a_large_exponent_in_the_key_is_judged(response: str, status: str) -> None:
    verdict = compare(CompareRequest(kind="formula", expected="(x-a)^6000", response=response, vars=XA))
    assert (verdict.status, verdict.key_fault) == (status, None), verdict


def test_the_key_is_read_without_the_student_limits() -> None:
    with pytest.raises(FormulaError, match="exponent too large"):
        parse_syntax("(x-a)^6000", XA)
    parse_syntax("(x-a)^6000", XA, key=True)
    assert str(parse_formula("(x-a)^6000", XA, key=True)) == "(-a + x)**6000"
    # a huge number is still refused by the parser's own bound, with a message
    with pytest.raises(FormulaError, match="too many digits"):
        parse_syntax("1" * 5000, {}, key=True)


def test_a_key_that_truly_hangs_is_too_costly() -> None:
    box = Sandbox(timeout=0.5)
    try:
        run = Comparer(box)
        request = CompareRequest(kind="formula", expected="10^(10^12)*x", response="x", vars=REAL)
        verdict = run.compare(request)
        assert (verdict.status, verdict.key_fault) == ("undecided", "too_costly"), verdict
        # its own text is not taken on trust while the key cannot be built
        same = run.compare(request.model_copy(update={"response": "10^(10^12)*x"}))
        assert (same.status, same.key_fault) == ("undecided", "too_costly"), same
    finally:
        box.close()


# --- a declared variable (or constant) before "(" multiplies ---------------------------------

S = {"s": "real", "n_in": "positive_integer", "n_out": "positive_integer", "x": "real"}


@pytest.mark.parametrize(
    ("expected", "response", "status"),
    [
        ("s*(1-s)", "s(1-s)", "correct"),
        ("s(1-s)", "s - s^2", "correct"),  # keys are read the same way
        ("n_in*(n_out+1)", "n_in(n_out+1)", "correct"),
        ("n_in*(n_out+1)", "n_in (n_out+1)", "correct"),
        ("2*pi*(x+1)", "2pi(x+1)", "correct"),
        ("(1-s)/s", "1/s(1-s)", "correct"),  # the precedence of *, as 1/2x is x/2
        ("s*(1-s)", "s(1+s)", "incorrect"),
        ("sin(x)", "sin(x)", "correct"),  # a function's ( is still its call
        ("s", "f(s)", "invalid"),
    ],
)
def test_a_variable_before_a_parenthesis_multiplies(expected: str, response: str, status: str) -> None:
    verdict = compare(CompareRequest(kind="formula", expected=expected, response=response, vars=S))
    assert verdict.status == status, verdict


def test_a_function_before_a_parenthesis_is_still_a_call_and_unknown_names_are_refused() -> None:
    assert str(parse_formula("x(x+1)", S)) == "x*(x + 1)"
    with pytest.raises(FormulaError, match="unknown function f"):
        parse_formula("f(x)", S)
    with pytest.raises(FormulaError, match="function sin needs parentheses"):
        parse_formula("sin x", S)


# --- digits of any script ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ("\u0663x+\u0662", "correct"),  # Arabic-Indic ٣x+٢
        ("\u06f3x+\u06f2", "correct"),  # Extended Arabic-Indic (Persian) ۳x+۲
        ("\u0969x+\u0968", "correct"),  # Devanagari ३x+२
        ("\uff13x+\uff12", "correct"),  # full-width, as before
        ("\u0664x+\u0662", "incorrect"),  # ٤x+٢
    ],
)
def test_digits_of_any_script_are_digits(response: str, status: str) -> None:
    verdict = compare(CompareRequest(kind="formula", expected="3x+2", response=response, vars=REAL))
    assert verdict.status == status, verdict


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ("\u0445", "invalid"),  # Cyrillic x: a letter of another script is still not a name
        ("x\u0663", "invalid"),  # a digit joins a name as an ASCII digit would: x3 is not declared
        ("x\u00b9", "correct"),  # superscripts are a power, as before
        ("\u2167", "invalid"),  # Roman numeral eight (a letter number): NFKC gives VIII, no name
        ("\u2460x", "correct"),  # circled one: NFKC gives 1, as before
        ("x\u066b5", "invalid"),  # the Arabic decimal separator is not opened
        ("\u00bdx", "invalid"),  # vulgar fraction: NFKC gives a fraction slash
        ("\u0e53", "incorrect"),  # Thai three is a decimal digit
    ],
)
def test_nothing_else_opens(response: str, status: str) -> None:
    verdict = compare(CompareRequest(kind="formula", expected="x", response=response, vars=REAL))
    assert verdict.status == status, verdict


# --- the CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["sqrt(x)", "sqrt(Abs(x))", "--vars", "x:real"], "incorrect"),
        (["sqrt(x)", "sqrt(Abs(x))", "--vars", "x:positive"], "correct"),
        (["log(x)", "log(Abs(x))", "--vars", "x"], "incorrect"),
        (["x^(1/3)", "Abs(x)^(1/3)", "--vars", "x"], "incorrect"),
        (["(a^b)^c", "a^(b*c)", "--vars", "a,b,c"], "incorrect"),
        (["(a^b)^c", "a^(b*c)", "--vars", "a:positive,b,c"], "correct"),
        (["(x-a)^6000", "(x-a)^6000", "--vars", "x,a"], "correct"),
        (["(x-a)^6000", "x", "--vars", "x,a"], "incorrect"),
        (["s*(1-s)", "s(1-s)", "--vars", "s"], "correct"),
        (["n_in*(n_out+1)", "n_in(n_out+1)", "--vars", "n_in:positive,n_out:positive"], "correct"),
        (["3x+2", "\u0663x+\u0662", "--vars", "x"], "correct"),
    ],
)
def test_compare_cli(args: list[str], status: str) -> None:
    result = CliRunner().invoke(cli, ["compare", *args])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    verdict = json.loads(line)
    assert verdict["status"] == status and "key_fault" not in verdict, line


# --- a formula syntax hint with every formula question, in every format -----------------------

FIXTURES = Path(__file__).parent / "fixtures"
BASIC, MOODLE = FIXTURES / "basic", FIXTURES / "moodle"
HINT = formula_hint(["n_in", "n_out"])


def test_the_hint_names_the_rules_in_the_question_s_own_symbols() -> None:
    assert "`n_in(n_out+1)` means `n_in*(n_out+1)`" in HINT
    assert "`^` for powers" in HINT and "`*` to multiply" in HINT and "\n" not in HINT
    assert "`s(s+1)` means `s*(s+1)`" in formula_hint(["s"])
    assert formula_hint([]).endswith("`log(...)`.")


def test_the_markdown_worksheet_has_the_hint_before_each_formula_answer(tmp_path: Path) -> None:
    out = tmp_path / "quiz.md"
    api.export("markdown", [BASIC], output=out, seed=3, count=2)
    sheets = out.read_text(encoding="utf-8")
    for question in sheets.split("\n## ")[1:]:
        formula = "(a formula in" in question
        assert (f"*{formula_hint(['n_in'])}*" in question or f"*{HINT}*" in question) == formula, question
        if formula:
            assert question.index("Write the formula in plain text") < question.index("**Answer**")
    assert sheets.count("Write the formula in plain text") == 2  # he-formula, in two copies


def test_the_json_export_has_the_hint_on_each_formula_answer() -> None:
    quiz = json.loads(api.export("json", [MOODLE / "formula.yaml", MOODLE / "numeric.yaml"], seed=1, count=2))
    answers = [v["answer"] for c in quiz["copies"] for v in c["variants"]]
    assert [a.get("syntax_hint") for a in answers if a["type"] == "formula"] == [HINT, HINT]
    assert all("syntax_hint" not in a for a in answers if a["type"] != "formula")
    schema = json.loads(api.schema_json("quiz"))
    assert "syntax_hint" in json.dumps(schema)


def test_a_key_saved_before_the_hint_still_loads() -> None:
    from engine.generation.quiz import FormulaAnswer

    old = {"type": "formula", "expr": "x", "latex": "x", "symbols": {"x": "real"}}
    assert FormulaAnswer.model_validate(old).syntax_hint == formula_hint(["x"])


def test_a_moodle_essay_shows_the_hint_and_a_multiple_choice_formula_does_not() -> None:
    essay = api.export("moodle", [MOODLE / "formula-essay.yaml"], seed=1, count=1)
    assert "<code>n_in(n_out+1)</code> means <code>n_in*(n_out+1)</code>" in essay
    assert "Write the formula in plain text" in essay.split("<questiontext")[1].split("</questiontext>")[0]
    chosen = api.export("moodle", [MOODLE / "formula.yaml"], seed=1, count=1)
    assert "Which of the expressions below gives" in chosen and "Write the formula" not in chosen


def test_authors_write_the_product_explicitly_and_are_told_so() -> None:
    from engine.language import grammar
    from engine.language.allow import AUTHOR
    from engine.language.tokens import AUTHOR_LIMITS, GrammarError

    # An exercise file is Python-like: `s(1-s)` was never a product there, and is not now.
    with pytest.raises(GrammarError, match=r"s is not a function; write s\*\(\.\.\.\) to multiply"):
        grammar.parse("s(1-s)", AUTHOR, {"s"}, AUTHOR_LIMITS)
    with pytest.raises(GrammarError, match="function 'f' is not allowed"):
        grammar.parse("f(1-s)", AUTHOR, {"s"}, AUTHOR_LIMITS)


def test_agreement_on_part_of_the_domain_is_not_evidence() -> None:
    import sympy

    from engine.grading.checker.equivalence import equivalent

    x = sympy.Symbol("x", real=True)
    key, response = sympy.Max(sympy.sqrt(x), 0), sympy.Max(sympy.sqrt(sympy.Abs(x)), 0)
    outcome = equivalent(key, response, {"x": x}, prove=False)
    assert (outcome.status, outcome.reason) == ("undecided", "one-sided") and outcome.one_sided > 0
