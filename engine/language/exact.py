"""Author expressions (answers, options, constraints) compiled once into exact evaluators.

Template authors write SymPy syntax (`sqrt(6/(n_in + n_out))`, `Eq(Mod(6, n_in + n_out), 0)`,
`n_in != n_out`). The text is parsed with Python's `ast` and checked against an allow-list of
node types and names, never `eval`-ed. Each node becomes a closure that computes with Python
`int`/`Fraction` (and `Surd`, c·√m, for square roots of rationals) while the values allow it and
falls back to SymPy only where it must (a free symbol, a sum of surds, a transcendental
function), so sampling thousands of variants stays cheap and exact, and a bank that never needs
SymPy never imports it.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from engine.errors import QuizwrightError
from engine.language.symbolic import is_sympy, sympy, sympy_symbol
from engine.language.symforms import Reciprocal, SymbolSum

Value = Any  # int | Fraction | bool | Surd | SymbolSum | Reciprocal | sympy.Basic
Env = Mapping[str, Value]
Node = Callable[[Env], Value]


class ExprError(QuizwrightError, ValueError):
    """An author expression that does not parse or uses something not allowed."""


@dataclass(frozen=True, slots=True)
class Surd:
    """c·√m with c a nonzero rational and m > 1 squarefree: the irrational square roots of layer
    sizes, kept out of SymPy (its printing and evalf cost more than the rest of a variant).

    It prints exactly as SymPy prints ``c*sqrt(m)``; any arithmetic but scaling goes to SymPy.
    Example: ``Surd(Fraction(1, 5), 15)`` is sqrt(15)/5, shown ``\\frac{\\sqrt{15}}{5}``.
    """

    coeff: Fraction
    radicand: int

    def __hash__(self) -> int:  # Fraction's own hash is slow; equal surds have equal parts
        return hash((self.coeff.numerator, self.coeff.denominator, self.radicand))

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
    return sp.sympify(value)


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
    coeff, rest = value.as_coeff_Mul()
    if (rest.is_Pow and rest.exp == sp.S.Half and rest.base.is_Integer and rest.base > 1
            and coeff.is_Rational and coeff != 0):
        return Surd(Fraction(int(coeff.p), int(coeff.q)), int(rest.base))
    return value


_RATIONAL = frozenset({int, Fraction})  # exact types (bool, a subclass of int, is not one)


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
        return from_sympy(Fraction(a) / Fraction(b))
    if isinstance(a, Surd) and _is_fast(b) and b != 0:
        return a.scaled(1 / Fraction(b))
    if type(a) is int and a > 0 and isinstance(b, SymbolSum):
        return Reciprocal(a, b)
    return from_sympy(to_sympy(a) / to_sympy(b))


def _mul(a: Value, b: Value) -> Value:
    if _is_fast(a, b):
        return a * b
    if isinstance(a, Surd) and _is_fast(b):
        return a.scaled(b)
    if isinstance(b, Surd) and _is_fast(a):
        return b.scaled(a)
    return from_sympy(to_sympy(a) * to_sympy(b))


def _pow(a: Value, b: Value) -> Value:
    if _is_fast(a, b) and isinstance(b, int) and abs(b) <= 4096:
        if a == 0 and b < 0:
            raise ExprError("division by zero")
        return from_sympy(Fraction(a) ** b)
    return from_sympy(to_sympy(a) ** to_sympy(b))


def _mod(a: Value, b: Value) -> Value:
    if _is_fast(a, b):
        if b == 0:
            raise ExprError("modulo by zero")
        return from_sympy(Fraction(a) % Fraction(b))
    return from_sympy(sympy().Mod(to_sympy(a), to_sympy(b)))


def _add(a: Value, b: Value) -> Value:
    if type(a) in _RATIONAL and type(b) in _RATIONAL:
        return a + b
    if isinstance(a, SymbolSum) and isinstance(b, SymbolSum):
        total = a.plus(b)
        if total is not None:
            return total
    return from_sympy(to_sympy(a) + to_sympy(b))


def _arith(fast: Callable[[Value, Value], Value], slow: Callable[[Any, Any], Any]) -> Callable:
    def apply(a: Value, b: Value) -> Value:
        if type(a) in _RATIONAL and type(b) in _RATIONAL:
            return fast(a, b)
        return from_sympy(slow(to_sympy(a), to_sympy(b)))

    return apply


def _perfect_root(value: Fraction | int) -> Fraction | None:
    value = Fraction(value)
    if value < 0:
        return None
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if num * num == value.numerator and den * den == value.denominator:
        return Fraction(num, den)
    return None


def _sqrt(a: Value) -> Value:
    if type(a) in _RATIONAL:
        return _rational_sqrt(a)
    return from_sympy(sympy().sqrt(to_sympy(a)))


@lru_cache(maxsize=65536)
def _rational_sqrt(a: int | Fraction) -> Value:
    """sqrt of a rational: exact when a perfect square, else c·√m with m squarefree (as SymPy).

    SymPy's own sqrt factors the radicand on every call; layer sizes are small, so trial
    division finds the square part at once (large radicands still go to SymPy).
    """
    root = _perfect_root(a)
    if root is not None:
        return from_sympy(root)
    a = Fraction(a)
    if a <= 0 or a.numerator * a.denominator > 10**10:
        return from_sympy(sympy().sqrt(to_sympy(a)))
    radicand = a.numerator * a.denominator  # sqrt(p/q) = sqrt(p*q)/q
    outside, inside, factor = 1, radicand, 2
    while factor * factor <= inside:
        while inside % (factor * factor) == 0:
            inside //= factor * factor
            outside *= factor
        factor += 1
    return Surd(Fraction(outside, a.denominator), inside)


def _compare(fast: Callable[[Value, Value], bool], relation: str) -> Callable:
    def apply(a: Value, b: Value) -> Value:
        if _is_fast(a, b) or (isinstance(a, bool) and isinstance(b, bool)):
            return fast(a, b)
        return from_sympy(getattr(sympy(), relation)(to_sympy(a), to_sympy(b)))

    return apply


def _truth(value: Value) -> bool:
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

FUNCTIONS: dict[str, Callable[..., Value]] = {
    "sqrt": _sqrt,
    "Rational": _rational,
    "Mod": _mod,
    "Eq": _EQ,
    "Ne": _NE,
    "Lt": _LT,
    "Le": _LE,
    "Gt": _GT,
    "Ge": _GE,
    "And": lambda *args: all(_truth(a) for a in args),
    "Or": lambda *args: any(_truth(a) for a in args),
    "Not": lambda a: not _truth(a),
    "floor": _fast_or(_floor, "floor"),
    "ceiling": _fast_or(_ceiling, "ceiling"),
    "Abs": _fast_or(abs, "Abs"),
    "abs": _fast_or(abs, "Abs"),
    "Min": _fast_or(min, "Min"),
    "Max": _fast_or(max, "Max"),
    "gcd": _fast_or(math.gcd, "gcd"),
    "lcm": _fast_or(math.lcm, "lcm"),
    "factorial": _factorial,
    "binomial": _binomial,
    "log": _sympy_fn("log"),
    "exp": _sympy_fn("exp"),
    "sin": _sympy_fn("sin"),
    "cos": _sympy_fn("cos"),
    "tan": _sympy_fn("tan"),
    "atan": _sympy_fn("atan"),
    "tanh": _sympy_fn("tanh"),
}
# Names of SymPy constants, looked up when an expression that uses one is compiled.
CONSTANTS: dict[str, str | bool] = {"pi": "pi", "E": "E", "True": True, "False": False}

_BINOPS: dict[type, Callable[[Value, Value], Value]] = {
    ast.Add: _add,
    ast.Sub: _arith(operator.sub, operator.sub),
    ast.Mult: _mul,
    ast.Div: _div,
    ast.Pow: _pow,
    ast.Mod: _mod,
}
_CMPOPS: dict[type, Callable[[Value, Value], Value]] = {
    ast.Eq: _EQ,
    ast.NotEq: _NE,
    ast.Lt: _LT,
    ast.LtE: _LE,
    ast.Gt: _GT,
    ast.GtE: _GE,
}


@dataclass(frozen=True)
class CompiledExpr:
    """An author expression parsed once; `evaluate` computes it exactly for one variant."""

    source: str
    names: frozenset[str]
    _node: Node

    def evaluate(self, env: Env) -> Value:
        """Exact value under env (names to int/Fraction/SymPy values); raises ExprError."""
        try:
            return self._node(env)
        except ExprError:
            raise
        except (ZeroDivisionError, TypeError, ValueError, OverflowError, ArithmeticError) as exc:
            raise ExprError(f"cannot evaluate {self.source!r}: {exc}") from None

    def truth(self, env: Env) -> bool:
        """Evaluate a constraint or boolean answer; an undecidable relation is an error."""
        try:
            return _truth(self.evaluate(env))
        except TypeError as exc:
            raise ExprError(f"cannot decide {self.source!r}: {exc}") from None


def compile_expr(source: str | int, known: set[str] | frozenset[str]) -> CompiledExpr:
    """Parse an author expression; names must be in `known`, functions in the allow-list.

    Example: ``compile_expr("2/(n_in + n_out)", {"n_in", "n_out"}).evaluate({"n_in": 4, "n_out": 6})``
    gives ``Fraction(1, 5)``.
    """
    text = str(source).strip()
    if not text:
        raise ExprError("empty expression")
    if len(text) > 2000:
        raise ExprError("expression longer than 2000 characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"{text!r} does not parse: {exc.msg} at column {exc.offset}") from None
    names: set[str] = set()
    node = _Compiler(text, known, names).build(tree.body)
    return CompiledExpr(text, frozenset(names), node)


class _Compiler:
    def __init__(self, text: str, known: set[str] | frozenset[str], names: set[str]) -> None:
        self.text = text
        self.known = known
        self.names = names

    def build(self, node: ast.AST) -> Node:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExprError(f"{type(node).__name__} is not allowed in {self.text!r}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or isinstance(value, int):
            return lambda env: value
        if isinstance(value, float):
            # Exact decimal from the literal as typed, never the binary float.
            literal = ast.get_source_segment(self.text, node) or repr(value)
            exact = from_sympy(Fraction(literal))
            return lambda env: exact
        raise ExprError(f"constant {value!r} is not allowed in {self.text!r}")

    def _Name(self, node: ast.Name) -> Node:
        name = node.id
        if name in self.known:
            self.names.add(name)
            return lambda env: env[name]
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            if isinstance(constant, str):
                constant = getattr(sympy(), constant)
            return lambda env: constant
        raise ExprError(f"unknown name {name!r} in {self.text!r} (known: {', '.join(sorted(self.known)) or 'none'})")

    def _BinOp(self, node: ast.BinOp) -> Node:
        if isinstance(node.op, ast.BitXor):
            raise ExprError(f"use ** for powers, not ^, in {self.text!r}")
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed in {self.text!r}")
        left, right = self.build(node.left), self.build(node.right)
        return lambda env: op(left(env), right(env))

    def _UnaryOp(self, node: ast.UnaryOp) -> Node:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            subtract = _BINOPS[ast.Sub]
            return lambda env: subtract(0, operand(env))
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda env: not _truth(operand(env))
        raise ExprError(f"operator {type(node.op).__name__} is not allowed in {self.text!r}")

    def _Compare(self, node: ast.Compare) -> Node:
        ops = []
        for op in node.ops:
            fn = _CMPOPS.get(type(op))
            if fn is None:
                raise ExprError(f"comparison {type(op).__name__} is not allowed in {self.text!r}")
            ops.append(fn)
        operands = [self.build(node.left)] + [self.build(c) for c in node.comparators]

        def compare(env: Env) -> Value:
            values = [operand(env) for operand in operands]
            return all(_truth(fn(a, b)) for fn, a, b in zip(ops, values, values[1:], strict=False))

        return compare

    def _BoolOp(self, node: ast.BoolOp) -> Node:
        parts = [self.build(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(_truth(p(env)) for p in parts)
        return lambda env: any(_truth(p(env)) for p in parts)

    def _IfExp(self, node: ast.IfExp) -> Node:
        test, body, orelse = self.build(node.test), self.build(node.body), self.build(node.orelse)
        return lambda env: body(env) if _truth(test(env)) else orelse(env)

    def _Call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExprError(f"function {name!r} is not allowed in {self.text!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed in {self.text!r}")
        fn = FUNCTIONS[node.func.id]
        args = [self.build(a) for a in node.args]
        return lambda env: fn(*(a(env) for a in args))
