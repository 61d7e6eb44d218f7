"""Light expression trees for give-aways: compared by value at fixed points, then to 30 digits
(exactly for rational numbers), without SymPy: generation does not import it.

A tree is ("n", Fraction) | ("s", name) | ("+", a, b) | ("*", a, b) | ("/", a, b) | ("-", a)
| ("^", a, Fraction).
"""

from __future__ import annotations

import ast
import math
from decimal import ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction
from typing import Any

Expr = tuple[Any, ...]
_POINTS = (3.1415926, 7.3890561, 1.6487213, 11.313708, 2.7182818, 5.0990195)
_PRIMES = (11, 13, 17, 19, 23, 29, 31, 37)
MAX_NODES = 400
DIGITS = 30
MAX_BITS = 4096


def names(expr: Expr) -> frozenset[str]:
    """The symbols of a tree."""
    if expr[0] == "s":
        return frozenset([expr[1]])
    if expr[0] == "n":
        return frozenset()
    return frozenset().union(*(names(part) for part in expr[1:] if isinstance(part, tuple)))


def constant(expr: Expr) -> Fraction | None:
    """The exact value of a tree without symbols or roots, or None."""
    try:
        value = _exact(expr)
    except (ZeroDivisionError, OverflowError):
        return None
    return value


def _exact(expr: Expr) -> Fraction | None:
    op = expr[0]
    if op == "n":
        return expr[1]  # type: ignore[no-any-return]
    if op == "s":
        return None
    if op == "-":
        inner = _exact(expr[1])
        return None if inner is None else -inner
    if op == "^":
        base, exponent = _exact(expr[1]), expr[2]
        if base is None or exponent.denominator != 1 or (base == 0 and exponent < 0):
            return None
        size = max(base.numerator.bit_length(), base.denominator.bit_length())
        if size * abs(int(exponent)) > MAX_BITS:
            return None  # ((9^16)^16)^16 ...: no value of a text is that large
        return base ** int(exponent)
    left, right = _exact(expr[1]), _exact(expr[2])
    if left is None or right is None:
        return None
    return left + right if op == "+" else left * right if op == "*" else left / right


def value(expr: Expr, at: dict[str, float]) -> float:
    """The tree's value with symbol `s` at `at[s]`; raises ArithmeticError or ValueError."""
    op = expr[0]
    if op == "n":
        return float(expr[1])
    if op == "s":
        return at[expr[1]]
    if op == "-":
        return -value(expr[1], at)
    if op == "^":
        base = value(expr[1], at)
        if base < 0 and expr[2].denominator != 1:
            raise ValueError("even root of a negative number")
        return math.pow(base, float(expr[2]))
    left, right = value(expr[1], at), value(expr[2], at)
    return left + right if op == "+" else left * right if op == "*" else left / right


def precise(expr: Expr, at: dict[str, Decimal]) -> Decimal:
    """The tree's value to `DIGITS` digits; raises ArithmeticError or ValueError."""
    op = expr[0]
    if op == "n":
        return Decimal(expr[1].numerator) / Decimal(expr[1].denominator)
    if op == "s":
        return at[expr[1]]
    if op == "-":
        return -precise(expr[1], at)
    if op == "^":
        base, exponent = precise(expr[1], at), expr[2]
        if exponent.denominator == 1:
            return Decimal(base ** int(exponent))
        if base < 0:
            raise ValueError("root of a negative number")
        if exponent.denominator == 2:
            return Decimal(base.sqrt() ** exponent.numerator)
        return Decimal(base ** (Decimal(exponent.numerator) / Decimal(exponent.denominator)))
    left, right = precise(expr[1], at), precise(expr[2], at)
    return left + right if op == "+" else left * right if op == "*" else left / right


def signature(expr: Expr) -> tuple[frozenset[str], float] | None:
    """Symbols and the value at fixed points: equal expressions have equal signatures."""
    symbols = names(expr)
    at = {name: _POINTS[i % len(_POINTS)] for i, name in enumerate(sorted(symbols))}
    try:
        result = value(expr, at)
    except (ArithmeticError, ValueError, OverflowError):
        return None
    if math.isnan(result) or math.isinf(result):
        return None
    return symbols, round(result, 9)


def equal(a: Expr, b: Expr) -> bool:
    """Whether two trees are the same expression: exactly when both are rational numbers, else equal
    to `DIGITS` digits at three sets of points (sums, products, quotients, powers and roots of a few
    symbols that agree there are one expression; SymPy stays out of generation, for its start-up)."""
    if signature(a) != signature(b) or signature(a) is None:
        return False
    exact_a, exact_b = constant(a), constant(b)
    if exact_a is not None and exact_b is not None:
        return exact_a == exact_b
    symbols = sorted(names(a))
    with localcontext() as context:
        context.prec = DIGITS + 10
        for shift in range(3):
            at = {name: Decimal(_PRIMES[(i + shift) % len(_PRIMES)]) / 7 for i, name in enumerate(symbols)}
            try:
                left, right = precise(a, at), precise(b, at)
            except (ArithmeticError, ValueError):
                return False
            if abs(left - right) > abs(left) * Decimal(10) ** -DIGITS + Decimal(10) ** -(DIGITS + 5):
                return False
    return True


def rounds_to(expr: Expr, shown: Fraction, scale: int) -> bool:
    """Whether `expr` (a value) rounded to 1/scale is `shown`."""
    exact = constant(expr)
    if exact is not None:
        return math.floor(exact * scale + Fraction(1, 2)) == shown * scale
    with localcontext() as context:
        context.prec = DIGITS + 10
        try:
            approximate = precise(expr, {})
        except (ArithmeticError, ValueError, KeyError):
            return False
        return (approximate * scale + Decimal("0.5")).to_integral_value(ROUND_FLOOR) == Decimal(shown.numerator * scale) / shown.denominator


_BINARY: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}


def parse_printed(text: str) -> Expr | None:
    """A tree of an exact value or expression as our printer writes it (`2/(n_in + n_out)`,
    `sqrt(6)/20`, `1/41`): trusted text, read by Python's parser, never evaluated."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
            return None
        return _from_ast(tree)
    except (SyntaxError, ValueError, RecursionError, ZeroDivisionError):
        return None


def _from_ast(node: ast.AST) -> Expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return ("n", Fraction(str(node.value)))
    if isinstance(node, ast.Name):
        return ("s", node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _from_ast(node.operand)
        return ("-", inner) if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _from_ast(node.left), _from_ast(node.right)
        if op == "-":
            return ("+", left, ("-", right))
        if op == "^":
            exponent = constant(right)
            if exponent is None or abs(exponent) > 64:
                raise ValueError("exponent")
            return ("^", left, exponent)
        return (op, left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt" and len(node.args) == 1:
        return ("^", _from_ast(node.args[0]), Fraction(1, 2))
    raise ValueError("not an expression of the kind compared")
