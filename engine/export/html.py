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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

# markdown-it and its plugin (some 25 ms to import) are imported on first use, in _parser and
# _escape_html: every command imports this module through the Moodle writer (the CLI lists the
# formats), but only a Moodle export renders HTML.

__all__ = ["markdown_to_html", "markdown_to_html_inline", "one_line", "tex_html"]


@lru_cache(maxsize=1)
def _escape_html() -> Callable[[str], str]:
    from markdown_it.common.utils import escapeHtml

    return escapeHtml


def tex_html(tex: str, *, display: bool) -> str:
    """TeX as MathJax reads it from HTML: ``\\(x\\)`` or ``\\[x\\]``, content HTML-escaped."""
    body = _escape_html()(tex.strip()).replace("\n", "&#10;")
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


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
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
    return _by_shape(text, _block)


def markdown_to_html_inline(text: str) -> str:
    """Inline HTML of a short Markdown+TeX text (an option, a label): no wrapping ``<p>``.

    Example:
        >>> markdown_to_html_inline("$\\\\frac{2}{n_{in}}$ (He)")
        '\\\\(\\\\frac{2}{n_{in}}\\\\) (He)'
    """
    return _by_shape(text.strip(), _inline)


@lru_cache(maxsize=8192)
def _block(text: str) -> str:
    return _parser().render(text).strip()


@lru_cache(maxsize=8192)
def _inline(text: str) -> str:
    return _parser().renderInline(text).strip()


# Variants of one exercise differ mostly in their numbers. Markdown treats every run of ASCII
# digits alike except where it can start a list item or is read by a construct that moves or
# repeats text (links, references, autolinks, entities), so the HTML of a text is the HTML of
# its "shape" (each digit run replaced by 0) with the runs put back in order. Where that cannot
# be shown to hold, the text is converted as it is.
_DIGIT_RUN = re.compile(r"(?m)(^[ \t>*+-]*\d+)|\d+")
_DIGITS = re.compile(r"(\d+)")  # captured: split() keeps the runs
_LINE_START_DIGIT = re.compile(r"(?m)^[ \t>*+-]*\d")
_ZERO_RUN = re.compile(r"(?<![0-9])0(?![0-9])")
_REORDERING = re.compile(r"\]\(|\]:|\]\[|<|&#?\w|!\[")


def _by_shape(text: str, convert: Callable[[str], str]) -> str:
    if _REORDERING.search(text):
        return convert(text)
    if _LINE_START_DIGIT.search(text):
        runs: list[str] = []

        def shape(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                return match.group(0)  # a possible list marker keeps its digits
            runs.append(match.group(0))
            return "0"

        shaped = _DIGIT_RUN.sub(shape, text)
    else:  # no list marker possible: every digit run is shaped (one split, no callbacks)
        parts = _DIGITS.split(text)
        runs = parts[1::2]
        shaped = "0".join(parts[::2])
    if not runs:
        return convert(text)
    pieces = _shape_pieces(shaped, convert)
    if len(pieces) != len(runs) + 1:
        return convert(text)
    out = [""] * (2 * len(runs) + 1)
    out[::2] = pieces
    out[1::2] = runs
    return "".join(out)


@lru_cache(maxsize=8192)
def _shape_pieces(shaped: str, convert: Callable[[str], str]) -> list[str]:
    """The HTML of a shaped text, cut where its digit runs go back in."""
    return _ZERO_RUN.split(convert(shaped))


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)


def one_line(html: str) -> str:
    """The same HTML without newline characters: ``&#10;`` inside ``<pre>``, a space elsewhere.

    Some importers (Moodle's XML parser among them) drop whitespace-only pieces of character
    data, and a parser may hand over each newline as a piece of its own; text without newline
    characters survives them unchanged. Applies to HTML made by this module, where every
    ``<pre>`` is markdown-it's own (raw HTML is escaped) and newlines elsewhere are spaces.
    """
    parts = _PRE.split(html)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(re.sub(r"\r\n?|\n", "&#10;", part))
        else:
            out.append(re.sub(r"[ \t]*(?:\r\n?|\n)[ \t]*", " ", part))
    return "".join(out).strip()
