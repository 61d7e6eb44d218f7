"""What reading CSV and JSON submissions shares: parts, raw text for the report, carried columns."""

from __future__ import annotations

import re

__all__ = ["MAX_RAW", "QUESTION_RE", "REQUIRED", "Part", "carried_names", "has_bad_bytes", "label_order",
           "printable", "question_label", "rows_of"]

Part = tuple[int, int]  # (k, n): the k-th (from 1) of n equal runs of a file's rows

MAX_RAW = 500  # characters of a rejected row kept in the report
# q5, or q5a for part a of the multi-part question 5 (docs/grading.md).
QUESTION_RE = re.compile(r"q(\d{1,4})([a-j]?)")


def question_label(match: re.Match[str]) -> str | None:
    """The label a question column or key names ("5", "5a"), or None for q0."""
    number = int(match.group(1))
    return f"{number}{match.group(2)}" if number >= 1 else None


def label_order(label: str) -> tuple[int, str]:
    """Sort key of labels: 2 before 10, 5 before 5a before 5b."""
    digits = label.rstrip("abcdefghij")
    return int(digits), label[len(digits):]
REQUIRED = ("student", "sheet")
OUTPUT_COLUMNS = ("student", "sheet", "total", "max", "percent")  # grades.csv's own, besides q1, q2, ...


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def has_bad_bytes(text: str) -> bool:
    """Bytes the encoding could not decode (kept as surrogates) or a lone surrogate from JSON."""
    return _SURROGATE_RE.search(text) is not None


def printable(text: str) -> str:
    """The raw text as it can go into JSON and Markdown: bad bytes shown as U+FFFD, bounded."""
    clipped = text if len(text) <= MAX_RAW else text[:MAX_RAW] + "…"
    return _SURROGATE_RE.sub("\ufffd", clipped)


def carried_names(names: list[str], source: str, notices: list[str]) -> dict[str, str]:
    """The name in grades.csv of each carried column: its own, unless grades.csv has one of that name."""
    taken = {name.casefold() for name in (*OUTPUT_COLUMNS, *names)}
    shown: dict[str, str] = {}
    for name in names:
        new = name
        if name.casefold() in OUTPUT_COLUMNS:
            while new.casefold() in taken:
                new += " (as submitted)"
            taken.add(new.casefold())
            notices.append(f"{source}: column {printable(name[:40])!r} goes into grades.csv as "
                           f"{printable(new[:60])!r} (grades.csv has a {name.casefold()} column of its own)")
        shown[name] = new
    return shown


def rows_of(part: Part | None, first: int, last: int, unit: str, notices: list[str]) -> range:
    """The rows ``first..last`` of the file, or those of ``part`` (noted in ``notices``)."""
    if part is None:
        return range(first, last + 1)
    number, parts = part
    span = last - first + 1
    rows = range(first + span * (number - 1) // parts, first + span * number // parts)
    notices.append(f"part {number} of {parts}: {unit}s {rows.start} to {rows.stop - 1} only" if rows else
                   f"part {number} of {parts}: no {unit}s (the file has {span} {unit}{'s' if span != 1 else ''})")
    return rows
