"""Text for Moodle XML: characters XML allows, CDATA, plain numbers, category paths."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from markupsafe import Markup, escape

from engine.errors import QuizwrightError
from engine.generation.quiz import ExerciseSummary, QuizHeader

MAX_CATEGORY_NAME = 255

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_ENTITY_TAIL = re.compile(r"&[#a-z0-9]*$")
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


def moodle_name(title: str) -> str:
    """A title as Moodle should store it as a name: one line, `&`, `<` and `>` as HTML entities.

    Moodle cleans question and category names with PARAM_TEXT (PHP's strip_tags: "Twin <a>" is
    stored as "Twin ") and shows them through format_string, as HTML: the entities pass the one
    and show as the characters in the other.
    """
    return str(escape(single_line(xml_chars(title)))).replace("&#39;", "'").replace("&#34;", '"')


def shorten_name(name: str, room: int) -> str:
    """An escaped name cut to `room` characters, ending in "…", never inside an entity."""
    if len(name) <= room:
        return name
    return _ENTITY_TAIL.sub("", name[: room - 1]).rstrip() + "…"


def stored_name_key(name: str) -> str:
    """What makes two stored names one to Moodle's database: MySQL's default collation ignores
    case, accents and trailing spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().rstrip()


def category_segment(name: str) -> str:
    """One level of a category path, escaped as a name: '/' doubled as Moodle's
    split_category_path expects."""
    name = shorten_name(moodle_name(name), MAX_CATEGORY_NAME).strip() or "untitled"
    escaped = name.replace("/", "//")
    if escaped.startswith("/"):
        escaped = " " + escaped
    if escaped.endswith("/"):
        escaped += " "
    return escaped


def _fitting(title: str, room: int) -> str:
    """The title, cut with "…" so that its escaped name fits in `room` characters."""
    title = single_line(title)
    if len(moodle_name(title)) <= room:
        return title
    while len(moodle_name(title)) > room - 1:
        title = title[: len(title) - (len(moodle_name(title)) - room + 1)]
    return title.rstrip() + "…"


def stored_title(title: str) -> str:
    """The key a title's category name is stored under: two titles with one key are one category."""
    return stored_name_key(shorten_name(moodle_name(title), MAX_CATEGORY_NAME).strip())


def category_titles(exercises: Iterable[ExerciseSummary]) -> dict[str, str]:
    """Category name per exercise id: its title, with the id added where titles would collide.

    Two templates in one category would mix their variants in a random slot. Names collide as
    Moodle stores them (escaped, cut at 255 characters, compared as MySQL does); the id goes
    within the 255, and names that still collide are an error naming both files.
    """
    exercises = list(exercises)
    seen: dict[str, int] = {}
    for s in exercises:
        seen[stored_title(s.title)] = seen.get(stored_title(s.title), 0) + 1
    titles: dict[str, str] = {}
    owners: dict[str, ExerciseSummary] = {}
    for s in exercises:
        title = s.title
        if seen[stored_title(title)] > 1:
            suffix = f" ({s.id})"
            title = _fitting(title, MAX_CATEGORY_NAME - len(suffix)) + suffix
        key = stored_title(title)
        if key in owners:
            raise MoodleExportError(f"{owners[key].source} and {s.source}: the titles {owners[key].title!r} and "
                                    f"{s.title!r} would be one Moodle category; give them distinct titles")
        owners[key] = s
        titles[s.id] = title
    return titles


def category_path(bank_title: str, exercise_title: str, slot_title: str | None = None) -> str:
    """`$course$/top/<bank>/<exercise>`; with slots `$course$/top/<bank>/<slot>/<exercise>`, so that a
    "random question" from the slot's category (with its subcategories) draws from its pool."""
    slot = f"{category_segment(slot_title)}/" if slot_title else ""
    return f"$course$/top/{category_segment(bank_title)}/{slot}{category_segment(exercise_title)}"


def slot_titles(header: QuizHeader) -> dict[str, str]:
    """The category name of each exercise's slot, by exercise id: the slot's title, with its number
    added where two slots' titles would be one category as Moodle stores them (a random question
    from one slot would then draw from both pools)."""
    seen = Counter(stored_title(slot.title) for slot in header.slots)
    names: dict[str, str] = {}
    for k, slot in enumerate(header.slots, start=1):
        title = slot.title
        if seen[stored_title(title)] > 1:
            suffix = f" (slot {k})"
            title = _fitting(title, MAX_CATEGORY_NAME - len(suffix)) + suffix
        names.update(dict.fromkeys(slot.exercises, title))
    return names


def category_paths(header: QuizHeader) -> dict[str, str]:
    """The category path of each exercise of the quiz, by id."""
    titles = category_titles(header.exercises)
    slots = slot_titles(header)
    return {s.id: category_path(header.bank.title, titles[s.id], slots.get(s.id)) for s in header.exercises}
