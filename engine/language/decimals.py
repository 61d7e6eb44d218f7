"""Rationals written as decimals (0.05): exact as a `Fraction`, printed as the decimal they are.

The mark travels with the value rather than with the parameter's declaration, so every place a
value goes (text, filters, Jinja arithmetic, derived parameters, `--param` pins) prints it the
way the author wrote it, with no table of names to keep in step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any


def terminates(denominator: int) -> bool:
    """Whether 1/denominator has a finite decimal expansion (only 2 and 5 divide it)."""
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def decimal_text(value: Fraction) -> str:
    """The exact decimal text of a rational with a finite expansion: Fraction(1, 20) -> '0.05'."""
    p, q = value.numerator, value.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        raise ValueError(f"{value} has no finite decimal expansion")
    places = max(twos, fives)
    digits = str(abs(p) * (10**places // value.denominator)).rjust(places + 1, "0")
    sign = "-" if p < 0 else ""
    return sign + (digits[:-places] + "." + digits[-places:] if places else digits)


def keep_decimal(result: Any) -> Any:
    """A rational result of decimals as a decimal while it has a finite expansion (and is not an
    integer: those stay as `Fraction` arithmetic gives them); anything else unchanged."""
    if type(result) is Fraction and result.denominator != 1 and terminates(result.denominator):
        return DecimalFraction(result)
    return result


def _binary(method: Callable[[Fraction, Any], Any]) -> Callable[[Fraction, Any], Any]:
    def apply(self: Fraction, other: Any) -> Any:
        if type(other) is float and math.isfinite(other):
            # A decimal literal in a Jinja expression (lr0 + 0.1) is the decimal the author wrote,
            # not its binary float: lr0 + 0.1 is 0.15, not 0.15000000000000002.
            other = Fraction(repr(other))
        return keep_decimal(method(self, other))

    apply.__name__ = method.__name__
    return apply


def _unary(method: Callable[[Fraction], Any]) -> Callable[[Fraction], Any]:
    def apply(self: Fraction) -> Any:
        return keep_decimal(method(self))

    apply.__name__ = method.__name__
    return apply


class DecimalFraction(Fraction):
    """A rational written as a decimal: equal to (and hashed as) its `Fraction`, printed '0.05'.

    Arithmetic with integers, fractions and decimals keeps the mark while the result has a finite
    decimal expansion: 1 - 0.05 is 0.95, but 0.05 / 3 is the fraction 1/60.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return decimal_text(self)

    def __repr__(self) -> str:
        return f"DecimalFraction('{self}')"

    __add__ = _binary(Fraction.__add__)
    __radd__ = _binary(Fraction.__radd__)
    __sub__ = _binary(Fraction.__sub__)
    __rsub__ = _binary(Fraction.__rsub__)
    __mul__ = _binary(Fraction.__mul__)
    __rmul__ = _binary(Fraction.__rmul__)
    __truediv__ = _binary(Fraction.__truediv__)
    __rtruediv__ = _binary(Fraction.__rtruediv__)
    __mod__ = _binary(Fraction.__mod__)
    __rmod__ = _binary(Fraction.__rmod__)
    __pow__ = _binary(Fraction.__pow__)
    __neg__ = _unary(Fraction.__neg__)
    __pos__ = _unary(Fraction.__pos__)
    __abs__ = _unary(Fraction.__abs__)
