"""A small, bounded reader of the TeX math our texts print: the values and expressions they show.

It reads what the exercise texts write ($\\frac{2}{n_{in}}$, $\\sqrt{6/(n+m)}$, $x^2 \\cdot y$,
$n_{\\text{in}} = 4$) and gives up, quietly, on anything else. The text is split at `=`, `≈`,
commas and relations; each part is read on its own. Bounded: a part of more than `MAX_TOKENS`
tokens or nested deeper than `MAX_DEPTH` is not read, exponents stay small, so any text costs
time linear in its length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from engine.generation.exprtree import Expr, constant

MAX_TEXT = 50_000  # characters of a text that are read
MAX_SEGMENT = 600  # a longer $...$ is not read
MAX_TOKENS = 120
MAX_DEPTH = 24
MAX_EXPONENT = 16

_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.S)
_TOKEN = re.compile(r"(\d+(?:\.\d+)?|\.\d+)|(\\(?:[A-Za-z]+|.))|([A-Za-z])|(\s+)|(.)", re.S)
_DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d+|\d+)(?![\w.])")
_SEPARATORS = {"=", ",", ";", "<", ">", "≈", "≤", "≥", "\\approx", "\\le", "\\leq", "\\ge", "\\geq", "\\sim",
               "\\neq", "\\ne", "\\to", "\\quad", "\\qquad", "\\in", "\\propto", "\\Rightarrow", "\\implies"}
_SKIPPED = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\left", "\\right", "\\displaystyle", "\\big", "\\Big"}
_TIMES = {"*", "\\cdot", "\\times", "×", "·"}
_FRACTIONS = {"\\frac", "\\dfrac", "\\tfrac"}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "nu", "rho", "sigma",
          "tau", "phi", "psi", "omega"}
_UNICODE = str.maketrans({"−": "-", "\u2009": " ", "\u00a0": " "})


class _Unreadable(Exception):
    """The part is not one the reader knows: it is left out."""


@dataclass(frozen=True)
class Shown:
    """A value or expression a text shows (an `exprtree` tree), and the text that shows it;
    `places` is the number of decimal places of a bare decimal such as 0.1768."""

    expr: Expr
    text: str
    places: int | None = None


def math_segments(text: str) -> list[str]:
    """The $...$ and $$...$$ of a Markdown text (up to `MAX_TEXT` characters)."""
    return [m.group(1) or m.group(2) for m in _MATH.finditer(text[:MAX_TEXT])]


@lru_cache(maxsize=4096)
def read_math(text: str) -> tuple[Shown, ...]:
    """Every expression the math of `text` shows, with the bare numbers of parts it cannot read."""
    found: list[Shown] = []
    for segment in math_segments(text):
        if len(segment) > MAX_SEGMENT:
            continue
        for part in _parts(_tokens(segment.translate(_UNICODE))):
            shown = read_part(part)
            if shown is not None:
                found.append(shown)
            else:
                found.extend(_numbers(part))
    return tuple(found)


def read_expression(source: str) -> Shown | None:
    """One TeX expression (no `$`), or None when it is not one the reader knows."""
    parts = _parts(_tokens(source.translate(_UNICODE)))
    return read_part(parts[0]) if len(parts) == 1 else None


def _tokens(segment: str) -> list[str]:
    tokens = []
    for number, command, letter, space, other in _TOKEN.findall(segment):
        token = number or command or letter or other
        if token and not space and token not in _SKIPPED:
            tokens.append(token)
    return tokens


def _parts(tokens: list[str]) -> list[list[str]]:
    """The tokens split at separators outside braces and parentheses."""
    parts: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        depth += token in "({[" and len(token) == 1
        depth -= token in ")}]" and len(token) == 1
        if depth == 0 and token in _SEPARATORS:
            parts.append([])
        else:
            parts[-1].append(token)
    return [part for part in parts if part]


def _numbers(part: list[str]) -> list[Shown]:
    return [Shown(("n", Fraction(token)), token, _places(token)) for token in part if _DECIMAL.fullmatch(token)]


def _places(token: str) -> int | None:
    return len(token.partition(".")[2]) if "." in token else None


def read_part(part: list[str]) -> Shown | None:
    """One part's expression, or None."""
    if not part or len(part) > MAX_TOKENS:
        return None
    try:
        reader = _Reader(part)
        expr = reader.expression(0)
        if reader.at < len(part):
            return None
    except (_Unreadable, ArithmeticError, ValueError, TypeError, RecursionError):
        return None
    text = "".join(t + (" " if t[0] == "\\" and t[1:].isalpha() and nxt[:1].isalpha() else "")
                   for t, nxt in zip(part, [*part[1:], ""], strict=True))
    return Shown(expr, text, _places(part[0]) if len(part) == 1 and _DECIMAL.fullmatch(part[0]) else None)


