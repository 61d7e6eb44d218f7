"""Solving one draw of an exercise: the shown options, the answer and the misconceptions, as typed values.

`screen` computes what decides whether a draw is usable (options or misconceptions that could not
be told apart make it a `Clash`); `solve` completes it into a `Solution`. Both are pure: the same
exercise and parameters give the same result.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

from engine.authoring.loader import OPTIONS, CompiledExercise, CompiledOption
from engine.authoring.params import POOL_PICK
from engine.authoring.text import Text
from engine.generation.fields import Env, describe_env, evaluate, render
from engine.generation.figures import figure_of
from engine.generation.quiz import (
    BooleanAnswer,
    Figure,
    FormulaAnswer,
    IntegerAnswer,
    Misconception,
    NumericAnswer,
)
from engine.language.printing import Printer, circled
from engine.language.symbolic import is_sympy, sympy
from engine.language.symforms import SymForm
from engine.language.values import ExprError, Surd, Value, free_names, from_sympy, to_sympy

ValueAnswer = IntegerAnswer | NumericAnswer | FormulaAnswer


# A draw's figures and the Markdown that shows each, by name.
Figures = tuple[tuple[Figure, str], ...]


class Clash(Exception):
    """This draw is unusable (options or misconceptions coincide); draw again."""


@dataclass(frozen=True, slots=True)
class Shown:
    """An option as displayed, before shuffling: its text and, for a computed option, its exact value."""

    text: str
    value: Value | None


@dataclass(frozen=True, slots=True)
class Screen:
    """What decides whether a draw is usable: the shown options, or the answer and misconception values."""

    context: Mapping[str, Value]  # every parameter, drawn and derived, by name
    shown: tuple[Shown, ...] = ()
    answer: Value | None = None
    wrongs: tuple[Value, ...] = ()


@dataclass(frozen=True, slots=True)
class ShownOption:
    """An option of a choice question in template order; its feedback is rendered once the sheet's
    order is known, since it may name other options by their number."""

    text: str
    value: Value | None
    correct: bool
    feedback: Text | None
    field: tuple[str | int, ...]  # where the feedback is written, for errors
    name: str | None = None


@dataclass(frozen=True, slots=True)
class OptionRef:
    """A named option as a text prints it: `[[ options.NAME ]]` is "② its text"; `.number` and `.text` the parts."""

    number: str
    text: str

    def __str__(self) -> str:
        return f"{self.number} {self.text}"


def option_names(ex: CompiledExercise, options: Sequence[ShownOption], order: Sequence[int]) -> dict[str, object]:
    """The context that prints each named option as numbered on a sheet showing `options` in `order`
    (`{"options": ...}`; empty when no option is named or a parameter is called `options`)."""
    refs = {name: OptionRef(circled(number), options[i].text)
            for number, i in enumerate(order, start=1) if (name := options[i].name) is not None}
    if not refs or OPTIONS in ex.space.names:
        return {}
    # A namespace, not a dict: Jinja reads `options.items` as a dict's method before its key.
    return {OPTIONS: SimpleNamespace(**refs)}


@dataclass(frozen=True, slots=True)
class ChoiceSolution:
    """A question answered by picking options; the answer is fixed once they are ordered."""

    context: Mapping[str, Value]
    question: str
    options: tuple[ShownOption, ...]
    figures: Figures = ()


@dataclass(frozen=True, slots=True)
class TruthSolution:
    """A true/false question."""

    context: Mapping[str, Value]
    question: str
    answer: BooleanAnswer
    wrong_feedback: str
    figures: Figures = ()

    @property
    def answer_text(self) -> str:
        return "① True" if self.answer.value else "② False"


@dataclass(frozen=True, slots=True)
class ValueSolution:
    """An integer, numeric or formula question: the exact answer, its key and the misconceptions."""

    context: Mapping[str, Value]
    question: str
    value: Value
    answer: ValueAnswer
    answer_text: str
    misconceptions: tuple[Misconception, ...]
    figures: Figures = ()


Solution = ChoiceSolution | TruthSolution | ValueSolution


def same(a: Value, b: Value) -> bool:
    """Exact equality of two option values.

    Plain rationals compare directly; other values are first told apart at 50 digits (at a
    few sample points when symbols remain), and only a near-tie is settled by simplification.
    """
    a, b = from_sympy(a), from_sympy(b)
    if not is_sympy(a) and not is_sympy(b):
        return bool(a == b)
    diff = to_sympy(a) - to_sympy(b)
    if diff == 0:
        return True
    free = sorted(diff.free_symbols, key=str)
    # Sample points for leftover symbols: distinct primes, positive (layer sizes are).
    points = [dict(zip(free, primes, strict=False)) for primes in ((3, 5, 7, 11, 29), (13, 2, 17, 19, 31))]
    for point in points:
        try:
            value = complex(diff.evalf(50, subs=point))
        except (TypeError, ValueError):
            continue
        if abs(value) > 1e-30:
            return False
    return bool(sympy().simplify(diff) == 0)


def _within(wrong: Value, value: Value, tolerance: Decimal, printer: Printer) -> bool:
    """|wrong - value| <= tolerance, decided at 40 digits (a near-tie counts as within)."""
    try:
        gap = abs(printer.approximate(wrong, 40) - printer.approximate(value, 40))
    except (ValueError, TypeError):
        return False  # a misconception that is not a real number cannot be mistaken for it
    return gap <= tolerance * (1 + Decimal("1e-12"))


def _tolerance_bound(ex: CompiledExercise, value: Value, printer: Printer) -> Decimal | None:
    tolerance = ex.spec.tolerance
    if tolerance.absolute is not None:
        return Decimal(tolerance.absolute)
    try:
        return Decimal(tolerance.relative) * abs(printer.approximate(value, 40))
    except (ValueError, TypeError):
        return None  # not a real number: `_numeric` reports it


def shown_options(ex: CompiledExercise, env: Env) -> list[tuple[list[str | int], CompiledOption]]:
    """The options a draw shows, before shuffling, each with its place in the file: the listed
    ones, the pool's distractors the draw picked placed before the pinned options that end the list."""
    listed: list[tuple[list[str | int], CompiledOption]] = [(["options", i], o) for i, o in enumerate(ex.options)]
    if not ex.pool:
        return listed
    at = ex.pool_at
    return listed[:at] + [(["pool", "options", j], ex.pool[j]) for j in env[POOL_PICK]] + listed[at:]


