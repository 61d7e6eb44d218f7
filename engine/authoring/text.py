"""Exercise text: a Jinja environment whose delimiters cannot collide with TeX, compiled once per
template, with the filters that print exact values (LaTeX, fixed decimals, circled numbers)."""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, cast

from engine.errors import QuizwrightError
from engine.language.printing import circled, latex, num

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)
def text_environment() -> SandboxedEnvironment:
    """The environment for exercise text: `[[ x ]]`, `[% if %]`, `[# #]`; undefined names fail."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters.update({name: _run_filter(name, fn) for name, fn in PRINTING_FILTERS.items()})
    env.filters[_POWER_BASE] = power_base
    env.code_generator_class = _exact_comparisons()
    env.exact_decimal = _exact_decimal  # type: ignore[attr-defined]
    return env


def _exact_decimal(text: str) -> Fraction:
    return Fraction(text)


def _exact_comparisons() -> type[jinja2.compiler.CodeGenerator]:
    """Jinja's code generator, but a decimal literal compared with a value (`lr == 0.05`) is the
    exact number it reads as, 1/20, as the values are: as a float it would never equal 1/20."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame, operators

    class ExactComparisons(CodeGenerator):
        def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
            self.write("(")
            self._operand(node.expr, frame)
            for op in node.ops:
                self.write(f" {operators[op.op]} ")
                self._operand(op.expr, frame)
            self.write(")")

        def _operand(self, expr: nodes.Expr, frame: Frame) -> None:
            try:
                value = expr.as_const(frame.eval_ctx)  # a literal, or constant arithmetic (1/20)
            except nodes.Impossible:
                value = None
            if isinstance(value, float) and math.isfinite(value):
                # `environment` is in every compiled template's namespace; str() is the shortest decimal.
                self.write(f"environment.exact_decimal({str(value)!r})")
            else:
                self.visit(expr, frame)

    return ExactComparisons


# The filters that print exact values; a render may pass its run's own (memoised) versions.
PRINTING_FILTERS: Mapping[str, Callable[..., str]] = {"latex": latex, "num": num, "circled": circled}
_RUN_FILTERS = "quizwright_filters"  # where a Jinja render's context holds the run's filters


def _run_filter(name: str, default: Callable[..., str]) -> Callable[..., str]:
    import jinja2

    @jinja2.pass_context
    def apply(context: jinja2.runtime.Context, value: Any, *args: Any) -> str:
        filters = context.get(_RUN_FILTERS)
        return (filters[name] if filters is not None else default)(value, *args)

    return apply


_POWER_BASE = "power_base"  # the filter that brackets a printed value followed by `^`
# Printed text that reads as one thing under a power: an unsigned integer or decimal, a letter, a TeX command.
_ATOM = re.compile(r"[0-9]+(?:\.[0-9]+)?|[A-Za-z]|\\[A-Za-z]+")


def power_base(value: Any) -> str:
    """A printed value followed by `^`, bracketed unless it is one atom: `[[ x ]]^{4}` with x = 19/20
    prints (19/20)^{4}, not 19/20^{4}, which reads as 19/20⁴; a LaTeX one gets \\left( \\right)."""
    text = str(value)
    if not text or _ATOM.fullmatch(text):
        return text
    return rf"\left({text}\right)" if "\\" in text else f"({text})"


class TextError(QuizwrightError, ValueError):
    """Exercise text that does not parse, that would print something inexact, or that fails to render."""


class UndefinedName(TextError):
    """Text that prints a name its context lacks."""


# Printed arithmetic of two operands, each a name or an integer: (left, operator, right).
Arithmetic = tuple[str | int, Callable[[Any, Any], Any], str | int]
# A piece of simple text: literal text, or (name or arithmetic, filter name or None, constant
# filter arguments, whether it is a power's base).
Piece = str | tuple[str | Arithmetic, str | None, tuple[Any, ...], bool]


