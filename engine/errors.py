"""The root exception and the typed errors the engine raises; the CLI turns them into one line."""

from __future__ import annotations

from pathlib import Path


class QuizwrightError(Exception):
    """Root of every error the engine raises on purpose."""


class TemplateError(QuizwrightError):
    """A broken exercise template: says where (file, line, field), what, and what was expected.

    Example: ``exercises/wi/he.yaml:7: params.n_in.max: must be >= min (got 2 < 8)``
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = self.path or "<exercise>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class UsageError(QuizwrightError):
    """A request the engine cannot satisfy as asked (unknown exercise, bad --param, ...)."""
