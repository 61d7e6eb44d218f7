"""The figures of one draw: plots and tables computed from the parameters, and the Markdown that
shows them in the exercise's text (an image linked as `figures/<file>.png`, or a table)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from engine.authoring.figures import CompiledDomain, CompiledFigure, CompiledPlot, CompiledTable
from engine.authoring.loader import CompiledExercise
from engine.errors import TemplateError
from engine.generation.fields import describe_env, evaluate, render
from engine.generation.quiz import Plot, PlotSeries, Table
from engine.language.exact import CompiledExpr
from engine.language.printing import Printer
from engine.language.values import BINOPS, ExprError, Value

MAX_VALUES = 400  # values of a figure's variable: more is no longer a figure a student reads
# Part of every plot's file name: a change to how plots are drawn changes the names too, so that
# a file never holds another drawing than its name promises.
DRAWING = "2"
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # a table cell printed as text, not TeX
# What CommonMark reads in an image's description: each is escaped so that the alt text stays words.
_MARKUP = re.compile(r"([\\`*_\[\]<>!$&])")
_SHOWN = 40  # characters of a value an error message quotes


def figure_of(ex: CompiledExercise, figure: CompiledFigure, context: Mapping[str, Value],
              printer: Printer) -> tuple[Plot | Table, str]:
    """A figure for the parameters `context`, and the Markdown that shows it."""
    loc: list[str | int] = ["figures", figure.name]
    xs = _domain(ex, figure.x, [*loc, "x"], context)
    if isinstance(figure, CompiledTable):
        return _table(ex, figure, loc, xs, context, printer)
    return _plot(ex, figure, loc, xs, context, printer)


def _domain(ex: CompiledExercise, domain: CompiledDomain, loc: list[str | int],
            context: Mapping[str, Value]) -> list[Value]:
    """The variable's values, exact: listed, or from min to max."""
    if domain.values is not None:
        return [evaluate(ex, expr, [*loc, "values", i], context) for i, expr in enumerate(domain.values)]
    assert domain.bounds is not None
    low, high = (evaluate(ex, expr, [*loc, end], context) for expr, end in zip(domain.bounds, ("min", "max"), strict=True))
    if not _rational(low) or not _rational(high) or high <= low:
        raise ex.error([*loc, "max"], f"min and max must be numbers with min < max (got {low} and {high} "
                                      f"at {describe_env(ex, context)})")
    if domain.points is not None:
        width = BINOPS["/"](BINOPS["-"](high, low), domain.points - 1)
        return [BINOPS["+"](low, BINOPS["*"](width, i)) for i in range(domain.points)]
    step = evaluate(ex, domain.step, [*loc, "step"], context) if domain.step is not None else 1
    if not _rational(step) or step <= 0:
        raise ex.error([*loc, "step"], f"step must be a positive number (got {step})")
    count = math.floor((Fraction(high) - Fraction(low)) / Fraction(step)) + 1
    if count > MAX_VALUES:
        raise ex.error(loc, f"{count} values from min to max, over the {MAX_VALUES} a figure may have "
                            f"(at {describe_env(ex, context)})")
    return [BINOPS["+"](low, BINOPS["*"](step, i)) for i in range(count)]


def _at(ex: CompiledExercise, expr: CompiledExpr, loc: list[str | int], context: Mapping[str, Value], name: str,
        x: Value) -> Value:
    """An expression over the figure's variable, at one of its values."""
    try:
        return expr.evaluate({**context, name: x})
    except ExprError as exc:
        raise ex.error(loc, f"{exc} (at {describe_env(ex, context)}, {name}={x})") from None


def _rational(value: Value) -> bool:
    return isinstance(value, int | Fraction) and not isinstance(value, bool)


def _float(ex: CompiledExercise, value: Value, loc: list[str | int], context: Mapping[str, Value],
           printer: Printer, where: str = "") -> float:
    """A value to plot: a finite real number, as the float nearest to it; `where` says at which x."""
    try:
        number = float(printer.approximate(value, 17))
    except (ValueError, TypeError):
        number = math.nan
    if not math.isfinite(number):
        why = "is too large for a plot (at most about 1.8e308)" if math.isinf(number) else \
            "is not a finite real number that a plot can show"
        raise _unshowable(ex, value, loc, printer, f"{why} (at {describe_env(ex, context)}{where})")
    return number


def _unshowable(ex: CompiledExercise, value: Value, loc: list[str | int], printer: Printer, why: str) -> TemplateError:
    shown = printer.exact(value)
    if len(shown) > _SHOWN:  # 10**400: its 401 digits would bury the message
        shown = f"{shown[:_SHOWN]}… ({len(shown)} characters)"
    return ex.error(loc, f"{shown} {why}")


