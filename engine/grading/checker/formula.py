"""Safe parser for untrusted formulas: own tokenizer and Pratt parser, allow-lists, size limits, then SymPy.

Student text never reaches ``eval``, ``exec``, ``sympify``, ``parse_expr`` or ``lambdify``. The
pipeline is::

    text --limits/unicode--> characters --tokenize--> tokens --parse--> syntax tree (dataclasses)
         --analyse (allow-lists, bounded constant evaluation)--> checked tree --build--> sympy.Expr

Only the last step touches SymPy, through its constructors (``Integer``, ``Rational``, ``Symbol``,
``Add``, ``Mul``, ``Pow`` and the allow-listed function classes), and only after every limit below
has been checked, so SymPy never sees a number it would take long to build.

Decisions (documented here, tested in ``tests/test_formula.py``):

* **Positions** are 1-based character columns in the *original* text (before Unicode
  normalisation), everywhere: in ``FormulaError.position`` and in messages ("at position 3").
* **Unicode**: every character is NFKC-normalised on its own (so positions stay exact), which
  turns full-width digits/letters into ASCII; U+2212 minus, ``×``, ``·``, ``⋅`` and ``÷`` become
  ``- * * * /``; superscript digits are read as a power (``x²`` is ``x^(2)``). Anything still
  not ASCII (Cyrillic ``а``, Greek letters, ``½``, zero-width spaces) is rejected as
  "unexpected character", never mapped to a look-alike Latin letter.
* **Numbers**: ``2``, ``2.5``, ``.5``, ``1e-3``, ``2.5E+2``; a decimal becomes the exact
  Rational of its decimal string, never a float. ``1.`` is rejected (a point needs digits after
  it). Scientific notation wins over the constant ``e``: ``2e3`` is 2000, ``2e`` is ``2*e``.
* **Operators**: ``+ - * / ^ **``; ``^`` and ``**`` are power, right-associative and binding
  tighter than unary minus (``-x^2`` is ``-(x^2)``, ``2^-1`` is allowed).
* **Grouping**: only ``( )``. Square and curly brackets are rejected ("use ( ) for grouping")
  because ``[a, b]`` reads as an interval or a list.
* **Implicit multiplication** is allowed for number·name (``2n_in``, ``2 x``, ``2pi``,
  ``2sin(x)``), number·``(``, ``)``·``(`` and ``)``·name, with the precedence of ``*``
  (so ``1/2x`` is ``x/2``, as in most CAS). It is rejected between two names
  (``n_in n_out`` → "missing operator"), name·number, ``)``·number and number·number.
  A name followed by ``(`` is a function call: if the name is not an allowed function this
  is "unknown function" (``x(1+y)`` must be written ``x*(1+y)``).
* **Functions** (case as given): sqrt, exp, log, ln (= log), sin, cos, tan, sec, csc, cot,
  asin, acos, atan, asec, acsc, acot (and arcsin, ... aliases), sinh, cosh, tanh, asinh, acosh,
  atanh (and arcsinh, ...), abs/Abs, sign, factorial, binomial; ``log(x, b)`` is log base b.
* **Constants**: ``pi``, ``E`` and ``e``. A declared variable named ``e`` or ``E`` shadows the
  constant. ``I``, ``oo``, ``nan``, ``zoo`` are not literals (unknown symbol); a formula that
  evaluates to an infinity or NaN (``1/(x-x)``, ``log(0)``) is rejected as undefined, and a
  constant division by zero (``1/0``) as "division by zero". ``sqrt(-1)`` is allowed (it is just
  a wrong answer, unless the expected answer is imaginary too).
* **Limits**, checked before any SymPy work: text length (checked before normalisation),
  nesting depth (checked on the token stream without recursion, and again by a guard in the
  parser), digits per number, number of tokens, constant exponents ``|p| <= 1000``, constant
  factorial/binomial arguments ``<= 1000``, and an upper bound on the size in bits of any
  number SymPy could build from the tree (so ``(x*10^30)^1000`` is "number too large").
"""

from __future__ import annotations

import cmath
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy

from engine.errors import QuizwrightError
from engine.vocabulary import ASSUMPTIONS

