"""The export formats: the writer interface and the table of formats, name → writer.

The table names the formats without importing their writers, so that listing them (the
CLI's `--format` choices) costs nothing; a writer's module is imported when it is made.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.files import Sink
    from engine.generation.quiz import Copy, QuizHeader


class Writer(Protocol):
    """One export format: consumes finished variants, never samples or computes."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None: ...


def _markdown(key: bool, split: bool) -> Writer:
    from engine.export.markdown import MarkdownWriter

    return MarkdownWriter(key=key)


def _json(key: bool, split: bool) -> Writer:
    from engine.export.json_format import JsonWriter

    return JsonWriter()


def _moodle(key: bool, split: bool) -> Writer:
    # Moodle needs the answers to grade, so `key` does not apply: the export always has them.
    from engine.export.moodle.writer import MoodleWriter

    return MoodleWriter()


def _gift(key: bool, split: bool) -> Writer:
    # As Moodle XML: Moodle grades with the answers, so the export always has them.
    from engine.export.gift import GiftWriter

    return GiftWriter()


def _html(key: bool, split: bool) -> Writer:
    # A self-check page checks answers itself, so it always holds the key: `key` does not apply.
    from engine.export.selfcheck.writer import SelfCheckWriter

    return SelfCheckWriter(split=split)


def _qti(key: bool, split: bool) -> Writer:
    # Canvas grades with the answers, so `key` does not apply: the export always has them.
    from engine.export.qti.writer import QtiWriter

    return QtiWriter()


def _pdf(key: bool, split: bool) -> Writer:
    from engine.export.pdf.writer import PdfWriter

    return PdfWriter(key=key, split=split)


# name → factory(key, split): `key` whether the answer key is written too, `split` one file per copy.
_WRITERS: dict[str, Callable[[bool, bool], Writer]] = {"markdown": _markdown, "json": _json, "moodle": _moodle,
                                                       "gift": _gift, "html": _html, "qti": _qti, "pdf": _pdf}
FORMATS: tuple[str, ...] = tuple(_WRITERS)
# Formats written as bytes (`Sink.open_binary`): `api.export` returns them as bytes.
BINARY: frozenset[str] = frozenset({"qti", "pdf"})
# Formats that can write one file per copy (`--split`).
SPLITTABLE: frozenset[str] = frozenset({"html", "pdf"})


def writer(name: str, *, key: bool = True, split: bool = False) -> Writer:
    """The writer of format `name`; `key`: whether the answer key is written too (where it is
    optional); `split`: one file per copy (the formats in SPLITTABLE)."""
    make = _WRITERS.get(name)
    if make is None:
        raise UsageError(f"unknown format {name!r} (available: {', '.join(FORMATS)})")
    if split and name not in SPLITTABLE:
        able = ", ".join(f for f in FORMATS if f in SPLITTABLE) or "none yet"
        raise UsageError(f"--split: {name} is written as one file (one file per copy: {able})")
    return make(key, split)


def estimated_size(fmt: str, header: QuizHeader, first: Copy, copies: int, *, key: bool = True) -> int:
    """Bytes a run of `copies` copies would write, estimated as `copies` times a run of the first alone.

    The header is counted once per copy, so the estimate errs on the large side.
    """
    from io import BytesIO, TextIOWrapper

    from engine.files import Sink

    raw = BytesIO()
    # A text stream over bytes: a writer of text and a writer of bytes (`Sink.open_binary`) both fit.
    buffer = TextIOWrapper(raw, encoding="utf-8", newline="\n")
    # Written as one file: split in files, the copies take about as many bytes.
    writer(fmt, key=key).write(header, [first], Sink(None, buffer))
    buffer.flush()
    return len(raw.getvalue()) * copies


def within_size(fmt: str, header: QuizHeader, copies: Iterator[Copy], total: int, *, key: bool = True,
                split: bool = False, limit: int | None = None) -> Iterator[Copy]:
    """The copies, once the run's size, estimated from the first one, is within `limit` bytes (and,
    for PDF, its memory within the PDF writer's limit).

    Raises:
        UsageError: the estimate is over the limit (nothing has been written).
    """
    first = next(copies, None)
    if first is None:
        return iter(())
    if limit is not None and total > 1 and fmt == "pdf":
        # Typst holds the whole document: memory runs out long before the disk fills.
        from engine.export.pdf.writer import within_memory

        within_memory(header, first, total, key=key, split=split)
    if limit is not None and total > 1:
        size = estimated_size(fmt, header, first, total, key=key)
        if size > limit:
            raise UsageError(
                f"this run would write about {human_size(size)} ({total} copies of about "
                f"{human_size(size // total)}), over the {human_size(limit)} limit: ask for fewer copies "
                "(--count, or --copies A-B to split the run), or add --no-size-limit to write it anyway")
    return itertools.chain([first], copies)


def human_size(size: int) -> str:
    """`26.1 kB`, `261 GB`: three digits and a decimal unit."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
