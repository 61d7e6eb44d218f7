"""The figures of a self-check page: plots as inline SVG, each stored once per page, and tables that
scroll sideways inside their own box.

A plot is drawn once per run (`Drawings`) and its SVG becomes a `<symbol>` in one hidden `<svg>` at
the end of each page that shows it; wherever the text links the plot (`figures/<file>.png`), an
`<svg role="img">` named by the alt text `<use>`s that symbol. So a plot shown on 30 sheets, in the
question and the solution, is stored once; the sheets waiting in `<template>`s need no script to find
it; and no image is requested (the page's policy allows none). The shapes that plots draw by `<use>`
(each glyph of their labels, their markers) are stored once per page, named by their content; the
plot's other ids are prefixed with its file name, so that plots in one document never share one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.export.figures import Drawings
from engine.export.html import escape_html
from engine.generation.quiz import Plot, Table

# markdown-it's element for `![alt](figures/<file>.png)`; its alt is replaced by the plot's own.
_IMAGE = re.compile(r'<img src="figures/(fig-[0-9a-f]{16})\.png" alt="[^"]*"(?: title="[^"]*")? />')
_ROOT = re.compile(r'<svg [^>]*viewBox="([^"]*)"[^>]*>(.*)</svg>', re.DOTALL)
# The metadata says nothing a reader needs; the style sheet would apply to the whole page (its rule
# becomes inherited attributes on the symbol's group).
_DROPPED = re.compile(r"<metadata>.*?</metadata>|<defs>\s*<style[^>]*>.*?</style>\s*</defs>", re.DOTALL)
_ID = re.compile(r' id="([^"]*)"')
_REFERENCE = re.compile(r'(xlink:href="#|url\(#)([^")]*)')
_INDENT = re.compile(r"\n\s*")  # matplotlib breaks lines only after a space or between elements
# Shapes defined for <use> to draw (a label's glyph, a marker): the same in every plot that shows them.
_SHAPES = re.compile(r'<defs>((?:<path id="[^"]*" [^<>]*/>)+)</defs>')
_SHAPE = re.compile(r'<path id="([^"]*)" ([^<>]*)/>')
_TABLE = re.compile(r"(?:<p>((?:(?!</p>).)*)</p>\n)?(<table>.*?</table>)", re.DOTALL)


@dataclass(frozen=True)
class Symbol:
    """A plot as the page stores it: its `<symbol>`, and the shapes it shares with other plots."""

    view_box: str
    markup: str
    shared: dict[str, str]  # id -> <path>: the glyphs and markers it <use>s, named by their content


class Figures:
    """The plots of one run, each drawn once, and the ones each page shows (stored at its end)."""

    def __init__(self) -> None:
        self._drawings = Drawings()
        self._symbols: dict[str, Symbol] = {}
        self._shown: dict[str, None] = {}  # the files shown since the last store(), in order

    def show(self, html: str, figures: Sequence[Plot | Table]) -> str:
        """The HTML with its links to `figures`' plots as inline SVG."""
        plots = {f.file: f for f in figures if isinstance(f, Plot)}

        def picture(match: re.Match[str]) -> str:
            plot = plots.get(match[1])
            if plot is None:  # not a plot of this variant: left as it is, and the page's policy loads nothing
                return match[0]
            view_box = self._symbol(plot).view_box
            self._shown[plot.file] = None
            return (f'<svg class="figure" viewBox="{view_box}" role="img" aria-label="{escape_html(plot.alt)}">'
                    f'<use href="#{plot.file}"></use></svg>')

        return _IMAGE.sub(picture, html)

    def store(self) -> str:
        """The hidden `<svg>` holding the plots shown since the last call ("" when none was)."""
        if not self._shown:
            return ""
        symbols = [self._symbols[file] for file in self._shown]
        self._shown.clear()
        shared = {name: path for s in symbols for name, path in s.shared.items()}
        return (f'<svg class="figure-store" aria-hidden="true">\n<defs>{"".join(shared.values())}</defs>\n'
                + "".join(f"{s.markup}\n" for s in symbols) + "</svg>\n")

    def _symbol(self, plot: Plot) -> Symbol:
        if plot.file not in self._symbols:
            self._symbols[plot.file] = symbol(plot.file, self._drawings.draw(plot, "svg"))
        return self._symbols[plot.file]


def symbol(file: str, svg: bytes) -> Symbol:
    """matplotlib's SVG as a `<symbol id=file>`: its ids prefixed by `file`, but for the shapes drawn
    by `<use>` (a label's glyphs, a marker), which go to `shared`, named by their content."""
    root = _ROOT.search(svg.decode("utf-8"))
    assert root is not None, "matplotlib writes one <svg> root with a viewBox"
    body = _INDENT.sub("", _DROPPED.sub("", root[2]))
    names: dict[str, str] = {}
    shared: dict[str, str] = {}

    def share(defs: re.Match[str]) -> str:
        for shape in _SHAPE.finditer(defs[1]):
            name = "shape-" + hashlib.sha256(shape[2].encode("utf-8")).hexdigest()[:16]
            names[shape[1]] = name
            shared[name] = f'<path id="{name}" {shape[2]}/>'
        return ""

    body = _SHAPES.sub(share, body)
    referenced = {name for _, name in _REFERENCE.findall(body)}
    body = _ID.sub(lambda m: f' id="{file}-{m[1]}"' if m[1] in referenced else "", body)
    body = _REFERENCE.sub(lambda m: m[1] + names.get(m[2], f"{file}-{m[2]}"), body)
    markup = (f'<symbol id="{file}" viewBox="{root[1]}">'
              f'<g stroke-linejoin="round" stroke-linecap="butt">{body}</g></symbol>')
    return Symbol(root[1], markup, shared)

def boxed_tables(html: str, captions: Sequence[str]) -> str:
    """The HTML with each table in a box that scrolls sideways; a paragraph just before a table that is
    one of `captions` (HTML) becomes the caption of a `<figure>` holding both (a `<caption>` would be
    squeezed to the table's width)."""
    def box(match: re.Match[str]) -> str:
        table = f'<div class="table-box">{match[2]}</div>'
        if match[1] is None:
            return table
        if match[1] in captions:
            return f'<figure class="table">\n<figcaption>{match[1]}</figcaption>\n{table}\n</figure>'
        return f"<p>{match[1]}</p>\n{table}"

    return _TABLE.sub(box, html)
