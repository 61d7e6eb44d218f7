"""Safe parser for untrusted formulas: the shared grammar under the students' allow-list, size
limits, then SymPy.

Student text never reaches ``eval``, ``exec``, ``sympify``, ``parse_expr`` or ``lambdify``::

    text --limits/unicode--> characters --tokenize--> tokens --parse--> syntax tree
         --analyse (allow-lists, bounded constant evaluation)--> checked tree --build--> sympy.Expr

Tokens and syntax are ``engine.language.tokens``/``grammar`` (shared with authors' expressions),
the allow-list is ``engine.language.allow.STUDENT``, the size analysis ``sizes``. Only the last
step touches SymPy, through its constructors, and only after every limit has been checked.

Decisions (tested in ``tests/test_formula.py``):

* **Positions** are 1-based character columns in the *original* text (before Unicode
  normalisation), in ``FormulaError.position`` and in messages ("at position 3").
* **Unicode**: every character is NFKC-normalised on its own (so positions stay exact); U+2212
  minus, ``×``, ``·``, ``⋅`` and ``÷`` become ``- * * * /``; a decimal digit of any script
  (Unicode category Nd: ``٣``, ``३``) becomes its ASCII digit, as in integer answers; superscript
  digits are a power (``x²`` is ``x^(2)``); ``√x`` is ``sqrt(x)``. Anything still not ASCII is
  "unexpected character".
* **Numbers**: ``2``, ``2.5``, ``.5``, ``1e-3``, ``2.5E+2`` become exact rationals; ``1.`` is
  rejected. Scientific notation wins over the constant ``e``: ``2e3`` is 2000, ``2e`` is ``2*e``.
* **Operators**: ``+ - * / ^ **``; power is right-associative and binds tighter than unary minus.
  Only ``( )`` group. Implicit multiplication: number·name, number·``(``, ``)``·``(``,
  ``)``·name and variable·``(`` (a declared variable or a constant before ``(``: ``s(1-s)``,
  ``n_in(n_out+1)``), with the precedence of ``*`` (``1/2x`` is ``x/2``, ``1/s(1-s)`` is
  ``(1-s)/s``); a function's name before ``(`` is its call, any other name is "unknown function".
* **Functions**: those of ``allow.STUDENT`` (sqrt, exp, log/ln, trigonometric and hyperbolic
  functions and their inverses, Abs/abs, sign, factorial, binomial, floor, ceiling, Max, Min).
* **Constants**: ``pi``, ``E`` and ``e``; a declared variable shadows ``e``/``E``. An infinity
  or NaN (``1/(x-x)``) is "undefined"; a constant ``1/0`` is "division by zero".
* **Limits**, checked before any SymPy work: length (before normalisation), nesting depth,
  digits, tokens, exponents ``|p| <= 1000``, factorial arguments ``<= 1000``, and the size in
  bits of any number SymPy could build (``(x*10^30)^1000`` is "number too large").
* **The key** (``key=True``) is trusted: it is read by the same grammar under ``KEY_LIMITS``,
  which only bound the parser (length, nesting, digits), and without the size analysis, so
  ``(x-a)^6000`` is a key. What a key costs to build and compare is bounded by the sandbox's time
  and memory limits alone.
* **An answer follows its key's notation** (``allowance``): compared with the key
  ``(x-a)^6000``, an answer may raise a symbolic base to the 6000th power too, as ``(a-x)^6000``
  (``sizes.Allowance``); powers of numbers keep the limits above.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.errors import QuizwrightError
from engine.grading.checker.sizes import NO_ALLOWANCE, Allowance, check_sizes, key_allowance
from engine.language import grammar
from engine.language.allow import STUDENT
from engine.language.grammar import BinOp, Call, Const, Neg, Node, Num, Sym
from engine.language.symbolic import sympy_symbol
from engine.language.tokens import DECIMAL_RE, DEFAULT_LIMITS, IDENTIFIER_RE, GrammarError, Limits
from engine.vocabulary import ASSUMPTIONS

if TYPE_CHECKING:  # imported where the worker uses it: answers settled here never load SymPy
    import sympy

__all__ = [
    "ASSUMPTIONS",
    "NO_ALLOWANCE",
    "DEFAULT_LIMITS",
    "KEY_LIMITS",
    "Allowance",
    "FormulaError",
    "Limits",
    "key_allowance",
    "Node",
    "allowance_for",
    "build_expr",
    "check_symbols",
    "describe",
    "expected_names",
    "make_symbols",
    "parse_formula",
    "parse_syntax",
    "to_text",
]


class FormulaError(QuizwrightError):
    """A formula that cannot be accepted; ``position`` is a 1-based column in the original text."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} at position {position}")
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[type[FormulaError], tuple[str, int | None]]:
        return (FormulaError, (self.message, self.position))


