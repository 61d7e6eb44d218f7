"""The PDF writer: the quiz as Typst source (templates/pdf/), compiled in-process by Typst.

The copies are read whole: the math of every sheet goes to pandoc in one run, and one Typst
document holds every sheet. Each sheet (and each sheet's key) is a part that starts on an odd
page, numbered from 1 in its footer with the part's name ("page k of n"). Typst holds the layout
of a whole document in memory: a run too big for it is refused before it starts (`within_memory`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import QuizwrightError, UsageError
from engine.export.figures import Drawings, plots
from engine.export.markdown import detail, hint
from engine.export.pdf import fonts, texmath
from engine.export.pdf.markup import MarkupConverter, Math, escape, render, string
from engine.files import Sink, output_environment
from engine.generation.quiz import Copy, QuizHeader, Variant, question_labels

if TYPE_CHECKING:
    import jinja2


@dataclass(frozen=True)
class Sources:
    """The Typst source of a quiz, in parts: a document is the preamble and any run of sheets and keys."""

    title: str
    preamble: str
    sheets: list[str]
    keys: list[str]
    images: list[str]  # images of the texts that are not plots: printed as their description

    def document(self, title: str, parts: Iterable[str]) -> str:
        """A document of `parts` (sheets, keys), titled `title` in its PDF metadata."""
        head = f'#set document(title: {string(f"{self.title}: {title}")}, author: "quizwright", date: none)\n'
        return head + self.preamble + "".join(parts) + "#metadata(none) <qw-end>\n"

    def whole(self) -> str:
        """Every sheet, then every sheet's key."""
        return self.document("worksheets and answer keys" if self.keys else "worksheets", self.sheets + self.keys)


def _points(variant: Variant) -> str:
    return f"{variant.points} point{'s' if variant.points != 1 else ''}"


def _points_line(copy: Copy) -> str:
    total = sum(v.points for v in copy.variants)
    return f"{len(copy.variants)} question{'s' if len(copy.variants) != 1 else ''}, {total} point{'s' if total != 1 else ''}"


# Whatever might make a question tall: display math, environments, tables, code blocks, lists.
_TALL = ("$$", "\\begin", "\\dfrac", "\\displaystyle", "|", "```", "\n    ", "\n- ", "\n* ", "\n1", "](figures/")


def _short(variant: Variant) -> str:
    """`true` (Typst) when the question surely fits on a page: at most about 15 lines of text, and
    ten options of a line or a short formula each. A question not known to be short is measured."""
    text = variant.question + "".join(o.text for o in variant.options)
    sure = len(text) < 800 and text.count("\n") < 12 and not any(mark in text for mark in _TALL)
    return "true" if sure else "false"


class _Builder:
    """Renders the templates twice: once to collect the math of every text, once to write them."""

    def __init__(self, header: QuizHeader, plots: Collection[str]) -> None:
        self.header = header
        self.env: jinja2.Environment = output_environment()
        self.markup = MarkupConverter(plots)
        self.math: dict[Math, str] | None = None

    def md(self, text: str, inline: bool = False) -> str:
        markup = self.markup.convert(text, inline=inline)
        return "" if self.math is None else render(markup, self.math)

    def option(self, text: str) -> str:
        """An option that is one formula alone is set in display style: inline fractions are too
        small to read on paper. (Its TeX is left as written: pandoc may not read it.)"""
        markup = self.markup.convert(text, inline=True)
        lone = markup[0] if len(markup) == 1 else None
        if self.math is None or not isinstance(lone, Math) or lone.display:
            return self.md(text, inline=True)
        typst = self.math[lone]
        return f"$#math.display[{typst}]$" if typst.startswith("$") and "#math.display" not in typst else typst

    def render(self, name: str, **context: object) -> str:
        context.update(bank=self.header.bank, header=self.header, md=self.md, text=escape, string=string,
                       hint=hint, detail=detail, option=self.option, short=_short, points=_points, points_line=_points_line,
                       labels=question_labels)
        return self.env.get_template(f"pdf/{name}.typ.j2").render(context)

    def sources(self, copies: list[Copy], key: bool) -> Sources:
        return Sources(self.header.bank.title, self.render("preamble"),
                       [self.render("sheet", copy=copy) for copy in copies],
                       [self.render("key", copy=copy) for copy in copies] if key else [], list(self.markup.images))


def typst_sources(header: QuizHeader, copies: Iterable[Copy], *, key: bool = True) -> Sources:
    """The Typst source of the worksheets and (with `key`) of each sheet's answer key."""
    listed = list(copies)
    builder = _Builder(header, {plot.file for plot in plots(listed)})
    builder.sources(listed, key)
    builder.math = texmath.convert(builder.markup.slots())
    return builder.sources(listed, key)


def compile_pdf(source: str, plots: Mapping[str, str] | None = None) -> bytes:
    """The PDF of a Typst document, typeset with Typst's own fonts only (the same bytes everywhere);
    `plots`: the SVG of each plot file of the run, of which the document is given those it sets.

    Raises:
        TypesetterMissing: the `typst` wheel is not installed.
        QuizwrightError: Typst refused the document.
    """
    try:
        import typst
    except ImportError:
        raise texmath.TypesetterMissing("the PDF export needs Typst: pip install typst") from None
    try:
        inputs = {file: plots[file] for file in _PLOT_CALL.findall(source) if file in plots} if plots else {}
        pdf: bytes = typst.compile(source.encode("utf-8"), ignore_system_fonts=True, sys_inputs=inputs)
    except typst.TypstError as error:
        raise QuizwrightError(f"Typst could not typeset the quiz: {error}") from None
    return pdf