def screen(ex: CompiledExercise, env: Env, printer: Printer | None = None) -> Screen:
    """The values that decide whether the draw `env` is usable; raises Clash when it is not."""
    printer = printer or Printer()
    context = {name: env[name] for name in ex.space.names}
    if ex.options:
        shown = []
        for loc, option in shown_options(ex, env):
            if option.expr is not None:
                value = evaluate(ex, option.expr, [*loc, "expr"], env)
                shown.append(Shown(f"${printer.latex(value)}$", value))
            else:
                shown.append(Shown(render(ex, option.text, [*loc, "text"], context, printer), None))
        for a, b in itertools.combinations(shown, 2):
            if a.text == b.text or (a.value is not None and b.value is not None and same(a.value, b.value)):
                raise Clash
        return Screen(context, shown=tuple(shown))
    if ex.spec.kind == "true_false":
        return Screen(context)
    value = evaluate(ex, ex.answer, ["answer"], env)
    tolerance = _tolerance_bound(ex, value, printer) if ex.spec.kind == "numeric" and ex.distractors else None
    wrongs: list[Value] = []
    for i, (expr, _) in enumerate(ex.distractors):
        wrong = evaluate(ex, expr, ["distractors", i, "expr"], env)
        # A misconception that equals the answer, another misconception, or lies within
        # the tolerance could not be told apart when grading: draw again.
        if any(same(wrong, other) for other in (value, *wrongs)) or (
                tolerance is not None and _within(wrong, value, tolerance, printer)):
            raise Clash
        wrongs.append(wrong)
    return Screen(context, answer=value, wrongs=tuple(wrongs))


class AnswerKeys:
    """Typed answers by exact value, held by one run: draws with the same answer share their key."""

    LIMIT = 1024  # values kept at once, so that memory stays flat as the run grows

    def __init__(self) -> None:
        self._items: dict[tuple[type, Value], tuple[ValueAnswer, str]] = {}

    def get(self, ex: CompiledExercise, value: Value, env: Env, printer: Printer) -> tuple[ValueAnswer, str]:
        key = (type(value), value)  # 1 and True are equal keys, not equal answers
        found = self._items.get(key)
        if found is None:
            if len(self._items) >= self.LIMIT:
                self._items.clear()
            found = self._items[key] = typed_answer(ex, value, env, printer)
        return found


