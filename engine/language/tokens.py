"""Characters to tokens for the expression grammar: the one decimal-literal regex, Unicode
normalisation of students' text (positions kept), and the limits checked while tokenizing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.errors import QuizwrightError
from engine.language.allow import Dialect

# The decimal literal of every parser and of numeric answers: mantissa (group 1, "5." allowed
# here and refused by the student parser) and optional exponent (group 2).
DECIMAL = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?"
DECIMAL_RE = re.compile(DECIMAL)
IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_RE = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*")
# Python literals authors could write before this grammar: 1_000, 0x1F, 0o17, 0b101.
_PYTHON_INT_RE = re.compile(r"0[xXoObB][0-9a-fA-F_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?[\d_]+)?")


class GrammarError(QuizwrightError):
    """Text the grammar refuses; ``position`` is a 1-based column in the original text.

    ``syntax`` marks a text that does not parse (rather than a construct that is not allowed).
    """

    def __init__(self, message: str, position: int | None = None, *, syntax: bool = True) -> None:
        super().__init__(message if position is None else f"{message} at position {position}")
        self.message = message
        self.position = position
        self.syntax = syntax


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
# Authors' expressions are trusted and at most 2000 characters; these only bound recursion.
AUTHOR_LIMITS = Limits(max_length=2000, max_depth=200, max_digits=2000, max_tokens=2000, max_exponent=10_000)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "name", "op", "(", ")", ",", "str" (authors, to refuse), "end"
    text: str
    pos: int  # 1-based column in the original text


_OPERATOR_CHARS = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/"}
_SUPERSCRIPTS = {
    "\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4",
    "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9",
    "\u207b": "-", "\u207a": "+",
}  # fmt: skip
_SPACE = " \t\r\n\f\v"
_STUDENT_CHARS = {
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
# Authors: Python's own words for what the old `ast` allow-list refused.
_AUTHOR_REFUSED = {
    "//": "operator FloorDiv", "@": "operator MatMult", "&": "operator BitAnd", "|": "operator BitOr",
    "<<": "operator LShift", ">>": "operator RShift", "~": "operator Invert", ".": "Attribute",
    ":=": "NamedExpr",
}
# Brackets, ':' and ';' become tokens so that the parser refuses them where Python's `ast` did.
_AUTHOR_OPS = ("**", "==", "!=", "<=", ">=", "//", "<<", ">>", ":=", "+", "-", "*", "/", "%", "<", ">", "=",
               "@", "&", "|", "~", "[", "]", "{", "}", ":", ";")


def show_char(ch: str) -> str:
    """A character as it can safely appear in a one-line message."""
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    return f"U+{ord(ch):04X}"


def _root_sign(text: str, i: int, out: list[str], origin: list[int]) -> int:
    """√(x) or √x: the square root of the parenthesis or of the one atom after it; next index."""
    n = len(text)
    j = i + 1
    while j < n and (text[j].isalnum() and text[j] < "\x80" or text[j] in "_."):
        j += 1
    if j < n and text[j] == "(" and j == i + 1:
        out.extend("sqrt")
        origin.extend([i] * 4)
        return i + 1
    if j == i + 1:
        raise GrammarError("write √ before a number, a name or a parenthesis", i + 1)
    if j < n and text[j] in _SUPERSCRIPTS:
        raise GrammarError("ambiguous: write √(x²) or (√x)²", i + 1)
    out.extend(["s", "q", "r", "t", "(", *text[i + 1 : j], ")"])
    origin.extend([i] * 5 + list(range(i + 1, j)) + [j - 1])
    return j


def normalise(text: str) -> tuple[str, list[int]]:
    """A student's text in ASCII plus, for each character, the 0-based index it came from."""
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
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
        if ch == "\u221a":
            i = _root_sign(text, i, out, origin)
            continue
        if ch < "\x80":
            out.append(ch)
            origin.append(i)
        else:
            for m in _OPERATOR_CHARS.get(ch) or unicodedata.normalize("NFKC", ch):
                m = _OPERATOR_CHARS.get(m, m)
                if m >= "\x80" and unicodedata.category(m) == "Nd":
                    m = str(unicodedata.digit(m))  # a decimal digit of any script, as integers take them
                if m >= "\x80":
                    raise GrammarError(f"unexpected character {show_char(ch)}", i + 1)
                out.append(m)
                origin.append(i)
        i += 1
    return "".join(out), origin


