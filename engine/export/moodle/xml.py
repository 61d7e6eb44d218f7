"""Text for Moodle XML: characters XML allows, CDATA, plain numbers, category paths."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from markupsafe import Markup

from engine.errors import QuizwrightError
from engine.generation.quiz import ExerciseSummary, QuizHeader

MAX_CATEGORY_NAME = 255

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# A plain number that plain_decimal() returns as it is: no trailing zero after the point, not -0.
_CANONICAL_NUMBER = re.compile(r"-?(?:[1-9][0-9]*(?:\.[0-9]*[1-9])?|0\.[0-9]*[1-9])|0")


class MoodleExportError(QuizwrightError):
    """A variant that cannot be written as a question Moodle would import and grade right."""


def xml_chars(text: str) -> str:
    """Text with the characters XML 1.0 forbids (even in CDATA) replaced by U+FFFD."""
    # Every character XML forbids is unprintable, and most text has none.
    return text if text.isprintable() else _XML_INVALID.sub("\ufffd", text)


def cdata_str(text: str) -> str:
    """:func:`cdata` as a plain ``str`` (what skeletons fill in)."""
    if type(text) is not str:
        text = str.__str__(text)  # Markup's own replace() would escape its arguments
    text = xml_chars(text)
    if not text:
        return ""
    return f"<![CDATA[{text.replace(']]>', ']]]]><![CDATA[>')}]]>"


def cdata(text: str) -> Markup:
    """Text as one or more CDATA sections; a ``]]>`` inside is split as ``]]]]><![CDATA[>``."""
    return Markup(cdata_str(text))


def text_str(value: str) -> str:
    """:func:`text` as a plain ``str`` (what skeletons fill in)."""
    if type(value) is not str:
        value = str.__str__(value)
    value = xml_chars(value)
    if "&" in value or "<" in value or ">" in value:
        return cdata_str(value)
    return value


def text(value: str) -> Markup:
    """Plain text for a ``<text>`` element: as is, or CDATA when it holds ``&``, ``<`` or ``>``.

    Like Moodle's own exporter (``qformat_xml::xml_escape``): an entity reference reaches
    Moodle's parser as a separate piece of character data, and it drops pieces that are only
    whitespace, so ``&lt; &gt;`` would lose its space; CDATA has no such pieces.
    """
    return Markup(text_str(value))


def single_line(value: str) -> str:
    """Plain text with every run of whitespace (newlines included) as one space."""
    return " ".join(value.split())


def xml_comment(value: str) -> str:
    """Text safe inside ``<!-- -->`` (no ``--``, no trailing ``-``)."""
    value = single_line(xml_chars(value)).replace("--", "- -")
    return value + " " if value.endswith("-") else value


# -- numbers ----------------------------------------------------------------------------------


def plain_decimal(value: str | int | Decimal) -> str:
    """A number as Moodle's numerical type reads it: plain decimal, no exponent, '-' if negative."""
    if type(value) is str and _CANONICAL_NUMBER.fullmatch(value):
        return value  # the decimals of a variant are written so already
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoodleExportError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise MoodleExportError(f"not a finite number: {value!r}")
    result = format(number, "f")
    if "." in result:
        result = result.rstrip("0").rstrip(".")
    if result in ("-0", ""):
        result = "0"
    if not _PLAIN_NUMBER.fullmatch(result):
        raise MoodleExportError(f"cannot write {value!r} as a plain number")
    return result


def round_down(value: Decimal, digits: int = 12) -> Decimal:
    """Value rounded towards zero to `digits` significant digits (a tolerance that never grows)."""
    if value <= 0:
        return Decimal(0)
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    return value.quantize(quantum, rounding=ROUND_DOWN)


# -- categories -------------------------------------------------------------------------------


def category_segment(name: str) -> str:
    """One level of a category path: '/' doubled as Moodle's split_category_path expects."""
    name = single_line(xml_chars(name))[:MAX_CATEGORY_NAME].strip() or "untitled"
    escaped = name.replace("/", "//")
    if escaped.startswith("/"):
        escaped = " " + escaped
    if escaped.endswith("/"):
        escaped += " "
    return escaped


def category_titles(exercises: Iterable[ExerciseSummary]) -> dict[str, str]:
    """Category name per exercise id: its title, with the id added where titles would collide.

    Two templates in one category would mix their variants in a random slot; Moodle matches
    category names case-insensitively on MySQL, so collisions are found case-insensitively.
    """
    exercises = list(exercises)
    seen: dict[str, int] = {}
    for s in exercises:
        key = single_line(s.title).casefold()
        seen[key] = seen.get(key, 0) + 1
    return {
        s.id: (s.title if seen[single_line(s.title).casefold()] == 1 else f"{s.title} ({s.id})")
        for s in exercises
    }


def category_path(bank_title: str, exercise_title: str, slot_title: str | None = None) -> str:
    """`$course$/top/<bank>/<exercise>`; with slots `$course$/top/<bank>/<slot>/<exercise>`, so that a
    "random question" from the slot's category (with its subcategories) draws from its pool."""
    slot = f"{category_segment(slot_title)}/" if slot_title else ""
    return f"$course$/top/{category_segment(bank_title)}/{slot}{category_segment(exercise_title)}"


def category_paths(header: QuizHeader) -> dict[str, str]:
    """The category path of each exercise of the quiz, by id."""
    titles = category_titles(header.exercises)
    slots = {e: slot.title for slot in header.slots for e in slot.exercises}
    return {s.id: category_path(header.bank.title, titles[s.id], slots.get(s.id)) for s in header.exercises}
