"""Outputs: regular files atomically, devices, FIFOs and symlinks through; leftovers of killed runs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.errors import OutputError
from engine.files import atomic_outputs, remove_stale


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


def test_the_temporary_file_has_a_name_a_person_recognises(tmp_path: Path) -> None:
    with atomic_outputs(tmp_path / "quiz.md") as sink:
        sink.open().write("sheet\n")
        (temporary,) = tmp_path.iterdir()
        assert temporary.name.startswith(f"quiz.md.quizwright-{os.getpid()}-") and temporary.suffix == ".tmp"
    assert [p.name for p in tmp_path.iterdir()] == ["quiz.md"]


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "quiz.md"
    target.write_text("old\n")
    target.chmod(0o640)
    with atomic_outputs(target) as sink:
        sink.open().write("new\n")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_leftovers_of_dead_runs_are_removed_and_a_running_writers_file_is_kept(tmp_path: Path) -> None:
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f"quiz.md.quizwright-{_dead_pid()}-0a1b2c3d.tmp"
        live = tmp_path / f"quiz.md.quizwright-{running.pid}-0a1b2c3d.tmp"
        other = tmp_path / f"quiz.key.md.quizwright-{_dead_pid()}-0a1b2c3d.tmp"
        mine = tmp_path / "quiz.md.quizwright-notes.tmp"
        for path in (dead, live, other, mine):
            path.write_text("partial")
        with atomic_outputs(tmp_path / "quiz.md") as sink:
            sink.open().write("sheet\n")
        assert not dead.exists()
        assert live.exists() and other.exists() and mine.exists()
        assert remove_stale(tmp_path / "quiz.key.md") == [other]
    finally:
        running.kill()
        running.wait()


def test_a_symlink_is_written_through_at_the_end_and_kept(tmp_path: Path) -> None:
    target, link = tmp_path / "real.md", tmp_path / "quiz.md"
    target.write_text("old\n")
    link.symlink_to(target)
    inode = target.stat().st_ino
    with atomic_outputs(link) as sink:
        sink.open().write("new\n")
        assert target.read_text() == "old\n"  # nothing lost until the export is whole
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n" and target.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.md", "real.md"]


def test_a_dangling_symlink_creates_its_target_as_a_redirect_does(tmp_path: Path) -> None:
    link = tmp_path / "quiz.md"
    link.symlink_to(tmp_path / "later.md")
    with atomic_outputs(link) as sink:
        sink.open().write("new\n")
    assert link.is_symlink() and (tmp_path / "later.md").read_text() == "new\n"


def test_a_fifo_is_written_through_and_has_no_parts(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with atomic_outputs(fifo) as sink:
        assert not sink.separate_parts
        sink.open().write("streamed\n")
    reader.join(30)
    assert received == [b"streamed\n"] and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.parametrize("lines", [1, 100_000])  # fails when the part is closed, or while it is written
def test_a_full_disk_names_the_users_path_and_leaves_nothing(tmp_path: Path, lines: int) -> None:
    (tmp_path / "quiz.key.md").symlink_to("/dev/full")
    with pytest.raises(OutputError) as caught, atomic_outputs(tmp_path / "quiz.md") as sink:
        sink.open().write("sheet\n")
        sink.open("key").write("key\n" * lines)
    assert str(caught.value) == f"cannot write {tmp_path / 'quiz.key.md'}: No space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.key.md"]