class Text:
    """Exercise text compiled once. Text that only prints names (with a filter and constant
    arguments, the usual `[[ A ]]`, `[[ answer | num(6) ]]`) or one operation on two of them
    (`[[ n_in + n_out ]]`, `[[ k**2 ]]`) is joined directly, as Jinja's own generated code would
    join it, at a tenth of the cost of a Jinja render; other text is
    rendered by Jinja (compiled on first use: compiling costs milliseconds per text)."""

    def __init__(self, source: str | nodes.Template, pieces: tuple[Piece, ...] | None,
                 fields: frozenset[str] = frozenset(), filtered: frozenset[str] | None = None,
                 compared: frozenset[str] = frozenset()) -> None:
        self.source = source  # the text, or Jinja's tree of it once parsed
        self.pieces = pieces
        self.fields = fields  # the attributes it reads of the context's names: act.name
        self.compared = compared  # the names compared whole ([% if act == "ReLU" %]): a record may not be
        # The names (and fields) it prints through latex, num or circled, which print numbers.
        self.filtered = filtered if filtered is not None else frozenset(
            piece[0] for piece in pieces or () if not isinstance(piece, str) and piece[1] and isinstance(piece[0], str))
        # The pieces as one format string, a {} per printed name: one C call joins them.
        self._format = "".join(
            piece.replace("{", "{{").replace("}", "}}") if isinstance(piece, str) else "{}"
            for piece in pieces or ()
        )
        self._slots = tuple(piece for piece in pieces or () if not isinstance(piece, str))
        self._bases = tuple(i for i, piece in enumerate(self._slots) if piece[3])

    @cached_property
    def template(self) -> jinja2.Template:
        tree = text_environment().parse(self.source) if isinstance(self.source, str) else self.source
        return text_environment().from_string(_bracket_bases(tree))

    def render(self, context: Mapping[str, Any], filters: Mapping[str, Callable[..., str]] = PRINTING_FILTERS) -> str:
        """The text for `context`, its values printed by `filters` (a run's printer, by default plain)."""
        if self.pieces is not None:
            try:
                printed = [str(_operate(name, context) if isinstance(name, tuple) else
                               filters[fn](context[name], *args) if fn else context[name])
                           for name, fn, args, _ in self._slots]
                for i in self._bases:
                    printed[i] = power_base(printed[i])
                return self._format.format(*printed)
            except KeyError:
                pass  # a name the context lacks: Jinja resolves globals or raises its own error
        import jinja2

        try:
            return self.template.render({**context, _RUN_FILTERS: filters})
        except jinja2.UndefinedError as exc:
            raise UndefinedName(exc.message) from None
        except jinja2.TemplateError as exc:
            raise TextError(str(exc)) from None


def _operate(arithmetic: Arithmetic, context: Mapping[str, Any]) -> Any:
    """What Jinja's generated code computes for `[[ left op right ]]`: Python's operator on the values."""
    left, apply, right = arithmetic
    return apply(context[left] if isinstance(left, str) else left, context[right] if isinstance(right, str) else right)


def _pieces(tree: nodes.Template) -> tuple[Piece, ...] | None:
    """The pieces of a template made only of text and printed names, or None."""
    from jinja2 import nodes

    pieces: list[Piece] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append(node.data)
            elif isinstance(node, nodes.Name) and node.name != "self":
                pieces.append((node.name, None, (), False))
            elif (isinstance(node, nodes.Filter) and isinstance(node.node, nodes.Name) and node.node.name != "self"
                  and node.name in PRINTING_FILTERS
                  and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None
                  and all(isinstance(arg, nodes.Const) for arg in node.args)):
                pieces.append((node.node.name, node.name, tuple(cast(nodes.Const, arg).value for arg in node.args),
                               False))
            elif (operation := _operation(node)) is not None:
                pieces.append((operation, None, (), False))
            else:
                return None
    return _mark_bases(pieces)


def _operation(node: nodes.Node) -> Arithmetic | None:
    """The arithmetic that `_ARITHMETIC` reads, from Jinja's tree; else None."""
    from jinja2 import nodes

    symbols: dict[type[nodes.Node], str] = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Pow: "**"}
    symbol = symbols.get(type(node))
    if symbol is None:
        return None
    assert isinstance(node, nodes.BinExpr)
    operands: list[str | int] = []
    for side in (node.left, node.right):
        if isinstance(side, nodes.Name) and side.name != "self":
            operands.append(side.name)
        elif isinstance(side, nodes.Const) and type(side.value) is int:
            operands.append(side.value)
        else:
            return None
    return operands[0], _OPERATORS[symbol], operands[1]


def _mark_bases(pieces: list[Piece]) -> tuple[Piece, ...]:
    """The pieces, each printed name that text starting with `^` follows marked as a power's base."""
    marked = list(pieces)
    for i, piece in enumerate(pieces[:-1]):
        after = pieces[i + 1]
        if not isinstance(piece, str) and isinstance(after, str) and after.startswith("^"):
            marked[i] = (*piece[:3], True)
    return tuple(marked)


def _bracket_bases(tree: nodes.Template) -> nodes.Template:
    """Jinja's tree of a text, each printed value that text starting with `^` follows put through
    `power_base` (as `_mark_bases` marks the pieces of the direct join)."""
    from jinja2 import nodes

    for output in tree.find_all(nodes.Output):
        for i, (node, after) in enumerate(itertools.pairwise(list(output.nodes))):
            if (not isinstance(node, nodes.TemplateData) and isinstance(after, nodes.TemplateData)
                    and after.data.startswith("^")):
                output.nodes[i] = nodes.Filter(node, _POWER_BASE, [], [], None, None, lineno=node.lineno)
    return tree


