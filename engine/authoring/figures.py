"""The figures of an exercise (plots and tables), compiled once: their texts and expressions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.authoring.spec import Domain, PlotFigure, TableFigure
from engine.authoring.text import Text
from engine.language.exact import CompiledExpr

# Compiles one text or expression of the file, naming its field in an error.
TextCompiler = Callable[[Sequence[Any], str], Text]
ExprCompiler = Callable[[Sequence[Any], "str | int", frozenset[str]], CompiledExpr]


@dataclass(frozen=True)
class CompiledDomain:
    """The figure's variable: its name and the expressions of its values."""

    name: str
    values: tuple[CompiledExpr, ...] | None
    bounds: tuple[CompiledExpr, CompiledExpr] | None
    step: CompiledExpr | None
    points: int | None


@dataclass(frozen=True)
class CompiledSeries:
    label: Text
    y: CompiledExpr
    style: str


@dataclass(frozen=True)
class CompiledPlot:
    name: str
    spec: PlotFigure
    alt: Text
    title: Text
    xlabel: Text
    ylabel: Text
    x: CompiledDomain
    series: tuple[CompiledSeries, ...]


@dataclass(frozen=True)
class CompiledColumn:
    header: Text
    value: CompiledExpr
    places: int | None


@dataclass(frozen=True)
class CompiledTable:
    name: str
    caption: Text
    x: CompiledDomain
    columns: tuple[CompiledColumn, ...]


CompiledFigure = CompiledPlot | CompiledTable


def compile_figure(name: str, figure: PlotFigure | TableFigure, text: TextCompiler,
                   expr: ExprCompiler) -> CompiledFigure:
    """One figure of the file's `figures`; `text` and `expr` compile its fields, naming them in errors."""
    loc: list[Any] = ["figures", name]
    domain = _domain([*loc, "x"], figure.x, expr)
    over = frozenset({figure.x.name})
    if isinstance(figure, PlotFigure):
        series = tuple(
            CompiledSeries(text([*loc, "series", i, "label"], s.label), expr([*loc, "series", i, "y"], s.y, over),
                           s.style or figure.style)
            for i, s in enumerate(figure.series))
        return CompiledPlot(name, figure, text([*loc, "alt"], figure.alt), text([*loc, "title"], figure.title),
                            text([*loc, "xlabel"], figure.xlabel), text([*loc, "ylabel"], figure.ylabel),
                            domain, series)
    columns = tuple(
        CompiledColumn(text([*loc, "columns", i, "header"], c.header),
                       expr([*loc, "columns", i, "value"], c.value, over), c.places)
        for i, c in enumerate(figure.columns))
    return CompiledTable(name, text([*loc, "caption"], figure.caption), domain, columns)


def _domain(loc: list[Any], domain: Domain, expr: ExprCompiler) -> CompiledDomain:
    none: frozenset[str] = frozenset()
    if domain.values is not None:
        values = tuple(expr([*loc, "values", i], v, none) for i, v in enumerate(domain.values))
        return CompiledDomain(domain.name, values, None, None, None)
    assert domain.min is not None and domain.max is not None  # the model's validator
    bounds = (expr([*loc, "min"], domain.min, none), expr([*loc, "max"], domain.max, none))
    step = expr([*loc, "step"], domain.step, none) if domain.step is not None else None
    return CompiledDomain(domain.name, None, bounds, step, domain.points)
