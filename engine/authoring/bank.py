"""Finding and loading a bank of exercise templates, and its content hash.

Every command reads a bank through `read_bank`, so that `check` refuses what `generate`, `list`
and grading refuse: `check` reports the problems file by file, the others stop on them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from engine.authoring.loader import CompiledExercise, SourceMap, load_exercise, read_yaml
from engine.authoring.slots import SlotPool, resolve_slots
from engine.authoring.sources import BANK_LIMIT, FILES_LIMIT, check_file, megabytes, read_file
from engine.authoring.spec import BankInfo
from engine.errors import TemplateError, UsageError, validation_problems
from engine.paths import bundled_bank

BANK_FILE = "bank.yaml"


@dataclass
class Bank:
    """Loaded exercises in a stable order (by file path), with the bank's metadata and hash."""

    info: BankInfo
    exercises: list[CompiledExercise]
    hash: str
    notices: list[str] = field(default_factory=list)
    slots: list[SlotPool] = field(default_factory=list)

    def select(self, ids: list[str], topics: list[str] | None = None,
               tags: list[str] | None = None) -> list[CompiledExercise]:
        """The exercises named by `ids` (in their order), then those of the bank (in its order) whose
        topic is one of `topics` and that carry one of `tags` (each filter only when given); all of
        them when nothing is given.

        Raises:
            UsageError: an unknown id, topic or tag.
        """
        topics, tags = topics or [], tags or []
        if not (ids or topics or tags):
            return list(self.exercises)
        by_id = {ex.id: ex for ex in self.exercises}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise UsageError(f"unknown exercise {unknown[0]!r} (known: {', '.join(sorted(by_id))})")
        _known("topic", topics, {ex.spec.topic for ex in self.exercises})
        _known("tag", tags, {tag for ex in self.exercises for tag in ex.spec.tags})
        chosen = [by_id[i] for i in dict.fromkeys(ids)]
        if topics or tags:
            chosen += [ex for ex in self.exercises if ex.id not in ids
                       and (not topics or ex.spec.topic in topics) and (not tags or set(ex.spec.tags) & set(tags))]
        if not chosen:
            raise UsageError(f"no exercise has {_filters(topics, tags)}")
        return chosen


def _known(what: str, asked: list[str], known: set[str]) -> None:
    for name in asked:
        if name not in known:
            raise UsageError(f"unknown {what} {name!r} (known: {', '.join(sorted(known)) or 'none'})")


def _filters(topics: list[str], tags: list[str]) -> str:
    parts = [f"topic {' or '.join(map(repr, topics))}" if topics else "",
             f"tag {' or '.join(map(repr, tags))}" if tags else ""]
    return " and ".join(p for p in parts if p)


@dataclass
class ReadBank:
    """A bank as read: each exercise file's outcome in file order, and the bank's own problems."""

    info: BankInfo
    entries: list[tuple[str, CompiledExercise | TemplateError]]
    problems: list[TemplateError]  # bank.yaml, its order and slots, folders that cannot be read
    notices: list[str]
    hash: str
    slots: list[SlotPool] = field(default_factory=list)

    def failures(self) -> list[TemplateError]:
        return [*self.problems, *(e for _, e in self.entries if isinstance(e, TemplateError))]

    def exercises(self) -> list[CompiledExercise]:
        """The exercises that loaded, in the order of bank.yaml (unlisted ones by file name)."""
        loaded = [e for _, e in self.entries if isinstance(e, CompiledExercise)]
        rank = {exercise_id: i for i, exercise_id in enumerate(self.info.order)}
        return sorted(loaded, key=lambda ex: rank.get(ex.id, len(rank)))


