"""Sample points of a formula answer: where the page evaluates a student's formula, and the key's
and each misconception's exact values there, computed when the page is written.

Each symbol takes values its assumption allows (a positive integer, a real number, ...); the
symbols of one point take different values, so that formulas which agree only where two symbols
are equal (``2/(a + b)`` and ``1/a``) are told apart. A point where the key is not a finite real
number, or is zero, is skipped: the browser compares relative to the value, and at a zero an
equivalent formula comes out as rounding noise (``0.1n - 0.3`` at n = 3 is 5.6e-17, not 0). A
misconception's zero is left out the same way (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from engine.generation.quiz import FormulaAnswer, Misconception
from engine.language.exact import CompiledExpr, compile_expr
from engine.language.printing import approximate
from engine.language.values import ExprError, Value
from engine.vocabulary import Assumption

POINTS = 4
DIGITS = 17  # a double's worth: the browser compares in floating point
_CANDIDATES = 12  # candidate points tried, for a key undefined at some of them
_STRIDE = 5  # symbol j of point k takes value k + 5j of its table: different values in one point
_POSITIVE_INTEGERS = ("3", "7", "2", "11", "5", "13", "4", "9", "17", "6", "19", "8")
_INTEGERS = ("3", "-2", "5", "-7", "2", "11", "-3", "4", "-5", "7", "6", "-4")
_POSITIVE = ("0.7", "1.3", "2.6", "3.1", "0.45", "1.9", "4.2", "0.35", "2.2", "5.5", "1.15", "3.7")
_REALS = ("0.7", "-1.3", "2.6", "-0.45", "1.9", "3.1", "-2.2", "0.35", "-4.2", "1.15", "5.5", "-0.8")
TABLES: dict[Assumption, tuple[str, ...]] = {
    "positive_integer": _POSITIVE_INTEGERS,
    "integer": _INTEGERS,
    "positive": _POSITIVE,
    "nonnegative": _POSITIVE,  # zero, the edge of the domain, is where formulas tend to be undefined
    "real": _REALS,
}
_MAGNITUDE = 300  # beyond about 1e±300 a double is infinite or zero
ZERO = "0"  # how _value writes zero


@dataclass(frozen=True)
class Samples:
    """The points (one decimal text per symbol), the key's values there, and each misconception's
    (None where it is undefined)."""

    points: list[list[str]]
    key: list[str]
    wrong: list[list[str | None]]


def samples(answer: FormulaAnswer, misconceptions: list[Misconception]) -> Samples:
    """The sample points of a formula answer; no points when the key cannot be evaluated at any."""
    names = list(answer.symbols)
    known = frozenset(names)
    key = compile_expr(answer.expr, known)
    wrong = [_compiled(m.value, known) for m in misconceptions]
    points: list[list[str]] = []
    key_values: list[str] = []
    wrong_values: list[list[str | None]] = [[] for _ in wrong]
    for k in range(_CANDIDATES):
        point = [TABLES[answer.symbols[name]][(k + _STRIDE * j) % _CANDIDATES] for j, name in enumerate(names)]
        env: dict[str, Value] = {name: _exact(text) for name, text in zip(names, point, strict=True)}
        value = _value(key, env)
        if value is None or value == ZERO:
            continue
        points.append(point)
        key_values.append(value)
        for values, expr in zip(wrong_values, wrong, strict=True):
            wrong_value = None if expr is None else _value(expr, env)
            values.append(None if wrong_value == ZERO else wrong_value)
        if len(points) == POINTS:
            break
    return Samples(points, key_values, wrong_values)


def _compiled(source: str, known: frozenset[str]) -> CompiledExpr | None:
    try:
        return compile_expr(source, known)
    except ExprError:  # a misconception the page cannot read only loses its feedback
        return None


def _exact(text: str) -> Value:
    value = Fraction(text)
    return value.numerator if value.denominator == 1 else value


def _value(expr: CompiledExpr, env: dict[str, Value]) -> str | None:
    """The value to DIGITS significant digits, or None when it is not a finite real number a double holds."""
    try:
        value = expr.evaluate(env)
        decimal = approximate(value, DIGITS)
    except (ExprError, ValueError, TypeError, ArithmeticError):
        return None
    if not decimal.is_finite() or (not decimal.is_zero() and abs(decimal.adjusted()) > _MAGNITUDE):
        return None
    return ZERO if decimal.is_zero() else str(decimal.normalize())