# The plots a document sets: `#plot("fig-…", …)`, as markup.py writes them (text is escaped: never this).
_PLOT_CALL = re.compile(r'#plot\("(fig-[0-9a-f]{16})"')


def drawn_plots(copies: Iterable[Copy]) -> dict[str, str]:
    """The SVG of every distinct plot of the copies, by file name, each drawn once.

    Raises:
        FigureError: a plot matplotlib cannot draw.
    """
    drawings = Drawings()
    return {plot.file: drawings.draw(plot, "svg").decode("utf-8") for plot in plots(copies)}


# Above this estimate of its peak memory, a PDF run is refused unless told --no-size-limit.
MEMORY_LIMIT = 4 * 10**9
# The peak memory of a run, measured with /usr/bin/time -v from 10 to 100-300 sheets: Typst keeps
# every page of a document (and, cached, of the documents before) until the run ends. Per sheet: the
# bundled bank (13 kB of Typst source a sheet, 17 kB a key) 13.5 MB with its key in one file, 6.3 MB
# without, 9.0 MB for the key of --split (whose sheets, typeset one by one, stay flat: 0.2 MB);
# tests/fixtures/basic (2.7 kB, 2.9 kB) 3.4 MB, and 2.2 MB for the key of --split. Fitted, per part:
# (fixed bytes, bytes per byte of its source); the estimate errs by about 10%, on the large side.
_MEMORY_BASE = 100 * 10**6
_MEMORY_SHEET = (600_000, 400)
_MEMORY_KEY = (800_000, 470)
# Figures cost more than their few bytes of source. Measured (300 sheets, the Typst layout with and
# without them): a plot 0.08-0.25 MB where it shows (its SVG is parsed once), a table of the text
# (`#table(columns: N, ...)`, not the key's own) 0.6-1.4 MB, laid out twice in a measured question.
_MEMORY_PLOT = 150_000
_MEMORY_TABLE = 800_000
_TABLE_CALL = re.compile(r"#table\(columns: \d")


def memory_needed(header: QuizHeader, first: Copy, copies: int, *, key: bool = True, split: bool = False) -> int:
    """Bytes of memory a run of `copies` copies like `first` is estimated to need at its peak."""
    sources = typst_sources(header, [first], key=key)
    # --split: each sheet is a document of its own, freed (or reused) before the next.
    held = [(part, _MEMORY_SHEET) for part in ([] if split else sources.sheets)]
    held += [(part, _MEMORY_KEY) for part in sources.keys]
    per_copy = sum(fixed + per_byte * len(part.encode("utf-8")) + _MEMORY_PLOT * len(_PLOT_CALL.findall(part))
                   + _MEMORY_TABLE * len(_TABLE_CALL.findall(part)) for part, (fixed, per_byte) in held)
    return _MEMORY_BASE + per_copy * copies


def within_memory(header: QuizHeader, first: Copy, copies: int, *, key: bool = True, split: bool = False) -> None:
    """Refuse, before any typesetting, a run estimated to need more than MEMORY_LIMIT of memory.

    Raises:
        UsageError: naming the memory it would need and how to print the class in smaller runs.
    """
    need = memory_needed(header, first, copies, key=key, split=split)
    if need <= MEMORY_LIMIT:
        return
    if split:
        smaller = "--no-key (each --split sheet is typeset alone), then the key in runs of --copies A-B"
    else:
        smaller = "runs of --copies A-B (--copies 1-100, --copies 101-200, ...) or --split"
    raise UsageError(
        f"this PDF run would need about {need / 10**9:.3g} GB of memory ({copies} sheets; Typst holds every page "
        f"until the end), over the {MEMORY_LIMIT / 10**9:.3g} GB limit: print it in {smaller}, or add "
        "--no-size-limit to typeset it anyway")


def _images_notice(images: list[str]) -> str:
    """What the user is told of the images that print as their description."""
    many = len(images) > 1
    shown = ", ".join(repr(src[:60]) for src in images[:3]) + (", ..." if len(images) > 3 else "")
    return (f"{len(images)} image{'s' if many else ''} that the quiz links ({shown}) print{'' if many else 's'} "
            f"as {'their' if many else 'its'} description in the PDF, which draws the bank's plots only")


class PdfWriter:
    """Worksheets, one per copy, and the answer key: one PDF, or (`split`) one per sheet and the key."""

    def __init__(self, *, key: bool = True, split: bool = False) -> None:
        self.key = key
        self.split = split

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        # Opened before the typesetting, so that a terminal is refused before the work.
        main = None if self.split else sink.open_binary(what="pdf writes a PDF file", example="quiz.pdf")
        listed = list(copies)
        sources = typst_sources(header, listed, key=self.key)
        fonts.check([sources.preamble, *sources.sheets, *sources.keys], listed, compile_pdf)
        svg = drawn_plots(listed)
        if sources.images:
            sink.notices.append(_images_notice(sources.images))
        if main is None:
            for copy, sheet in zip(listed, sources.sheets, strict=True):
                out = sink.open_file(sink.copy_path(copy.sheet)).buffer  # type: ignore[attr-defined]
                out.write(compile_pdf(sources.document(f"worksheet {copy.sheet}", [sheet]), svg))
        elif not (self.key and sink.separate_parts):
            # One file: the sheets, then (on standard output, a device) the key after them.
            main.write(compile_pdf(sources.whole(), svg))
            return
        else:
            main.write(compile_pdf(sources.document("worksheets", sources.sheets), svg))
        if self.key:
            sink.open_binary("key").write(compile_pdf(sources.document("answer keys", sources.keys), svg))
