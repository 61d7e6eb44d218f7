"""Polynomial identity of two formulas, decided in this process without SymPy.

A response that expands to the same polynomial as the key (``n+n`` for ``2*n``) is correct:
the worker would prove the same identity (SymPy's evaluation or ``expand`` of the difference
gives 0). The texts are read by ``formula.parse_syntax``, the key under its own limits; then only
numbers, symbols, sums, products, division by a nonzero number and powers by a natural number
are expanded, under limits on terms, degree, digits and steps, so the work is small and bounded
whatever the text. Anything else, or anything larger, is left to the worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from engine.grading.checker.formula import FormulaError, parse_syntax
from engine.language.grammar import BinOp, Neg, Node, Num, Sym

__all__ = ["MAX_BITS", "MAX_DEGREE", "MAX_STEPS", "MAX_TERMS", "same_polynomial"]

MAX_TERMS = 32  # monomials in any intermediate polynomial
MAX_DEGREE = 32  # total degree of any monomial, and largest exponent
MAX_BITS = 256  # numerator + denominator bits of any coefficient
MAX_STEPS = 2_000  # monomial products and sums over one comparison: a few milliseconds

Monomial = tuple[tuple[str, int], ...]  # (symbol, exponent), sorted by name
Polynomial = dict[Monomial, Fraction]  # no zero coefficients


class _Declined(Exception):
    """Not a polynomial this module expands, or over a limit: the worker decides."""


def same_polynomial(expected: str, response: str, symbols: Mapping[str, str]) -> bool:
    """Whether both formulas expand to the same polynomial; False when either is not one within the limits."""
    expansion = _Expansion()
    try:
        return expansion.expand(parse_syntax(expected, symbols, key=True)) == expansion.expand(parse_syntax(response, symbols))
    except (FormulaError, _Declined):
        return False


class _Expansion:
    """One comparison's expansion, counting its steps against ``MAX_STEPS``."""

    def __init__(self) -> None:
        self.steps = 0

    def expand(self, node: Node) -> Polynomial:
        if isinstance(node, Num):
            return self._checked({(): node.value})
        if isinstance(node, Sym):
            return {((node.name, 1),): Fraction(1)}
        if isinstance(node, Neg):
            return {m: -c for m, c in self.expand(node.operand).items()}
        if not isinstance(node, BinOp):
            raise _Declined  # a constant (pi, e) or a function call
        left = self.expand(node.left)
        right = self.expand(node.right)
        if node.op == "+":
            return self._sum(left, right)
        if node.op == "-":
            return self._sum(left, {m: -c for m, c in right.items()})
        if node.op == "*":
            return self._product(left, right)
        if node.op == "/":
            return self._product(left, {(): 1 / _constant(right)})
        if node.op == "^":
            return self._power(left, _exponent(right))
        raise _Declined

    def _sum(self, a: Polynomial, b: Polynomial) -> Polynomial:
        total = dict(a)
        for monomial, coeff in b.items():
            self._step()
            total[monomial] = total.get(monomial, Fraction(0)) + coeff
        return self._checked(total)

    def _product(self, a: Polynomial, b: Polynomial) -> Polynomial:
        total: Polynomial = {}
        for m, c in a.items():
            for n, d in b.items():
                self._step()
                monomial = _times(m, n)
                total[monomial] = total.get(monomial, Fraction(0)) + c * d
        return self._checked(total)

    def _power(self, base: Polynomial, exponent: int) -> Polynomial:
        result: Polynomial = {(): Fraction(1)}
        for _ in range(exponent):
            result = self._product(result, base)
        return result

    def _step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _Declined

    @staticmethod
    def _checked(poly: Polynomial) -> Polynomial:
        poly = {m: c for m, c in poly.items() if c}
        if len(poly) > MAX_TERMS:
            raise _Declined
        for c in poly.values():
            if c.numerator.bit_length() + c.denominator.bit_length() > MAX_BITS:
                raise _Declined
        return poly


def _times(m: Monomial, n: Monomial) -> Monomial:
    powers = dict(m)
    for name, exponent in n:
        powers[name] = powers.get(name, 0) + exponent
    if sum(powers.values()) > MAX_DEGREE:
        raise _Declined
    return tuple(sorted(powers.items()))


def _constant(poly: Polynomial) -> Fraction:
    """The nonzero number a polynomial is, or decline (division by a symbol or by zero)."""
    if len(poly) != 1 or () not in poly:
        raise _Declined
    return poly[()]


def _exponent(poly: Polynomial) -> int:
    """A natural exponent up to ``MAX_DEGREE``, or decline."""
    value = _constant(poly) if poly else Fraction(0)
    if value.denominator != 1 or not 0 <= value <= MAX_DEGREE:
        raise _Declined
    return int(value)
