"""Output files and output templates, shared by the export writers and the grading reports:
atomic multi-part outputs, and the Jinja environment of `templates/`."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import itertools
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, NamedTuple, TypeVar

from engine.errors import OutputError, UsageError
from engine.language.printing import circled
from engine.paths import templates_dir

if TYPE_CHECKING:
    import jinja2
    from _typeshed import ReadableBuffer

# How a target is written. "atomic": a temporary file beside it, renamed over it at the end.
# "copy": a symlink to a regular file (or to nothing yet): spooled beside the link, then written
# through the link at the end, so the link stays and its target keeps its inode, owner and mode.
# "stream": a device, FIFO, socket or a link to one: written through as it goes, like `> PATH`.
Mode = Literal["atomic", "copy", "stream"]
# A leftover of a killed run reads `quiz.md.quizwright-<pid>-<hex>.tmp`, visible beside quiz.md;
# the next run writing quiz.md removes those whose process is gone.
_TEMP = re.compile(r"quizwright-(\d+)-[0-9a-f]+\.tmp")
T = TypeVar("T")
_NAME_ROOM = 200  # the temporary name must stay under NAME_MAX (255) when the target's is long


class _Pending(NamedTuple):
    handle: IO[str]
    temp: Path | None
    target: Path
    mode: Mode


class _Raw(io.FileIO):
    """A file whose write errors (a full disk, a closed pipe) name the user's path."""

    def __init__(self, file: int | Path, mode: str, shown: Path) -> None:
        super().__init__(file, mode)
        self.shown = shown

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            raise  # the reader left (`-o /dev/stdout | head`): not an error, the command line ends quietly
        except OSError as exc:
            raise OutputError(self.shown, reason(exc, self.shown)) from None


def reason(exc: OSError, target: Path) -> str:
    """Why `target` could not be written, in words that name no temporary file."""
    name = Path(os.fsdecode(exc.filename)) if exc.filename else None
    if isinstance(exc, FileExistsError | NotADirectoryError) and name is not None and name in target.parents:
        return f"{name} is not a folder"
    return exc.strerror or str(exc) or type(exc).__name__


@contextlib.contextmanager
def naming(target: Path) -> Iterator[None]:
    """Turn an OSError of the block into an `OutputError` that names `target`."""
    try:
        yield
    except OSError as exc:
        raise OutputError(target, reason(exc, target)) from None


