"""Tests of engine.formula: grammar, Unicode, positions, limits and the FormulaError-only contract."""

from __future__ import annotations

import pickle
import re
import time
from typing import NamedTuple

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.grading.checker.formula import (
    DEFAULT_LIMITS,
    FormulaError,
    Limits,
    describe,
    make_symbols,
    parse_formula,
    parse_syntax,
    to_text,
)

VARS = {"n_in": "positive_integer", "n_out": "positive_integer", "x": "real", "y": "real"}
S = make_symbols(VARS)
n_in, n_out, x, y = S["n_in"], S["n_out"], S["x"], S["y"]


class Valid(NamedTuple):
    text: str
    expected: sympy.Expr


VALID = [
    Valid("2/n_in", 2 / n_in),
    Valid("2*n_in^-1", 2 / n_in),
    Valid("2*n_in**-1", 2 / n_in),
    Valid("(4/2)/n_in", 2 / n_in),
    Valid("sqrt(6/(n_in+n_out))", sympy.sqrt(6) / sympy.sqrt(n_in + n_out)),
    # numbers: exact rationals from the decimal text
    Valid("2.5", sympy.Rational(5, 2)),
    Valid(".5", sympy.Rational(1, 2)),
    Valid("1e-3", sympy.Rational(1, 1000)),
    Valid("2.5E+2", sympy.Integer(250)),
    Valid("0.1", sympy.Rational(1, 10)),
    Valid("007", sympy.Integer(7)),
    # power: right-associative, tighter than unary minus
    Valid("-x^2", -(x**2)),
    Valid("2^3^2", sympy.Integer(512)),
    Valid("2^-1", sympy.Rational(1, 2)),
    Valid("2^-3*4", sympy.Rational(1, 2)),
    Valid("(-x)^2", x**2),
    Valid("--x", x),
    Valid("+x", x),
    Valid("x-y-1", x - y - 1),
    Valid("x/y/2", x / y / 2),
    # implicit multiplication
    Valid("2n_in", 2 * n_in),
    Valid("2 x", 2 * x),
    Valid("2(x+1)", 2 * x + 2),
    Valid("(x+1)(x-1)", (x + 1) * (x - 1)),
    Valid("(x+1)y", (x + 1) * y),
    Valid("2pi", 2 * sympy.pi),
    Valid("2sin(x)", 2 * sympy.sin(x)),
    Valid("sin(x)cos(x)", sympy.sin(x) * sympy.cos(x)),
    Valid("2x^2", 2 * x**2),
    Valid("1/2x", x / 2),
    Valid("2e3", sympy.Integer(2000)),
    Valid("2e", 2 * sympy.E),
    Valid("2e-x", 2 * sympy.E - x),
    # functions and constants
    Valid("log(x, 2)", sympy.log(x) / sympy.log(2)),
    Valid("ln(x)", sympy.log(x)),
    Valid("arcsin(x)", sympy.asin(x)),
    Valid("arctanh(x)", sympy.atanh(x)),
    Valid("abs(x)", sympy.Abs(x)),
    Valid("Abs(x)", sympy.Abs(x)),
    Valid("sign(x)", sympy.sign(x)),
    Valid("sec(x)+csc(x)+cot(x)", sympy.sec(x) + sympy.csc(x) + sympy.cot(x)),
    Valid("asec(x)+acsc(x)+acot(x)", sympy.asec(x) + sympy.acsc(x) + sympy.acot(x)),
    Valid("sinh(x)+cosh(x)+tanh(x)", sympy.sinh(x) + sympy.cosh(x) + sympy.tanh(x)),
    Valid("factorial(5)", sympy.Integer(120)),
    Valid("binomial(10, 3)", sympy.Integer(120)),
    Valid("factorial(n_in)", sympy.factorial(n_in)),
    Valid("exp(1)", sympy.E),
    Valid("e", sympy.E),
    Valid("E^x", sympy.exp(x)),
    Valid("pi", sympy.pi),
    Valid("sqrt(-1)", sympy.I),
    Valid("log(exp(x))", x),
    # what authors' keys print: rounding and extrema are graded too
    Valid("Max(n_in, n_out)", sympy.Max(n_in, n_out)),
    Valid("Min(x, y, 2)", sympy.Min(x, y, 2)),
    Valid("floor((n_in+2*n_out-3)/2)+1", sympy.floor((n_in + 2 * n_out - 3) / 2) + 1),
    Valid("ceiling(x/2)", sympy.ceiling(x / 2)),
    Valid("floor(7/2) + ceiling(7/2)", sympy.Integer(7)),
    Valid("floor(10^40/7)", sympy.Integer(10**40 // 7)),
    # Unicode
    Valid("x\u22121", x - 1),
    Valid("2\u00d7x", 2 * x),
    Valid("2\u00b7x", 2 * x),
    Valid("2\u22c5x", 2 * x),
    Valid("x\u00f72", x / 2),
    Valid("\uff12\uff58", 2 * x),
    Valid("\uff12\uff0a\uff58", 2 * x),
    Valid("x\u00b2", x**2),
    Valid("10\u207b\u00b3", sympy.Rational(1, 1000)),
    Valid("  x \t+\n 1 ", x + 1),
]


@pytest.mark.parametrize("case", VALID, ids=[c.text for c in VALID])
def test_valid_formula(case: Valid) -> None:
    assert parse_formula(case.text, VARS) == case.expected


class Invalid(NamedTuple):
    text: str
    message: str
    position: int | None


INVALID = [
    Invalid("", "the formula is empty", None),
    Invalid("  ", "the formula is empty", None),
    Invalid("2*m", "unknown symbol m", 3),
    Invalid("n_in n_out", "missing operator between n_in and n_out", 6),
    Invalid("x 2", "missing operator between x and 2", 3),
    Invalid("2 3", "missing operator between 2 and 3", 3),
    Invalid("(x+1)2", "missing operator between ')' and 2", 6),
    Invalid("pi x", "missing operator between pi and x", 4),
    Invalid("f(x)", "unknown function f", 1),
    Invalid("foo(x)", "unknown function foo", 1),
    Invalid("Sin(x)", "unknown function Sin", 1),
    Invalid("sin x", "function sin needs parentheses, e.g. sin(x)", 1),
    Invalid("sin^2(x)", "write sin(x)^2 instead of sin^2(x)", 1),
    Invalid("sin()", "sin() needs an argument", 4),
    Invalid("sin(x, y)", "sin takes 1 argument (got 2)", 1),
    Invalid("log(x, y, 2)", "log takes 1 or 2 arguments (got 3)", 1),
    Invalid("binomial(x)", "binomial takes 2 arguments (got 1)", 1),
    Invalid(
        "x,y",
        "unexpected ',' (commas only separate function arguments; use a point for decimals)",
        2,
    ),
    Invalid(
        "1,5",
        "unexpected ',' (commas only separate function arguments; use a point for decimals)",
        2,
    ),
    Invalid("()", "empty parentheses", 1),
    Invalid("(x", "unclosed '('", 1),
    Invalid("x)", "unmatched ')'", 2),
    Invalid("x+", "the formula ends too early after '+'", 3),
    Invalid("*x", "unexpected '*'", 1),
    Invalid("x**", "the formula ends too early after '^'", 4),
    Invalid("1.", "a decimal point must be followed by digits", 2),
    Invalid("1.2.3", "unexpected '.'", 4),
    Invalid(".", "unexpected '.'", 1),
    Invalid("x.y", "attribute access with '.' is not allowed", 2),
    Invalid("(x).y", "attribute access with '.' is not allowed", 4),
    Invalid("[x]", "square brackets are not allowed; use ( ) for grouping", 1),
    Invalid("{x}", "curly brackets are not allowed; use ( ) for grouping", 1),
    Invalid("x=1", "'=' is not allowed: enter only the expression", 2),
    Invalid("x;y", "';' is not allowed", 2),
    Invalid("'x'", "quotes are not allowed", 1),
    Invalid("`x`", "backticks are not allowed", 1),
    Invalid("x!", "'!' is not allowed; write factorial(n)", 2),
    Invalid("x%2", "unexpected character '%'", 2),
    Invalid("x@y", "unexpected character '@'", 2),
    Invalid("n_\u0456n", "unexpected character '\u0456'", 3),  # Cyrillic i
    Invalid("\u0430", "unexpected character '\u0430'", 1),  # Cyrillic a
    Invalid("\u03b1+1", "unexpected character '\u03b1'", 1),  # Greek alpha
    Invalid("\u00bd", "unexpected character '\u00bd'", 1),  # vulgar fraction one half
    Invalid("\u200bx", "unexpected character U+200B", 1),  # zero-width space
    Invalid("x\x00", "unexpected character U+0000", 2),
    Invalid("\uff58\uff0b\u0430", "unexpected character '\u0430'", 3),  # position in the original
    Invalid("x\u00b2+m", "unknown symbol m", 4),  # superscript counts as one column
    Invalid("I", "unknown symbol I", 1),
    Invalid("i", "unknown symbol i", 1),
    Invalid("oo", "unknown symbol oo", 1),
    Invalid("zoo", "unknown symbol zoo", 1),
    Invalid("nan", "unknown symbol nan", 1),
    Invalid("lambda", "unknown symbol lambda", 1),
    Invalid("__import__(x)", "unknown function __import__", 1),
    Invalid("1/0", "division by zero", 2),
    Invalid("0/0", "division by zero", 2),
    Invalid("x/(2-2)", "the formula is undefined (for example a division by zero)", None),
    Invalid("0^-1", "division by zero (0 to a negative power)", 2),
    Invalid("x/(x-x)", "the formula is undefined (for example a division by zero)", None),
    Invalid("log(0)", "the formula is undefined (for example a division by zero)", None),
    Invalid("9**9**9**9", "exponent too large (at most 1000)", 5),
    Invalid("10**100**100", "exponent too large (at most 1000)", 3),
    Invalid("2^1001", "exponent too large (at most 1000)", 2),
    Invalid("x^(-1001)", "exponent too large (at most 1000)", 2),
    Invalid("2^(pi*1000)", "exponent too large (at most 1000)", 2),
    Invalid("2^exp(1000)", "exponent too large (at most 1000)", 2),
    Invalid("2^sqrt(-(2^1000))", "exponent too large (at most 1000)", 2),
    Invalid("factorial(10**9)", "factorial argument too large (at most 1000)", 13),
    Invalid("factorial(1001)", "factorial argument too large (at most 1000)", 11),
    Invalid("binomial(x, 2000)", "binomial argument too large (at most 1000)", 13),
    Invalid("(x*10^30)^1000", "number too large", 10),
    Invalid("((x+1)^1000)^1000", "number too large", 13),
    Invalid("1e1001", "number too large", 1),
    Invalid("floor(exp(exp(10)))", "number too large", 1),
    Invalid("Max(x)^2000", "exponent too large (at most 1000)", 7),
    Invalid("floor(x, y)", "floor takes 1 argument (got 2)", 1),
    Invalid("1" * 31, "number has too many digits (at most 30)", 1),
    Invalid("0." + "1" * 31, "number has too many digits (at most 30)", 1),
]


@pytest.mark.parametrize("case", INVALID, ids=[repr(c.text)[:40] for c in INVALID])
def test_invalid_formula(case: Invalid) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(case.text, VARS)
    assert info.value.message == case.message
    assert info.value.position == case.position


def test_describe_says_what_then_where() -> None:
    err = FormulaError("unknown symbol m", 3)
    assert describe(err, "2*m") == "unknown symbol m at position 3"
    assert describe(err, "2*m", caret=True) == "unknown symbol m at position 3\n2*m\n  ^"
    assert describe(FormulaError("the formula is empty")) == "the formula is empty"
    assert str(err) == "unknown symbol m at position 3"


def test_formula_error_pickles_with_its_fields() -> None:
    err = pickle.loads(pickle.dumps(FormulaError("unknown symbol m", 3)))
    assert (err.message, err.position) == ("unknown symbol m", 3)


class Shadow(NamedTuple):
    text: str
    symbols: dict[str, str]
    expected: str


SHADOWING = [
    Shadow("e", {}, "E"),
    Shadow("e", {"e": "real"}, "e"),
    Shadow("E", {"E": "positive"}, "E_symbol"),
    Shadow("2e3", {"e": "real"}, "2000"),  # scientific notation still wins
]


@pytest.mark.parametrize("case", SHADOWING, ids=[f"{c.text}-{list(c.symbols)}" for c in SHADOWING])
def test_declared_names_shadow_e_and_E(case: Shadow) -> None:
    result = parse_formula(case.text, case.symbols)
    if case.expected == "E":
        assert result == sympy.E
    elif case.expected == "E_symbol":
        assert result == sympy.Symbol("E", positive=True)
    elif case.expected == "e":
        assert result == sympy.Symbol("e", real=True)
    else:
        assert result == sympy.Integer(case.expected)


class Assumed(NamedTuple):
    assumption: str
    integer: bool | None
    positive: bool | None
    real: bool | None


ASSUMED = [
    Assumed("real", None, None, True),
    Assumed("positive", None, True, True),
    Assumed("nonnegative", None, None, True),
    Assumed("integer", True, None, True),
    Assumed("positive_integer", True, True, True),
]


@pytest.mark.parametrize("case", ASSUMED, ids=[c.assumption for c in ASSUMED])
def test_make_symbols_assumptions(case: Assumed) -> None:
    sym = make_symbols({"k": case.assumption})["k"]
    assert sym.is_real is case.real
    if case.integer:
        assert sym.is_integer
    if case.positive:
        assert sym.is_positive
    if case.assumption == "nonnegative":
        assert sym.is_nonnegative


BAD_SYMBOLS = [
    ({"sin": "real"}, "it is a function or constant"),
    ({"pi": "real"}, "it is a function or constant"),
    ({"ln": "real"}, "it is a function or constant"),
    ({"_x": "real"}, "invalid variable name"),
    ({"x.y": "real"}, "invalid variable name"),
    ({"x": "complex"}, "unknown assumption"),
]


@pytest.mark.parametrize(("symbols", "message"), BAD_SYMBOLS, ids=[str(s) for s, _ in BAD_SYMBOLS])
def test_bad_symbol_declarations_are_configuration_errors(
    symbols: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_formula("1", symbols)


# --- limits -------------------------------------------------------------------------------

BIG = Limits(max_length=10**7, max_tokens=10**7)


class Limited(NamedTuple):
    name: str
    text: str
    limits: Limits
    message: str


LIMITED = [
    Limited(
        "1 MB string",
        "x" * 1_000_000,
        DEFAULT_LIMITS,
        "formula too long (1000000 characters; at most 1000)",
    ),
    Limited(
        "10000 parentheses",
        "(" * 10_000 + "x" + ")" * 10_000,
        DEFAULT_LIMITS,
        "formula too long (20001 characters; at most 1000)",
    ),
    Limited(
        "10000 parentheses, length allowed",
        "(" * 10_000 + "x" + ")" * 10_000,
        BIG,
        "too deeply nested (at most 40 levels)",
    ),
    Limited("10000 unary minus", "-" * 10_000 + "x", BIG, "too deeply nested (at most 40 levels)"),
    Limited("power tower", "x" + "^x" * 5_000, BIG, "too deeply nested (at most 40 levels)"),
    Limited(
        "recursion beyond Python",
        "-" * 100_000 + "x",
        Limits(max_length=10**6, max_tokens=10**6, max_depth=10**6),
        "too deeply nested",
    ),
    Limited(
        "too many tokens",
        "+".join(["x"] * 201),
        DEFAULT_LIMITS,
        "formula too long (more than 400 numbers, names and operators)",
    ),
    Limited(
        "41 nested parentheses",
        "(" * 41 + "x" + ")" * 41,
        DEFAULT_LIMITS,
        "too deeply nested (at most 40 levels)",
    ),
]


@pytest.mark.parametrize("case", LIMITED, ids=[c.name for c in LIMITED])
def test_limits_reject_quickly(case: Limited) -> None:
    start = time.monotonic()
    with pytest.raises(FormulaError) as info:
        parse_formula(case.text, VARS, limits=case.limits)
    assert info.value.message == case.message
    assert time.monotonic() - start < 2.0


def test_forty_nested_parentheses_are_fine() -> None:
    assert parse_formula("(" * 40 + "x" + ")" * 40, VARS) == x


def test_length_is_checked_before_normalisation() -> None:
    # 1 MB of full-width characters would be slow to NFKC; it must not even be looked at.
    start = time.perf_counter()
    with pytest.raises(FormulaError, match="formula too long"):
        parse_formula("\uff58" * 1_000_000, VARS)
    assert time.perf_counter() - start < 0.05


def test_parse_syntax_builds_no_sympy_and_round_trips() -> None:
    tree = parse_syntax("2n_in + (x+1)(x-1)/-y^2 - e", VARS)
    text = to_text(tree)
    assert text == "2*n_in+(x+1)*(x-1)/(-y^2)-e"
    assert parse_formula(text, VARS) == parse_formula("2n_in + (x+1)(x-1)/-y^2 - e", VARS)


# --- properties ---------------------------------------------------------------------------

ALPHABET = list("0123456789.eExy+-*/^(), _") + [
    "**",
    "sin",
    "sqrt",
    "log",
    "factorial",
    "n_in",
    "pi",
    "\u2212",
    "\u00b2",
    "\uff11",
    "\u0430",
]
grammar_text = st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join)


def _only_formula_errors(text: str) -> None:
    try:
        result = parse_formula(text, VARS)
    except FormulaError as err:
        assert isinstance(err.message, str) and err.message
        assert err.position is None or 1 <= err.position <= len(text) + 1
        message = describe(err, text)
        # Names from the input are echoed ("unknown symbol File"), so look for a traceback's shape.
        assert "Traceback (" not in message and not re.search(r'File "[^"]*", line|\.py"', message)
    else:
        assert isinstance(result, sympy.Expr)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_formula_error(text: str) -> None:
    _only_formula_errors(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grammar_text)
def test_grammar_like_text_raises_only_formula_error(text: str) -> None:
    _only_formula_errors(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grammar_text)
def test_to_text_round_trips(text: str) -> None:
    try:
        tree = parse_syntax(text, VARS)
    except FormulaError:
        return
    canonical = to_text(tree)
    again = parse_syntax(canonical, VARS)
    assert to_text(again) == canonical
    try:
        first = parse_formula(text, VARS)
    except FormulaError:
        with pytest.raises(FormulaError):
            parse_formula(canonical, VARS)
        return
    assert parse_formula(canonical, VARS) == first


@pytest.mark.parametrize(
    ("text", "expected"),
    [("√2", "sqrt(2)"), ("√(2/n)", "sqrt(2/n)"), ("2√n", "2*sqrt(n)"), ("√n/√2", "sqrt(n)/sqrt(2)"),
     ("√2.5", "sqrt(2.5)")],
)
def test_square_root_sign(text: str, expected: str) -> None:
    symbols = {"n": "positive"}
    assert parse_formula(text, symbols) == parse_formula(expected, symbols)


@pytest.mark.parametrize("text", ["√", "√-1", "√x²", "√√4", "1+√"])
def test_square_root_sign_needs_an_operand(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text, {"x": "real"})


def test_expected_names_declares_the_expected_formulas_variables() -> None:
    from engine.grading.checker.formula import expected_names

    assert expected_names("sqrt(6/(n_in + n_out)) * pi + e^x + 1e-3") == {"n_in": "real", "n_out": "real", "x": "real"}
    assert expected_names("2x + log(y, 2) + 3e") == {"x": "real", "y": "real"}


@pytest.mark.parametrize(("expected", "response"), [("Max(n_in, n_out)", "Max(n_out, n_in)"),
                                                    ("floor((n_in+2*n_out-3)/2)+1", "floor((2n_out+n_in-3)/2)+1")])
def test_keys_templates_may_print_are_graded(expected: str, response: str) -> None:
    from engine.grading.checker.compare import compare
    from engine.grading.checker.verdict import CompareRequest

    request = CompareRequest(kind="formula", expected=expected, response=response, vars=VARS)
    assert compare(request).status == "correct"