__all__ = [
    "ASSUMPTIONS",
    "DEFAULT_LIMITS",
    "FUNCTIONS",
    "FormulaError",
    "Limits",
    "Node",
    "build_expr",
    "describe",
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


@dataclass(frozen=True)
class Limits:
    """Bounds applied before any SymPy object is built."""

    max_length: int = 1000
    max_depth: int = 40
    max_digits: int = 30
    max_tokens: int = 400
    max_exponent: int = 1000
    max_factorial: int = 1000
    # Kept below Python's 4300-digit int/str conversion limit (about 14 000 bits).
    max_bits: int = 12_000


DEFAULT_LIMITS = Limits()

# canonical name -> (SymPy constructor, allowed argument counts)
FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], tuple[int, ...]]] = {
    "sqrt": (sympy.sqrt, (1,)),
    "exp": (sympy.exp, (1,)),
    "log": (sympy.log, (1, 2)),
    "sin": (sympy.sin, (1,)),
    "cos": (sympy.cos, (1,)),
    "tan": (sympy.tan, (1,)),
    "sec": (sympy.sec, (1,)),
    "csc": (sympy.csc, (1,)),
    "cot": (sympy.cot, (1,)),
    "asin": (sympy.asin, (1,)),
    "acos": (sympy.acos, (1,)),
    "atan": (sympy.atan, (1,)),
    "asec": (sympy.asec, (1,)),
    "acsc": (sympy.acsc, (1,)),
    "acot": (sympy.acot, (1,)),
    "sinh": (sympy.sinh, (1,)),
    "cosh": (sympy.cosh, (1,)),
    "tanh": (sympy.tanh, (1,)),
    "asinh": (sympy.asinh, (1,)),
    "acosh": (sympy.acosh, (1,)),
    "atanh": (sympy.atanh, (1,)),
    "Abs": (sympy.Abs, (1,)),
    "sign": (sympy.sign, (1,)),
    "factorial": (sympy.factorial, (1,)),
    "binomial": (sympy.binomial, (2,)),
}

_ALIASES: dict[str, str] = {
    "ln": "log",
    "abs": "Abs",
    **{f"arc{name[1:]}": name for name in FUNCTIONS if name.startswith("a") and name != "Abs"},
}
_FUNCTION_NAMES: dict[str, str] = {**{name: name for name in FUNCTIONS}, **_ALIASES}
_CONSTANTS: dict[str, str] = {"pi": "pi", "E": "E", "e": "E"}
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

# ---------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True, slots=True)
class Num:
    value: Fraction
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Sym:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Const:
    name: str  # "pi" or "E"
    text: str  # as written, so that printing it back cannot collide with a declared symbol
    pos: int


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * / ^
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # canonical name, a key of FUNCTIONS
    args: tuple[Node, ...]
    pos: int


Node = Num | Sym | Const | Neg | BinOp | Call

# ---------------------------------------------------------------------------------------------
# Characters and tokens