def _mode(target: Path) -> Mode:
    try:
        info = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        return "atomic"  # a new file; a parent that is a file is reported when the folder is made
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(target)  # a symlink loop raises ELOOP here, and is reported as such
        except FileNotFoundError:
            return "copy"  # a dangling link: writing through it creates its target, as `>` does
        if stat.S_ISREG(info.st_mode):
            return "copy"
    elif stat.S_ISREG(info.st_mode):
        return "atomic"
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
    return "stream"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours, from an earlier run that had the same pid: this run has made none yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files a killed run left for `target`; those of running writers stay."""
    prefix = f"{target.name[:_NAME_ROOM]}."
    removed = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            match = _TEMP.fullmatch(entry.name[len(prefix):]) if entry.name.startswith(prefix) else None
            if match and not _alive(int(match[1])):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _temporary(target: Path) -> tuple[int, Path]:
    while True:
        temp = target.with_name(f"{target.name[:_NAME_ROOM]}.quizwright-{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), temp
        except FileExistsError:
            continue


def _text(raw: _Raw) -> IO[str]:
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline="\n")


def _sync(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # a pipe or a terminal has nothing to sync
            raise


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (then they act as usual)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Sink:
    """Named outputs of one export: part "" is the main file, others sit beside it.

    With a path, `quiz.md` and its part "key" become `quiz.md` and `quiz.key.md`: a regular file
    is written to a temporary file beside it and moved into place only when the whole export
    succeeded; a device, a FIFO or a symlink is written through and never replaced.
    """

    def __init__(self, path: Path | None, stdout: IO[str] | None = None) -> None:
        self.path = path
        self.stdout = stdout or sys.stdout
        self._pending: list[_Pending] = []
        self.written: list[Path] = []
        self.notices: list[str] = []  # what a writer tells the user about its output (the CLI prints them)
        self._folders: list[Path] = []  # made for the outputs: a failed export removes them again

    @functools.cached_property
    def separate_parts(self) -> bool:
        """Whether parts get files of their own: not on standard output, a device or a FIFO,
        where they follow the main part (`/dev/null.key` is nobody's file)."""
        if self.path is None:
            return False
        with naming(self.path):
            return _mode(self.path) != "stream"

    def part_path(self, part: str) -> Path | None:
        if self.path is None or not part:
            return self.path
        return self.path.with_name(f"{self.path.stem}.{part}{self.path.suffix}")

    def open(self, part: str = "") -> IO[str]:
        target = self.part_path(part)
        return self.stdout if target is None else self.open_file(target)

    def copy_path(self, label: str, part: str = "") -> Path:
        """Where copy `label` of a split export goes: `quiz.pdf` → `quiz-WI-7-1.pdf` (part "key":
        `quiz-WI-7-1.key.pdf`), beside the main file.

        Raises:
            UsageError: the export has no file to put them beside (standard output).
        """
        if self.path is None:
            raise UsageError("one file per copy needs an output file (-o) to name them after")
        return self.path.with_name(f"{self.path.stem}-{label}{'.' + part if part else ''}{self.path.suffix}")

    def open_binary(self, part: str = "", *, what: str = "binary", example: str = "FILE") -> IO[bytes]:
        """Part `part` for bytes (a PDF, a zip): the same file, atomic or written through, as `open`.

        Raises:
            UsageError: it is a terminal, where bytes are noise that can upset it (gzip refuses too).
        """
        handle: IO[bytes] = self.open(part).buffer  # type: ignore[attr-defined]
        if handle.isatty():
            raise UsageError(f"{what}, which a terminal cannot show: give a file (-o {example}) or redirect "
                             f"the output (> {example})")
        return handle

    def beside(self, relative: str) -> Path | None:
        """Where a file that the output links by the relative path `relative` goes (`figures/x.png`
        beside `out/quiz.md` is `out/figures/x.png`); None where no file sits beside (standard output,
        a device)."""
        return self.path.parent / relative if self.path is not None and self.separate_parts else None

    def open_file(self, target: Path) -> IO[str]:
        """One more output of this export, anywhere: it is written all or none with the others."""
        with naming(target):
            mode = _mode(target)
            if mode == "stream":
                handle = _text(_Raw(target, "w", target))
                self._pending.append(_Pending(handle, None, target, mode))
                return handle
            self._make_folder(target.parent)
            remove_stale(target)
            fd, temp = _temporary(target)
        try:
            handle = _text(_Raw(fd, "w", target))
        except BaseException:
            os.close(fd)
            os.unlink(temp)
            raise
        self._pending.append(_Pending(handle, temp, target, mode))
        return handle

    def _make_folder(self, folder: Path) -> None:
        missing = list(itertools.takewhile(lambda p: not p.exists(), (folder, *folder.parents)))
        folder.mkdir(parents=True, exist_ok=True)
        self._folders.extend(missing)

    def commit(self) -> None:
        """Move every part into place; a part that cannot go there stops all of them first."""
        umask = os.umask(0)
        os.umask(umask)
        try:
            for pending in self._pending:
                with naming(pending.target):
                    pending.handle.flush()
                    # Each part's bytes reach the disk before its rename, so that after a crash a
                    # part is the old file or the new one, never an empty one. The folder is not
                    # synced: a rename lost in a crash leaves the old file, whole, which is all an
                    # atomic export promises.
                    _sync(pending.handle.fileno())
                    pending.handle.close()
                    if pending.mode == "atomic" and pending.temp is not None:
                        self._prepare(pending, 0o666 & ~umask)
            # Ctrl-C waits for the parts to be in place: it must not leave a new quiz beside an old key.
            with _signals_held():
                while self._pending:
                    pending = self._pending[0]
                    with naming(pending.target):
                        self._place(pending)
                    self._pending.pop(0)
                    self.written.append(pending.target)
        except BaseException:
            self.abort()
            raise

    @staticmethod
    def _prepare(pending: _Pending, default: int) -> None:
        """Give a temporary file the mode its target has (a new one: the umask's), or refuse a folder."""
        assert pending.temp is not None
        try:
            info = os.stat(pending.target)
        except FileNotFoundError:
            os.chmod(pending.temp, default)
            return
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(pending.target))
        os.chmod(pending.temp, stat.S_IMODE(info.st_mode))

    @staticmethod
    def _place(pending: _Pending) -> None:
        if pending.temp is None:
            return  # streamed: already there
        if pending.mode == "atomic":
            os.replace(pending.temp, pending.target)
            return
        with open(pending.temp, "rb") as source, open(pending.target, "wb") as out:
            shutil.copyfileobj(source, out)
            out.flush()
            _sync(out.fileno())
        os.unlink(pending.temp)

    def abort(self) -> None:
        """Close every part and remove the temporary files; a streamed part stays as written."""
        for pending in self._pending:
            with contextlib.suppress(Exception):  # closing flushes, which fails again on a full disk
                pending.handle.close()
            if pending.temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(pending.temp)
        self._pending.clear()
        for folder in sorted(self._folders, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty: someone else's files are there now
                folder.rmdir()
        self._folders.clear()


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


class Progress:
    """Work done so far, on a line of stderr redrawn in place, once the run has taken a second.

    A run in phases (grade: the key, then the rows) calls ``update`` with each phase's label and
    unit; the second's wait is the run's, not the phase's.
    """

    def __init__(self, total: int, stream: IO[str], *, show: bool, clock: Callable[[], float] = time.monotonic,
                 delay: float = 1.0, interval: float = 0.1, label: str = "", unit: str = "copies") -> None:
        self.total, self.stream, self.show, self.clock = total, stream, show, clock
        self.interval = interval
        self.label, self.unit = label, unit
        self.next_draw = clock() + delay
        self.drawn = False

    def wrap(self, copies: Iterable[T]) -> Iterator[T]:
        for done, copy in enumerate(copies, 1):
            yield copy
            self.tick(done)

    def tick(self, done: int) -> None:
        """Redraw with ``done`` of the total when the bar is due."""
        if self.show and self.clock() >= self.next_draw:
            self.draw(done)

    def update(self, label: str, done: int, total: int, unit: str) -> None:
        """``done`` of ``total`` ``unit`` in the phase ``label`` (total 0: not known)."""
        if (label, unit) != (self.label, self.unit):
            self.close()  # a shorter line would leave the end of the last phase's
            self.label, self.unit = label, unit
        self.total = total
        self.tick(done)

    def draw(self, done: int) -> None:
        width = 30
        prefix = f"{self.label} " if self.label else ""
        if self.total > 0:
            filled = width * min(done, self.total) // self.total
            line = (f"{prefix}[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.unit} "
                    f"({100 * done // self.total} %)")
        else:
            line = f"{prefix}{done} {self.unit}" if self.unit else self.label
        self.stream.write(f"\r{line}")
        self.stream.flush()
        self.drawn = True
        self.next_draw = self.clock() + self.interval

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")  # the bar leaves no trace among the messages that follow
            self.stream.flush()
            self.drawn = False


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
