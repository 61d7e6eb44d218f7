"""The writer interface and the registry of formats."""

from __future__ import annotations

from typing import Protocol

from engine.errors import UsageError
from engine.files import Sink
from engine.generation.pipeline import QuizPlan


class Writer(Protocol):
    """One export format: consumes finished variants, never samples or computes."""

    name: str
    suffix: str
    help: str

    def write(self, plan: QuizPlan, sink: Sink, *, key: bool = True) -> None: ...


_REGISTRY: dict[str, Writer] = {}


def register(writer: Writer) -> Writer:
    _REGISTRY[writer.name] = writer
    return writer


def writers() -> dict[str, Writer]:
    """All formats by name, in registration order."""
    import engine.export.json_format
    import engine.export.markdown
    import engine.export.moodle  # noqa: F401

    return dict(_REGISTRY)


def get_writer(name: str) -> Writer:
    available = writers()
    if name not in available:
        raise UsageError(f"unknown format {name!r} (available: {', '.join(available)})")
    return available[name]
