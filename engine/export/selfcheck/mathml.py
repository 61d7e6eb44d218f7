"""TeX in the exercise HTML (``\\(..\\)``, ``\\[..\\]``, as `engine.export.html` writes it) to MathML.

latex2mathml builds an element tree and then un-escapes its own serialisation, which lets ``<``
and ``&`` of ``\\text{...}`` through as markup; the tree is serialised here instead, every text
escaped, so that TeX can never become HTML. TeX that latex2mathml cannot read stays as its source
text, in a ``<code>``.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from xml.etree import ElementTree

_MATH = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
_CHARACTER_REFERENCE = re.compile(r"&#x([0-9A-Fa-f]+);")


def math_to_mathml(text_html: str, *, full_size: bool = False) -> str:
    """The HTML with each ``\\(..\\)`` and ``\\[..\\]`` replaced by MathML (``display="block"`` for the latter).

    `full_size`: inline math in display style (``displaystyle="true"``), for options and answers,
    where small fractions are hard to read and to tell apart.
    """
    def replace(match: re.Match[str]) -> str:
        inline, display = match.group(1), match.group(2)
        escaped = inline if inline is not None else display
        return mathml(html.unescape(escaped), display=inline is None, full_size=full_size)

    return _MATH.sub(replace, text_html)


@lru_cache(maxsize=4096)
def mathml(tex: str, *, display: bool, full_size: bool = False) -> str:
    """The MathML of one TeX formula, or its escaped source in ``<code class="tex">``."""
    from latex2mathml.converter import Converter

    try:
        tree = Converter(display="block" if display else "inline").convert_to_element(tex)
    except Exception:  # noqa: BLE001 - latex2mathml raises bare errors of many kinds on TeX it cannot read
        return f'<code class="tex">{html.escape(tex, quote=False)}</code>'
    del tree.attrib["xmlns"]  # HTML puts <math> in the MathML namespace by itself
    if full_size and not display:
        tree.set("displaystyle", "true")
    for element in tree.iter():
        element.text = _characters(element.text)
        element.tail = _characters(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = _characters(value) or ""
    return ElementTree.tostring(tree, encoding="unicode", short_empty_elements=False)


def _characters(text: str | None) -> str | None:
    """latex2mathml's ``&#x0003C;`` references as the characters they stand for (escaped once, when serialised)."""
    if text is None:
        return None
    return _CHARACTER_REFERENCE.sub(lambda m: chr(int(m.group(1), 16)), text)
