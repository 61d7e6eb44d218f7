"""Markdown with TeX (exercise text) to HTML: CommonMark plus tables, math as MathJax delimiters.

Exercise text is Markdown with TeX in ``$...$`` (inline) and ``$$...$$`` (display). It becomes
HTML through markdown-it-py's CommonMark parser (a real Markdown implementation, tables on)
and ``mdit_py_plugins.dollarmath``; math is written for MathJax as ``\\( ... \\)`` and
``\\[ ... \\]``, with the TeX HTML-escaped and otherwise untouched, so ``_``, ``*`` and ``\\``
inside math never turn into emphasis or escapes.

Raw HTML in the text is escaped, not passed through: exercise text is trusted, but it is
Markdown meant for every output (Markdown worksheets, JSON, Moodle, ...), where raw HTML would
render in some formats and not in others; escaping keeps ``a < b`` in prose correct and
guarantees well-formed, balanced HTML, so a stray ``<b>`` can never break an LMS page. Links
with unsafe schemes (``javascript:``) are refused by markdown-it's own link validation.

Dollar rules follow Pandoc: no space just inside the dollars and no digit just outside them,
so "costs $5 and $6" stays text while ``$2$`` and ``$n_{in} = 528$`` are math (``$ x $`` is
text, too: write ``$x$``).

The output is deterministic. Newlines in it are insignificant except inside ``<pre>``
(newlines inside math are written as ``&#10;`` so that TeX ``%`` comments keep their line
ends); :func:`one_line` turns it into equivalent HTML without a single newline character.

Text with no Markdown syntax (one paragraph of words, digits, TeX and ``**strong**`` words) is
written directly, as markdown-it writes it (`plain_html`); markdown-it is imported for the
first text that needs it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

__all__ = ["HtmlConverter", "markdown_to_html", "markdown_to_html_inline", "one_line", "plain_html", "tex_html"]

SHAPE_CACHE = 8192  # text shapes (and texts converted whole) whose HTML one converter keeps


def escape_html(raw: str) -> str:
    """``&``, ``<``, ``>`` and ``"`` as entities, as markdown-it escapes text (quotes ``'`` stay)."""
    return raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def tex_html(tex: str, *, display: bool) -> str:
    """TeX as MathJax reads it from HTML: ``\\(x\\)`` or ``\\[x\\]``, content HTML-escaped."""
    body = escape_html(tex.strip()).replace("\n", "&#10;")
    return f"\\[{body}\\]" if display else f"\\({body}\\)"


def _math_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return tex_html(tokens[idx].content, display=False)


def _math_display_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # `$$...$$` inside a paragraph: display math, kept inside the paragraph (no <div> in <p>).
    return tex_html(tokens[idx].content, display=True)