def display_path(path: Path) -> str:
    """The path as messages show it: relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _walk(folder: Path, problems: list[TemplateError]) -> list[Path]:
    """The exercise files under a folder as `rglob` lists them (*.yaml, then *.yml; symlinked
    folders are not entered); a folder that cannot be read is a problem, not a silent gap."""
    def unreadable(exc: OSError) -> None:
        name = Path(os.fsdecode(exc.filename)) if exc.filename else folder
        problems.append(TemplateError(f"cannot read folder ({exc.strerror or exc})", path=display_path(name)))

    found: dict[str, list[Path]] = {".yaml": [], ".yml": []}
    count = 0
    for top, dirs, names in os.walk(folder, onerror=unreadable):
        for name in (*dirs, *names):
            suffix = ".yaml" if name.endswith(".yaml") else ".yml" if name.endswith(".yml") else None
            if suffix and name != BANK_FILE:
                found[suffix].append(Path(top) / name)
                count += 1
        if count > FILES_LIMIT:
            raise TemplateError(f"more than {FILES_LIMIT} exercise files; a bank may hold at most {FILES_LIMIT}",
                                path=display_path(folder))
    return sorted(found[".yaml"]) + sorted(found[".yml"])


def _listing(paths: list[Path], problems: list[TemplateError]) -> tuple[list[Path], Path | None]:
    """The exercise files the paths name, in order, and the bank.yaml that goes with them."""
    files: list[Path] = []
    info_file: Path | None = None
    for path in paths:
        if path.is_dir():
            if info_file is None and os.path.lexists(path / BANK_FILE):
                info_file = path / BANK_FILE
            files.extend(_walk(path, problems))
        elif os.path.lexists(path):
            if path.name == BANK_FILE:
                info_file = info_file or path
            else:
                files.append(path)
                if info_file is None and os.path.lexists(path.parent / BANK_FILE):
                    info_file = path.parent / BANK_FILE
        else:
            raise UsageError(f"no such file or folder: {path}")
    return files, info_file


def _read_all(files: list[Path], info_file: Path | None,
              folder: str) -> Iterator[tuple[Path, str, bytes | TemplateError]]:
    """Each file once (by real path) in order, its name in messages, and its bytes or why not;
    every size is known before anything is read."""
    checked: dict[Path, tuple[str, int | TemplateError]] = {}
    for path in [*files, *([info_file] if info_file else [])]:
        source = display_path(path)
        try:
            size: int | TemplateError = check_file(path, source)
        except TemplateError as exc:
            size = exc
        # Exercises go by their real path, as they always have: a symlinked one is named by its target.
        real = path if path == info_file or isinstance(size, TemplateError) else path.resolve()
        checked.setdefault(real, (source if real == path else display_path(real), size))
    total = sum(size for _, size in checked.values() if isinstance(size, int))
    if total > BANK_LIMIT:
        raise TemplateError(f"the bank's files hold {megabytes(total)}; a bank may hold at most "
                            f"{megabytes(BANK_LIMIT)}", path=folder)
    for real, (source, size) in checked.items():
        try:
            yield real, source, size if isinstance(size, TemplateError) else read_file(real, source)
        except TemplateError as exc:
            yield real, source, exc


def content_hash(contents: dict[Path, bytes]) -> str:
    """sha256 over the bank's files by name and content; CRLF and LF hash alike."""
    digest = hashlib.sha256()
    for path in sorted(contents, key=lambda p: p.name + str(p)):
        data = contents[path].replace(b"\r\n", b"\n")
        digest.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def read_bank(paths: list[Path] | None = None) -> ReadBank:
    """Read a bank folder or a list of exercise files (default: the bundled bank), file by file.

    Raises:
        UsageError: a path that does not exist, or no exercise files at all.
        TemplateError: a bank over its size or file-count limit.
    """
    paths = paths or [bundled_bank()]
    problems: list[TemplateError] = []
    files, info_file = _listing(paths, problems)
    if not files:
        raise UsageError(f"no exercise files (*.yaml) in {', '.join(map(str, paths))}")
    first = paths[0] if paths[0].is_dir() else paths[0].parent
    contents: dict[Path, bytes] = {}
    entries: list[tuple[str, CompiledExercise | TemplateError]] = []
    info, notices = _default_info(paths, first, info_file)
    lines: SourceMap | None = None
    for path, source, outcome in _read_all(files, info_file, display_path(first)):
        if isinstance(outcome, bytes):
            contents[path] = outcome
        if path != info_file:
            entries.append((source, _load(path, source, outcome, notices)))
        elif isinstance(outcome, TemplateError):
            problems.append(outcome)
        else:
            info, lines = _bank_info(path, source, outcome, problems, info, notices)
    _check_ids(entries)
    # Files picked out of a bank leave the rest of its `order` out: only a whole folder is held to it.
    # Slots too: files picked out of a bank are sheets of those files, whatever its slots.
    slots: list[SlotPool] = []
    if lines is not None and info_file is not None and any(info_file == p / BANK_FILE for p in paths):
        _check_order(info, display_path(info_file), lines, entries, problems)
        slots = resolve_slots(info, display_path(info_file), lines, entries, problems)
    return ReadBank(info=info, entries=entries, problems=problems, notices=notices, hash=content_hash(contents),
                    slots=slots)


