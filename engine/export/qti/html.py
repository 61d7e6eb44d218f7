"""Exercise Markdown to HTML for Canvas: TeX as Canvas equation images, as its math editor writes them.

Canvas's rich content editor stores an equation as ``<img class="equation_image">`` whose
``data-equation-content`` holds the TeX and whose ``src`` is the instance's own renderer
(``/equation_images/<TeX>``, relative, so it works on every Canvas instance); the editor opens
it again as an equation. text2qti 0.8.0 writes inline math so. Display math, which text2qti
passes through as raw ``$$...$$``, becomes a centred ``\\displaystyle`` equation on its own line.
The rest is engine.export.html's Markdown (CommonMark, raw HTML escaped). A plot's image
(`figures/<file>.png`) links the copy in the zip as text2qti and Canvas's own exporter link a
package file, `%24IMS-CC-FILEBASE%24/<path>`, which Canvas resolves to the file it imports.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from engine.export.figures import relink
from engine.export.html import escape_html, one_line, parser
from engine.export.moodle.xml import xml_chars

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

TEXT_CACHE = 8192  # texts whose HTML one converter keeps
IMAGES = "images"  # the zip's folder of plots, as text2qti names it
# `$` URL-escaped as text2qti writes it; Canvas's importer unescapes the src before resolving it.
FILE_LINK = "%24IMS-CC-FILEBASE%24/" + IMAGES + "/{file}.png"
# Scaled down to the question's width, never up: the PNG is 900 pixels wide.
IMAGE_STYLE = "max-width: 100%; height: auto;"


def image_path(file: str) -> str:
    """A plot's path in the zip."""
    return f"{IMAGES}/{file}.png"


def equation_image(tex: str, *, display: bool) -> str:
    """One equation as Canvas's editor writes it; display math in display style, centred."""
    tex = tex.strip()
    if display:
        tex = f"\\displaystyle {tex}"
    # A newline ends a TeX `%` comment: kept as a character reference, which one_line leaves alone.
    attr = escape_html(tex).replace("\n", "&#10;")
    src = urllib.parse.quote(tex, safe="")
    img = (f'<img class="equation_image" title="{attr}" src="/equation_images/{src}?scale=1" '
           f'alt="LaTeX: {attr}" data-equation-content="{attr}" data-ignore-a11y-check="">')
    return f'<span style="display: block; text-align: center;">{img}</span>' if display else img


def _inline(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return equation_image(tokens[idx].content, display=False)


def _display(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return equation_image(tokens[idx].content, display=True)


def _block(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return f"<p>{equation_image(tokens[idx].content, display=True)}</p>\n"


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("style", IMAGE_STYLE)
    return self.image(tokens, idx, options, env)


class CanvasHtml:
    """Markdown+TeX to one-line HTML with Canvas equations, each text converted once per export."""

    def __init__(self) -> None:
        self._md: MarkdownIt | None = None
        self.block = lru_cache(maxsize=TEXT_CACHE)(self._block)
        self.inline = lru_cache(maxsize=TEXT_CACHE)(self._inline)

    def _parser(self) -> MarkdownIt:
        if self._md is None:
            md = parser()
            md.add_render_rule("math_inline", _inline)
            md.add_render_rule("math_inline_double", _display)
            md.add_render_rule("math_block", _block)
            md.add_render_rule("image", _image)
            self._md = md
        return self._md

    def _block(self, text: str) -> str:
        """Block HTML of `text` (paragraphs, lists, tables), on one line."""
        return relink(xml_chars(one_line(self._parser().render(text))), FILE_LINK)

    def _inline(self, text: str) -> str:
        """Inline HTML of a short text (an option), on one line."""
        return relink(xml_chars(one_line(self._parser().renderInline(text.strip()))), FILE_LINK)