def _math_block(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f"<p>{tex_html(tokens[idx].content, display=True)}</p>\n"


def parser() -> MarkdownIt:
    """A CommonMark parser with tables and the dollar-math rules above."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    dollarmath_plugin(
        md,
        allow_labels=False,  # `$$x$$ (eq1)` stays text: no anchors in quiz questions
        allow_space=False,  # Pandoc: no space just inside the dollars, so `$5 and $x$` is safe
        allow_digits=False,  # Pandoc's currency rule: "$5 and $6" is not math
        allow_blank_lines=False,  # as in TeX: a blank line ends display math
        double_inline=True,  # `$$x$$` inside a paragraph is display math too
    )
    md.add_render_rule("math_inline", _math_inline)
    md.add_render_rule("math_inline_double", _math_display_inline)
    md.add_render_rule("math_block", _math_block)
    return md


def markdown_to_html(text: str) -> str:
    """Block HTML of Markdown+TeX text: paragraphs, lists, tables, code, math.

    Example:
        >>> markdown_to_html("Compute $n_{in} * n_{out}$ for **both** layers.")
        '<p>Compute \\\\(n_{in} * n_{out}\\\\) for <strong>both</strong> layers.</p>'
    """
    return HtmlConverter().block(text)


def markdown_to_html_inline(text: str) -> str:
    """Inline HTML of a short Markdown+TeX text (an option, a label): no wrapping ``<p>``.

    Example:
        >>> markdown_to_html_inline("$\\\\frac{2}{n_{in}}$ (He)")
        '\\\\(\\\\frac{2}{n_{in}}\\\\) (He)'
    """
    return HtmlConverter().inline(text)


# Variants of one exercise differ mostly in their numbers. Markdown treats every run of ASCII
# digits alike except where it can start a list item or is read by a construct that moves or
# repeats text (links, references, autolinks, entities), so the HTML of a text is the HTML of
# its "shape" (each digit run replaced by 0) with the runs put back in order. Where that cannot
# be shown to hold, the text is converted as it is. Both tests give the same answer on a text
# and on its shape, so they are made once per shape.
# A line's leading markers, nested ones (`- 1. 2.`) included, keep their digits.
_DIGIT_RUN = re.compile(r"(?m)(^[ \t>*+\-.)\d]*\d+)|\d+")
_DIGITS = re.compile(r"(\d+)")  # captured: split() keeps the runs
_LINE_START_DIGIT = re.compile(r"(?m)^[ \t>*+-]*\d")
_ZERO_RUN = re.compile(r"(?<![0-9])0(?![0-9])")
_REORDERING = re.compile(r"\]\(|\]:|\]\[|<|&#?\w|!\[")
_LINE_START = "line start"  # a shape whose digits may start a list item


class HtmlConverter:
    """Markdown+TeX to HTML for one export: one parser, and the HTML of each text shape made once
    (a text that cannot go by shape, one without digits for instance, is kept whole)."""

    def __init__(self) -> None:
        self._md: MarkdownIt | None = None
        self._forms = lru_cache(maxsize=SHAPE_CACHE)(self._form)
        self._pieces = lru_cache(maxsize=SHAPE_CACHE)(self._shape_pieces)
        self._whole = lru_cache(maxsize=SHAPE_CACHE)(self._convert)

    def render_block(self, text: str) -> str:
        """markdown-it's block HTML of `text`, stripped."""
        html: str = self._parser().render(text)
        return html.strip()

    def render_inline(self, text: str) -> str:
        """markdown-it's inline HTML of `text`, stripped."""
        html: str = self._parser().renderInline(text)
        return html.strip()

    def _parser(self) -> MarkdownIt:
        if self._md is None:
            self._md = parser()
        return self._md

    def block(self, text: str) -> str:
        """Block HTML of `text`, as `render_block` gives it."""
        return self._by_shape(text, block=True)

    def inline(self, text: str) -> str:
        """Inline HTML of `text` stripped, as `render_inline` gives it."""
        return self._by_shape(text.strip(), block=False)

    def _by_shape(self, text: str, *, block: bool) -> str:
        parts = _DIGITS.split(text)
        if len(parts) > 1:
            form = self._forms("0".join(parts[::2]), block)
            if form is _LINE_START:
                return self._list_shape(text, block)
            if form is not None:
                return form.format(*parts[1::2])
        return self._whole(text, block)

    def _form(self, shaped: str, block: bool) -> str | None:
        """The HTML of a shape as a format string taking its digit runs, _LINE_START or None."""
        if _REORDERING.search(shaped):
            return None
        if _LINE_START_DIGIT.search(shaped):
            return _LINE_START
        pieces = self._shape_pieces(shaped, block)
        if len(pieces) != shaped.count("0") + 1:
            return None
        return "{}".join(piece.replace("{", "{{").replace("}", "}}") for piece in pieces)

    def _list_shape(self, text: str, block: bool) -> str:
        """`text` by shape where a digit run may start a list item: such runs keep their digits."""
        runs: list[str] = []

        def shape(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                return match.group(0)  # a possible list marker keeps its digits
            runs.append(match.group(0))
            return "0"

        shaped = _DIGIT_RUN.sub(shape, text)
        if not runs:
            return self._whole(text, block)
        pieces = self._pieces(shaped, block)
        if len(pieces) != len(runs) + 1:
            return self._whole(text, block)
        out = [""] * (2 * len(runs) + 1)
        out[::2] = pieces
        out[1::2] = runs
        return "".join(out)

    def _convert(self, text: str, block: bool) -> str:
        direct = plain_html(text, block=block)
        if direct is not None:
            return direct
        return self.render_block(text) if block else self.render_inline(text)

    def _shape_pieces(self, shaped: str, block: bool) -> list[str]:
        """The HTML of a shaped text, cut where its digit runs go back in."""
        return _ZERO_RUN.split(self._convert(shaped, block))


# Outside math, the characters that start inline syntax (escapes, code, emphasis, links, HTML,
# entities); whitespace that markdown-it reads (tabs, hard breaks, blank lines, other spaces),
# and NUL, which markdown-it replaces everywhere (math included) by U+FFFD.
_SYNTAX = re.compile(r"[\\`*_\[\]<&\x00]")
_ODD_SPACE = re.compile(r"[^\S \n]| \n|\n |\n\n|^\s|\s$|\x00")
_MARKS = re.compile(r"[$*]")
_DISPLAY = re.compile(r"\$\$([^$\n]*)\$\$")


def plain_html(text: str, *, block: bool) -> str | None:
    """markdown-it's HTML of `text` (stripped) when it has no Markdown syntax, None otherwise.

    Such text is one paragraph of words, digits and TeX (``$...$``, ``$$...$$``), with
    ``**strong**`` words; each of its lines starts with a letter, a dollar or ``**``.
    """
    if _ODD_SPACE.search(text):
        return None
    if block and text.startswith("$$"):  # display math alone: the plugin's math block
        display = _DISPLAY.fullmatch(text)
        return f"<p>{tex_html(display.group(1), display=True)}</p>" if display else None
    if block and not all(_plain_line_start(line) for line in text.split("\n")):
        return None
    inline = _plain_inline(text)
    return f"<p>{inline}</p>" if block and inline is not None else inline


def _plain_line_start(line: str) -> bool:
    """Whether a line starts where no block can (list, heading, quote, code, table, rule, math block)."""
    first, rest = line[:1], line[1:3]
    return first.isalpha() or (first == "$" and rest[:1] not in ("$", "")) or (
        first == "*" and rest[:1] == "*" and rest[1:] not in ("*", " ", ""))


def _plain_inline(src: str) -> str | None:
    """The inline HTML of `src`: its math and strong words, and text with no other syntax; or None."""
    out: list[str] = []
    start = pos = 0
    while (mark := _MARKS.search(src, pos)) is not None:
        at = mark.start()
        found = _math_at(src, at) if src[at] == "$" else _strong_at(src, at)
        if found is None:
            if src[at] == "*":
                return None
            pos = at + 1  # a dollar that opens no math is text
            continue
        end, html = found
        out += [src[start:at], html]
        start = pos = end
    out.append(src[start:])
    texts = out[::2]
    if any(_SYNTAX.search(piece) for piece in texts):
        return None
    out[::2] = [escape_html(piece) for piece in texts]
    return "".join(out)


def _math_at(src: str, pos: int) -> tuple[int, str] | None:
    """mdit_py_plugins' dollar-math rule at `pos`, with this module's options: (end, HTML) or None.

    Its reads before the start of the text (``src[pos - 1]`` at 0) are kept as they are.
    """
    if pos + 1 >= len(src) or src[pos + 1] in " \n" or src[pos - 1].isdigit() or _escaped(src, pos):
        return None
    double = src[pos + 1] == "$"
    search = pos + 1 + double
    while True:
        end = src.find("$", search)
        if end < 0:
            return None
        if _escaped(src, end):
            search = end + 1
            continue
        if double:
            if end + 1 >= len(src):
                return None
            if src[end + 1] != "$":
                search = end + 1
                continue
            end += 1
        break
    if src[end - 1] in " \n" or src[end + 1:end + 2].isdigit():
        return None
    tex = src[pos + 2:end - 1] if double else src[pos + 1:end]
    return (end + 1, tex_html(tex, display=double)) if tex else None


def _escaped(src: str, pos: int) -> bool:
    """Whether an odd number of backslashes precede `pos` (the plugin's count, wrapping at 0)."""
    backslashes = 0
    back = pos
    while back >= 0:
        back -= 1
        if src[back] != "\\":
            break
        backslashes += 1
    return backslashes % 2 == 1


def _strong_at(src: str, pos: int) -> tuple[int, str] | None:
    """``**words**`` at `pos`, opening after a space or a line start and closing before one (or
    after a letter or digit, before punctuation): (end, HTML), or None for any other star."""
    close = src.find("*", pos + 2)
    if (src[pos:pos + 2] != "**" or (pos and src[pos - 1] not in " \n") or close < 0
            or src[pos + 2] in "* \n$" or "$" in src[pos + 2:close] or src[close - 1] in " \n"
            or src[close:close + 2] != "**"):
        return None
    after = src[close + 2:close + 3]
    if after not in ("", " ", "\n") and not (after in ".,;:!?)" and src[close - 1].isalnum()):
        return None
    words = src[pos + 2:close]
    if _SYNTAX.search(words):
        return None
    return close + 2, f"<strong>{escape_html(words)}</strong>"


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)


def one_line(html: str) -> str:
    """The same HTML without newline characters: ``&#10;`` inside ``<pre>``, a space elsewhere.

    Some importers (Moodle's XML parser among them) drop whitespace-only pieces of character
    data, and a parser may hand over each newline as a piece of its own; text without newline
    characters survives them unchanged. Applies to HTML made by this module, where every
    ``<pre>`` is markdown-it's own (raw HTML is escaped) and newlines elsewhere are spaces.
    """
    if "\n" not in html and "\r" not in html:
        return html.strip()
    parts = _PRE.split(html)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(re.sub(r"\r\n?|\n", "&#10;", part))
        else:
            out.append(re.sub(r"[ \t]*(?:\r\n?|\n)[ \t]*", " ", part))
    return "".join(out).strip()
