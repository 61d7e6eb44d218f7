"""Plots drawn with matplotlib, as SVG and PNG, with the same bytes on every run and machine; each
distinct plot is drawn once per run, however many copies show it.

matplotlib is used through its object API with the Agg and SVG canvases (no pyplot, no display),
under its own default settings whatever a user's matplotlibrc says, with the dates and the
software version left out of the files and the SVG ids salted with a constant.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal

from engine.errors import QuizwrightError
from engine.files import Sink
from engine.generation.quiz import Copy, Plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Kind = Literal["svg", "png"]
SIZE = (6.0, 3.6)  # inches: a plot half a printed page wide reads well beside the question
DPI = 150  # the PNG's pixels per inch: 900 × 540, sharp on a screen and on paper
# Colour is never the only thing that tells series apart: each also has its line style and marker.
_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# A link the generated text makes: a Markdown image's target, an HTML src, or a bare URL; an author's
# prose that names such a path is text, not a link.
_FIGURE_LINK = re.compile(r'(?:(?<=\]\()|(?<=src=")|\A)figures/(fig-[0-9a-f]{16})\.png')


class FigureError(QuizwrightError):
    """A plot matplotlib cannot draw (a label whose TeX its mathtext cannot read): the plot's file
    and, when known, the field of the figure at fault (("xlabel",), ("series", 0, "label"))."""

    def __init__(self, message: str, file: str = "", field: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.file = file
        self.field = field


def plots(copies: Iterable[Copy]) -> Iterator[Plot]:
    """The distinct plots of the copies, in order of first appearance."""
    seen: set[str] = set()
    for copy in copies:
        for variant in copy.variants:
            for figure in variant.figures:
                if isinstance(figure, Plot) and figure.file not in seen:
                    seen.add(figure.file)
                    yield figure


def linked(text: str) -> list[str]:
    """The plot files (`fig-…`, no extension) a text or HTML links as `figures/<file>.png`, in order."""
    return _FIGURE_LINK.findall(text)


def relink(text: str, url: str) -> str:
    """A text or HTML whose plot links point to `url`, formatted with `file` (e.g. "@@PLUGINFILE@@/{file}.png")."""
    return _FIGURE_LINK.sub(lambda match: url.format(file=match[1]), text)


# The drawings of the run in progress, shared by every `Drawings` made during it (see `one_run`).
_RUN: ContextVar[dict[tuple[str, Kind], bytes] | None] = ContextVar("quizwright_drawings", default=None)


@contextlib.contextmanager
def one_run() -> Iterator[None]:
    """Within it, every `Drawings` shares one store: a run whose size is estimated by writing its
    first copy apart draws that copy's plots once, not twice."""
    token = _RUN.set({})
    try:
        yield
    finally:
        _RUN.reset(token)


class Drawings:
    """The plots of one run, each drawn once per file type."""

    def __init__(self) -> None:
        shared = _RUN.get()
        self._drawn: dict[tuple[str, Kind], bytes] = shared if shared is not None else {}

    def draw(self, plot: Plot, kind: Kind) -> bytes:
        """The plot as an SVG or a PNG file's bytes.

        Raises:
            FigureError: a label matplotlib cannot draw.
        """
        key = (plot.file, kind)
        if key not in self._drawn:
            self._drawn[key] = draw(plot, kind)
        return self._drawn[key]


class FilesBeside:
    """Writes the plots of the copies passing through it beside the output, as the texts link
    them (`figures/<file>.png`), each once; where nothing can sit beside the output (standard
    output), says so in the sink's notices."""

    # PNG only: every Markdown reader and converter shows it, and an SVG beside it would double
    # the drawing, which is most of a figure bank's run (the PDF and the web page use the SVG).
    KINDS: tuple[Kind, ...] = ("png",)

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.drawings = Drawings()
        self.done: set[str] = set()
        self.missing = 0

    def through(self, copies: Iterable[Copy]) -> Iterator[Copy]:
        """The copies, unchanged, their plots written as they pass."""
        for copy in copies:
            for plot in plots([copy]):
                self._write(plot)
            yield copy
        if self.missing:
            self.sink.notices.append(
                f"the {self.missing} plot{'s' if self.missing > 1 else ''} this quiz links as figures/*.png "
                "are written beside an output file only: give one with -o (-o out/quiz.md or out/quiz.json: "
                "out/figures/)")

    def _write(self, plot: Plot) -> None:
        if plot.file in self.done:
            return
        self.done.add(plot.file)
        for kind in self.KINDS:
            target = self.sink.beside(f"figures/{plot.file}.{kind}")
            if target is None:
                self.missing += 1
                return
            self.sink.open_file(target).buffer.write(self.drawings.draw(plot, kind))  # type: ignore[attr-defined]


