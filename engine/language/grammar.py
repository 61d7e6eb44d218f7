"""The one expression grammar of authors and students: syntax tree and Pratt parser.

Both sides share numbers, names, ``+ - * /``, powers (right-associative, binding tighter than a
unary sign: ``-x**2`` is ``-(x**2)``, ``2**-1`` is allowed), calls and parentheses, with Python's
precedence. The dialect (``engine.language.allow``) adds the rest: authors get ``%``,
comparisons (chained), ``not``/``and``/``or`` and ``a if c else b``; students get ``^``,
implicit multiplication (``2n``, ``(x+1)(x-1)``, ``s(1-s)`` for a declared ``s``, ``1/2x`` is
``x/2``) and Unicode operators.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction

from engine.language.allow import Dialect, arity_text
from engine.language.tokens import DECIMAL_RE, GrammarError, Limits, Token, tokenize


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
    name: str  # canonical: "pi", "E", "True" or "False"
    text: str  # as written, so that printing it back cannot collide with a declared symbol
    pos: int


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * / ^ %
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # canonical name, a key of allow.FUNCTIONS
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Compare:
    ops: tuple[str, ...]  # == != < <= > >=, chained as in Python
    operands: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and", "or" or "not" (one operand)
    operands: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class IfElse:
    test: Node
    body: Node
    orelse: Node
    pos: int


Node = Num | Sym | Const | Neg | BinOp | Call | Compare | Logic | IfElse

_INFIX_BP = {"+": 10, "-": 10, "*": 20, "/": 20, "%": 20, "^": 40}
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_IF_BP, _OR_BP, _AND_BP, _NOT_BP, _COMPARE_BP = 1, 2, 3, 4, 5
_IMPLICIT_BP = 20
_UNARY_BP = 30
_COMMA = "unexpected ',' (commas only separate function arguments; use a point for decimals)"
# Python words the old `ast` allow-list refused, named as it named them.
_KEYWORDS = {"lambda": "Lambda", "None": "constant None", "in": "comparison In", "is": "comparison Is",
             "await": "Await", "yield": "Yield", "for": "comprehension"}
_INFIX_WORDS = frozenset({"and", "or", "if", "in", "is", "not"})


def _describe_token(tok: Token) -> str:
    return {"(": "'('", ")": "')'"}.get(tok.kind, tok.text)


class Parser:
    """Pratt parser; every recursive call passes through ``_expr``, which guards the depth."""

    def __init__(self, tokens: list[Token], dialect: Dialect, names: Collection[str], limits: Limits) -> None:
        self.tokens = tokens
        self.i = 0
        self.dialect = dialect
        self.author = dialect.author
        self.names = names
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
            raise GrammarError("the formula is empty")
        node = self._expr(0)
        tok = self.peek
        if tok.kind == ",":
            if self.author:
                raise GrammarError("Tuple is not allowed", tok.pos, syntax=False)
            raise GrammarError(_COMMA, tok.pos)
        if tok.kind != "end":
            raise GrammarError(f"unexpected '{tok.text}'", tok.pos)
        return node

    def _expr(self, rbp: int) -> Node:
        self.depth += 1
        # Parentheses were already limited by the tokenizer; this bounds operator chains
        # (unary signs, powers) so the recursion can never reach Python's own limit.
        if self.depth > 3 * self.limits.max_depth:
            raise GrammarError(f"too deeply nested (at most {self.limits.max_depth} levels)", self.peek.pos)
        left = self._nud(self._next())
        while True:
            tok = self.peek
            if tok.kind == "op" and tok.text in _INFIX_BP and (tok.text != "%" or self.author):
                lbp = _INFIX_BP[tok.text]
                if lbp <= rbp:
                    break
                self._next()
                right = self._expr(lbp - 1 if tok.text == "^" else lbp)  # power is right-associative
                left = BinOp(tok.text, left, right, tok.pos)
            elif self.author and (tok.kind == "op" and tok.text in _COMPARISONS or tok.text in _INFIX_WORDS):
                if not self._author_infix(tok, rbp):
                    break
                left = self._author_tail(left)
            elif self.author and tok.text in ("else", "["):
                if tok.text == "[":
                    raise GrammarError("Subscript is not allowed", tok.pos, syntax=False)
                break
            elif tok.kind in ("num", "name", "(", "str"):
                self._juxtaposition(self.tokens[self.i - 1], tok)
                if _IMPLICIT_BP <= rbp:
                    break
                left = BinOp("*", left, self._expr(_IMPLICIT_BP), tok.pos)
            else:
                break
        self.depth -= 1
        return left

    def _author_infix(self, tok: Token, rbp: int) -> bool:
        if tok.text in ("in", "is") or tok.text == "not":
            raise GrammarError(f"{_KEYWORDS.get(tok.text, 'comparison NotIn')} is not allowed", tok.pos,
                               syntax=False)
        lbp = {"or": _OR_BP, "and": _AND_BP, "if": _IF_BP}.get(tok.text, _COMPARE_BP)
        return lbp > rbp

    def _author_tail(self, left: Node) -> Node:
        """The comparison chain, ``and``/``or`` or conditional that continues ``left``."""
        tok = self._next()
        if tok.text == "if":
            test = self._expr(_IF_BP)
            if self.peek.text != "else" or self.peek.kind != "name":
                raise GrammarError("expected 'else'", self.peek.pos)
            self._next()
            return IfElse(test, left, self._expr(0), tok.pos)
        if tok.text in ("and", "or"):
            return Logic(tok.text, (left, self._expr(_AND_BP if tok.text == "and" else _OR_BP)), tok.pos)
        ops, operands = [tok.text], [left, self._expr(_COMPARE_BP)]
        while self.peek.kind == "op" and self.peek.text in _COMPARISONS:
            ops.append(self._next().text)
            operands.append(self._expr(_COMPARE_BP))
        return Compare(tuple(ops), tuple(operands), tok.pos)

    def _juxtaposition(self, prev: Token, tok: Token) -> None:
        """Students may write number·name, number·(, )·(, )·name and name·( (a variable or constant
        before ``(``, as in ``s(1-s)``; a function's ``(`` is its call); anything else lacks an operator."""
        if not self.author and (
            prev.kind in ("num", ")") and tok.kind in ("name", "(") or prev.kind == "name" and tok.kind == "("
        ):
            return
        raise GrammarError(f"missing operator between {_describe_token(prev)} and {_describe_token(tok)}", tok.pos)

    def _nud(self, tok: Token) -> Node:
        if tok.kind == "num":
            return self._number(tok)
        if tok.kind == "name":
            return self._name(tok)
        if tok.kind == "(":
            if self.peek.kind == ")":
                if self.author:
                    raise GrammarError("Tuple is not allowed", tok.pos, syntax=False)
                raise GrammarError("empty parentheses", tok.pos)
            inner = self._expr(0)
            self._expect_close(tok)
            return inner
        if tok.kind == "op" and tok.text in "+-":
            operand = self._expr(_UNARY_BP)
            return Neg(operand, tok.pos) if tok.text == "-" else operand
        if tok.kind == "end":
            prev = self.tokens[self.i - 2] if self.i >= 2 else None
            after = f" after '{prev.text}'" if prev is not None else ""
            raise GrammarError(f"the formula ends too early{after}", tok.pos)
        if tok.kind == ",":
            raise GrammarError(_COMMA, tok.pos)
        if self.author and (tok.kind == "str" or tok.text in "[{"):
            what = {"[": "List", "{": "Dict"}.get(tok.text, "a string constant")
            raise GrammarError(f"{what} is not allowed", tok.pos, syntax=False)
        raise GrammarError(f"unexpected '{tok.text}'", tok.pos)

    def _expect_close(self, opening: Token) -> None:
        tok = self.peek
        if tok.kind == ")":
            self._next()
            return
        if tok.kind == ",":
            if self.author:
                raise GrammarError("Tuple is not allowed", tok.pos, syntax=False)
            raise GrammarError(_COMMA, tok.pos)
        raise GrammarError(f"expected ')' to close the '(' at position {opening.pos}", tok.pos)

    def _name(self, tok: Token) -> Node:
        if self.author:
            return self._author_name(tok)
        name = tok.text
        is_call = self.peek.kind == "("
        function = self.dialect.functions.get(name)
        if function is not None:
            if not is_call:
                if self.peek.kind == "op" and self.peek.text == "^":
                    raise GrammarError(f"write {name}(x)^2 instead of {name}^2(x)", tok.pos)
                raise GrammarError(f"function {name} needs parentheses, e.g. {name}(x)", tok.pos)
            return self._call(tok, function.canonical)
        if is_call and name not in self.names and name not in self.dialect.constants:
            raise GrammarError(f"unknown function {name}", tok.pos)
        if name in self.names:
            return Sym(name, tok.pos)
        if name in self.dialect.constants:
            return Const(self.dialect.constants[name], name, tok.pos)
        raise GrammarError(f"unknown symbol {name}", tok.pos)

    def _author_name(self, tok: Token) -> Node:
        name = tok.text
        if "." in name:  # a record parameter's field (act.gain) is a name; anything else is an attribute
            if name in self.names:
                return Sym(name, tok.pos)
            raise GrammarError("Attribute is not allowed", tok.pos + name.index("."), syntax=False)
        if name == "not":
            return Logic("not", (self._expr(_NOT_BP),), tok.pos)
        if name in _KEYWORDS:
            raise GrammarError(f"{_KEYWORDS[name]} is not allowed", tok.pos, syntax=False)
        if name in _INFIX_WORDS or name == "else":
            raise GrammarError(f"unexpected '{name}'", tok.pos)
        if self.peek.kind == "(":
            function = self.dialect.functions.get(name)
            if function is None and name in self.names:  # authors write Python: no implicit product
                raise GrammarError(f"{name} is not a function; write {name}*(...) to multiply", tok.pos,
                                   syntax=False)
            if function is None:
                raise GrammarError(f"function {name!r} is not allowed", tok.pos, syntax=False)
            return self._call(tok, function.canonical)
        if name in self.names and name not in ("True", "False"):  # Python keywords, never names
            return Sym(name, tok.pos)
        if name in self.dialect.constants:
            return Const(self.dialect.constants[name], name, tok.pos)
        raise GrammarError(f"unknown name {name!r}", tok.pos, syntax=False)

    def _call(self, tok: Token, canonical: str) -> Call:
        opening = self._next()
        args: list[Node] = []
        if self.peek.kind == ")" and not self.author:
            raise GrammarError(f"{tok.text}() needs an argument", opening.pos)
        while self.peek.kind != ")":
            if self.author and self.peek.kind == "op" and self.peek.text in ("*", "^"):
                raise GrammarError("Starred is not allowed", self.peek.pos, syntax=False)
            following = self.tokens[min(self.i + 1, len(self.tokens) - 1)]
            if self.author and self.peek.kind == "name" and following.kind == "op" and following.text == "=":
                raise GrammarError("keyword arguments are not allowed", self.peek.pos, syntax=False)
            args.append(self._expr(0))
            if self.peek.kind != ",":
                break
            self._next()
            if not self.author and self.peek.kind == ")":  # Python allows f(x,); students do not
                raise GrammarError("unexpected ')'", self.peek.pos)
        self._expect_close(opening)
        arity = self.dialect.functions[canonical].arity
        if not arity[0] <= len(args) <= (arity[1] if arity[1] is not None else len(args)):
            raise GrammarError(arity_text(tok.text, arity, len(args)), tok.pos, syntax=not self.author)
        return Call(canonical, tuple(args), tok.pos)

    def _number(self, tok: Token) -> Num:
        m = DECIMAL_RE.fullmatch(tok.text)
        assert m is not None
        mantissa, exponent = m.group(1), m.group(2)
        whole, _, frac = mantissa.partition(".")
        digits = (whole + frac).lstrip("0")
        if len(digits) > self.limits.max_digits:
            raise GrammarError(f"number has too many digits (at most {self.limits.max_digits})", tok.pos)
        scale = int(exponent) if exponent is not None else 0
        if abs(scale) > self.limits.max_exponent:
            raise GrammarError("number too large", tok.pos)
        value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
        value = value * 10**scale if scale >= 0 else value / 10**-scale
        return Num(value, tok.text, tok.pos)


def parse(text: str, dialect: Dialect, names: Collection[str], limits: Limits) -> Node:
    """The syntax tree of ``text`` under ``dialect``, ``names`` being the declared names.

    Raises:
        GrammarError: with a 1-based position in ``text``.
    """
    tokens = tokenize(text, dialect, limits)
    try:
        return Parser(tokens, dialect, names, limits).parse()
    except RecursionError:  # only reachable with limits far above the defaults
        raise GrammarError("too deeply nested") from None