# `[[ name ]]` or `[[ name | filter ]]` or `[[ name | filter(digits) ]]`, in Jinja's own lexing:
# any whitespace inside the brackets, no whitespace control, a name that Jinja reads as a name. A
# record's field (`act.name`) is left to Jinja, which reads it by subscription.
_PRINTED = re.compile(
    r"\[\[\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*(" + "|".join(PRINTING_FILTERS) + r")\s*"
    r"(?:\(\s*(0|[1-9][0-9]*)\s*\)\s*)?)?\]\]"
)
# `[[ a + b ]]`, `[[ a - 1 ]]`, `[[ a * b ]]`, `[[ k**2 ]]`: one operator, two names or integers.
_OPERAND = r"\s*([A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]*)\s*"
_ARITHMETIC = re.compile(r"\[\[" + _OPERAND + r"(\*\*|[-+*])" + _OPERAND + r"\]\]")
_OPERATORS: Mapping[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                                                       "**": operator.pow}
# Names Jinja's parser reads as a constant or an operator, Jinja's globals, and `self` (always the
# template itself, whatever the context holds): not parameters.
_JINJA_WORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
                          "range", "dict", "lipsum", "cycler", "joiner", "namespace", "self"})
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _simple_pieces(source: str) -> tuple[Piece, ...] | None:
    """The pieces of a text made only of literal text, printed names and one-operator arithmetic,
    read without Jinja; else None."""
    if "[%" in source or "[#" in source:
        return None
    # Jinja's lexer reads every line break as "\n" and drops one at the very end.
    source = _NEWLINE.sub("\n", source)
    source = source[:-1] if source.endswith("\n") else source
    pieces: list[Piece] = []
    start = 0
    while (opening := source.find("[[", start)) >= 0:
        piece, end = _printed_piece(source, opening)
        if piece is None:
            return None
        pieces += [source[start:opening], piece]
        start = end
    pieces.append(source[start:])
    return _mark_bases([piece for piece in pieces if piece])


def _printed_piece(source: str, opening: int) -> tuple[Piece | None, int]:
    """The `[[ ]]` at `opening` as a piece, and where it ends; None if it needs Jinja."""
    if (printed := _PRINTED.match(source, opening)) is not None:
        name, fn, digits = printed.groups()
        if name in _JINJA_WORDS:
            return None, 0
        return (name, fn, () if digits is None else (int(digits),), False), printed.end()
    if (operation := _ARITHMETIC.match(source, opening)) is not None:
        left, op, right = operation.groups()
        if {left, right} & _JINJA_WORDS:
            return None, 0
        return ((_operand(left), _OPERATORS[op], _operand(right)), None, (), False), operation.end()
    return None, 0


def _operand(text: str) -> str | int:
    return int(text) if text[0].isdigit() else text


def _names(pieces: tuple[Piece, ...]) -> set[str]:
    """The names the printed pieces read."""
    names: set[str] = set()
    for piece in pieces:
        if not isinstance(piece, str):
            read = piece[0] if isinstance(piece[0], tuple) else (piece[0],)
            names.update(operand for operand in read if isinstance(operand, str))
    return names


def compile_text(source: str) -> tuple[Text, set[str]]:
    """Compile exercise text once; returns it and the names it reads."""
    pieces = _simple_pieces(source)
    if pieces is not None:
        return Text(source, pieces), _names(pieces)
    return _compile_jinja(source)


def _compile_jinja(source: str) -> tuple[Text, set[str]]:
    """Text that needs Jinja, parsed and checked now, so that an error names the field at load."""
    import jinja2
    from jinja2 import meta, nodes

    try:
        tree = text_environment().parse(source)
        if any(True for _ in tree.find_all(nodes.Div)):
            # Jinja's / divides in floating point: [[ 2 / n ]] would print 0.6666666666666666.
            raise TextError("'/' inside [[ ]] divides in floating point; use a derived parameter "
                            "(params: {ratio: {expr: '2/n_in'}}) and print [[ ratio | latex ]]")
        # Jinja's code generator, run here to find the names, fails as compiling would (an unknown
        # filter, say); the generated code itself is compiled on first render.
        names = set(meta.find_undeclared_variables(tree))
    except jinja2.TemplateSyntaxError as exc:
        raise TextError(f"template does not parse: {exc.message} (template line {exc.lineno})") from None
    # The attributes read of the context's names (act.name): the loader checks a record's fields.
    fields = frozenset(f"{node.node.name}.{node.attr}" for node in tree.find_all(nodes.Getattr)
                       if isinstance(node.node, nodes.Name) and node.node.name in names)
    filtered = frozenset(name for node in tree.find_all(nodes.Filter) if node.name in PRINTING_FILTERS
                         and (name := _read_name(node.node)) is not None)
    compared = frozenset(operand.name for node in tree.find_all(nodes.Compare)
                         for operand in (node.expr, *(op.expr for op in node.ops)) if isinstance(operand, nodes.Name))
    return Text(tree, _pieces(tree), fields, filtered, compared), names


def _read_name(node: nodes.Node | None) -> str | None:
    """The name (act) or field (act.name) a node reads, else None."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}.{node.attr}"
    return None