class _Reader:
    """Recursive descent over one part's tokens, building a SymPy expression."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unreadable
        self.at += 1
        return token

    def expression(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise _Unreadable
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            sign = self.take()
            right = self.term(depth)
            value = ("+", value, right if sign == "+" else ("-", right))
        return value

    def term(self, depth: int) -> Expr:
        value = self.signed(depth)
        while True:
            token = self.peek()
            if token in _TIMES:
                self.take()
                value = ("*", value, self.signed(depth))
            elif token == "/":
                self.take()
                value = ("/", value, self.signed(depth))
            elif token is not None and self.starts_atom(token):
                value = ("*", value, self.power(depth))  # implicit product: 2n, 2\sqrt{x}
            else:
                return value

    def starts_atom(self, token: str) -> bool:
        return (token[0].isalnum() or token in ("(", "{", "\\sqrt") or token in _FRACTIONS
                or token.lstrip("\\") in _GREEK)

    def signed(self, depth: int) -> Expr:
        if self.peek() in ("-", "+"):
            sign = self.take()
            value = self.signed(depth + 1)
            return ("-", value) if sign == "-" else value
        return self.power(depth)

    def power(self, depth: int) -> Expr:
        base = self.atom(depth + 1)
        if self.peek() == "^":
            self.take()
            exponent = constant(self.script(depth + 1))
            if exponent is None or abs(exponent.numerator) > MAX_EXPONENT or exponent.denominator > MAX_EXPONENT:
                raise _Unreadable
            return ("^", base, exponent)
        return base

    def script(self, depth: int) -> Expr:
        """A superscript: a braced expression or a single token."""
        if self.peek() == "{":
            return self.group(depth)
        token = self.take()
        if token.isdigit() and len(token) == 1:
            return ("n", Fraction(token))
        raise _Unreadable

    def group(self, depth: int) -> Expr:
        self.take("{")
        value = self.expression(depth + 1)
        self.take("}")
        return value

    def atom(self, depth: int) -> Expr:
        token = self.take()
        if token[0].isdigit() or token[0] == ".":
            return ("n", Fraction(token))
        if token == "(":
            value = self.expression(depth + 1)
            self.take(")")
            return value
        if token == "{":
            self.at -= 1
            return self.group(depth)
        if token in _FRACTIONS:
            top = self.group(depth)
            return ("/", top, self.group(depth))
        if token == "\\sqrt":
            index = 2
            if self.peek() == "[":
                self.take()
                index = int(self.take()) if (self.peek() or "").isdigit() else 0
                self.take("]")
                if not 2 <= index <= MAX_EXPONENT:
                    raise _Unreadable
            return ("^", self.group(depth), Fraction(1, index))
        if token.isalpha() and len(token) == 1 or token.lstrip("\\") in _GREEK:
            return ("s", token.lstrip("\\") + self.subscript())
        raise _Unreadable

    def subscript(self) -> str:
        """`_in`, `_{in}`, `_{\\text{in}}` as the name's `_in`; nothing when there is none."""
        if self.peek() != "_":
            return ""
        self.take()
        if self.peek() != "{":
            token = self.take()
            if not token.isalnum():
                raise _Unreadable
            return "_" + token
        self.take()
        name = ""
        opened = 1
        while opened:
            token = self.take()
            if token in ("\\text", "\\mathrm", "\\mathit", "\\textrm"):
                continue
            opened += (token == "{") - (token == "}")
            if token not in ("{", "}"):
                if not token.replace("_", "").isalnum():
                    raise _Unreadable
                name += token
        if not name or len(name) > 32:
            raise _Unreadable
        return "_" + name
