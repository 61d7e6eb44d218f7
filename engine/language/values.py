"""Exact values of author expressions and the operations on them: `int`/`Fraction`, `Surd` (c·√m),
sums of symbols, and SymPy only where it must.

Python `int`/`Fraction` (and `Surd` for square roots of rationals) compute while the values
allow it; a free symbol, a sum of surds or a transcendental function goes to SymPy, so
sampling thousands of variants stays cheap and exact, and a bank that never needs SymPy
never imports it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from engine.errors import QuizwrightError
from engine.language.allow import AUTHOR
from engine.language.decimals import DecimalFraction, keep_decimal
from engine.language.symbolic import is_sympy, sympy, sympy_symbol
from engine.language.symforms import Reciprocal, RootReciprocal, SymbolSum, SymForm

Value = Any  # int | Fraction (DecimalFraction) | bool | Surd | SymbolSum | Reciprocal | RootReciprocal | sympy.Basic
Env = Mapping[str, Value]
Node = Callable[[Env], Value]


class ExprError(QuizwrightError, ValueError):
    """An author expression that does not parse or uses something not allowed."""


@dataclass(frozen=True, slots=True, eq=False)
class Surd:
    """c·√m with c a nonzero rational and m > 1 squarefree: the irrational square roots of layer
    sizes, kept out of SymPy (its printing and evalf cost more than the rest of a variant).

    It prints exactly as SymPy prints ``c*sqrt(m)``; any arithmetic but scaling goes to SymPy.
    Example: ``Surd(Fraction(1, 5), 15)`` is sqrt(15)/5, shown ``\\frac{\\sqrt{15}}{5}``.
    """

    coeff: Fraction
    radicand: int

    # Compared and hashed by integers: a run's printing memos look values up again and again,
    # and a Fraction's own hash and equality cost several times more.
    def __eq__(self, other: object) -> bool:
        if type(other) is not Surd:
            return NotImplemented
        a, b = self.coeff, other.coeff
        return self.radicand == other.radicand and a.numerator == b.numerator and a.denominator == b.denominator

    def __hash__(self) -> int:
        return hash((self.radicand, self.coeff.numerator, self.coeff.denominator))

    def __str__(self) -> str:
        p, q = self.coeff.numerator, self.coeff.denominator
        text = ("-" if p < 0 else "") + ("" if abs(p) == 1 else f"{abs(p)}*") + f"sqrt({self.radicand})"
        return text if q == 1 else f"{text}/{q}"

    def latex(self) -> str:
        p, q = self.coeff.numerator, self.coeff.denominator
        body = ("" if abs(p) == 1 else f"{abs(p)} ") + rf"\sqrt{{{self.radicand}}}"
        if q != 1:
            body = rf"\frac{{{body}}}{{{q}}}"
        return "- " + body if p < 0 else body

    def scaled(self, factor: int | Fraction) -> Value:
        return Surd(self.coeff * factor, self.radicand) if factor else 0


def to_sympy(value: Value) -> Any:
    """Exact SymPy form of an engine value."""
    sp = sympy()
    if isinstance(value, bool):
        return sp.true if value else sp.false
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, Surd):
        root = sp.Pow(sp.Integer(value.radicand), sp.S.Half, evaluate=False)
        coeff = sp.Rational(value.coeff.numerator, value.coeff.denominator)
        return coeff * root if coeff != 1 else root
    if isinstance(value, SymbolSum):
        return sp.Add(*(sympy_symbol(name, assumption) for name, assumption in value.symbols))
    if isinstance(value, Reciprocal):
        return sp.Integer(value.coeff) / to_sympy(value.denominator)
    if isinstance(value, RootReciprocal):
        return sp.sqrt(sp.Integer(value.coeff**2 * value.radicand) / to_sympy(value.denominator))
    return sp.sympify(value)


def free_names(value: Value) -> frozenset[str]:
    """The names of the symbols a value holds (SymPy's free symbols, without SymPy for its shapes)."""
    if isinstance(value, SymForm):
        return value.names
    if is_sympy(value):
        return frozenset(str(symbol) for symbol in value.free_symbols)
    return frozenset()


def from_sympy(value: Value) -> Value:
    """Back to int/Fraction/bool/Surd where SymPy holds a plain rational, truth value or c·√m."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else value
    if isinstance(value, int | Surd) or not is_sympy(value):
        return value
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    sp = sympy()
    if value is sp.true:
        return True
    if value is sp.false:
        return False
    if not isinstance(value, sp.Expr):
        return value  # an undecided relation: `truth` reports it
    coeff, rest = value.as_coeff_Mul()
    if (rest.is_Pow and rest.exp == sp.S.Half and rest.base.is_Integer and rest.base > 1
            and coeff.is_Rational and coeff != 0):
        return Surd(Fraction(int(coeff.p), int(coeff.q)), int(rest.base))
    return value


# Exact types (bool, a subclass of int, is not one); a DecimalFraction's operators keep its mark.
_RATIONAL = frozenset({int, Fraction, DecimalFraction})


def _fraction(value: int | Fraction) -> Fraction:
    """A rational as a Fraction: a Fraction (a DecimalFraction included) as it is."""
    return value if isinstance(value, Fraction) else Fraction(value)


def _is_fast(*values: Value) -> bool:
    return all(type(v) in _RATIONAL for v in values)


def _div(a: Value, b: Value) -> Value:
    if type(a) is int and type(b) is int:
        if b == 0:
            raise ExprError("division by zero")
        quotient = Fraction(a, b)
        return quotient.numerator if quotient.denominator == 1 else quotient
    if _is_fast(a, b):
        if b == 0:
            raise ExprError("division by zero")
        return from_sympy(_fraction(a) / _fraction(b))
    if isinstance(a, Surd) and _is_fast(b) and b != 0:
        return a.scaled(1 / Fraction(b))
    if type(a) is int and a > 0 and isinstance(b, SymbolSum):
        return Reciprocal(a, b)
    return from_sympy(to_sympy(a) / to_sympy(b))


def _mul(a: Value, b: Value) -> Value:
    if _is_fast(a, b):
        return from_sympy(a * b)  # 1/20 * 40 is the integer 2, not Fraction(2, 1)
    if isinstance(a, Surd) and _is_fast(b):
        return a.scaled(b)
    if isinstance(b, Surd) and _is_fast(a):
        return b.scaled(a)
    return from_sympy(to_sympy(a) * to_sympy(b))


def _pow(a: Value, b: Value) -> Value:
    if _is_fast(a, b) and isinstance(b, int) and abs(b) <= 4096:
        if a == 0 and b < 0:
            raise ExprError("division by zero")
        return from_sympy(_fraction(a) ** b)
    return from_sympy(to_sympy(a) ** to_sympy(b))


def _mod(a: Value, b: Value) -> Value:
    if _is_fast(a, b):
        if b == 0:
            raise ExprError("modulo by zero")
        return from_sympy(_fraction(a) % _fraction(b))
    return from_sympy(sympy().Mod(to_sympy(a), to_sympy(b)))


def _add(a: Value, b: Value) -> Value:
    if type(a) in _RATIONAL and type(b) in _RATIONAL:
        return from_sympy(a + b)
    if isinstance(a, SymbolSum) and isinstance(b, SymbolSum):
        total = a.plus(b)
        if total is not None:
            return total
    return from_sympy(to_sympy(a) + to_sympy(b))


def _arith(fast: Callable[[Value, Value], Value], slow: Callable[[Any, Any], Any]) -> Callable[[Value, Value], Value]:
    def apply(a: Value, b: Value) -> Value:
        if type(a) in _RATIONAL and type(b) in _RATIONAL:
            return from_sympy(fast(a, b))
        return from_sympy(slow(to_sympy(a), to_sympy(b)))

    return apply


def _sqrt(a: Value) -> Value:
    if type(a) in _RATIONAL:
        root = _rational_sqrt(a)
        return keep_decimal(root) if type(a) is DecimalFraction else root
    if isinstance(a, Reciprocal) and a.denominator.nonnegative:
        root = _rational_sqrt(a.coeff)
        if type(root) is int:
            return RootReciprocal(root, 1, a.denominator)
        if isinstance(root, Surd):  # the coefficient of the root of an integer is an integer
            return RootReciprocal(root.coeff.numerator, root.radicand, a.denominator)
    return from_sympy(sympy().sqrt(to_sympy(a)))


def _rational_sqrt(a: int | Fraction) -> Value:
    """sqrt of a rational: exact when a perfect square, else c·√m with m squarefree (as SymPy).

    SymPy's own sqrt factors the radicand on every call; layer sizes are small, so trial
    division finds the square part at once (large radicands still go to SymPy).
    """
    num, den = a.numerator, a.denominator
    if num >= 0:
        num_root, den_root = math.isqrt(num), math.isqrt(den)
        if num_root * num_root == num and den_root * den_root == den:
            return num_root if den_root == 1 else Fraction(num_root, den_root)
    if num <= 0 or num * den > 10**10:
        return from_sympy(sympy().sqrt(to_sympy(a)))
    outside, inside = _square_part(num * den)  # sqrt(p/q) = sqrt(p*q)/q
    return Surd(Fraction(outside, den), inside)


def _square_part(n: int) -> tuple[int, int]:
    """(s, m) with n = s²·m and m squarefree, for n >= 1."""
    outside = inside = 1
    factor = 2
    while factor * factor * factor <= n:
        if n % factor == 0:
            power = 0
            while n % factor == 0:
                n //= factor
                power += 1
            outside *= factor ** (power // 2)
            inside *= factor ** (power % 2)
        factor += 1
    # Every prime factor left is at least `factor`, and factor³ > n: n is 1, p, p·q or p².
    root = math.isqrt(n)
    if root * root == n:
        return outside * root, inside
    return outside, inside * n


def _compare(fast: Callable[[Value, Value], bool], relation: str) -> Callable[[Value, Value], Value]:
    def apply(a: Value, b: Value) -> Value:
        if _is_fast(a, b) or (isinstance(a, bool) and isinstance(b, bool)):
            return fast(a, b)
        return from_sympy(getattr(sympy(), relation)(to_sympy(a), to_sympy(b)))

    return apply


def truth(value: Value) -> bool:
    value = from_sympy(value)
    if isinstance(value, bool):
        return value
    raise ExprError(f"expected a true/false value, got {value}")


def _sympy_fn(name: str) -> Callable[..., Value]:
    return lambda *args: from_sympy(getattr(sympy(), name)(*(to_sympy(a) for a in args)))


def _fast_or(fast: Callable[..., Value], name: str) -> Callable[..., Value]:
    slow = _sympy_fn(name)
    return lambda *args: fast(*args) if _is_fast(*args) else slow(*args)


def _rational(a: Value, b: Value = 1) -> Value:
    if not _is_fast(a, b):
        raise ExprError("Rational() takes exact numbers")
    return _div(a, b)


def _factorial(a: Value) -> Value:
    if not (isinstance(a, int) and 0 <= a <= 5000):
        raise ExprError(f"factorial needs an integer in 0..5000 (got {a})")
    return math.factorial(a)


def _binomial(a: Value, b: Value) -> Value:
    if not (isinstance(a, int) and isinstance(b, int) and 0 <= a <= 100000):
        raise ExprError(f"binomial needs integers (got {a}, {b})")
    return math.comb(a, b) if b >= 0 else 0


def _floor(a: Value) -> Value:
    return math.floor(a)


def _ceiling(a: Value) -> Value:
    return math.ceil(a)


_EQ = _compare(operator.eq, "Eq")
_NE = _compare(operator.ne, "Ne")
_LT = _compare(operator.lt, "Lt")
_LE = _compare(operator.le, "Le")
_GT = _compare(operator.gt, "Gt")
_GE = _compare(operator.ge, "Ge")

_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "sqrt": _sqrt,
    "Rational": _rational,
    "Mod": _mod,
    "Eq": _EQ,
    "Ne": _NE,
    "Lt": _LT,
    "Le": _LE,
    "Gt": _GT,
    "Ge": _GE,
    "And": lambda *args: all(truth(a) for a in args),
    "Or": lambda *args: any(truth(a) for a in args),
    "Not": lambda a: not truth(a),
    "floor": _fast_or(_floor, "floor"),
    "ceiling": _fast_or(_ceiling, "ceiling"),
    "Abs": _fast_or(abs, "Abs"),
    "Min": _fast_or(min, "Min"),
    "Max": _fast_or(max, "Max"),
    "gcd": _fast_or(math.gcd, "gcd"),
    "lcm": _fast_or(math.lcm, "lcm"),
    "factorial": _factorial,
    "binomial": _binomial,
}
# Every allowed name (aliases such as abs and ln included) to its exact evaluator; functions
# without a fast path go to SymPy.
FUNCTIONS: dict[str, Callable[..., Value]] = {
    name: _FUNCTIONS.get(entry.canonical) or _sympy_fn(entry.canonical) for name, entry in AUTHOR.functions.items()
}
# Canonical constant -> its value, or the name of the SymPy constant looked up when an
# expression that uses it is compiled.
CONSTANTS: dict[str, str | bool] = {"pi": "pi", "E": "E", "True": True, "False": False}

BINOPS: dict[str, Callable[[Value, Value], Value]] = {
    "+": _add,
    "-": _arith(operator.sub, operator.sub),
    "*": _mul,
    "/": _div,
    "^": _pow,
    "%": _mod,
}
CMPOPS: dict[str, Callable[[Value, Value], Value]] = {
    "==": _EQ,
    "!=": _NE,
    "<": _LT,
    "<=": _LE,
    ">": _GT,
    ">=": _GE,
}