def solve(ex: CompiledExercise, env: Env, screened: Screen | None = None, keys: AnswerKeys | None = None,
          printer: Printer | None = None) -> Solution:
    """The solution of the draw `env`; raises Clash.

    A `screen` already computed for it is reused, and so are the typed answers that `keys` holds
    and the printed values that `printer` holds.
    """
    printer = printer or Printer()
    screened = screened or screen(ex, env, printer)
    context = screened.context
    figures = tuple(figure_of(ex, figure, context, printer) for figure in ex.figures)
    shown = {**context, **{figure.name: markdown for figure, markdown in figures}} if figures else context
    question = render(ex, ex.question, ["question"], shown, printer)
    if ex.options:
        options = tuple(
            ShownOption(shown.text, shown.value, option.correct, option.feedback, (*loc, "feedback"),
                        option.name if loc[0] == "options" else None)
            for shown, (loc, option) in zip(screened.shown, shown_options(ex, env), strict=True)
        )
        return ChoiceSolution(context, question, options, figures)
    if ex.spec.kind == "true_false":
        truth = _truth(ex, env)
        answer = BooleanAnswer(value=truth, option=1 if truth else 2)
        wrong = render(ex, ex.wrong_feedback, ["wrong_feedback"], context, printer)
        return TruthSolution(context, question, answer, wrong, figures)
    value = screened.answer
    answer_key, answer_text = (keys or AnswerKeys()).get(ex, value, env, printer)
    misconceptions = tuple([
        Misconception(value=printer.exact(wrong), latex=printer.latex(wrong), decimal=decimal_or_none(wrong, printer),
                      feedback=render(ex, feedback, ["distractors", i, "feedback"], context, printer))
        for i, (wrong, (_, feedback)) in enumerate(zip(screened.wrongs, ex.distractors, strict=True))
    ]) if ex.distractors else ()
    return ValueSolution(context, question, value, answer_key, answer_text, misconceptions, figures)


def _truth(ex: CompiledExercise, env: Env) -> bool:
    if isinstance(ex.spec.answer, bool):
        return ex.spec.answer
    assert ex.answer is not None
    try:
        return ex.answer.truth(env)
    except ExprError as exc:
        raise ex.error(["answer"], f"{exc} (at {describe_env(ex, env)})") from None


def typed_answer(ex: CompiledExercise, value: Value, env: Env, printer: Printer) -> tuple[ValueAnswer, str]:
    """The key of an integer, numeric or formula answer, and its text as a key prints it."""
    kind = ex.spec.kind
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ex.error(["answer"], f"not an exact integer: {to_sympy(value)} at {describe_env(ex, env)}"
                           " (an integer answer must be exact; add a constraint)")
        return IntegerAnswer(value=value), str(value)
    if kind == "numeric":
        return _numeric(ex, value, env, printer)
    free = free_names(value)
    if free - set(ex.symbols):
        raise ex.error(["answer"], f"uses undeclared symbols {sorted(free - set(ex.symbols))}")
    formula = FormulaAnswer(expr=printer.exact(value), latex=printer.latex(value), symbols=dict(ex.spec.symbols))
    return formula, f"${formula.latex}$"


def _numeric(ex: CompiledExercise, value: Value, env: Env, printer: Printer) -> tuple[NumericAnswer, str]:
    try:
        approx = printer.approximate(value, 40)
    except (ValueError, TypeError):
        approx = None
    if approx is None or not approx.is_finite():
        raise ex.error(["answer"], f"not a finite real number: {printer.exact(value)} at {describe_env(ex, env)}")
    tol = ex.spec.tolerance
    if tol.absolute is not None:
        kind, written, absolute = "absolute", tol.absolute, tol.absolute
    else:
        kind, written = "relative", tol.relative
        # Rounded as `approximate` rounds: the product is exact, its figure is what any rational gives.
        absolute = printer.significant(Fraction(tol.relative) * abs(Fraction(approx)), 20)
    display = printer.num(value, ex.spec.precision)
    answer = NumericAnswer(exact=printer.exact(value), latex=printer.latex(value), decimal=printer.significant(value, 20),
                           display=display,
                           tolerance_kind=kind, tolerance=written, absolute_tolerance=absolute)
    return answer, display


def decimal_or_none(value: Value, printer: Printer | None = None) -> str | None:
    """A value to 20 significant digits, or None when it is not a real number."""
    printer = printer or Printer()
    value = from_sympy(value)
    if isinstance(value, int | Fraction | Surd) and not isinstance(value, bool):
        return printer.significant(value, 20)
    if isinstance(value, SymForm):
        return None
    number = to_sympy(value)
    if number.is_number and number.is_real and number.is_finite:
        return printer.significant(number, 20)
    return None
