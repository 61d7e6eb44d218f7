"""Reading bank files as untrusted input: regular files only, capped in size, UTF-8, and YAML
that is refused before it is built when it nests too deep or its aliases expand too far."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from engine.errors import TemplateError

# A bank file is a page of text (the bundled ones hold under 2 KB); a bank is a chapter's worth.
FILE_LIMIT = 1 << 20
BANK_LIMIT = 20 << 20
FILES_LIMIT = 10_000
# An exercise nests 4 levels deep and holds under 100 values; aliases count as often as used.
DEPTH_LIMIT = 50
NODES_LIMIT = 100_000
# The pure-Python parser words YAML errors better, but is ~50 times slower: only for small files.
_REWORD_LIMIT = 50_000

# libyaml's parser when installed: the same scanner rules and the same (Python) constructor.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def megabytes(size: int) -> str:
    """`1 MB`, `20 MB`, `52.4 MB`; exact bytes below a megabyte."""
    return f"{size / (1 << 20):.1f}".removesuffix(".0") + " MB" if size >= 1 << 20 else f"{size} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _unreadable(path: Path, source: str, exc: OSError) -> TemplateError:
    if exc.errno == errno.ELOOP:
        return TemplateError("cannot read: a symlink loop", path=source)
    if exc.errno == errno.ENOENT and path.is_symlink():
        return TemplateError(f"cannot read: a symlink to a missing file ({os.readlink(path)})", path=source)
    return TemplateError(f"cannot read ({exc.strerror or exc})", path=source)


def check_file(path: Path, source: str, limit: int = FILE_LIMIT) -> int:
    """The size of a regular file (a symlink is followed) of at most `limit` bytes.

    Raises:
        TemplateError: a missing or unreadable file, a symlink loop, a FIFO, a device, a folder,
            or a file over the limit, named by `source`.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _unreadable(path, source, exc) from None
    return _regular(info, source, limit)


def _regular(info: os.stat_result, source: str, limit: int) -> int:
    if not stat.S_ISREG(info.st_mode):
        raise TemplateError(f"not a regular file ({_kind(info.st_mode)})", path=source)
    if info.st_size > limit:
        raise TemplateError(f"too large ({info.st_size:,} bytes; a bank file may hold at most {megabytes(limit)})",
                            path=source)
    return info.st_size


def read_file(path: Path, source: str, limit: int = FILE_LIMIT) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, read without ever blocking on it."""
    check_file(path, source, limit)
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the check must not hang the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _unreadable(path, source, exc) from None
    try:
        _regular(os.fstat(fd), source, limit)  # what was opened, not what was checked
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(path, source, exc) from None
    finally:
        os.close(fd)
    if size > limit:  # it grew since the check
        raise TemplateError(f"too large (it grew; a bank file may hold at most {megabytes(limit)})", path=source)
    return b"".join(chunks)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text with universal newlines, as `Path.read_text` gives it; else an error with the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise TemplateError(f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at column {column}); save the "
                            "file as UTF-8", path=source, line=line, field="encoding") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_yaml(text: str, source: str, notices: list[str] | None = None) -> Any:
    """The document of a YAML text, measured before it is built; bad YAML names its line.

    A key given twice in one mapping is kept as YAML loaders keep it (the last one wins) and told
    in `notices`: refusing it would stop banks that load today.
    """
    try:
        duplicates = _measure(text, source)
        if notices is not None:
            notices.extend(f"{source}:{line}: {key}: given twice in one mapping (also on line {first}); the last "
                           "one is used" for key, first, line in duplicates)
        return yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> TemplateError:
    if len(text) <= _REWORD_LIMIT and FAST_LOADER is not yaml.SafeLoader:
        try:
            yaml.safe_load(text)  # the pure-Python parser words the error as our messages do
        except yaml.YAMLError as reworded:
            exc = reworded
        except RecursionError:
            pass
    if isinstance(exc, yaml.MarkedYAMLError):
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return TemplateError(f"invalid YAML: {exc.problem}", path=source, line=line, field="yaml")
    return TemplateError(f"invalid YAML: {exc}", path=source, field="yaml")


def _measure(text: str, source: str) -> list[tuple[str, int, int]]:
    """Refuse a document nested deeper than DEPTH_LIMIT or holding more than NODES_LIMIT values or
    FILE_LIMIT characters once its aliases are expanded, reading its events one by one.

    Returns the plain keys given twice in one mapping: (key, first line, line).
    """
    anchors: dict[str, tuple[int, int, int]] = {}  # anchor -> its node's (values, characters, depth)
    # Open collections: [anchor, values, characters, depth, mapping], where `mapping` (a mapping's
    # only) counts the nodes in it, whose parity says key or value, and holds its keys' lines.
    frames: list[list[Any]] = []
    values = characters = 0
    duplicates: list[tuple[str, int, int]] = []
    for event in yaml.parse(text, Loader=FAST_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.NodeEvent) and frames and frames[-1][4] is not None:
            mapping = frames[-1][4]  # [nodes so far, {key: its line}]
            mapping[0] += 1
            if mapping[0] % 2 == 1 and isinstance(event, yaml.ScalarEvent):
                if event.value in mapping[1]:
                    duplicates.append((event.value, mapping[1][event.value], line or 0))
                mapping[1][event.value] = line or 0
        if isinstance(event, yaml.CollectionStartEvent):
            frames.append([event.anchor, 1, 0, 1, [0, {}] if isinstance(event, yaml.MappingStartEvent) else None])
            size = (1, 0, 0)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, *done, _ = frames.pop()
            if anchor is not None:
                anchors[anchor] = (done[0], done[1], done[2])
            _add(frames, done[0], done[1], done[2])
            continue
        elif isinstance(event, yaml.ScalarEvent):
            size = (1, len(event.value), 1)
            if event.anchor is not None:
                anchors[event.anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in frames):
                raise TemplateError(f"the alias *{event.anchor} refers to a node that contains it", path=source,
                                    line=line, field="yaml")
            size = anchors.get(event.anchor or "", (1, 0, 1))  # an undefined one: the loader says so
        else:
            continue
        values += size[0]
        characters += size[1]
        if size[2]:
            _add(frames, *size)
        if len(frames) + size[2] > DEPTH_LIMIT:
            raise TemplateError(f"nested deeper than {DEPTH_LIMIT} levels", path=source, line=line, field="yaml")
        if values > NODES_LIMIT or characters > FILE_LIMIT:
            what = f"{NODES_LIMIT:,} values" if values > NODES_LIMIT else f"{megabytes(FILE_LIMIT)} of text"
            raise TemplateError(f"too big: more than {what} (an alias counts as often as it is used), the "
                                "limit per bank file", path=source, line=line, field="yaml")
    return duplicates


def _add(frames: list[list[Any]], values: int, characters: int, depth: int) -> None:
    """Count a finished node into the collection that holds it."""
    if frames:
        parent = frames[-1]
        parent[1] += values
        parent[2] += characters
        parent[3] = max(parent[3], depth + 1)
