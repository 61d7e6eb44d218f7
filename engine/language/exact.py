"""Author expressions (answers, options, constraints) compiled once into exact evaluators.

Template authors write SymPy syntax (`sqrt(6/(n_in + n_out))`, `Eq(Mod(6, n_in + n_out), 0)`,
`n_in != n_out`). The text is parsed by the shared grammar (`engine.language.grammar`) under the
authors' allow-list (`engine.language.allow`), never `eval`-ed; each node becomes a closure over
the exact operations of `engine.language.values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from engine.language import grammar
from engine.language.allow import AUTHOR
from engine.language.decimals import DecimalFraction
from engine.language.symbolic import is_sympy, sympy
from engine.language.tokens import AUTHOR_LIMITS, GrammarError
from engine.language.values import (
    BINOPS,
    CMPOPS,
    CONSTANTS,
    FUNCTIONS,
    Env,
    ExprError,
    Node,
    Surd,
    Value,
    from_sympy,
    truth,
)

# Python refuses to print an int of more than 4300 digits; a value no sheet can show is the
# template's error, found where it is computed rather than as a crash where it is printed.
MAX_DIGITS = 4000
_MAX_BITS = int(MAX_DIGITS * 3.3219)  # log2(10) bits a digit: a little under MAX_DIGITS digits


def _too_long(value: Value) -> bool:
    if isinstance(value, Surd):
        value = value.coeff
    if isinstance(value, int | Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length()) > _MAX_BITS
    if is_sympy(value):
        return any(max(abs(int(a.p)).bit_length(), int(a.q).bit_length()) > _MAX_BITS
                   for a in value.atoms(sympy().Rational))
    return False


@dataclass(frozen=True)
class CompiledExpr:
    """An author expression parsed once; `evaluate` computes it exactly for one variant."""

    source: str
    names: frozenset[str]
    _node: Node
    tree: grammar.Node

    def evaluate(self, env: Env) -> Value:
        """Exact value under env (names to int/Fraction/SymPy values); raises ExprError."""
        try:
            value = self._node(env)
        except ExprError:
            raise
        except (ZeroDivisionError, TypeError, ValueError, OverflowError, ArithmeticError) as exc:
            raise ExprError(f"cannot evaluate {self.source!r}: {exc}") from None
        if _too_long(value):
            raise ExprError(f"{self.source!r} has a value of more than {MAX_DIGITS} digits, which no sheet can print")
        return value

    def truth(self, env: Env) -> bool:
        """Evaluate a constraint or boolean answer; an undecidable relation is an error."""
        try:
            return truth(self.evaluate(env))
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
    if len(text) > AUTHOR_LIMITS.max_length:
        raise ExprError(f"expression longer than {AUTHOR_LIMITS.max_length} characters")
    try:
        tree = grammar.parse(text, AUTHOR, known, AUTHOR_LIMITS)
    except GrammarError as exc:
        raise ExprError(_author_message(exc, text, known)) from None
    names: set[str] = set()
    node = _Compiler(names).build(tree)
    return CompiledExpr(text, frozenset(names), node, tree)


def _author_message(exc: GrammarError, text: str, known: set[str] | frozenset[str]) -> str:
    """Authors' messages name the expression; a syntax error gives its column."""
    if exc.syntax:
        where = f" at column {exc.position}" if exc.position is not None else ""
        return f"{text!r} does not parse: {exc.message}{where}"
    message = f"{exc.message} in {text!r}"
    if exc.message.startswith("unknown name"):
        message += f" (known: {', '.join(sorted(known)) or 'none'})"
    elif exc.message.startswith("function "):
        message += f" (allowed: {AUTHOR.allowed_functions()})"
    return message


class _Compiler:
    """Closures over the syntax tree: each node computes its exact value from an environment."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def build(self, node: grammar.Node) -> Node:
        if isinstance(node, grammar.Num):
            # The exact decimal as typed, never a binary float; written with a point, it prints so.
            value = from_sympy(node.value)
            if "." in node.text and isinstance(value, Fraction):
                value = DecimalFraction(value)
            return lambda env: value
        if isinstance(node, grammar.Sym):
            name = node.name
            self.names.add(name)
            return lambda env: env[name]
        if isinstance(node, grammar.Const):
            constant = CONSTANTS[node.name]
            if isinstance(constant, str):
                constant = getattr(sympy(), constant)
            return lambda env: constant
        if isinstance(node, grammar.Neg):
            operand, subtract = self.build(node.operand), BINOPS["-"]
            return lambda env: subtract(0, operand(env))
        if isinstance(node, grammar.BinOp):
            op, left, right = BINOPS[node.op], self.build(node.left), self.build(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, grammar.Call):
            fn, args = FUNCTIONS[node.name], [self.build(a) for a in node.args]
            return lambda env: fn(*(a(env) for a in args))
        return self._logic(node)

    def _logic(self, node: grammar.Compare | grammar.Logic | grammar.IfElse) -> Node:
        if isinstance(node, grammar.IfElse):
            test, body, orelse = self.build(node.test), self.build(node.body), self.build(node.orelse)
            return lambda env: body(env) if truth(test(env)) else orelse(env)
        if isinstance(node, grammar.Logic):
            parts = [self.build(v) for v in node.operands]
            if node.op == "not":
                return lambda env: not truth(parts[0](env))
            if node.op == "and":
                return lambda env: all(truth(p(env)) for p in parts)
            return lambda env: any(truth(p(env)) for p in parts)
        ops = [CMPOPS[op] for op in node.ops]
        operands = [self.build(c) for c in node.operands]

        def compare(env: Env) -> Value:
            values = [operand(env) for operand in operands]
            return all(truth(fn(a, b)) for fn, a, b in zip(ops, values, values[1:], strict=False))

        return compare
