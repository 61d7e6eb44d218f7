"""Turning a compiled exercise and drawn parameters into variants: answers, options, shuffling,
rendered text, and the per-exercise stream that keeps variants distinct."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple

import jinja2

from engine.authoring.loader import CompiledExercise
from engine.authoring.params import ENUMERATION_LIMIT, variant_seed
from engine.authoring.text import Text
from engine.errors import TemplateError
from engine.generation.quiz import (
    BooleanAnswer,
    FormulaAnswer,
    IntegerAnswer,
    Misconception,
    NumericAnswer,
    Option,
    OptionAnswer,
    Variant,
)
from engine.language.exact import ExprError, Surd, Value, from_sympy, to_sympy
from engine.language.printing import approximate, circled, exact, latex, num, significant
from engine.language.symbolic import is_sympy, sympy
from engine.language.symforms import SymForm

MAX_DRAWS = 100  # draws per variant before falling back to exact enumeration
COUNT_EAGERLY_BELOW = 4096  # spaces this small are always counted
# Draws whose screen and content are kept: more than a chunk of plans (made before they are
# materialised), few enough that memory stays flat as N grows.
MEMO_LIMIT = 1024
COUNT_ON_DUPLICATE_BELOW = 20_000  # a duplicate draw triggers an exact count below this size


class Clash(Exception):
    """This draw is unusable (options coincide); draw again."""


_CLASH: dict[str, Any] = {}  # memo marker of a draw that clashed


@dataclass
class Stats:
    """What sampling had to reject, reported by `check`."""

    draws: int = 0
    constraint_rejects: int = 0
    clashes: int = 0
    duplicates: int = 0

    def add(self, other: Stats) -> None:
        self.draws += other.draws
        self.constraint_rejects += other.constraint_rejects
        self.clashes += other.clashes
        self.duplicates += other.duplicates


class Plan(NamedTuple):
    """Variant `index` of an exercise: its seed, drawn values and option order (picklable)."""

    index: int
    seed: int
    values: tuple
    order: tuple


def _render(ex: CompiledExercise, template: Text, loc: list, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context).strip()
    except jinja2.UndefinedError as exc:
        raise ex.error(loc, f"undefined template variable: {exc.message}") from None
    except (jinja2.TemplateError, ValueError, TypeError, ArithmeticError) as exc:
        raise ex.error(loc, f"cannot render: {exc}") from None


def _evaluate(ex: CompiledExercise, expr: Any, loc: list, env: Mapping[str, Value]) -> Value:
    try:
        return expr.evaluate(env)
    except ExprError as exc:
        raise ex.error(loc, f"{exc} (at {_describe_env(ex, env)})") from None


def _within(wrong: Value, value: Value, tolerance: Decimal) -> bool:
    """|wrong - value| <= tolerance, decided at 40 digits (a near-tie counts as within)."""
    try:
        gap = abs(approximate(wrong, 40) - approximate(value, 40))
    except (ValueError, TypeError):
        return False  # a misconception that is not a real number cannot be mistaken for it
    return gap <= tolerance * (1 + Decimal("1e-12"))


def _decimal_or_none(value: Value) -> str | None:
    value = from_sympy(value)
    if isinstance(value, int | Fraction | Surd) and not isinstance(value, bool):
        return significant(value, 20)
    if isinstance(value, SymForm):
        return None
    number = to_sympy(value)
    if number.is_number and number.is_real and number.is_finite:
        return significant(number, 20)
    return None


def _scaled(relative: str, approx: Decimal) -> str:
    """significant(relative × |approx|, 20) computed in decimal, without Fractions.

    The product of two decimals is exact at 100 digits; it is then rounded as `approximate`
    rounds a rational (to 40 digits, then to 20), so the text is the same.
    """
    with localcontext() as ctx:
        ctx.prec = 100
        product = Decimal(relative) * abs(approx)
        if product == product.to_integral_value():
            return str(int(product))
        ctx.prec = 40
        product = +product
        ctx.prec = 20
        product = +product
    result = format(product.normalize(), "f")
    return result if result not in ("-0", "") else "0"


def _describe_env(ex: CompiledExercise, env: Mapping[str, Value]) -> str:
    return ", ".join(f"{name}={env[name]}" for name in ex.space.names) or "no parameters"


def _same(a: Value, b: Value) -> bool:
    """Exact equality of two option values, cheap in the usual case that they differ.

    Plain rationals compare directly; other values are first told apart at 50 digits (at a
    few sample points when symbols remain), and only a near-tie is settled by simplification.
    """
    a, b = from_sympy(a), from_sympy(b)
    if not is_sympy(a) and not is_sympy(b):
        return a == b
    return _same_symbolic(to_sympy(a), to_sympy(b))


@lru_cache(maxsize=4096)
def _same_symbolic(a: Any, b: Any) -> bool:
    diff = a - b
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
    return sympy().simplify(diff) == 0


def _shuffles(ex: CompiledExercise) -> bool:
    return bool(ex.options) and getattr(ex.spec, "shuffle", False)


def _order(ex: CompiledExercise, rng: random.Random, shuffles: bool) -> list[int]:
    """Displayed order of the options: pinned ones stay put, the others are shuffled."""
    count = len(ex.options)
    if not shuffles:
        return list(range(count))
    free = [i for i, option in enumerate(ex.options) if not option.pinned]
    shuffled = free[:]
    rng.shuffle(shuffled)
    moves = iter(shuffled)
    return [i if ex.options[i].pinned else next(moves) for i in range(count)]


class VariantMaker:
    """Instantiates one exercise under one quiz seed; `stream(n)` yields n variants in order."""

    def __init__(self, ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value] | None = None) -> None:
        self.ex = ex
        self.quiz_seed = quiz_seed
        pins = {k: v for k, v in (pins or {}).items() if k in {d.name for d in ex.space.drawn}}
        self.pins = pins
        self.space = ex.space.pinned(pins) if pins else ex.space
        self._drawn = tuple(d.name for d in self.space.drawn)
        self.stats = Stats()
        self._shuffles = _shuffles(ex)
        self._count: int | None = None
        self._counted = False
        self._valid_envs: list[dict[str, Value]] | None = None
        self._parts: dict[tuple, Any] = {}
        self._screens: dict[tuple, Any] = {}
        self._answers: dict[tuple, tuple[Any, str]] = {}
        if pins:
            env = self.space.draw(random.Random(0), ex.symbols)
            failed = self.space.failed_constraint(env) if self.space.size() == 1 else None
            if failed is not None:
                raise ex.error(["constraints", failed.index],
                               f"pinned values violate {failed.expr.source!r} ({_describe_env(ex, env)})")

    # -- counting -------------------------------------------------------------------------

    def permutations(self) -> int:
        if not self._shuffles:
            return 1
        return math.factorial(sum(not o.pinned for o in self.ex.options))

    def distinct_count(self, force: bool = False, wanted: int = 0) -> int | None:
        """How many distinct variants exist, or None when the space is too large to count.

        Small spaces are always counted; larger ones only when `force` or when `wanted`
        variants could exhaust them.
        """
        if self._counted:
            return self._count
        if not self.space.drawn:
            self._count, self._counted = self.permutations(), True
            return self._count
        size = self.space.size()
        if not self.space.constraints and not self.ex.options and not self.ex.distractors:
            # Nothing can reject a draw: every combination is a distinct variant.
            self._count, self._counted = size, True
            return size
        if size > ENUMERATION_LIMIT or not (force or size <= COUNT_EAGERLY_BELOW or wanted * 4 > size):
            return None
        self._valid_envs = [env for env in self.space.enumerate(self.ex.symbols) if self._usable(env)]
        self._count, self._counted = len(self._valid_envs), True
        return self._count

    def _usable(self, env: dict[str, Value]) -> bool:
        if self.space.failed_constraint(env) is not None:
            return False
        try:
            self._screen(env)
        except Clash:
            return False
        return True

    # -- one variant ----------------------------------------------------------------------

    def _memo(self, memo: dict[tuple, Any], env: dict[str, Value], compute: Any) -> Any:
        key = tuple([env[name] for name in self._drawn])
        cached = memo.get(key)
        if cached is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            try:
                cached = memo[key] = compute(env)
            except Clash:
                cached = memo[key] = _CLASH
        if cached is _CLASH:
            raise Clash
        return cached

    def _screen(self, env: dict[str, Value]) -> dict[str, Any]:
        """The values that decide whether a draw is usable; raises Clash when it is not (memoised)."""
        return self._memo(self._screens, env, self._compute_screen)

    def _content(self, env: dict[str, Value]) -> dict[str, Any]:
        """Everything about a variant that does not depend on the option order (memoised)."""
        return self._memo(self._parts, env, self._compute_content)

    def _compute_screen(self, env: dict[str, Value]) -> dict[str, Any]:
        ex, spec = self.ex, self.ex.spec
        context = {name: env[name] for name in ex.space.names}
        screen: dict[str, Any] = {"context": context}
        if ex.options:
            shown: list[tuple[str, Value | None]] = []
            for i, option in enumerate(ex.options):
                if option.expr is not None:
                    value = _evaluate(ex, option.expr, ["options", i, "expr"], env)
                    shown.append((f"${latex(value)}$", value))
                else:
                    shown.append((_render(ex, option.text, ["options", i, "text"], context), None))
            for (a_text, a_value), (b_text, b_value) in itertools.combinations(shown, 2):
                if a_text == b_text or (a_value is not None and b_value is not None and _same(a_value, b_value)):
                    raise Clash
            screen["shown"] = shown
        elif spec.kind != "true_false":
            value = _evaluate(ex, ex.answer, ["answer"], env)
            tolerance = self._tolerance_bound(value) if spec.kind == "numeric" and ex.distractors else None
            wrongs: list[Value] = []
            for i, (expr, _) in enumerate(ex.distractors):
                wrong = _evaluate(ex, expr, ["distractors", i, "expr"], env)
                # A misconception that equals the answer, another misconception, or lies within
                # the tolerance could not be told apart when grading: draw again.
                if any(_same(wrong, other) for other in (value, *wrongs)) or (
                        tolerance is not None and _within(wrong, value, tolerance)):
                    raise Clash
                wrongs.append(wrong)
            screen["answer_value"], screen["wrongs"] = value, wrongs
        return screen

    def _tolerance_bound(self, value: Value) -> Decimal | None:
        tolerance = self.ex.spec.tolerance
        if tolerance.absolute is not None:
            return Decimal(tolerance.absolute)
        try:
            return Decimal(tolerance.relative) * abs(approximate(value, 40))
        except (ValueError, TypeError):
            return None  # not a real number: _typed_answer reports it

    def _compute_content(self, env: dict[str, Value]) -> dict[str, Any]:
        ex, spec = self.ex, self.ex.spec
        screen = self._screen(env)
        context = screen["context"]
        parts: dict[str, Any] = {"context": context}
        if ex.options:
            parts["shown"] = [
                (text, value,
                 _render(ex, option.feedback, ["options", i, "feedback"], context) if option.feedback else None)
                for i, ((text, value), option) in enumerate(zip(screen["shown"], ex.options, strict=True))
            ]
        elif spec.kind == "true_false":
            truth = spec.answer if isinstance(spec.answer, bool) else None
            if truth is None:
                try:
                    truth = ex.answer.truth(env)
                except ExprError as exc:
                    raise ex.error(["answer"], f"{exc} (at {_describe_env(ex, env)})") from None
            parts["answer"] = BooleanAnswer.trusted(type="boolean", value=truth, option=1 if truth else 2)
            parts["answer_value"] = truth
            parts["answer_text"] = "① True" if truth else "② False"
        else:
            value = screen["answer_value"]
            parts["answer_value"] = value
            key = (type(value), value)  # 1 and True are equal keys, not equal answers
            typed = self._answers.get(key)
            if typed is None:
                if len(self._answers) >= MEMO_LIMIT:
                    self._answers.clear()
                # Frozen models: variants with the same answer value share one.
                typed = self._answers[key] = self._typed_answer(value, env)
            parts["answer"], parts["answer_text"] = typed
            parts["misconceptions"] = [
                Misconception.trusted(value=exact(wrong), latex=latex(wrong), decimal=_decimal_or_none(wrong),
                                      feedback=_render(ex, feedback, ["distractors", i, "feedback"], context))
                for i, (wrong, (_, feedback)) in enumerate(zip(screen["wrongs"], ex.distractors, strict=True))
            ]
        return parts

    def _typed_answer(self, value: Value, env: Mapping[str, Value]) -> tuple[Any, str]:
        ex, spec = self.ex, self.ex.spec
        if spec.kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ex.error(["answer"], f"not an exact integer: {to_sympy(value)} at {_describe_env(ex, env)}"
                               " (an integer answer must be exact; add a constraint)")
            return IntegerAnswer.trusted(type="integer", value=value), str(value)
        if spec.kind == "numeric":
            try:
                approx = approximate(value, 40)
            except (ValueError, TypeError):
                approx = None
            if approx is None or not approx.is_finite():
                raise ex.error(["answer"], f"not a finite real number: {exact(value)} at {_describe_env(ex, env)}")
            tol = spec.tolerance
            if tol.absolute is not None:
                kind, written, absolute = "absolute", tol.absolute, tol.absolute
            else:
                kind, written = "relative", tol.relative
                absolute = _scaled(tol.relative, approx)
            display = num(value, spec.precision)
            answer = NumericAnswer.trusted(
                type="numeric", exact=exact(value), latex=latex(value), decimal=significant(value, 20),
                display=display, tolerance_kind=kind, tolerance=written, absolute_tolerance=absolute,
            )
            return answer, display
        expr = to_sympy(value)
        free = {str(s) for s in expr.free_symbols}
        if free - set(ex.symbols):
            raise ex.error(["answer"], f"uses undeclared symbols {sorted(free - set(ex.symbols))}")
        answer = FormulaAnswer(expr=str(expr), latex=latex(expr), symbols=dict(spec.symbols))
        return answer, f"${answer.latex}$"

    def _variant(self, index: int, seed: int, env: dict[str, Value], parts: dict[str, Any], order: list[int]) -> Variant:
        ex, spec = self.ex, self.ex.spec
        context = parts["context"]
        options: list[Option] = []
        if ex.options:
            for number, i in enumerate(order, start=1):
                text, value, feedback = parts["shown"][i]
                options.append(Option.trusted(number=number, text=text, correct=ex.options[i].correct,
                                              feedback=feedback, value=None if value is None else exact(value)))
            correct = next(o.number for o in options if o.correct)
            parts = {**parts, "answer": OptionAnswer.trusted(type="option", option=correct), "answer_value": correct,
                     "answer_text": circled(correct)}
        elif spec.kind == "true_false":
            truth = parts["answer_value"]
            wrong = _render(ex, ex.wrong_feedback, ["wrong_feedback"], context)
            options = [Option.trusted(number=1, text="True", correct=truth, feedback=None if truth else wrong, value=None),
                       Option.trusted(number=2, text="False", correct=not truth, feedback=wrong if truth else None,
                                      value=None)]
        question = _render(ex, ex.question, ["question"], context)
        explanation = _render(ex, ex.explanation, ["explanation"],
                              {**context, "answer": parts["answer_value"], "answer_text": parts["answer_text"]})
        # Every field is built here from validated parts: skip re-validation on this hot path.
        return Variant.trusted(
            id=self.variant_id(index),
            exercise=ex.id, index=index, seed=seed, kind=spec.kind, title=spec.title, topic=spec.topic,
            tags=list(spec.tags), points=spec.points,
            params={name: exact(env[name]) for name in ex.space.names},
            question=question, options=options, answer=parts["answer"], answer_text=parts["answer_text"],
            explanation=explanation, misconceptions=parts.get("misconceptions", []),
        )

    def variant_id(self, index: int) -> str:
        """Id of variant `index` (0-based), e.g. xavier-sum.7.12."""
        return f"{self.ex.id}.{self.quiz_seed}.{index + 1}"

    def _key(self, env: Mapping[str, Value], order: list[int]) -> int | tuple[int, ...]:
        """What makes a variant distinct: its draw (the option order too when nothing is drawn)."""
        if self.space.drawn:
            return self.space.combination(env)
        return tuple(order)

    def plans(self, count: int) -> Iterator[Plan]:
        """Which draw and option order each of variants 0..count-1 gets, distinct while the
        space has enough; cheap, so that the expensive rendering can run elsewhere."""
        seen: set[int | tuple[int, ...]] = set()
        for index in range(count):
            yield self._next(index, seen)

    def materialize(self, plan: Plan) -> Variant:
        """The full variant of a plan: answers, rendered text, options in order."""
        env = self.space.complete(dict(zip(self._drawn, plan.values, strict=True)), self.ex.symbols)
        return self._variant(plan.index, plan.seed, env, self._content(env), list(plan.order))

    def stream(self, count: int) -> Iterator[Variant]:
        """Variants 0..count-1, distinct while the space has enough of them."""
        for plan in self.plans(count):
            yield self.materialize(plan)

    def _plan(self, index: int, seed: int, env: Mapping[str, Value], order: list[int]) -> Plan:
        return Plan(index, seed, tuple([env[name] for name in self._drawn]), tuple(order))

    def _next(self, index: int, seen: set[int | tuple[int, ...]]) -> Plan:
        seed = variant_seed(self.quiz_seed, self.ex.id, index)
        if seen and not self.space.drawn and not self._shuffles:
            # Nothing is random (a fixed question): every variant is the first one again.
            self.stats.draws += 1
            return Plan(index, seed, (), tuple(range(len(self.ex.options))))
        rng = random.Random(seed)
        exhausted = self._counted and self._count is not None and len(seen) >= self._count
        for env, order in self._usable_draws(rng):
            key = self._key(env, order)
            if key in seen and not exhausted:
                self.stats.duplicates += 1
                # Counting tells whether the space is used up; in a large space a duplicate is
                # only bad luck, and counting it would cost far more than drawing again.
                if not self._counted and self.space.size() <= COUNT_ON_DUPLICATE_BELOW:
                    self.distinct_count(force=True)
                    exhausted = self._count is not None and len(seen) >= self._count
                continue
            seen.add(key)
            return self._plan(index, seed, env, order)
        return self._fallback(index, seed, rng, seen)

    def candidate(self, index: int) -> Plan | None:
        """Variant `index`'s plan when its first usable draw is new: what `_next` then gives,
        made without knowing the variants before it, so that a worker can make it ahead (None
        when no draw is usable)."""
        seed = variant_seed(self.quiz_seed, self.ex.id, index)
        for env, order in self._usable_draws(random.Random(seed)):
            return self._plan(index, seed, env, order)
        return None

    def _usable_draws(self, rng: random.Random) -> Iterator[tuple[dict[str, Value], list[int]]]:
        """rng's draws that meet the constraints and show distinct options, each with its option
        order (drawn right after it), out of at most MAX_DRAWS draws."""
        for _ in range(MAX_DRAWS):
            self.stats.draws += 1
            env = self.space.draw(rng, self.ex.symbols)
            if self.space.failed_constraint(env) is not None:
                self.stats.constraint_rejects += 1
                continue
            try:
                self._screen(env)
            except Clash:
                self.stats.clashes += 1
                continue
            yield env, _order(self.ex, rng, self._shuffles)

    def confirm(self, candidate: Plan | None, index: int, seen: set[int | tuple[int, ...]]) -> Plan:
        """What `_next(index, seen)` gives, from the candidate made ahead: the candidate itself
        when `_next` would take that first draw, else `_next`'s own (drawn again, in order)."""
        if candidate is not None:
            if seen and not self.space.drawn and not self._shuffles:
                return candidate  # a fixed question: `_next` repeats the first one, as is this
            exhausted = self._counted and self._count is not None and len(seen) >= self._count
            drawn = dict(zip(self._drawn, candidate.values, strict=True))
            key = self._key(drawn, list(candidate.order))
            if key not in seen or exhausted:
                seen.add(key)
                return candidate
        return self._next(index, seen)

    def _fallback(self, index: int, seed: int, rng: random.Random, seen: set[int | tuple[int, ...]]) -> Plan:
        """Random draws keep failing: pick uniformly among the exactly enumerated candidates."""
        ex = self.ex
        if not self.space.drawn:
            orders = [list(p) for p in itertools.permutations(range(len(ex.options)))] if ex.options else [[]]
            orders = [o for o in orders if all(o[i] == i for i, opt in enumerate(ex.options) if opt.pinned)]
            env = self.space.complete({}, ex.symbols)
            try:
                self._screen(env)
            except Clash:
                loc = ["options"] if ex.options else ["distractors"]
                raise TemplateError("two options (or misconceptions) are always equal, as values or as shown "
                                    "(expected pairwise different ones)",
                                    path=ex.source, line=ex.lines.line(loc), field=loc[0]) from None
            unseen = [o for o in orders if tuple(o) not in seen]
            order = rng.choice(unseen or orders)
            seen.add(tuple(order))
            return self._plan(index, seed, env, order)
        self.distinct_count(force=True)
        if self._valid_envs is None and self.space.size() <= ENUMERATION_LIMIT:
            self._valid_envs = [env for env in self.space.enumerate(ex.symbols) if self._usable(env)]
        if self._valid_envs is None:
            raise TemplateError(
                f"no usable parameters found in {MAX_DRAWS} draws and the space ({self.space.size()} "
                f"combinations) is too large to enumerate (loosen the constraints)",
                path=ex.source, line=ex.lines.line(["constraints"]), field="constraints",
            )
        if not self._valid_envs:
            loc = ["constraints"] if ex.space.constraints else ["params"]
            raise TemplateError(
                "no parameter values satisfy the constraints with distinct options (expected at least one)",
                path=ex.source, line=ex.lines.line(loc), field=loc[0],
            )
        unseen = [env for env in self._valid_envs if self._key(env, []) not in seen]
        env = dict(rng.choice(unseen or self._valid_envs))
        order = _order(ex, rng, self._shuffles)
        seen.add(self._key(env, order))
        return self._plan(index, seed, env, order)
