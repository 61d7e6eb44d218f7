"""Exercise Markdown → Typst markup, read by the same CommonMark parser as the HTML export.

Every character of the text that Typst could read as markup is escaped, and every construct is
written as a function call (`#emph[..];`, `#list([..], ..);`) ended by `;`, so that no text that
follows it can extend it. Math is left as a `Math` slot, converted later in one batch
(`texmath.convert`): a text becomes a tuple of pieces, strings of markup and slots.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from engine.export.figures import linked
from engine.export.html import parser

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode


class Math(NamedTuple):
    """A TeX snippet to convert: inline (`$..$`) or display (`$$..$$`)."""

    tex: str
    display: bool


Piece = str | Math
Markup = tuple[Piece, ...]

# Markup characters, `5.` (a numbered item at a line start), `..` (the ellipsis shorthand), and
# a quote after a digit (which Typst would print as a prime: 5' → 5′).
_SPECIAL = re.compile(r"[\\#$*_@<>\[\]`~=\-+/]|(?<=\d)[.'\"]|\.(?=\.)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A word this long (a URL, an identifier) may not fit on a line, and Typst breaks words only where
# Unicode allows: it would run off the paper. It gets a zero-width space between its characters.
_LONG_WORD = re.compile(r"\S{30,}")
_ZWSP = "\u200b"


def _breakable(word: str) -> str:
    """The word with a break opportunity before every character that starts a new glyph."""
    out = [word[0]]
    for before, char in zip(word, word[1:], strict=False):
        joined = unicodedata.category(char)[0] == "M" or char in "\u200d\ufe0e\ufe0f" or before == "\u200d"
        out.append(char if joined else _ZWSP + char)
    return "".join(out)


def escape(text: str) -> str:
    """Plain text as Typst markup that prints it literally (line breaks become spaces); a very long
    word may break anywhere."""
    text = _LONG_WORD.sub(lambda m: _breakable(m.group()), _CONTROL.sub(" ", text))
    return _SPECIAL.sub(lambda m: "\\" + m.group(), text)


def string(text: str) -> str:
    """A Typst string literal of `text`."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + _CONTROL.sub(lambda m: f"\\u{{{ord(m.group()):x}}}", body) + '"'


def render(markup: Markup, math: Mapping[Math, str]) -> str:
    """The markup with its math slots filled from `math` (TeX → Typst)."""
    return "".join(piece if isinstance(piece, str) else math[piece] for piece in markup)


class MarkupConverter:
    """Markdown → Markup for one export: one parser, each distinct text converted once."""

    def __init__(self, plots: Collection[str] = ()) -> None:
        self._md: MarkdownIt | None = None
        self._done: dict[tuple[str, bool], Markup] = {}
        self._plots = plots  # the plot files of the run
        # The images of the texts that are not plots of the run (printed as their description), once each.
        self.images: dict[str, None] = {}

    def convert(self, text: str, *, inline: bool = False) -> Markup:
        """The text as Typst markup; `inline`: paragraphs joined by spaces (an option, a title)."""
        known = self._done.get((text, inline))
        if known is None:
            known = self._done[text, inline] = tuple(_merge(self._pieces(text, inline)))
        return known

    def _pieces(self, text: str, inline: bool) -> list[Piece]:
        from markdown_it.tree import SyntaxTreeNode

        if self._md is None:
            self._md = parser()
        root = SyntaxTreeNode(self._md.parse(text))
        self.images.update(dict.fromkeys(str(node.attrs.get("src", "")) for node in root.walk()
                                         if node.type == "image" and _plot_file(node) not in self._plots))
        return _blocks(root.children, " " if inline else "\n\n")

    def slots(self) -> list[Math]:
        """Every math snippet of the texts converted so far, in first-seen order, once each."""
        return list(dict.fromkeys(p for markup in self._done.values() for p in markup if isinstance(p, Math)))


def _merge(pieces: Iterable[Piece]) -> Iterable[Piece]:
    text = ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        if text:
            yield text
            text = ""
        yield piece
    if text:
        yield text


def _blocks(nodes: Iterable[SyntaxTreeNode], separator: str) -> list[Piece]:
    out: list[Piece] = []
    listed = list(nodes)
    for index, node in enumerate(listed):
        if index:
            out.append(separator)
        # A paragraph that introduces a table (a figure's caption) stays on the table's page.
        caption = node.type == "paragraph" and index + 1 < len(listed) and listed[index + 1].type == "table"
        out += ["#block(sticky: true)[", *_block(node), "];"] if caption else _block(node)
    return out