class _Tokenizer:
    def __init__(self, text: str, dialect: Dialect, limits: Limits) -> None:
        self.text = text
        self.author = dialect.author
        self.limits = limits
        if self.author:
            self.s, self.origin = text, list(range(len(text)))
        else:
            self.s, self.origin = normalise(text)
        self.tokens: list[Token] = []
        self.opened: list[int] = []

    def at(self, k: int) -> int:
        return self.origin[k] + 1 if k < len(self.s) else len(self.text) + 1

    def push(self, kind: str, tok: str, k: int) -> None:
        self.tokens.append(Token(kind, tok, self.at(k)))
        if len(self.tokens) > self.limits.max_tokens:
            raise GrammarError(
                f"formula too long (more than {self.limits.max_tokens} numbers, names and operators)"
            )

    def refuse(self, what: str, k: int) -> GrammarError:
        return GrammarError(f"{what} is not allowed", self.at(k), syntax=False)

    def run(self) -> list[Token]:
        s, i, n = self.s, 0, len(self.s)
        while i < n:
            ch = s[i]
            if ch in _SPACE or (self.author and ch == "\\" and s[i + 1 : i + 2] == "\n"):
                i += 1
            elif self.author and ch == "#":  # a Python comment, as `ast` allowed
                while i < n and s[i] != "\n":
                    i += 1
            elif ch.isdigit() and ch.isascii() or (ch == "." and i + 1 < n and s[i + 1].isdigit()):
                i = self.number(i)
            elif ch.isalpha() or ch == "_" or not ch.isascii():
                i = self.name(i)
            else:
                i = self.punctuation(i)
        if self.opened:
            raise GrammarError("unclosed '('", self.at(self.opened[-1]))
        self.tokens.append(Token("end", "", len(self.text) + 1))
        return self.tokens

    def number(self, i: int) -> int:
        s, n = self.s, len(self.s)
        m = DECIMAL_RE.match(s, i)
        assert m is not None  # a digit or ".digit" always starts a number
        end = m.end()
        if not m.group(0).isascii():  # \d also matches other scripts' digits (authors' text only)
            k = i + next(k for k, c in enumerate(m.group(0)) if not c.isascii())
            raise GrammarError(f"unexpected character {show_char(s[k])}", self.at(k))
        if self.author:
            old = _PYTHON_INT_RE.match(s, i)
            if old is not None and old.end() > end:
                literal = old.group(0)
                try:
                    value = str(int(literal, 0)) if literal[1:2].isalpha() else literal.replace("_", "")
                except ValueError:
                    raise GrammarError(f"unexpected {literal!r}", self.at(i)) from None
                raise GrammarError(f"{literal!r}: Python number syntax is no longer accepted; write {value}",
                                   self.at(i), syntax=False)
        elif m.group(1).endswith("."):
            raise GrammarError("a decimal point must be followed by digits", self.at(i + len(m.group(1)) - 1))
        if end < n and s[end] == ".":
            if end + 1 < n and s[end + 1].isdigit():
                raise GrammarError("unexpected '.'", self.at(end))
            raise GrammarError("a decimal point must be followed by digits", self.at(end))
        self.push("num", m.group(0), i)
        return end

    def name(self, i: int) -> int:
        m = IDENTIFIER_RE.match(self.s, i)
        if m is None:  # a non-ASCII letter: authors' text is not normalised as Python's names were
            ascii_form = unicodedata.normalize("NFKC", self.s[i])
            hint = f"; write {ascii_form!r}" if ascii_form.isascii() and ascii_form.isalnum() else ""
            raise GrammarError(f"unexpected character {show_char(self.s[i])}{hint}", self.at(i), syntax=not hint)
        end = m.end()
        if self.author and (field := _FIELD_RE.match(self.s, end)) is not None:
            end = field.end()  # a record parameter's field, act.gain: the parser tells it from an attribute
        self.push("name", self.s[i:end], i)
        self.no_attribute(end)
        return end

    def no_attribute(self, k: int) -> None:
        if k < len(self.s) and self.s[k] == ".":
            if self.author:
                raise self.refuse("Attribute", k)
            raise GrammarError("attribute access with '.' is not allowed", self.at(k))

    def punctuation(self, i: int) -> int:
        s, ch = self.s, self.s[i]
        if ch == "(":
            self.opened.append(i)
            if len(self.opened) > self.limits.max_depth:
                raise GrammarError(f"too deeply nested (at most {self.limits.max_depth} levels)", self.at(i))
            self.push("(", ch, i)
        elif ch == ")":
            if not self.opened:
                raise GrammarError("unmatched ')'", self.at(i))
            self.opened.pop()
            self.push(")", ch, i)
            self.no_attribute(i + 1)
        elif ch == ",":
            self.push(",", ch, i)
        elif self.author:
            return self.author_operator(i)
        elif s.startswith("**", i):
            self.push("op", "^", i)
            return i + 2
        elif ch in "+-*/^":
            self.push("op", ch, i)
        elif ch == ".":
            raise GrammarError("unexpected '.'", self.at(i))
        elif ch in _STUDENT_CHARS:
            raise GrammarError(_STUDENT_CHARS[ch], self.at(i))
        else:
            raise GrammarError(f"unexpected character {show_char(self.text[self.origin[i]])}", self.at(i))
        return i + 1

    def author_operator(self, i: int) -> int:
        s = self.s
        if s[i] == "^":
            raise GrammarError("use ** for powers, not ^", self.at(i), syntax=False)
        if s[i] in "'\"":
            end = s.find(s[i], i + 1)
            end = len(s) if end < 0 else end + 1
            self.push("str", s[i:end], i)
            return end
        op = next((op for op in _AUTHOR_OPS if s.startswith(op, i)), None)
        refused = _AUTHOR_REFUSED.get(op or s[i])
        if refused is not None:
            raise self.refuse(refused, i)
        if op is None:
            raise GrammarError(f"unexpected character {show_char(s[i])}", self.at(i))
        self.push("op", "^" if op == "**" else op, i)
        return i + len(op)


def tokenize(text: str, dialect: Dialect, limits: Limits) -> list[Token]:
    """The tokens of ``text`` under ``dialect``; raises GrammarError."""
    return _Tokenizer(text, dialect, limits).run()
