"""Printing exact values: LaTeX, SymPy's text, fixed and significant decimals, circled option numbers."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import TypeVar

from engine.language.decimals import DecimalFraction
from engine.language.symbolic import sympy
from engine.language.symforms import SymForm
from engine.language.values import Surd, Value, from_sympy, to_sympy

T = TypeVar("T")


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
    if isinstance(value, int | DecimalFraction):
        return str(value)
    if isinstance(value, Fraction):
        body = rf"\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
        return "- " + body if value < 0 else body
    if isinstance(value, Surd | SymForm):
        return value.latex()
    return str(sympy().latex(to_sympy(value)))


def exact(value: Value) -> str:
    """SymPy's text of an exact value, as the JSON export records it: '1/5', 'sqrt(15)/5'.

    A decimal too (0.05 -> '1/20'): SymPy reads '0.05' as an inexact float.
    """
    value = from_sympy(value)
    if isinstance(value, DecimalFraction):
        return Fraction.__str__(value)
    if isinstance(value, int | Fraction | Surd | SymForm) and not isinstance(value, bool):
        return str(value)
    return str(to_sympy(value))


# Guard digits: a figure of p digits is rounded from the value computed to p + _GUARD digits.
_GUARD = 20
_DECIMAL_EXACT = frozenset({int, Fraction, DecimalFraction, Surd})  # computed with `decimal` (bool is not one)


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
        # Room for every digit: the default 28 would refuse 10**25 to 3 places.
        digits = len(str(abs(value))) + max(places, 0) + 1
        return Decimal(value).quantize(quantum, context=Context(prec=max(digits, 28)))
    # Enough significant digits for every integer digit, the places asked and a margin.
    magnitude = max(1, approximate(value, 20).adjusted() + 1)
    approx = approximate(value, places + magnitude + 25)
    return approx.quantize(quantum, rounding=ROUND_HALF_UP, context=Context(prec=places + magnitude + 30))


def num(value: Value, places: int = 4) -> str:
    """Fixed-point text of an exact value: num(sqrt(15)/5, 4) -> '0.7746'.

    A value that is not zero never prints as zero: one that rounds to zero at `places` decimals
    prints with `places` significant digits instead (num(1/1000, 2) -> '0.0010').
    """
    rounded = to_decimal(value, places)
    if rounded.is_zero():
        digits = max(places, 1)
        figure = approximate(value, digits + _GUARD)
        if not figure.is_zero():
            figure = Context(prec=digits, rounding=ROUND_HALF_UP).plus(figure)
            return format(figure.quantize(Decimal(1).scaleb(figure.adjusted() - digits + 1)), "f")
        return format(rounded.copy_abs(), "f")
    return format(rounded, "f")


def significant(value: Value, digits: int = 20) -> str:
    """Plain decimal text of an exact value to `digits` significant digits (no exponent)."""
    value = from_sympy(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    result = format(approximate(value, digits).normalize(), "f")
    return result if result not in ("-0", "") else "0"


class Printer:
    """The printing functions, remembering their results for one run (the draws of an exercise
    print the same values again and again). Each memo holds at most LIMIT results."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._latex: dict[Hashable, str] = {}
        self._exact: dict[Hashable, str] = {}
        self._num: dict[Hashable, str] = {}
        self._significant: dict[Hashable, str] = {}
        self._approximate: dict[Hashable, Decimal] = {}
        # The exercise-text filters that print values, printing through this printer.
        self.filters: dict[str, Callable[..., str]] = {"latex": self.latex, "num": self.num, "circled": circled}

    @classmethod
    def _keep(cls, memo: dict[Hashable, T], key: Hashable, result: T) -> T:
        if len(memo) >= cls.LIMIT:
            memo.clear()
        memo[key] = result
        return result

    def latex(self, value: Value) -> str:
        key = (type(value), value)  # 1 and True are equal keys, not equal values
        found = self._latex.get(key)
        return self._keep(self._latex, key, latex(value)) if found is None else found

    def exact(self, value: Value) -> str:
        key = (type(value), value)
        found = self._exact.get(key)
        return self._keep(self._exact, key, exact(value)) if found is None else found

    def num(self, value: Value, places: int = 4) -> str:
        key = (type(value), value, places)
        found = self._num.get(key)
        return self._keep(self._num, key, num(value, places)) if found is None else found

    def significant(self, value: Value, digits: int = 20) -> str:
        key = (type(value), value, digits)
        found = self._significant.get(key)
        return self._keep(self._significant, key, significant(value, digits)) if found is None else found

    def approximate(self, value: Value, precision: int) -> Decimal:
        key = (type(value), value, precision)
        found = self._approximate.get(key)
        return self._keep(self._approximate, key, approximate(value, precision)) if found is None else found
