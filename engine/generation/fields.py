"""One field of an exercise for one draw: a text rendered or an expression evaluated, an author's
error naming the file, the field and the draw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.authoring.loader import CompiledExercise
from engine.authoring.text import Text, UndefinedName
from engine.language.exact import CompiledExpr
from engine.language.printing import Printer
from engine.language.values import ExprError, Value

Env = Mapping[str, Value]


def describe_env(ex: CompiledExercise, env: Env) -> str:
    """The parameter values of a draw, for error messages."""
    return ", ".join(f"{name}={env[name]}" for name in ex.space.names) or "no parameters"


def render(ex: CompiledExercise, template: Text | None, loc: list[str | int], context: Mapping[str, Any],
           printer: Printer) -> str:
    """A text of the exercise rendered for one draw, printing values with `printer`; an author error names the field."""
    assert template is not None, loc
    try:
        return template.render(context, printer.filters).strip()
    except UndefinedName as exc:
        raise ex.error(loc, f"undefined template variable: {exc}") from None
    except (ValueError, TypeError, ArithmeticError) as exc:  # a TextError is a ValueError
        raise ex.error(loc, f"cannot render: {exc}") from None


def evaluate(ex: CompiledExercise, expr: CompiledExpr | None, loc: list[str | int], env: Env) -> Value:
    """An expression of the exercise for one draw; an author error names the field."""
    assert expr is not None, loc
    try:
        return expr.evaluate(env)
    except ExprError as exc:
        raise ex.error(loc, f"{exc} (at {describe_env(ex, env)})") from None
