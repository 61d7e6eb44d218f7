"""Characters that Typst's embedded fonts cannot print (CJK, emoji): found before the quiz is typeset.

Typst prints a character that no font has as an empty box, silently; a class set would be useless.
The characters of a run go through a small probe document, and those that no font of its PDF maps
back to Unicode (the PDF's ToUnicode tables, which Typst writes uncompressed) have no glyph.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from engine.errors import QuizwrightError
from engine.generation.quiz import Copy, Variant

_SECTION = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
# Not glyphs of their own: marks and joiners (shaped with their base), format characters (the
# zero-width spaces of long words), spaces and controls.
_NO_GLYPH = ("Mn", "Me", "Cf", "Cc", "Zs", "Zl", "Zp")


class MissingGlyphs(QuizwrightError):
    """The quiz holds characters the PDF fonts cannot print."""


def _candidates(sources: Iterable[str]) -> list[str]:
    chars = set().union(*(set(source) for source in sources))
    return sorted(c for c in chars if ord(c) > 127 and unicodedata.category(c) not in _NO_GLYPH)


def _mapped(pdf: bytes) -> set[str]:
    """Every character that a font of the PDF maps a glyph to."""
    found: set[str] = set()
    for kind, body in _SECTION.findall(pdf):
        codes = [bytes.fromhex(h.decode()) for h in _HEX.findall(body)]
        step = 2 if kind == b"bfchar" else 3
        for entry in zip(*(codes[i::step] for i in range(step)), strict=False):
            text = entry[-1].decode("utf-16-be", errors="ignore")
            found.update(text)
            if kind == b"bfrange" and len(text) == 1:  # <first> <last> <unicode of first>
                span = int.from_bytes(entry[1], "big") - int.from_bytes(entry[0], "big")
                found.update(chr(ord(text) + i) for i in range(span + 1))
    return found


def missing(sources: Iterable[str], compile_pdf: Callable[[str], bytes]) -> list[str]:
    """The characters of `sources` (Typst source) that the fonts have no glyph for, in code point order."""
    chars = _candidates(sources)
    if not chars:
        return []
    probe = '#set text(font: "Libertinus Serif")\n' + " ".join(chars)
    printed = _mapped(compile_pdf(probe))
    return [c for c in chars if c not in printed]


def _printed(v: Variant) -> list[str]:
    return [v.title, v.question, v.explanation, v.answer_text, *(o.text for o in v.options)]


def check(sources: Iterable[str], copies: Iterable[Copy], compile_pdf: Callable[[str], bytes]) -> None:
    """Raise if the quiz holds characters the fonts cannot print, naming them and an exercise of each.

    Raises:
        MissingGlyphs: some character would print as an empty box.
    """
    lost = missing(sources, compile_pdf)
    if not lost:
        return
    exercises = sorted({v.exercise for copy in copies for v in copy.variants
                        if any(c in text for text in _printed(v) for c in lost)})
    shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in lost[:6]) + (f" and {len(lost) - 6} more" if len(lost) > 6 else "")
    within = f" (exercise {', '.join(exercises[:5])}{', ...' if len(exercises) > 5 else ''})" if exercises else ""
    raise MissingGlyphs(
        f"the PDF fonts have no glyph for {shown}{within}: they would print as empty boxes. Typst's "
        "built-in fonts print Latin, Greek and Cyrillic text and math, not CJK scripts or emoji; "
        "remove those characters, or use --format html or markdown for this bank")
