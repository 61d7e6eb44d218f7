"""Atomic outputs: every part reaches the disk before any part is moved into place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.files import atomic_outputs


def test_every_part_is_synced_before_it_is_moved_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def synced(fd: int) -> None:
        calls.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")).name))
        fsync(fd)

    def moved(source: str, target: Path) -> None:
        calls.append(("replace", Path(source).name))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", moved)
    with atomic_outputs(tmp_path / "quiz.md") as sink:
        sink.open().write("sheet\n")
        sink.open("key").write("key\n")
    temporary = [name for _, name in calls[:2]]
    assert calls == [("fsync", temporary[0]), ("fsync", temporary[1]),
                     ("replace", temporary[0]), ("replace", temporary[1])]
    assert (tmp_path / "quiz.md").read_text() == "sheet\n" and (tmp_path / "quiz.key.md").read_text() == "key\n"


def test_a_failed_export_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_outputs(tmp_path / "quiz.md") as sink:
        sink.open().write("sheet\n")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
