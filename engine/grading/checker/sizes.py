"""Size analysis of a student's syntax tree before SymPy sees it: bounded constant evaluation on
Fractions (exact) and complex floats (magnitude), so that no number SymPy could build from the
tree is larger than ``Limits.max_bits`` and no exponent or factorial argument exceeds its limit.

An answer is compared with a key, and the key's own notation sets an ``Allowance``: an exponent
on a symbolic base may be as large as the largest one the key uses (and a tenth more), and a
symbolic subtree (whose "bits" bound the coefficients an expansion would build) twice the key's
largest. Constant subtrees, which SymPy evaluates to numbers, keep ``max_bits`` and
``max_exponent`` whatever the key."""

from __future__ import annotations

import cmath
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from engine.language.grammar import BinOp, Call, Const, Neg, Node, Num, Sym
from engine.language.tokens import GrammarError, Limits


@dataclass(frozen=True, slots=True)
class Allowance:
    """What a key's notation needs: its largest constant exponent on a symbolic base, its largest
    symbolic subtree in bits (as this analyser counts them)."""

    exponent: int = 0
    bits: int = 0


NO_ALLOWANCE = Allowance()
# How far a key's notation can widen the student limits: its sizes are measured under these
# bounds (a key beyond them grants nothing), so an answer never makes SymPy build a number over
# about 2 million bits, a few milliseconds of work.
_MEASURE_LIMITS = Limits(max_exponent=1_000_000, max_bits=1_000_000)
_SLACK = 2  # (x-a)^3000*(x-a)^3000 counts a few bits more than (x-a)^6000


def _exponent_margin(largest: int) -> int:
    """A tenth above the key's exponent: (x-a)^6001 for (x-a)^6000 is wrong, not unreadable."""
    return largest + largest // 10


@dataclass(frozen=True, slots=True)
class _Info:
    exact: Fraction | None  # exact value when the subtree is a rational constant
    approx: complex | None  # approximate value of a constant subtree; None = undefined/unknown
    bits: int  # upper bound on the size of any number SymPy builds for the subtree
    const: bool  # no symbols in the subtree


_INF = complex(math.inf, 0.0)
# The four operations, on exact values and on approximations alike.
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


def _bits(q: Fraction) -> int:
    return q.numerator.bit_length() + q.denominator.bit_length()


def _to_complex(q: Fraction) -> complex:
    try:
        return complex(float(q))
    except OverflowError:
        return _INF


def _magnitude(info: _Info) -> float:
    """|value| of a constant subtree, +inf when it overflowed or is otherwise untrustworthy."""
    if info.exact is not None:
        return abs(_to_complex(info.exact))
    if info.approx is None:
        return 0.0  # undefined: SymPy produces nan/zoo, which is rejected after building
    z = info.approx
    if math.isnan(z.real) or math.isnan(z.imag):
        return math.inf
    return abs(z)


def _approx_call(name: str, args: list[complex]) -> complex | None:
    z = args[0]
    value: complex | None
    try:
        if name == "log":
            value = cmath.log(z) if len(args) == 1 else cmath.log(z) / cmath.log(args[1])
        elif name in ("sec", "csc", "cot"):
            value = 1 / {"sec": cmath.cos, "csc": cmath.sin, "cot": cmath.tan}[name](z)
        elif name in ("asec", "acsc", "acot"):
            value = {"asec": cmath.acos, "acsc": cmath.asin, "acot": cmath.atan}[name](1 / z)
        elif name == "Abs":
            value = complex(abs(z))
        elif name == "sign":
            value = z / abs(z) if z != 0 else 0j
        elif name == "factorial":
            value = complex(math.gamma(z.real + 1)) if z.imag == 0 else None
        elif name == "binomial":
            value = None  # only the exact integer case matters for the limits
        elif name in ("Max", "Min"):
            reals = [a.real for a in args if a.imag == 0]
            value = complex((max if name == "Max" else min)(reals)) if len(reals) == len(args) else None
        elif name in ("floor", "ceiling"):
            rounded = math.floor(z.real) if name == "floor" else math.ceil(z.real)
            value = complex(rounded) if z.imag == 0 else None
        else:
            value = getattr(cmath, name)(z)
    except OverflowError:
        return _INF
    except (ValueError, ZeroDivisionError):
        return None
    return value