# The parser's own bounds for a trusted key: recursion, Python's 4300-digit int limit, and a
# length that no printed key reaches (a broken one is refused with a message, not parsed for minutes).
KEY_LIMITS = Limits(max_length=20_000, max_depth=100, max_digits=4000, max_tokens=20_000, max_exponent=10_000)

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def expected_names(expected: str) -> dict[str, str]:
    """The variable names a (trusted) expected formula uses, as real symbols, in order.

    Example: ``expected_names("sqrt(6/(n_in + n_out))")`` is ``{"n_in": "real", "n_out": "real"}``.
    """
    names: dict[str, str] = {}
    # Numbers go first, so that the e of 1e-3 is not taken for a name.
    for match in IDENTIFIER_RE.finditer(DECIMAL_RE.sub(" ", expected)):
        name = match.group(0)
        if name not in STUDENT.functions and name not in STUDENT.constants:
            names.setdefault(name, "real")
    return names


def check_symbols(symbols: Mapping[str, str]) -> None:
    """Check declared variables (name -> assumption) without SymPy.

    Raises:
        ValueError: a name is not an identifier, is a function/``pi``, or the assumption is
            not one of ``ASSUMPTIONS`` (a question-configuration mistake, not a student one).
    """
    if not all(isinstance(name, str) for name in symbols):
        raise ValueError("variable names must be text")
    for name, assumption in sorted(symbols.items()):
        if not _NAME_RE.match(name):
            raise ValueError(f"invalid variable name {name!r}: use letters, digits and _")
        if name in STUDENT.functions or name == "pi":
            raise ValueError(f"invalid variable name {name!r}: it is a function or constant")
        if assumption not in ASSUMPTIONS:
            allowed = ", ".join(ASSUMPTIONS)
            raise ValueError(f"variable {name}: unknown assumption {assumption!r} ({allowed})")


def make_symbols(symbols: Mapping[str, str]) -> dict[str, sympy.Symbol]:
    """SymPy symbols for declared variables (name -> assumption), checked by ``check_symbols``."""
    check_symbols(symbols)
    return {name: sympy_symbol(name, assumption) for name, assumption in sorted(symbols.items())}


def parse_syntax(
    text: str,
    symbols: Mapping[str, str],
    *,
    limits: Limits = DEFAULT_LIMITS,
    key: bool = False,
    sizes: bool = True,
    allowance: Allowance = NO_ALLOWANCE,
) -> Node:
    """Tokenize, parse and safety-check a formula without building any SymPy object.

    ``key``: a trusted key, under ``KEY_LIMITS`` and without the size analysis; ``sizes=False``
    skips the size analysis alone (a tree that is only compared as text, never built);
    ``allowance``: the widening the key it is compared with sets (``allowance_for``).

    Raises:
        FormulaError: the only exception this function raises.
    """
    if key:
        limits, sizes = KEY_LIMITS, False
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    if len(text) > limits.max_length:  # before NFKC: normalising 1 MB would already cost time
        raise FormulaError(f"formula too long ({len(text)} characters; at most {limits.max_length})")
    try:
        tree = grammar.parse(text, STUDENT, symbols, limits)
        if sizes:
            check_sizes(tree, limits, allowance)
    except GrammarError as err:
        raise FormulaError(err.message, err.position) from None
    except RecursionError:  # only reachable with limits far above the defaults
        raise FormulaError("too deeply nested") from None
    return tree


def allowance_for(expected: str, symbols: Mapping[str, str]) -> Allowance:
    """What the notation of the key ``expected`` allows its answers; none for an unreadable key."""
    try:
        return key_allowance(parse_syntax(expected, symbols, key=True))
    except FormulaError:
        return NO_ALLOWANCE


