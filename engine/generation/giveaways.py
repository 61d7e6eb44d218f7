"""Give-aways: an item whose stem or options show the answer to another item.

Variant A gives B away when A's question or options show B's answer, compared as values and
expressions (SymPy, exactly), not as text: B's formula `2/n_in` is shown by A's
`$\\sigma^2 = \\frac{2}{n_{in}}$` or by an option whose expression is `2/n_in`; B's numeric or
integer answer by a value A shows (`$\\frac{2}{128}$` for 1/64, or 0.1768 for √2/8 at 4 places).
Not counted: the values A draws as its data (`n_in = 64` does not give away an answer 64), a
bare whole number A shows (sizes, counts and integer options are everywhere: an independent draw
meeting one tells nothing without the working; `\frac{36}{2}` still gives 18 away), and the
answers -2..2. Only items of one sheet are compared.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from engine.generation.exprtree import (
    Expr,
    constant,
    equal,
    names,
    parse_printed,
    rounds_to,
    signature,
)
from engine.generation.quiz import Variant
from engine.generation.texmath import Shown, read_expression, read_math

TRIVIAL = 2  # integer answers up to this size are shown by every text


@dataclass(frozen=True)
class GiveAway:
    """Exercise `shows` shows the answer of exercise `answer_of`; `example` says where."""

    shows: str
    answer_of: str
    example: str


@dataclass(frozen=True)
class _Target:
    expr: Expr
    text: str
    is_value: bool


_printed = lru_cache(maxsize=4096)(parse_printed)


def answer_target(variant: Variant) -> _Target | None:
    """What would give `variant` away: its formula, its numeric or integer value, or the value or
    formula of its correct option (an option that is text alone has none)."""
    answer = variant.answer
    expr: Expr | None
    if answer.type == "formula":
        expr, text = _printed(answer.expr), answer.expr
    elif answer.type == "numeric":
        expr, text = _printed(answer.exact), answer.display
    elif answer.type == "integer":
        expr, text = ("n", Fraction(answer.value)), str(answer.value)
    elif answer.type == "option":
        correct = next(o for o in variant.options if o.correct)
        expr, text = _option_expr(correct.value, correct.text), correct.text
    else:
        return None
    if expr is None:
        return None
    value = constant(expr)
    if value is not None and value.denominator == 1 and abs(value) <= TRIVIAL:
        return None
    return _Target(expr, text, not names(expr))


def _option_expr(value: str | None, text: str) -> Expr | None:
    if value is not None:
        return _printed(value)
    body = text.strip()
    if body.startswith("$") and body.endswith("$") and body.count("$") == 2:
        shown = read_expression(body[1:-1])
        return None if shown is None else shown.expr
    return None


def shown_by(variant: Variant, drawn: Collection[str] = ()) -> list[Shown]:
    """What the question and the options of `variant` show, but the values of its `drawn` parameters."""
    shown = list(read_math(variant.question))
    for option in variant.options:
        shown.extend(read_math(option.text))
        if option.value is not None:
            expr = _printed(option.value)
            if expr is not None:
                shown.append(Shown(expr, option.value))
    data = {constant(e) for e in (_printed(variant.params[n]) for n in drawn if n in variant.params) if e}
    data.discard(None)
    return [s for s in shown if names(s.expr) or constant(s.expr) not in data]


def _equal(shown: Shown, target: _Target) -> bool:
    value = constant(target.expr)
    if value is not None and value.denominator == 1 and shown.text.strip().lstrip("-").isdigit():
        return False  # a bare whole number: see the module's docstring
    if target.is_value and shown.places is not None and shown.places >= 2 and not names(shown.expr):
        scale = 10**shown.places
        approximate = signature(target.expr)
        exact = constant(shown.expr)
        if approximate is not None and exact is not None and abs(approximate[1] - float(exact)) < 1 / scale:
            if rounds_to(target.expr, exact, scale):
                return True  # a key's rounding of the answer
    return equal(shown.expr, target.expr)


def _quoted(text: str) -> str:
    return f"${text}$" if "$" not in text else text


def shows_answer(a: Variant, b: Variant, drawn: Collection[str] = ()) -> str | None:
    """Where A's stem or options show B's answer (an example text), or None."""
    target = answer_target(b)
    if target is None or a.exercise == b.exercise:
        return None
    for shown in shown_by(a, drawn):
        if _equal(shown, target):
            return f"{a.id} shows {_quoted(shown.text)}, the answer of {b.id}"
    return None


def giveaway_pairs(sheets: Iterable[Sequence[Variant]],
                   drawn: Mapping[str, Collection[str]] | None = None) -> list[GiveAway]:
    """Each pair of exercises (by id) where, on one of `sheets`, an item shows another's answer.

    Items on different sheets are not compared: two independent draws that happen to meet (an
    answer 18 and another item's n = 18) are a coincidence, not a give-away. Candidates are found
    by signature first, so the exact SymPy comparison runs on near-hits only.
    """
    found: dict[tuple[str, str], GiveAway] = {}
    for sheet in sheets:
        for give in sheet_giveaways(sheet, drawn):
            found.setdefault((give.shows, give.answer_of), give)
    return sorted(found.values(), key=lambda g: (g.shows, g.answer_of))


def sheet_giveaways(sheet: Sequence[Variant], drawn: Mapping[str, Collection[str]] | None = None) -> list[GiveAway]:
    """Each pair of items of one sheet where one shows the other's answer."""
    drawn = drawn or {}
    by_signature: dict[tuple[frozenset[str], float], list[tuple[Variant, Shown]]] = {}
    rounded: list[tuple[Variant, Shown]] = []
    for variant in sheet:
        for shown in shown_by(variant, drawn.get(variant.exercise, ())):
            key = signature(shown.expr)
            if key is not None:
                by_signature.setdefault(key, []).append((variant, shown))
            if shown.places is not None and shown.places >= 2:
                rounded.append((variant, shown))
    found: dict[tuple[str, str], GiveAway] = {}
    for b in sheet:
        target = answer_target(b)
        if target is None:
            continue
        key = signature(target.expr)
        candidates = [*(by_signature.get(key, []) if key else []), *(rounded if target.is_value else [])]
        for a, shown in candidates:
            pair = (a.exercise, b.exercise)
            if a.exercise != b.exercise and pair not in found and _equal(shown, target):
                found[pair] = GiveAway(*pair, f"{a.id} shows {_quoted(shown.text)}, the answer of {b.id}")
    return list(found.values())
