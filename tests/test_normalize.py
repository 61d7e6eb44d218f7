"""Tests of engine.normalize: one table per answer kind, one per error kind, exact tolerance boundaries."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.grading.checker.normalize import (
    NormalizeError,
    Unanswered,
    canonical_number,
    normalize_choice,
    normalize_integer,
    normalize_numeric,
    normalize_true_false,
    parse_tolerance,
    to_fraction,
    within_approximation,
    within_tolerance,
)


class Case(NamedTuple):
    raw: str
    expected: Any


class Bad(NamedTuple):
    raw: str
    message: str


BLANKS = ["", " ", "\t\n", "\u3000", "\u00a0"]

# --- choice -------------------------------------------------------------------------------

CHOICE = [
    Case("1", 1),
    Case(" 1 ", 1),
    Case("\u2460", 1),  # circled digit one
    Case("(1)", 1),
    Case("( 2 )", 2),
    Case("1.", 1),
    Case("1)", 1),
    Case("\uff11", 1),  # full-width
    Case("\u2474", 1),  # parenthesized digit one
    Case("\u2488", 1),  # digit one full stop
    Case("3", 3),
    Case("03", 3),
]

CHOICE_BAD = [
    Bad("4", "option 4 does not exist (1–3)"),
    Bad("0", "option 0 does not exist (1–3)"),
    Bad("\u2463", "option 4 does not exist (1–3)"),
    Bad("99999999999", "option does not exist (1–3)"),
    Bad("a", "answer with the option number (1–3), not a letter"),
    Bad("B", "answer with the option number (1–3), not a letter"),
    Bad("1,2", "give exactly one option number"),
    Bad("1 2", "give exactly one option number"),
    Bad("-1", "answer with an option number (1–3)"),
    Bad("1.5", "give exactly one option number"),
    Bad("one", "answer with an option number (1–3)"),
    Bad("x" * 201, "answer too long (at most 200 characters)"),
]


@pytest.mark.parametrize("case", CHOICE, ids=[repr(c.raw) for c in CHOICE])
def test_choice(case: Case) -> None:
    assert normalize_choice(case.raw, 3) == case.expected


@pytest.mark.parametrize("case", CHOICE_BAD, ids=[repr(c.raw)[:20] for c in CHOICE_BAD])
def test_choice_invalid(case: Bad) -> None:
    with pytest.raises(NormalizeError) as info:
        normalize_choice(case.raw, 3)
    assert info.value.message == case.message


def test_choice_needs_options() -> None:
    with pytest.raises(ValueError):
        normalize_choice("1", 0)


# --- true / false -------------------------------------------------------------------------

TRUE_FALSE = [
    Case("1", True),
    Case("2", False),
    Case("\u2460", True),
    Case("\u2461", False),
    Case("true", True),
    Case("TRUE", True),
    Case("True", True),
    Case("false", False),
    Case("FaLsE", False),
    Case("T", True),
    Case("t", True),
    Case("F", False),
    Case("O", True),
    Case("o", True),
    Case("X", False),
    Case("x", False),
    Case("\u25cb", True),  # white circle
    Case("\u00d7", False),  # multiplication sign
    Case("yes", True),
    Case("No", False),
    Case(" \uff34 ", True),  # full-width T
]

TRUE_FALSE_BAD = [
    Bad("0", "0 is ambiguous: answer 1 (true) or 2 (false)"),
    Bad("3", "answer true or false (or 1 = true, 2 = false)"),
    Bad("maybe", "answer true or false (or 1 = true, 2 = false)"),
    Bad("y", "answer true or false (or 1 = true, 2 = false)"),
]


@pytest.mark.parametrize("case", TRUE_FALSE, ids=[repr(c.raw) for c in TRUE_FALSE])
def test_true_false(case: Case) -> None:
    assert normalize_true_false(case.raw) is case.expected


@pytest.mark.parametrize("case", TRUE_FALSE_BAD, ids=[c.raw for c in TRUE_FALSE_BAD])
def test_true_false_invalid(case: Bad) -> None:
    with pytest.raises(NormalizeError) as info:
        normalize_true_false(case.raw)
    assert info.value.message == case.message


# --- integer ------------------------------------------------------------------------------

INTEGER = [
    Case("10", 10),
    Case("+10", 10),
    Case("-10", -10),
    Case("\u221210", -10),  # Unicode minus
    Case("\uff0d10", -10),  # full-width hyphen-minus
    Case("10.0", 10),
    Case("10.", 10),
    Case("1e1", 10),
    Case("1.5E1", 15),
    Case("\uff11\uff10", 10),
    Case(" 0 ", 0),
    Case("-0", 0),
    Case("12345678901234567890", 12345678901234567890),
]

INTEGER_BAD = [
    Bad("10.5", "not an integer"),
    Bad("1e-1", "not an integer"),
    Bad(
        "1,000",
        "commas are ambiguous: write numbers without thousands separators, with a point for decimals",
    ),
    Bad("10,5", "use a point as decimal separator (0.5, not 0,5)"),
    Bad("1 000", "remove the spaces inside the number"),
    Bad("- 5", "remove the spaces inside the number"),
    Bad("ten", "not a number (write digits like 0.25 or -1.5e-3)"),
    Bad("0x10", "not a number (write digits like 0.25 or -1.5e-3)"),
    Bad("1e999999999", "number out of range"),
    Bad("1e60", "number out of range"),
    Bad("inf", "not a finite number"),
    Bad("1/2", "not a number (write digits like 0.25 or -1.5e-3)"),
]


@pytest.mark.parametrize("case", INTEGER, ids=[repr(c.raw) for c in INTEGER])
def test_integer(case: Case) -> None:
    value = normalize_integer(case.raw)
    assert value == case.expected and type(value) is int


@pytest.mark.parametrize("case", INTEGER_BAD, ids=[repr(c.raw) for c in INTEGER_BAD])
def test_integer_invalid(case: Bad) -> None:
    with pytest.raises(NormalizeError) as info:
        normalize_integer(case.raw)
    assert info.value.message == case.message


# --- numeric ------------------------------------------------------------------------------

NUMERIC = [
    Case("0.1095", Decimal("0.1095")),
    Case(".1095", Decimal("0.1095")),
    Case("-.5", Decimal("-0.5")),
    Case("+.5", Decimal("0.5")),
    Case("5.", Decimal("5")),
    Case("1.2e-3", Decimal("0.0012")),
    Case("1.2E-3", Decimal("0.0012")),
    Case("1.2e+3", Decimal("1200")),
    Case("\uff10.\uff15", Decimal("0.5")),  # full-width digits, ASCII point
    Case("\uff10\uff0e\uff15", Decimal("0.5")),  # full-width point
    Case("\u22120.5", Decimal("-0.5")),
    Case("1/3", Fraction(1, 3)),
    Case("-2 / 4", Fraction(-1, 2)),
    Case(
        "0.1000000000000000000000000000000000000000000000001",
        Decimal("0.1000000000000000000000000000000000000000000000001"),
    ),
]

NUMERIC_BAD = [
    Bad("0,5", "use a point as decimal separator (0.5, not 0,5)"),
    Bad(
        "1,000.5",
        "commas are ambiguous: write numbers without thousands separators, with a point for decimals",
    ),
    Bad("NaN", "not a finite number"),
    Bad("nan", "not a finite number"),
    Bad("Infinity", "not a finite number"),
    Bad("-inf", "not a finite number"),
    Bad("\u221e", "not a finite number"),
    Bad("5%", "write the number without %"),
    Bad("1/0", "division by zero"),
    Bad(".", "not a number (write digits like 0.25 or -1.5e-3)"),
    Bad("1e", "not a number (write digits like 0.25 or -1.5e-3)"),
    Bad("sqrt(2)", "not a number (write digits like 0.25 or -1.5e-3)"),
    Bad("1" * 51, "too many digits (at most 50)"),
    Bad("1e1001", "number out of range"),
    Bad("1e-1001", "number out of range"),
    Bad("1e9999999999999", "number out of range"),
]


@pytest.mark.parametrize("case", NUMERIC, ids=[repr(c.raw)[:20] for c in NUMERIC])
def test_numeric(case: Case) -> None:
    value = normalize_numeric(case.raw)
    assert value == case.expected and type(value) is type(case.expected)


@pytest.mark.parametrize("case", NUMERIC_BAD, ids=[repr(c.raw)[:20] for c in NUMERIC_BAD])
def test_numeric_invalid(case: Bad) -> None:
    with pytest.raises(NormalizeError) as info:
        normalize_numeric(case.raw)
    assert info.value.message == case.message


NORMALIZERS = [
    ("choice", lambda raw: normalize_choice(raw, 3)),
    ("true_false", normalize_true_false),
    ("integer", normalize_integer),
    ("numeric", normalize_numeric),
]


@pytest.mark.parametrize("raw", BLANKS, ids=[repr(b) for b in BLANKS])
@pytest.mark.parametrize(("kind", "normalize"), NORMALIZERS, ids=[k for k, _ in NORMALIZERS])
def test_blank_is_unanswered_not_invalid(kind: str, normalize: Any, raw: str) -> None:
    with pytest.raises(Unanswered):
        normalize(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_normalizers_raise_only_their_own_errors(raw: str) -> None:
    for _, normalize in NORMALIZERS:
        try:
            normalize(raw)
        except (NormalizeError, Unanswered):
            pass


CANONICAL = [
    (Decimal("0.0012"), "0.0012"),
    (Decimal("1.2E+3"), "1200"),
    (Decimal("10.50"), "10.5"),
    (Decimal("-0.0"), "0"),
    (Decimal("1E-900"), "1E-900"),
    (Fraction(1, 3), "1/3"),
    (7, "7"),
]


@pytest.mark.parametrize(("value", "text"), CANONICAL, ids=[t for _, t in CANONICAL])
def test_canonical_number(value: Any, text: str) -> None:
    assert canonical_number(value) == text


# --- tolerance ----------------------------------------------------------------------------


class Tol(NamedTuple):
    response: str
    expected: Any
    tolerance: dict[str, Any] | None
    within: bool


SQRT_06 = sympy.sqrt(sympy.Rational(6, 10))  # 0.7745966692414833770...

TOLERANCE = [
    # exact boundaries, absolute
    Tol("10.5", 10, {"absolute": "0.5"}, True),
    Tol("9.5", 10, {"absolute": "0.5"}, True),
    Tol("10.5000000001", 10, {"absolute": "0.5"}, False),
    Tol("9.4999999999", 10, {"absolute": "0.5"}, False),
    Tol("10.1", Decimal("10"), {"absolute": 0.1}, True),  # float tolerance via repr: exactly 0.1
    # exact boundaries, relative
    Tol("11", 10, {"relative": "0.1"}, True),
    Tol("11.0000001", 10, {"relative": "0.1"}, False),
    Tol("-11", -10, {"relative": "0.1"}, True),
    Tol("0.1106", "0.1095", {"relative": "0.01"}, False),
    Tol("0.110595", "0.1095", {"relative": "0.01"}, True),
    Tol("0", 0, {"relative": "0.5"}, True),
    Tol("0.0001", 0, {"relative": "0.5"}, False),
    # no tolerance means equality
    Tol("0.1", Fraction(1, 10), None, True),
    Tol("1/3", Fraction(1, 3), None, True),
    Tol("0.3333", Fraction(1, 3), None, False),
    Tol("0.5", sympy.Rational(1, 2), None, True),
    # irrational expected value
    Tol("0.7746", SQRT_06, {"absolute": "0.0001"}, True),
    Tol("0.7747", SQRT_06, {"absolute": "0.0001"}, False),
    Tol("0.7744966692414833770", SQRT_06, {"absolute": "0.0001"}, False),  # just outside
    Tol("0.7744966692414833771", SQRT_06, {"absolute": "0.0001"}, True),  # just inside
    Tol("0.77", SQRT_06, {"relative": "0.01"}, True),
    Tol("0.76", SQRT_06, {"relative": "0.01"}, False),
    Tol("0.7745966692414834", SQRT_06, None, False),
    Tol("3.14159", sympy.pi, {"absolute": "0.00001"}, True),
    Tol("0.5", sympy.sin(sympy.pi / 6), None, True),
    # a rational in disguise sitting exactly on the boundary
    Tol("1.5", sympy.sqrt(2) * sympy.sqrt(2) / 2, {"absolute": "0.5"}, True),
]


@pytest.mark.parametrize(
    "case", TOLERANCE, ids=[f"{c.response}~{c.expected}{c.tolerance}" for c in TOLERANCE]
)
def test_within_tolerance(case: Tol) -> None:
    response = normalize_numeric(case.response)
    assert within_tolerance(response, case.expected, case.tolerance) is case.within


def test_irrational_boundary_far_beyond_double_precision() -> None:
    # sqrt(2) = 1.41421356237309504880168872420969807856967187537694...; tolerance 1e-45
    e = sympy.sqrt(2)
    inside = Decimal("1.414213562373095048801688724209698078569671875377")
    assert within_tolerance(inside, e, {"absolute": "1e-45"})
    assert not within_tolerance(inside + Decimal("2e-45"), e, {"absolute": "1e-45"})


def test_ladder_near_a_boundary_far_beyond_the_float_range() -> None:
    # |1e400 − sqrt(2)| is within 1e400 by sqrt(2): far inside the noise at that scale, so the
    # ladder decides (its noise bound once went through float() and overflowed).
    assert within_tolerance(Decimal("1e400"), sympy.sqrt(2), {"absolute": "1e400"})
    assert not within_tolerance(Decimal("1e400"), sympy.sqrt(2), {"absolute": "9.99e399"})


SQRT_2 = Fraction("1.41421356237")  # sqrt(2) within 1e-11


@pytest.mark.parametrize(
    ("response", "tolerance", "within"),
    [
        ("1.5", ("absolute", "0.1"), True),
        ("1.6", ("absolute", "0.1"), False),
        ("1.42421356237", ("absolute", "0.01"), None),  # on the boundary up to the error
        ("1.4", ("relative", "0.02"), True),
        ("1.4", ("relative", "0.01"), False),
        ("1.4", None, False),
        ("1.41421356237", None, None),
    ],
)
def test_within_approximation(response: str, tolerance: tuple[str, str] | None, within: bool | None) -> None:
    tol = (tolerance[0], Fraction(tolerance[1])) if tolerance else None
    assert within_approximation(Fraction(response), SQRT_2, Fraction(1, 10**11), tol) is within


BAD_TOLERANCE = [
    {"absolute": "-1"},
    {"absolute": "1", "relative": "1"},
    {"percent": "1"},
    {},
    {"absolute": "nan"},
    {"absolute": True},
]


@pytest.mark.parametrize("tolerance", BAD_TOLERANCE, ids=[str(t) for t in BAD_TOLERANCE])
def test_bad_tolerance_is_a_configuration_error(tolerance: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_tolerance(tolerance)


def test_float_values_convert_through_their_decimal_text() -> None:
    assert to_fraction(0.1) == Fraction(1, 10)
    assert to_fraction(0.1095) == Fraction(1095, 10000)
    with pytest.raises(ValueError):
        to_fraction(float("inf"))
    with pytest.raises(ValueError):
        to_fraction(True)
