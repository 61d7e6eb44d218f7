"""Finding and loading a bank of exercise templates, and its content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from engine.authoring.loader import CompiledExercise, load_exercise, read_yaml
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

    def select(self, ids: list[str]) -> list[CompiledExercise]:
        """The exercises with the given ids, in the given order; all of them when ids is empty."""
        if not ids:
            return list(self.exercises)
        by_id = {ex.id: ex for ex in self.exercises}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise UsageError(f"unknown exercise {unknown[0]!r} (known: {', '.join(sorted(by_id))})")
        return [by_id[i] for i in dict.fromkeys(ids)]


def exercise_files(paths: list[Path]) -> tuple[list[Path], Path | None]:
    files: list[Path] = []
    info_file: Path | None = None
    for path in paths:
        if path.is_dir():
            if (path / BANK_FILE).is_file() and info_file is None:
                info_file = path / BANK_FILE
            files.extend(p for p in sorted(path.rglob("*.yaml")) if p.name != BANK_FILE)
            files.extend(sorted(path.rglob("*.yml")))
        elif path.is_file():
            if path.name == BANK_FILE:
                info_file = info_file or path
            else:
                files.append(path)
                sibling = path.parent / BANK_FILE
                if info_file is None and sibling.is_file():
                    info_file = sibling
        else:
            raise UsageError(f"no such file or folder: {path}")
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, info_file


def display_path(path: Path) -> str:
    """The path as messages show it: relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def content_hash(files: list[Path], info_file: Path | None) -> str:
    """sha256 over the bank's files by name and content; CRLF and LF hash alike."""
    digest = hashlib.sha256()
    for path in sorted([*files, *([info_file] if info_file else [])], key=lambda p: p.name + str(p)):
        data = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def load_bank(paths: list[Path] | None = None) -> Bank:
    """Load a bank folder or a list of exercise files (default: the bundled bank)."""
    paths = paths or [bundled_bank()]
    files, info_file = exercise_files(paths)
    if not files:
        raise UsageError(f"no exercise files (*.yaml) in {', '.join(map(str, paths))}")
    if info_file is not None:
        data, lines = read_yaml(info_file, display_path(info_file))
        try:
            info = BankInfo.model_validate(data or {})
        except ValidationError as exc:
            raise TemplateError.of(validation_problems(
                exc, data, path=display_path(info_file), line_of=lines.line, root="bank")) from None
    else:
        info = BankInfo(title=paths[0].stem if paths[0].is_dir() else "Quiz")
    exercises = [load_exercise(path, display_path(path)) for path in files]
    seen: dict[str, CompiledExercise] = {}
    for ex in exercises:
        if ex.id in seen:
            raise TemplateError(f"id {ex.id!r} is also used by {seen[ex.id].source}", path=ex.source,
                                line=ex.lines.line(["id"]), field="id")
        seen[ex.id] = ex
    if info.order and info_file is not None:
        unknown = [i for i in info.order if i not in seen]
        if unknown:
            raise TemplateError(f"unknown exercise {unknown[0]!r} (expected one of the bank's ids)",
                                path=display_path(info_file), line=lines.line(["order"]), field="order")
        rank = {exercise_id: i for i, exercise_id in enumerate(info.order)}
        exercises.sort(key=lambda ex: rank.get(ex.id, len(rank)))
    return Bank(info=info, exercises=exercises, hash=content_hash(files, info_file))