def _call(head: str, items: Iterable[list[Piece]]) -> list[Piece]:
    """`#head([item], [item]);`."""
    out: list[Piece] = [f"#{head}("]
    for index, item in enumerate(items):
        out += [", [" if index else "[", *item, "]"]
    return [*out, ");"]


def _block(node: SyntaxTreeNode) -> list[Piece]:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else []
    if kind == "heading":
        return ["#strong[", *_inline(node.children[0]), "];"]
    if kind in ("bullet_list", "ordered_list"):
        start = node.attrs.get("start", 1) if kind == "ordered_list" else None
        head = "list" if start is None else f"enum.with(start: {int(start)})"
        return _call(head, (_blocks(item.children, "\n\n") for item in node.children))
    if kind == "blockquote":
        return ["#quote(block: true)[", *_blocks(node.children, "\n\n"), "];"]
    if kind in ("fence", "code_block"):
        return [f"#raw(block: true, {string(node.content.removesuffix(chr(10)))});"]
    if kind == "math_block":
        return [Math(node.content, True)]
    if kind == "hr":
        return ["#line(length: 100%);"]
    if kind == "table":
        return _table(node)
    return _blocks(node.children, "\n\n") if node.children else [escape(node.content)]


_ALIGN = {"text-align:left": "left", "text-align:center": "center", "text-align:right": "right"}


def _table(node: SyntaxTreeNode) -> list[Piece]:
    """A GFM table, ruled above, below and under its bold header row (repeated on a new page), its
    columns aligned as the Markdown asks (a figure's numbers to the right)."""
    head, *bodies = node.children
    header = head.children[0].children
    align = ", ".join(_ALIGN.get(str(cell.attrs.get("style", "")), "auto") for cell in header)
    align += "," if len(header) == 1 else ""  # `(right,)`: an array of one
    out: list[Piece] = [f"#table(columns: {len(header)}, align: ({align}), stroke: none, inset: (x: 0.6em, y: 0.35em), "
                        "table.hline(stroke: 0.6pt), table.header("]
    for index, cell in enumerate(header):
        out += [", [#strong[" if index else "[#strong[", *_cell(cell), "];]"]
    out.append("), table.hline(stroke: 0.4pt)")
    for cell in (cell for body in bodies for row in body.children for cell in row.children):
        out += [", [", *_cell(cell), "]"]
    return [*out, ", table.hline(stroke: 0.6pt));"]


def _cell(cell: SyntaxTreeNode) -> list[Piece]:
    return _inline(cell.children[0]) if cell.children else []


def _wrap(head: str) -> Callable[[SyntaxTreeNode], list[Piece]]:
    return lambda node: [f"#{head}[", *_inline(node), "];"]


_INLINE: dict[str, Callable[[SyntaxTreeNode], list[Piece]]] = {
    "text": lambda node: [escape(node.content)],
    "softbreak": lambda node: [" "],
    "hardbreak": lambda node: ["#linebreak();"],
    "em": _wrap("emph"),
    "strong": _wrap("strong"),
    "code_inline": lambda node: [f"#raw({string(node.content)});"],
    "math_inline": lambda node: [Math(node.content, False)],
    "math_inline_double": lambda node: [Math(node.content, True)],
    "link": lambda node: [f"#link({string(str(node.attrs.get('href', '')))})[", *_inline(node), "];"],
}


def _inline(node: SyntaxTreeNode) -> list[Piece]:
    out: list[Piece] = []
    for child in node.children:
        convert = _INLINE.get(child.type)
        if convert is not None:
            out += convert(child)
        elif child.type == "image":
            out += _image(child)
        else:
            out.append(escape(child.content))
    return out


def _image(node: SyntaxTreeNode) -> list[Piece]:
    """A plot of the run (`figures/<file>.png`): set by the preamble's `plot` from its SVG; any other
    image (a file Typst cannot be given): its description, as text."""
    file = _plot_file(node)
    return _inline(node) if file is None else [f"#plot({string(file)}, {string(_plain(node))});"]


def _plot_file(image: SyntaxTreeNode) -> str | None:
    """The plot file (`fig-…`) an image links as `figures/<file>.png`, or None."""
    src = str(image.attrs.get("src", ""))
    files = linked(src)
    return files[0] if len(files) == 1 and src == f"figures/{files[0]}.png" else None


def _plain(node: SyntaxTreeNode) -> str:
    """An image's description as plain text (its alt text), TeX left as written."""
    parts = []
    for child in node.children:
        if child.type in ("math_inline", "math_inline_double"):
            parts.append(f"${child.content}$" if child.type == "math_inline" else f"$${child.content}$$")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(_plain(child) if child.children else child.content)
    return "".join(parts)
