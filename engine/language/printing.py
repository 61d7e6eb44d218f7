"""Printing exact values: LaTeX, SymPy's text, fixed and significant decimals, circled option numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from engine.language.exact import Surd, Value, from_sympy, to_sympy
from engine.language.symbolic import sympy
from engine.language.symforms import SymForm


def circled(number: int) -> str:
    """Option number as the chapter prints it: 1 -> ①, up to ⑳."""
    if not 1 <= number <= 20:
        raise ValueError(f"option number {number} out of range 1..20")
    return chr(0x2460 + number - 1)


def latex(value: Value) -> str:
    """LaTeX of an exact value: Fraction(1, 5) -> \\frac{1}{5}."""
    value = from_sympy(value)
    if isinstance(value, bool):
        return r"\text{true}" if value else r"\text{false}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        body = rf"\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
        return "- " + body if value < 0 else body
    if isinstance(value, Surd | SymForm):
        return value.latex()
    return str(sympy().latex(to_sympy(value)))


def exact(value: Value) -> str:
    """SymPy's text of an exact value, as the JSON export records it: '1/5', 'sqrt(15)/5'."""
    value = from_sympy(value)
    if isinstance(value, int | Fraction | Surd | SymForm) and not isinstance(value, bool):
        return str(value)
    return str(to_sympy(value))


# Guard digits: a figure of p digits is rounded from the value computed to p + _GUARD digits.
_GUARD = 20
_DECIMAL_EXACT = frozenset({int, Fraction, Surd})  # computed with `decimal` (bool is not one)


def _exact_decimal(value: int | Fraction | Surd, precision: int) -> Decimal:
    ctx = Context(prec=precision)
    if isinstance(value, Surd):
        coeff = value.coeff
        ratio = ctx.divide(Decimal(coeff.numerator), Decimal(coeff.denominator))
        return ctx.multiply(ratio, ctx.sqrt(Decimal(value.radicand)))
    return ctx.divide(Decimal(value.numerator), Decimal(value.denominator))


def approximate(value: Value, precision: int) -> Decimal:
    """value to `precision` significant digits, correctly rounded from a more precise value.

    Rationals and c·√m (the usual layer-size answers) are computed with `decimal`;
    anything else goes through SymPy's evalf.
    """
    value = from_sympy(value)
    if type(value) in _DECIMAL_EXACT:
        return Context(prec=precision).plus(_exact_decimal(value, precision + _GUARD))
    if isinstance(value, SymForm | bool):
        raise ValueError(f"{value} is not a real number")
    number = to_sympy(value)
    if not (number.is_number and number.is_real):
        raise ValueError(f"{value} is not a real number")
    return Context(prec=precision).plus(Decimal(str(sympy().N(number, precision + _GUARD))))


def to_decimal(value: Value, places: int) -> Decimal:
    """Exact value rounded half-up to `places` decimals, without passing through a float."""
    value = from_sympy(value)
    quantum = Decimal(1).scaleb(-places)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).quantize(quantum)
    # Enough significant digits for every integer digit, the places asked and a margin.
    magnitude = max(1, approximate(value, 20).adjusted() + 1)
    approx = approximate(value, places + magnitude + 25)
    return approx.quantize(quantum, rounding=ROUND_HALF_UP, context=Context(prec=places + magnitude + 30))


def num(value: Value, places: int = 4) -> str:
    """Fixed-point text of an exact value: num(sqrt(15)/5, 4) -> '0.7746'."""
    text = format(to_decimal(value, places), "f")
    return "0" + text[2:] if text.startswith("-0") and set(text[1:]) <= {"0", "."} else text


def significant(value: Value, digits: int = 20) -> str:
    """Plain decimal text of an exact value to `digits` significant digits (no exponent)."""
    value = from_sympy(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    result = format(approximate(value, digits).normalize(), "f")
    return result if result not in ("-0", "") else "0"