_OPERATOR_CHARS = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/"}
_SUPERSCRIPTS = {
    "\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4",
    "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9",
    "\u207b": "-", "\u207a": "+",
}  # fmt: skip
_NUMBER_RE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(?:[eE]([+-]?\d+))?")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = " \t\r\n\f\v"
_CHAR_MESSAGES = {
    "'": "quotes are not allowed",
    '"': "quotes are not allowed",
    "`": "backticks are not allowed",
    ";": "';' is not allowed",
    "=": "'=' is not allowed: enter only the expression",
    "[": "square brackets are not allowed; use ( ) for grouping",
    "]": "square brackets are not allowed; use ( ) for grouping",
    "{": "curly brackets are not allowed; use ( ) for grouping",
    "}": "curly brackets are not allowed; use ( ) for grouping",
    "!": "'!' is not allowed; write factorial(n)",
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "name", "op", "(", ")", ",", "end"
    text: str
    pos: int  # 1-based column in the original text


def _show_char(ch: str) -> str:
    """A character as it can safely appear in a one-line message."""
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    return f"U+{ord(ch):04X}"


_NUMBER_LITERAL_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expected_names(expected: str) -> dict[str, str]:
    """The variable names a (trusted) expected formula uses, as real symbols, in order.

    Example: ``expected_names("sqrt(6/(n_in + n_out))")`` is ``{"n_in": "real", "n_out": "real"}``.
    """
    names: dict[str, str] = {}
    # Numbers go first, so that the e of 1e-3 is not taken for a name.
    for match in _IDENTIFIER_RE.finditer(_NUMBER_LITERAL_RE.sub(" ", expected)):
        name = match.group(0)
        if name not in _FUNCTION_NAMES and name not in _CONSTANTS:
            names.setdefault(name, "real")
    return names


def _normalise(text: str) -> tuple[str, list[int]]:
    """ASCII text plus, for each of its characters, the 0-based index it came from."""
    out: list[str] = []
    origin: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _SUPERSCRIPTS:
            start = i
            run = []
            while i < n and text[i] in _SUPERSCRIPTS:
                run.append(_SUPERSCRIPTS[text[i]])
                i += 1
            out.extend(["^", "(", *run, ")"])
            origin.extend([start, start, *range(start, i), i - 1])
            continue
        if ch == "\u221a":  # √(x) or √x: the square root of the parenthesis or the one atom after it
            j = i + 1
            while j < n and (text[j].isalnum() and text[j] < "\x80" or text[j] in "_."):
                j += 1
            if j < n and text[j] == "(" and j == i + 1:
                out.extend("sqrt")
                origin.extend([i] * 4)
            elif j > i + 1:
                if j < n and text[j] in _SUPERSCRIPTS:
                    raise FormulaError("ambiguous: write √(x²) or (√x)²", i + 1)
                out.extend(["s", "q", "r", "t", "(", *text[i + 1:j], ")"])
                origin.extend([i] * 5 + list(range(i + 1, j)) + [j - 1])
                i = j
                continue
            else:
                raise FormulaError("write √ before a number, a name or a parenthesis", i + 1)
            i += 1
            continue
        if ch < "\x80":
            out.append(ch)
            origin.append(i)
        else:
            mapped = _OPERATOR_CHARS.get(ch) or unicodedata.normalize("NFKC", ch)
            for m in mapped:
                m = _OPERATOR_CHARS.get(m, m)
                if m >= "\x80":
                    raise FormulaError(f"unexpected character {_show_char(ch)}", i + 1)
                out.append(m)
                origin.append(i)
        i += 1
    return "".join(out), origin


def _tokenize(text: str, limits: Limits) -> list[Token]:
    s, origin = _normalise(text)
    tokens: list[Token] = []
    depth = 0
    opened: list[int] = []
    i = 0
    n = len(s)

    def at(k: int) -> int:
        return origin[k] + 1 if k < n else len(text) + 1

    def push(kind: str, tok: str, k: int) -> None:
        tokens.append(Token(kind, tok, at(k)))
        if len(tokens) > limits.max_tokens:
            raise FormulaError(
                f"formula too long (more than {limits.max_tokens} numbers, names and operators)"
            )

    while i < n:
        ch = s[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and s[i + 1].isdigit()):
            m = _NUMBER_RE.match(s, i)
            assert m is not None  # a digit or ".digit" always starts a number
            end = m.end()
            if end < n and s[end] == ".":
                if end + 1 < n and s[end + 1].isdigit():
                    raise FormulaError("unexpected '.'", at(end))
                raise FormulaError("a decimal point must be followed by digits", at(end))
            push("num", m.group(0), i)
            i = end
            continue
        if ch.isalpha() or ch == "_":
            m = _IDENT_RE.match(s, i)
            assert m is not None
            end = m.end()
            push("name", m.group(0), i)
            if end < n and s[end] == ".":
                raise FormulaError("attribute access with '.' is not allowed", at(end))
            i = end
            continue
        if ch == "*" and i + 1 < n and s[i + 1] == "*":
            push("op", "^", i)
            i += 2
            continue
        if ch in "+-*/^":
            push("op", ch, i)
        elif ch == "(":
            depth += 1
            opened.append(i)
            if depth > limits.max_depth:
                raise FormulaError(f"too deeply nested (at most {limits.max_depth} levels)", at(i))
            push("(", ch, i)
        elif ch == ")":
            if depth == 0:
                raise FormulaError("unmatched ')'", at(i))
            depth -= 1
            opened.pop()
            push(")", ch, i)
            if i + 1 < n and s[i + 1] == ".":
                raise FormulaError("attribute access with '.' is not allowed", at(i + 1))
        elif ch == ",":
            push(",", ch, i)
        elif ch == ".":
            raise FormulaError("unexpected '.'", at(i))
        elif ch in _CHAR_MESSAGES:
            raise FormulaError(_CHAR_MESSAGES[ch], at(i))
        else:
            raise FormulaError(f"unexpected character {_show_char(text[origin[i]])}", at(i))
        i += 1
    if opened:
        raise FormulaError("unclosed '('", at(opened[-1]))
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# ---------------------------------------------------------------------------------------------
# Parser

_INFIX_BP = {"+": 10, "-": 10, "*": 20, "/": 20, "^": 40}
_IMPLICIT_BP = 20
_UNARY_BP = 30


class _Parser:
    """Pratt parser; every recursive call passes through ``_expr``, which guards the depth."""

    def __init__(self, tokens: list[Token], symbols: Mapping[str, str], limits: Limits) -> None:
        self.tokens = tokens
        self.i = 0
        self.symbols = symbols
        self.limits = limits
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def _next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise FormulaError("the formula is empty")
        node = self._expr(0)
        tok = self.peek
        if tok.kind == ",":
            raise FormulaError(
                "unexpected ',' (commas only separate function arguments; use a point for decimals)",
                tok.pos,
            )
        if tok.kind != "end":  # pragma: no cover - the loop in _expr consumes everything else
            raise FormulaError(f"unexpected '{tok.text}'", tok.pos)
        return node

    def _expr(self, rbp: int) -> Node:
        self.depth += 1
        # Parentheses were already limited by the tokenizer; this bounds operator chains
        # (unary signs, powers) so the recursion can never reach Python's own limit.
        if self.depth > 3 * self.limits.max_depth:
            raise FormulaError(
                f"too deeply nested (at most {self.limits.max_depth} levels)", self.peek.pos
            )
        left = self._nud(self._next())
        while True:
            tok = self.peek
            if tok.kind == "op":
                lbp = _INFIX_BP[tok.text]
                if lbp <= rbp:
                    break
                self._next()
                # right-associative power: parse the exponent with a lower binding power
                right = self._expr(lbp - 1 if tok.text == "^" else lbp)
                left = BinOp(tok.text, left, right, tok.pos)
            elif tok.kind in ("num", "name", "("):
                self._check_juxtaposition(self.tokens[self.i - 1], tok)
                if _IMPLICIT_BP <= rbp:
                    break
                right = self._expr(_IMPLICIT_BP)
                left = BinOp("*", left, right, tok.pos)
            else:
                break
        self.depth -= 1
        return left

    def _check_juxtaposition(self, prev: Token, tok: Token) -> None:
        """Allow number·name, number·(, )·( and )·name; anything else lacks an operator."""
        if prev.kind == "num" and tok.kind in ("name", "("):
            return
        if prev.kind == ")" and tok.kind in ("name", "("):
            return
        raise FormulaError(
            f"missing operator between {_describe_token(prev)} and {_describe_token(tok)}",
            tok.pos,
        )

    def _nud(self, tok: Token) -> Node:
        if tok.kind == "num":
            return _number(tok, self.limits)
        if tok.kind == "name":
            return self._name(tok)
        if tok.kind == "(":
            if self.peek.kind == ")":
                raise FormulaError("empty parentheses", tok.pos)
            inner = self._expr(0)
            self._expect_close(tok)
            return inner
        if tok.kind == "op" and tok.text in "+-":
            operand = self._expr(_UNARY_BP)
            return Neg(operand, tok.pos) if tok.text == "-" else operand
        if tok.kind == "end":
            prev = self.tokens[self.i - 2] if self.i >= 2 else None
            after = f" after '{prev.text}'" if prev is not None else ""
            raise FormulaError(f"the formula ends too early{after}", tok.pos)
        if tok.kind == ",":
            raise FormulaError(
                "unexpected ',' (commas only separate function arguments; use a point for decimals)",
                tok.pos,
            )
        raise FormulaError(f"unexpected '{tok.text}'", tok.pos)

    def _expect_close(self, opening: Token) -> None:
        tok = self.peek
        if tok.kind == ")":
            self._next()
            return
        if tok.kind == ",":
            raise FormulaError(
                "unexpected ',' (commas only separate function arguments; use a point for decimals)",
                tok.pos,
            )
        # The tokenizer balanced the parentheses, so anything else is a missing operator.
        raise FormulaError(f"expected ')' to close the '(' at position {opening.pos}", tok.pos)

    def _name(self, tok: Token) -> Node:
        name = tok.text
        is_call = self.peek.kind == "("
        if name in _FUNCTION_NAMES:
            canonical = _FUNCTION_NAMES[name]
            if not is_call:
                if self.peek.kind == "op" and self.peek.text == "^":
                    raise FormulaError(f"write {name}(x)^2 instead of {name}^2(x)", tok.pos)
                raise FormulaError(f"function {name} needs parentheses, e.g. {name}(x)", tok.pos)
            return self._call(tok, canonical)
        if is_call:
            if name in self.symbols or name in _CONSTANTS:
                raise FormulaError(
                    f"{name} is not a function; write {name}*(...) to multiply", tok.pos
                )
            raise FormulaError(f"unknown function {name}", tok.pos)
        if name in self.symbols:
            return Sym(name, tok.pos)
        if name in _CONSTANTS:
            return Const(_CONSTANTS[name], name, tok.pos)
        raise FormulaError(f"unknown symbol {name}", tok.pos)

    def _call(self, tok: Token, canonical: str) -> Node:
        opening = self._next()
        if self.peek.kind == ")":
            raise FormulaError(f"{tok.text}() needs an argument", opening.pos)
        args = [self._expr(0)]
        while self.peek.kind == ",":
            self._next()
            args.append(self._expr(0))
        self._expect_close(opening)
        arities = FUNCTIONS[canonical][1]
        if len(args) not in arities:
            wanted = " or ".join(str(a) for a in arities)
            plural = "" if arities == (1,) else "s"
            raise FormulaError(
                f"{tok.text} takes {wanted} argument{plural} (got {len(args)})", tok.pos
            )
        return Call(canonical, tuple(args), tok.pos)


def _describe_token(tok: Token) -> str:
    return {"(": "'('", ")": "')'"}.get(tok.kind, tok.text)


def _number(tok: Token, limits: Limits) -> Num:
    m = _NUMBER_RE.fullmatch(tok.text)
    assert m is not None
    mantissa, exponent = m.group(1), m.group(2)
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    if len(digits) > limits.max_digits:
        raise FormulaError(f"number has too many digits (at most {limits.max_digits})", tok.pos)
    scale = int(exponent) if exponent is not None else 0
    if abs(scale) > limits.max_exponent:
        raise FormulaError("number too large", tok.pos)
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    value = value * 10**scale if scale >= 0 else value / 10**-scale
    return Num(value, tok.text, tok.pos)


# ---------------------------------------------------------------------------------------------
# Safety analysis: bounded constant evaluation on Fractions (exact) and complex floats (magnitude)


@dataclass(frozen=True, slots=True)
class _Info:
    exact: Fraction | None  # exact value when the subtree is a rational constant
    approx: complex | None  # approximate value of a constant subtree; None = undefined/unknown
    bits: int  # upper bound on the size of any number SymPy builds for the subtree
    const: bool  # no symbols in the subtree


_INF = complex(math.inf, 0.0)


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
        else:
            value = getattr(cmath, name)(z)
    except OverflowError:
        return _INF
    except (ValueError, ZeroDivisionError):
        return None
    return value


class _Analyser:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def run(self, node: Node) -> _Info:
        info = self._visit(node)
        if info.bits > self.limits.max_bits:
            raise FormulaError("number too large", getattr(node, "pos", None))
        return info

    def _too_large(self, bits: int, pos: int) -> None:
        if bits > self.limits.max_bits:
            raise FormulaError("number too large", pos)

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
        return self._call(node)

    def _binop(self, node: BinOp) -> _Info:
        a = self._visit(node.left)
        b = self._visit(node.right)
        const = a.const and b.const
        if node.op == "^":
            return self._power(node, a, b)
        bits = a.bits + b.bits + (1 if node.op in "+-" else 0)
        self._too_large(bits, node.pos)
        exact: Fraction | None = None
        if a.exact is not None and b.exact is not None:
            if node.op == "/" and b.exact == 0:
                raise FormulaError("division by zero", node.pos)
            exact = {
                "+": lambda: a.exact + b.exact,
                "-": lambda: a.exact - b.exact,
                "*": lambda: a.exact * b.exact,
                "/": lambda: a.exact / b.exact,
            }[node.op]()
        approx: complex | None = None
        if exact is not None:
            approx = _to_complex(exact)
        elif const and a.approx is not None and b.approx is not None:
            try:
                approx = {
                    "+": lambda: a.approx + b.approx,
                    "-": lambda: a.approx - b.approx,
                    "*": lambda: a.approx * b.approx,
                    "/": lambda: a.approx / b.approx,
                }[node.op]()
            except ZeroDivisionError:
                approx = None
            except OverflowError:
                approx = _INF
        return _Info(exact, approx, bits, const)

    def _power(self, node: BinOp, a: _Info, b: _Info) -> _Info:
        limit = self.limits.max_exponent
        if b.const and not _magnitude(b) <= limit:
            raise FormulaError(f"exponent too large (at most {limit})", node.pos)
        if b.exact is not None:
            multiplier = abs(b.exact.numerator)
            bits = a.bits * max(multiplier, 1) + b.bits
        else:
            bits = a.bits + b.bits
        self._too_large(bits, node.pos)
        exact: Fraction | None = None
        approx: complex | None = None
        if a.exact is not None and b.exact is not None and b.exact.denominator == 1:
            n = b.exact.numerator
            if a.exact == 0 and n < 0:
                raise FormulaError("division by zero (0 to a negative power)", node.pos)
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

    def _call(self, node: Call) -> _Info:
        args = [self._visit(arg) for arg in node.args]
        const = all(a.const for a in args)
        bits = sum(a.bits for a in args)
        exact: Fraction | None = None
        if node.name in ("factorial", "binomial"):
            limit = self.limits.max_factorial
            for arg, info in zip(node.args, args, strict=True):
                if info.const and not _magnitude(info) <= limit:
                    raise FormulaError(
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
        elif node.name == "Abs" and args[0].exact is not None:
            exact = abs(args[0].exact)
        elif node.name == "sign" and args[0].exact is not None:
            q = args[0].exact
            exact = Fraction((q > 0) - (q < 0))
        self._too_large(bits, node.pos)
        approx: complex | None = None
        if exact is not None:
            approx = _to_complex(exact)
        elif const and all(a.approx is not None for a in args):
            approx = _approx_call(node.name, [a.approx for a in args])  # type: ignore[misc]
        return _Info(exact, approx, bits, const)


# ---------------------------------------------------------------------------------------------
# Public API


@lru_cache(maxsize=1024)
def _symbols_cached(items: tuple[tuple[str, str], ...]) -> dict[str, sympy.Symbol]:
    out: dict[str, sympy.Symbol] = {}
    for name, assumption in items:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"invalid variable name {name!r}: use letters, digits and _")
        if name in _FUNCTION_NAMES or name == "pi":
            raise ValueError(f"invalid variable name {name!r}: it is a function or constant")
        if assumption not in ASSUMPTIONS:
            allowed = ", ".join(ASSUMPTIONS)
            raise ValueError(f"variable {name}: unknown assumption {assumption!r} ({allowed})")
        out[name] = sympy.Symbol(name, **ASSUMPTIONS[assumption])
    return out


def make_symbols(symbols: Mapping[str, str]) -> dict[str, sympy.Symbol]:
    """SymPy symbols for declared variables (name -> assumption).

    Raises:
        ValueError: a name is not an identifier, is a function/``pi``, or the assumption is
            not one of ``ASSUMPTIONS`` (a question-configuration mistake, not a student one).
    """
    if not all(isinstance(name, str) for name in symbols):
        raise ValueError("variable names must be text")
    return dict(_symbols_cached(tuple(sorted(symbols.items()))))


def parse_syntax(text: str, symbols: Mapping[str, str], *, limits: Limits = DEFAULT_LIMITS) -> Node:
    """Tokenize, parse and safety-check a formula without building any SymPy object.

    Raises:
        FormulaError: the only exception this function raises.
    """
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    if len(text) > limits.max_length:  # before NFKC: normalising 1 MB would already cost time
        raise FormulaError(
            f"formula too long ({len(text)} characters; at most {limits.max_length})"
        )
    try:
        tokens = _tokenize(text, limits)
        tree = _Parser(tokens, symbols, limits).parse()
        _Analyser(limits).run(tree)
    except RecursionError:  # only reachable with limits far above the defaults
        raise FormulaError("too deeply nested") from None
    return tree


def build_expr(tree: Node, symbols: Mapping[str, str]) -> sympy.Expr:
    """SymPy expression of a checked tree (from ``parse_syntax``), with SymPy evaluation on.

    Raises:
        FormulaError: the expression is undefined (an infinity or NaN appeared).
    """
    syms = make_symbols(symbols)
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
    text: str, symbols: Mapping[str, str], *, limits: Limits = DEFAULT_LIMITS
) -> sympy.Expr:
    """Parse an untrusted formula into a SymPy expression over the declared ``symbols``.

    ``symbols`` maps each allowed variable name to an assumption in ``ASSUMPTIONS``.

    Raises:
        FormulaError: the only exception raised for any text (use ``describe`` for the message).
        ValueError: ``symbols`` itself is invalid (a configuration mistake).
    """
    make_symbols(symbols)  # configuration errors surface before the student's text is judged
    return build_expr(parse_syntax(text, symbols, limits=limits), symbols)


def _build(node: Node, syms: Mapping[str, sympy.Symbol]) -> sympy.Expr:
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
    func = FUNCTIONS[node.name][0]
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
    if error.position is None:
        message = error.message
    else:
        message = f"{error.message} at position {error.position}"
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