def build_expr(tree: Node, symbols: Mapping[str, str]) -> sympy.Expr:
    """SymPy expression of a checked tree (from ``parse_syntax``), with SymPy evaluation on.

    Raises:
        FormulaError: the expression is undefined (an infinity or NaN appeared).
    """
    return _expr(tree, make_symbols(symbols))


def _expr(tree: Node, syms: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    import sympy

    try:
        expr = _build(tree, syms)
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception:
        # A SymPy corner case on an already bounded tree; the student gets a plain message.
        raise FormulaError("the formula could not be evaluated") from None
    if expr.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise FormulaError("the formula is undefined (for example a division by zero)")
    return expr


def parse_formula(
    text: str,
    symbols: Mapping[str, str],
    *,
    limits: Limits = DEFAULT_LIMITS,
    key: bool = False,
    allowance: Allowance = NO_ALLOWANCE,
) -> sympy.Expr:
    """Parse an untrusted formula (or, with ``key``, a trusted key) into a SymPy expression.

    ``symbols`` maps each allowed variable name to an assumption in ``ASSUMPTIONS``; ``allowance``
    is the key's (``allowance_for``).

    Raises:
        FormulaError: the only exception raised for any text (use ``describe`` for the message).
        ValueError: ``symbols`` itself is invalid (a configuration mistake).
    """
    syms = make_symbols(symbols)  # configuration errors surface before the student's text is judged
    return _expr(parse_syntax(text, symbols, limits=limits, key=key, allowance=allowance), syms)


def _build(node: Node, syms: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    import sympy

    if isinstance(node, Num):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, Sym):
        return syms[node.name]
    if isinstance(node, Const):
        return sympy.pi if node.name == "pi" else sympy.E
    if isinstance(node, Neg):
        return sympy.Mul(sympy.S.NegativeOne, _build(node.operand, syms))
    if isinstance(node, BinOp):
        a = _build(node.left, syms)
        b = _build(node.right, syms)
        if node.op == "+":
            return sympy.Add(a, b)
        if node.op == "-":
            return sympy.Add(a, sympy.Mul(sympy.S.NegativeOne, b))
        if node.op == "*":
            return sympy.Mul(a, b)
        if node.op == "/":
            return sympy.Mul(a, sympy.Pow(b, sympy.S.NegativeOne))
        return sympy.Pow(a, b)
    if not isinstance(node, Call):  # parse_syntax never lets authors' relations through
        raise FormulaError("not a formula")
    func = getattr(sympy, node.name)  # a canonical name of allow.STUDENT, all SymPy functions
    return func(*[_build(arg, syms) for arg in node.args])


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}


def _prec(node: Node) -> int:
    if isinstance(node, BinOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Neg):
        return 3
    return 5


def to_text(node: Node) -> str:
    """Canonical text of a tree: explicit ``*``, ``^`` for powers, minimal parentheses.

    Parsing the result with the same symbols gives back the same tree (positions aside).
    """
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Sym):
        return node.name
    if isinstance(node, Const):
        return node.text
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, Neg):
        inner = to_text(node.operand)
        return f"-{inner}" if _prec(node.operand) > 3 else f"-({inner})"
    if not isinstance(node, BinOp):
        raise FormulaError("not a formula")
    left, right = to_text(node.left), to_text(node.right)
    p = _PRECEDENCE[node.op]
    if node.op == "^":
        # Power is right-associative: only the base needs parentheses around another power.
        left_paren = _prec(node.left) <= p
        right_paren = _prec(node.right) < p
    else:
        left_paren = _prec(node.left) < p
        right_paren = _prec(node.right) <= p
    if isinstance(node.left, Neg) and node.op != "+" and node.op != "-":
        left_paren = True
    if isinstance(node.right, Neg):
        right_paren = True
    if left_paren:
        left = f"({left})"
    if right_paren:
        right = f"({right})"
    return f"{left}{node.op}{right}"


def describe(error: FormulaError, text: str | None = None, *, caret: bool = False) -> str:
    """The student-facing message: what, then where; optionally the text with a caret under it.

    The caret line is only added for short single-line texts, so messages stay readable.
    """
    message = error.message if error.position is None else f"{error.message} at position {error.position}"
    if (
        caret
        and text
        and error.position is not None
        and len(text) <= 80
        and text.isprintable()
        and error.position <= len(text) + 1
    ):
        message += "\n" + text + "\n" + " " * (error.position - 1) + "^"
    return message