def _exact_call(name: str, args: list[Fraction | None]) -> Fraction | None:
    """The exact value of a function of rational constants, where it is rational and cheap."""
    if any(q is None for q in args):
        return None
    values: list[Fraction] = [q for q in args if q is not None]
    if name == "Abs":
        return abs(values[0])
    if name == "sign":
        return Fraction((values[0] > 0) - (values[0] < 0))
    if name in ("Max", "Min"):
        return max(values) if name == "Max" else min(values)
    if name in ("floor", "ceiling"):
        return Fraction(math.floor(values[0]) if name == "floor" else math.ceil(values[0]))
    return None


class _Analyser:
    """Walks a student's tree bottom-up; raises GrammarError at the first limit exceeded."""

    def __init__(self, limits: Limits, allowance: Allowance = NO_ALLOWANCE) -> None:
        self.limits = limits
        self.symbolic_exponent = max(limits.max_exponent, _exponent_margin(allowance.exponent))
        self.symbolic_bits = max(limits.max_bits, _SLACK * allowance.bits)
        self.largest = NO_ALLOWANCE  # what this tree's notation needs, for ``key_allowance``

    def run(self, node: Node) -> _Info:
        info = self._visit(node)
        self._too_large(info.bits, info.const, getattr(node, "pos", None))
        return info

    def _too_large(self, bits: int, const: bool, pos: int | None) -> None:
        if bits > (self.limits.max_bits if const else self.symbolic_bits):
            raise GrammarError("number too large", pos)
        if not const and bits > self.largest.bits:
            self.largest = Allowance(self.largest.exponent, bits)

    def _visit(self, node: Node) -> _Info:
        if isinstance(node, Num):
            return _Info(node.value, _to_complex(node.value), _bits(node.value), True)
        if isinstance(node, Sym):
            return _Info(None, None, 0, False)
        if isinstance(node, Const):
            value = math.pi if node.name == "pi" else math.e
            return _Info(None, complex(value), 0, True)
        if isinstance(node, Neg):
            a = self._visit(node.operand)
            exact = -a.exact if a.exact is not None else None
            approx = -a.approx if a.approx is not None else None
            return _Info(exact, approx, a.bits, a.const)
        if isinstance(node, BinOp):
            return self._binop(node)
        if not isinstance(node, Call):  # relations and logic: authors only, never in a student's tree
            raise GrammarError("not allowed in a formula", node.pos)
        return self._call(node)

    def _binop(self, node: BinOp) -> _Info:
        a = self._visit(node.left)
        b = self._visit(node.right)
        const = a.const and b.const
        if node.op == "^":
            return self._power(node, a, b)
        bits = a.bits + b.bits + (1 if node.op in "+-" else 0)
        self._too_large(bits, const, node.pos)
        exact: Fraction | None = None
        if a.exact is not None and b.exact is not None:
            if node.op == "/" and b.exact == 0:
                raise GrammarError("division by zero", node.pos)
            exact = _ARITHMETIC[node.op](a.exact, b.exact)
        approx: complex | None = None
        if exact is not None:
            approx = _to_complex(exact)
        elif const and a.approx is not None and b.approx is not None:
            try:
                approx = _ARITHMETIC[node.op](a.approx, b.approx)
            except ZeroDivisionError:
                approx = None
            except OverflowError:
                approx = _INF
        return _Info(exact, approx, bits, const)

    def _power(self, node: BinOp, a: _Info, b: _Info) -> _Info:
        # A power of a constant is a number SymPy builds; of a symbol, a node it keeps.
        limit = self.limits.max_exponent if a.const else self.symbolic_exponent
        if b.const and not _magnitude(b) <= limit:
            raise GrammarError(f"exponent too large (at most {limit})", node.pos)
        if b.const and not a.const and _magnitude(b) > self.largest.exponent:
            self.largest = Allowance(math.ceil(_magnitude(b)), self.largest.bits)
        if b.exact is not None:
            multiplier = abs(b.exact.numerator)
            # On a symbolic base the exponent's own bits are not raised again by an outer power:
            # SymPy multiplies exponents, ((x-a)^2)^3000 is (x-a)^6000.
            bits = a.bits * max(multiplier, 1) + (b.bits if a.const else 0)
        else:
            bits = a.bits + b.bits
        self._too_large(bits, a.const and b.const, node.pos)
        exact: Fraction | None = None
        approx: complex | None = None
        if a.exact is not None and b.exact is not None and b.exact.denominator == 1:
            n = b.exact.numerator
            if a.exact == 0 and n < 0:
                raise GrammarError("division by zero (0 to a negative power)", node.pos)
            exact = a.exact**n
            approx = _to_complex(exact)
        elif a.const and b.const and a.approx is not None and b.approx is not None:
            try:
                approx = a.approx**b.approx
            except ZeroDivisionError:
                approx = None
            except OverflowError:
                approx = _INF
        return _Info(exact, approx, bits, a.const and b.const)

    @staticmethod
    def _hidden_integer_bits(name: str, args: list[_Info]) -> int:
        """Bits of n! or C(n, k) when SymPy may simplify a constant argument to an integer n.

        ``factorial(sqrt(10^6))`` is not rational to this analyser but SymPy turns it into 1000!.
        """
        info = args[0]
        if not info.const or info.approx is None or info.approx.imag != 0:
            return 0
        x = info.approx.real
        if not math.isfinite(x) or abs(x - round(x)) > 1e-6 or round(x) < 2:
            return 0
        n = round(x)
        return int(n * math.log2(n)) + 1 if name == "factorial" else n + 1

    def _rounding_bits(self, node: Call, args: list[_Info]) -> int:
        """Bits of the integer SymPy computes for floor or ceiling of a constant (``floor(exp(100))``)."""
        if node.name not in ("floor", "ceiling") or not args[0].const or args[0].exact is not None:
            return 0
        size = _magnitude(args[0])
        if not math.isfinite(size):  # beyond a float, so too large to round exactly in time
            raise GrammarError("number too large", node.pos)
        return int(math.log2(size)) + 1 if size >= 1 else 0

    def _call(self, node: Call) -> _Info:
        args = [self._visit(arg) for arg in node.args]
        const = all(a.const for a in args)
        bits = sum(a.bits for a in args)
        exact: Fraction | None = None
        if node.name in ("factorial", "binomial"):
            limit = self.limits.max_factorial
            for arg, info in zip(node.args, args, strict=True):
                if info.const and not _magnitude(info) <= limit:
                    raise GrammarError(
                        f"{node.name} argument too large (at most {limit})",
                        getattr(arg, "pos", node.pos),
                    )
            ints = [a.exact for a in args]
            if all(q is not None and q.denominator == 1 for q in ints):
                values = [int(q) for q in ints]  # type: ignore[arg-type]
                if node.name == "factorial" and values[0] >= 0:
                    exact = Fraction(math.factorial(values[0]))
                elif node.name == "binomial" and values[0] >= 0 and values[1] >= 0:
                    exact = Fraction(math.comb(values[0], values[1]))
            if exact is not None:
                bits += _bits(exact)
            else:
                bits += self._hidden_integer_bits(node.name, args)
        else:
            exact = _exact_call(node.name, [a.exact for a in args])
            bits += self._rounding_bits(node, args)
        self._too_large(bits, const, node.pos)
        approx: complex | None = None
        if exact is not None:
            approx = _to_complex(exact)
        elif const and all(a.approx is not None for a in args):
            approx = _approx_call(node.name, [a.approx for a in args])  # type: ignore[misc]
        return _Info(exact, approx, bits, const)


def check_sizes(tree: Node, limits: Limits, allowance: Allowance = NO_ALLOWANCE) -> None:
    """Raise GrammarError when building ``tree`` in SymPy could create a number beyond ``limits``,
    widened on symbolic subtrees by a key's ``allowance``."""
    _Analyser(limits, allowance).run(tree)


def key_allowance(key: Node) -> Allowance:
    """The allowance a (trusted) key's notation sets for the answers compared with it."""
    analyser = _Analyser(_MEASURE_LIMITS)
    try:
        analyser.run(key)
    except (GrammarError, RecursionError):  # beyond what may be granted: its answers keep the plain limits
        return NO_ALLOWANCE
    return analyser.largest