def _default_info(paths: list[Path], folder: Path, info_file: Path | None) -> tuple[BankInfo, list[str]]:
    title = Path(os.path.abspath(paths[0])).stem if paths[0].is_dir() else "Quiz"  # `.`: the folder's own name
    info = BankInfo(title=title or "Quiz")
    if info_file is not None:
        return info, []
    return info, [f"{display_path(folder)}: no {BANK_FILE}, so the quiz is titled {info.title!r} and its sheet ids "
                  f"start with the default code {info.code} (a {BANK_FILE} chooses them)"]


def _bank_info(path: Path, source: str, raw: bytes, problems: list[TemplateError], default: BankInfo,
               notices: list[str]) -> tuple[BankInfo, SourceMap | None]:
    """bank.yaml's metadata and lines; the default, and a problem, when it is broken."""
    try:
        data, lines = read_yaml(path, source, raw, notices)
    except TemplateError as exc:
        problems.append(exc)
        return default, None
    try:
        return BankInfo.model_validate(data or {}), lines
    except ValidationError as exc:
        problems.append(TemplateError.of(validation_problems(exc, data, path=source, line_of=lines.line,
                                                             root="bank", model=BankInfo)))
        return default, None


def _load(path: Path, source: str, outcome: bytes | TemplateError,
          notices: list[str]) -> CompiledExercise | TemplateError:
    if isinstance(outcome, TemplateError):
        return outcome
    try:
        return load_exercise(path, source, outcome, notices)
    except TemplateError as exc:
        return exc


def _check_ids(entries: list[tuple[str, CompiledExercise | TemplateError]]) -> None:
    """A second exercise with an id already used fails, naming the first one's file."""
    seen: dict[str, CompiledExercise] = {}
    for i, (source, ex) in enumerate(entries):
        if isinstance(ex, CompiledExercise):
            if ex.id in seen:
                entries[i] = (source, ex.error(["id"], f"id {ex.id!r} is also used by {seen[ex.id].source}"))
            else:
                seen[ex.id] = ex


def _check_order(info: BankInfo, source: str, lines: SourceMap,
                 entries: list[tuple[str, CompiledExercise | TemplateError]], problems: list[TemplateError]) -> None:
    """Every id of `order` names an exercise of the bank (one that failed to load counts, by its file name)."""
    known = {ex.id if isinstance(ex, CompiledExercise) else Path(name).stem for name, ex in entries}
    for exercise_id in info.order:
        if exercise_id not in known:
            problems.append(TemplateError(f"unknown exercise {exercise_id!r} (expected one of the bank's ids)",
                                          path=source, line=lines.line(["order"]), field="order"))


def load_bank(paths: list[Path] | None = None) -> Bank:
    """Load a bank folder or a list of exercise files (default: the bundled bank).

    Raises:
        TemplateError: every problem of every file, one line each.
    """
    read = read_bank(paths)
    failures = read.failures()
    if failures:
        raise TemplateError.of([problem for error in failures for problem in error.problems])
    return Bank(info=read.info, exercises=read.exercises(), hash=read.hash, notices=read.notices, slots=read.slots)
