"""The export formats: the writer interface and the table of formats, name → writer.

The table names the formats without importing their writers, so that listing them (the
CLI's `--format` choices) costs nothing; a writer's module is imported when it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.files import Sink
    from engine.generation.quiz import Copy, QuizHeader


class Writer(Protocol):
    """One export format: consumes finished variants, never samples or computes."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None: ...


def _markdown(key: bool) -> Writer:
    from engine.export.markdown import MarkdownWriter

    return MarkdownWriter(key=key)


def _json(key: bool) -> Writer:
    from engine.export.json_format import JsonWriter

    return JsonWriter()


def _moodle(key: bool) -> Writer:
    # Moodle needs the answers to grade, so `key` does not apply: the export always has them.
    from engine.export.moodle.writer import MoodleWriter

    return MoodleWriter()


_WRITERS: dict[str, Callable[[bool], Writer]] = {"markdown": _markdown, "json": _json, "moodle": _moodle}
FORMATS: tuple[str, ...] = tuple(_WRITERS)


def writer(name: str, *, key: bool = True) -> Writer:
    """The writer of format `name`; `key`: whether a Markdown export includes the answer key."""
    make = _WRITERS.get(name)
    if make is None:
        raise UsageError(f"unknown format {name!r} (available: {', '.join(FORMATS)})")
    return make(key)


def estimated_size(fmt: str, header: QuizHeader, first: Copy, copies: int, *, key: bool = True) -> int:
    """Bytes a run of `copies` copies would write, estimated as `copies` times a run of the first alone.

    The header is counted once per copy, so the estimate errs on the large side.
    """
    from io import StringIO

    from engine.files import Sink

    buffer = StringIO()
    writer(fmt, key=key).write(header, [first], Sink(None, buffer))
    return len(buffer.getvalue().encode("utf-8")) * copies