def _plot(ex: CompiledExercise, figure: CompiledPlot, loc: list[str | int], xs: list[Value],
          context: Mapping[str, Value], printer: Printer) -> tuple[Plot, str]:
    spec = figure.spec
    x = [_float(ex, v, [*loc, "x"], context, printer) for v in xs]
    series = []
    for i, s in enumerate(figure.series):
        where: list[str | int] = [*loc, "series", i, "y"]
        y = [_float(ex, _at(ex, s.y, where, context, spec.x.name, v), where, context, printer, f", {spec.x.name}={v}")
             for v in xs]
        series.append(PlotSeries(label=render(ex, s.label, [*loc, "series", i, "label"], context, printer),
                                 style=s.style, y=y))
    _log_axes(ex, figure, loc, xs, [x, *(s.y for s in series)], context)
    data: dict[str, Any] = {
        # One line: a blank line (a YAML `|` block) would end the Markdown image and lose the plot.
        "alt": " ".join(render(ex, figure.alt, [*loc, "alt"], context, printer).split()),
        "title": render(ex, figure.title, [*loc, "title"], context, printer),
        "x": x, "xlabel": render(ex, figure.xlabel, [*loc, "xlabel"], context, printer),
        "ylabel": render(ex, figure.ylabel, [*loc, "ylabel"], context, printer),
        "xscale": spec.xscale, "yscale": spec.yscale,
        "legend": len(series) > 1 if spec.legend is None else spec.legend,
        "series": [s.model_dump() for s in series],
    }
    plot = Plot.model_validate({**data, "name": figure.name, "file": file_name(data)})
    alt = _MARKUP.sub(r"\\\1", plot.alt)
    return plot, f"![{alt}](figures/{plot.file}.png)"


def _log_axes(ex: CompiledExercise, figure: CompiledPlot, loc: list[str | int], xs: list[Value],
              values: list[list[float]], context: Mapping[str, Value]) -> None:
    """Raises where a log axis would get a value that is not positive, naming it and its x."""
    spec = figure.spec
    for i, row in enumerate(values):
        axis = "xscale" if i == 0 else "yscale"
        bad = next((k for k, v in enumerate(row) if v <= 0), None)
        if getattr(spec, axis) == "log" and bad is not None:
            what = "x" if i == 0 else f"series {i - 1} ({spec.series[i - 1].label!r})"
            raise ex.error([*loc, axis], f"a log axis shows only positive values, and {what} is {row[bad]:g} "
                                         f"at {spec.x.name}={xs[bad]} (at {describe_env(ex, context)})")


def file_name(data: Mapping[str, Any]) -> str:
    """A plot's file name, from what it draws: equal plots share their files."""
    canonical = json.dumps([DRAWING, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "fig-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _table(ex: CompiledExercise, figure: CompiledTable, loc: list[str | int], xs: list[Value],
           context: Mapping[str, Value], printer: Printer) -> tuple[Table, str]:
    header = [render(ex, c.header, [*loc, "columns", i, "header"], context, printer)
              for i, c in enumerate(figure.columns)]
    rows = []
    for v in xs:
        row = []
        for i, column in enumerate(figure.columns):
            where: list[str | int] = [*loc, "columns", i, "value"]
            value = _at(ex, column.value, where, context, figure.x.name, v)
            try:
                printer.approximate(value, 17)  # Decimal: 10**400 is a number a table can show
            except (ValueError, TypeError):  # zoo, sqrt(-1), a relation's True: not a reading
                raise _unshowable(ex, value, where, printer, "is not a finite real number that a table can show "
                                  f"(at {describe_env(ex, context)}, {figure.x.name}={v})") from None
            row.append(_cell(printer, value, column.places))
        rows.append(row)
    caption = render(ex, figure.caption, [*loc, "caption"], context, printer)
    table = Table(name=figure.name, caption=caption, header=header, rows=rows)
    lines = [_row(header), "|" + "---:|" * len(header), *(_row(row) for row in rows)]
    return table, f"{caption}\n\n" + "\n".join(lines)


def _cell(printer: Printer, value: Value, places: int | None) -> str:
    if places is not None:
        return printer.num(value, places)
    tex = printer.latex(value)
    # A plain number is printed as text, in the same font as the decimals beside it; TeX only for the rest.
    return tex if _PLAIN_NUMBER.fullmatch(tex) else f"${tex}$"


def _row(cells: list[str]) -> str:
    # A `|` inside a cell would end it: GFM reads `\|` as the character, inside math too.
    return "| " + " | ".join(cell.replace("|", r"\|").replace("\n", " ") for cell in cells) + " |"
