"""Output files and output templates, shared by the export writers and the grading reports:
atomic multi-part outputs, and the Jinja environment of `templates/`."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from engine.language.printing import circled
from engine.paths import templates_dir

if TYPE_CHECKING:
    import jinja2


class Sink:
    """Named outputs of one export: part "" is the main file, others sit beside it.

    With a path, `quiz.md` and its part "key" become `quiz.md` and `quiz.key.md`, each written
    to a temporary file and moved into place only when the whole export succeeded.
    """

    def __init__(self, path: Path | None, stdout: IO[str] | None = None) -> None:
        self.path = path
        self.stdout = stdout or sys.stdout
        self._pending: list[tuple[IO[str], Path]] = []
        self.written: list[Path] = []

    def part_path(self, part: str) -> Path | None:
        if self.path is None or not part:
            return self.path
        return self.path.with_name(f"{self.path.stem}.{part}{self.path.suffix}")

    def open(self, part: str = "") -> IO[str]:
        target = self.part_path(part)
        if target is None:
            return self.stdout
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="\n", dir=target.parent, prefix=f".{target.name}.", delete=False
        )
        self._pending.append((handle, target))
        return handle

    def commit(self) -> None:
        """Move every part into place; a part that cannot go there stops all of them first."""
        umask = os.umask(0)
        os.umask(umask)
        try:
            for handle, target in self._pending:
                handle.flush()
                # Each part's bytes reach the disk before its rename, so that after a crash a part
                # is the old file or the new one, never an empty one. The folder is not synced:
                # a rename lost in a crash leaves the old file, whole, which is all an atomic
                # export promises.
                os.fsync(handle.fileno())
                handle.close()
                # Temporary files are private (0600); the result gets the usual permissions.
                os.chmod(handle.name, 0o666 & ~umask)
                if target.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
            while self._pending:
                handle, target = self._pending[0]
                os.replace(handle.name, target)
                self._pending.pop(0)
                self.written.append(target)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for handle, _ in self._pending:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(handle.name)
        self._pending.clear()


@contextlib.contextmanager
def atomic_outputs(path: Path | None, stdout: IO[str] | None = None) -> Iterator[Sink]:
    """A Sink whose files all appear at the end, or none of them if the export fails."""
    sink = Sink(path, stdout)
    try:
        yield sink
    except BaseException:
        sink.abort()
        raise
    sink.commit()


def output_environment() -> jinja2.Environment:
    """Environment for output templates: strict, XML autoescaped, loads only from templates/.

    A new one per call: a run that renders many records keeps its own (templates compile once each).
    """
    import jinja2  # only the commands that render output templates pay for Jinja

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml.j2", "html.j2", "xml", "html"),
                                            default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["circled"] = circled
    return env