def draw(plot: Plot, kind: Kind) -> bytes:
    """One plot drawn (see `Drawings`, which draws each once)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # matplotlib's own settings, not the user's matplotlibrc
        matplotlib.rcParams.update({"svg.hashsalt": "quizwright", "svg.fonttype": "path", "axes.grid": True,
                                    "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False})
        figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        (FigureCanvasSVG if kind == "svg" else FigureCanvasAgg)(figure)
        _axes(figure.add_subplot(), plot)
        out = io.BytesIO()
        metadata = {"Date": None, "Creator": None} if kind == "svg" else {"Software": None}
        try:
            figure.savefig(out, format=kind, metadata=metadata)
        except ValueError as exc:
            field, reason = _unreadable(plot) or ((), str(exc))
            raise FigureError(f"figure {plot.name!r} cannot be drawn: {reason}", plot.file, field) from None
    return out.getvalue()


def read_texts(plot: Plot) -> None:
    """Read the plot's texts as `draw` will, without drawing.

    Raises:
        FigureError: a text whose TeX matplotlib's mathtext cannot read, as `draw` raises it.
    """
    if (problem := _unreadable(plot)) is not None:
        field, reason = problem
        raise FigureError(f"figure {plot.name!r} cannot be drawn: {reason}", plot.file, field)


def _unreadable(plot: Plot) -> tuple[tuple[str | int, ...], str] | None:
    """Which of the plot's texts (its field) matplotlib's mathtext cannot read, and why; None if it reads them all."""
    from matplotlib.cbook import is_math_text
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    texts: list[tuple[tuple[str | int, ...], str]] = [
        (("title",), plot.title), (("xlabel",), plot.xlabel), (("ylabel",), plot.ylabel),
        *((("series", i, "label"), s.label) for i, s in enumerate(plot.series))]
    for field, text in texts:
        if not is_math_text(text):
            continue  # plain text: no TeX to read
        try:
            parser.parse(text)
        except ValueError as exc:
            # mathtext's message: the TeX, a caret under the fault, then the parser's reason.
            reason = [line.strip() for line in str(exc).splitlines() if line.strip()][-1]
            return field, f"matplotlib cannot read the TeX of {text!r}: {reason}"
    return None


def _axes(ax: Axes, plot: Plot) -> None:
    bars = [s for s in plot.series if s.style == "bars"]
    gaps = [b - a for a, b in zip(plot.x, plot.x[1:], strict=False) if b > a]
    width = 0.8 * (min(gaps) if gaps else 1.0) / max(len(bars), 1)
    for i, series in enumerate(plot.series):
        colour = f"C{i % 10}"
        if series.style == "bars":
            k = bars.index(series)
            shift = (k - (len(bars) - 1) / 2) * width
            ax.bar([x + shift for x in plot.x], series.y, width=width, hatch=("", "//", "..", "xx")[k % 4],
                   edgecolor="black", linewidth=0.5, label=series.label, color=colour)
        else:
            line = _STYLES[i % len(_STYLES)] if series.style == "line" else "none"
            ax.plot(plot.x, series.y, linestyle=line, marker=_MARKERS[i % len(_MARKERS)],
                    markersize=4 if series.style == "line" else 6, label=series.label, color=colour)
    ax.set_xscale(plot.xscale)
    ax.set_yscale(plot.yscale)
    if plot.xscale == "linear" and all(x.is_integer() for x in plot.x):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers, epochs: no tick at 2.5
    ax.set_xlabel(plot.xlabel)
    ax.set_ylabel(plot.ylabel)
    if plot.title:
        ax.set_title(plot.title)
    if plot.legend:
        ax.legend(frameon=False)
