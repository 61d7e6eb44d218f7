"""Long and endless grading runs (issue 11): a progress bar in phases on a terminal, and a cap on
what is read, so that `grade - < /dev/zero`, a FIFO or an endless key file end in one line, exit 2."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.errors import UsageError
from engine.files import Progress
from engine.grading import keyfile, submissions
from engine.grading.keyfile import KeyFile
from tests.test_hostile_outputs import Clock, on_a_terminal

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "tests" / "fixtures" / "grading" / "bank"
CLASS = "student,sheet,q1\n" + "".join(f"s{n},GR-11-{n:04d},50\n" for n in range(1, 6))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(CLASS, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Progress in phases


def test_phases_are_labelled_and_a_new_phase_erases_the_last() -> None:
    stream = io.StringIO()
    progress = Progress(0, stream, show=True, clock=Clock())
    for done in range(1, 11):
        progress.update("key", done, 10, "sheets")
    for done in range(0, 5):
        progress.update("grading", done, 4, "rows")
    progress.close()
    text = stream.getvalue()
    assert "\rkey [#########.....................] 3/10 sheets (30 %)" in text
    assert "key [" in text.split("\r\x1b[K\rgrading")[0]  # the key's line is erased before grading's
    assert "\rgrading [##############################] 4/4 rows (100 %)" in text
    assert text.endswith("\r\x1b[K")


def test_a_phase_without_a_known_total_shows_a_count_or_its_label() -> None:
    stream = io.StringIO()
    progress = Progress(0, stream, show=True, clock=Clock(), delay=0.0)
    progress.update("key", 7, 0, "sheets")
    progress.update("writing the reports", 0, 0, "")
    progress.close()
    assert stream.getvalue() == "\rkey 7 sheets\r\x1b[K\rwriting the reports\r\x1b[K"


def test_the_second_of_wait_is_the_runs_not_each_phases() -> None:
    stream = io.StringIO()
    progress = Progress(0, stream, show=True, clock=Clock())  # 0.4 s pass between two looks
    progress.update("key", 1, 2, "sheets")
    progress.update("key", 2, 2, "sheets")
    progress.update("grading", 1, 9, "rows")  # 1.2 s into the run: drawn at once
    assert stream.getvalue().startswith("\rgrading [###")


def _phases(calls: list[tuple[str, int, int, str]]) -> list[tuple[str, int, str]]:
    """Each phase once, with its total and unit, in order."""
    seen: list[tuple[str, int, str]] = []
    for label, _, total, unit in calls:
        if not seen or seen[-1] != (label, total, unit):
            seen.append((label, total, unit))
    return seen


def test_grade_tells_the_key_sheets_made_then_the_rows_graded(answers: Path) -> None:
    calls: list[tuple[str, int, int, str]] = []
    api.grade(answers, paths=[BANK], progress=lambda *call: calls.append(call))
    assert _phases(calls) == [("key", 5, "sheets"), ("grading", 5, "rows"), ("writing the reports", 0, "")]
    assert [done for label, done, _, _ in calls if label == "key"] == [1, 2, 3, 4, 5]
    assert ("grading", 5, 5, "rows") in calls


def test_json_submissions_are_counted_in_entries(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text('[{"student": "s1", "sheet": "GR-11-0001", "answers": {"q1": "50"}}]', encoding="utf-8")
    calls: list[tuple[str, int, int, str]] = []
    api.grade(path, paths=[BANK], progress=lambda *call: calls.append(call))
    assert ("grading", 1, 1, "entries") in calls


def test_grade_with_a_key_file_tells_the_copies_read_of_its_count(answers: Path, tmp_path: Path) -> None:
    quiz = tmp_path / "quiz.json"
    api.export("json", [BANK], output=quiz, seed=11, count=8)
    calls: list[tuple[str, int, int, str]] = []
    api.grade(answers, key=quiz, progress=lambda *call: calls.append(call))
    assert [(done, total) for label, done, total, _ in calls if label == "key"] == [(n, 8) for n in range(1, 9)]


def test_a_key_file_with_its_count_after_the_copies_tells_copies_without_a_total(tmp_path: Path) -> None:
    quiz = tmp_path / "quiz.json"
    api.export("json", [BANK], output=quiz, seed=11, count=3)
    text = quiz.read_text(encoding="utf-8")
    moved = text.replace('  "count": 3,\n', "", 1).rstrip().removesuffix("}").rstrip() + ',\n  "count": 3\n}\n'
    quiz.write_text(moved, encoding="utf-8")
    calls: list[tuple[int, int]] = []
    KeyFile(quiz).read(lambda copy: None, lambda done, total: calls.append((done, total)))
    assert calls == [(1, 0), (2, 0), (3, 0)]


def test_no_bar_when_stderr_is_not_a_terminal(runner: CliRunner, answers: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(Progress.__init__.__kwdefaults__, "delay", 0.0)
    result = runner.invoke(cli, ["grade", str(answers), str(BANK), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0 and "\r" not in result.stderr and "sheets" not in result.stderr


def test_the_bar_on_a_terminal_shows_each_phase_and_leaves_no_trace(answers: Path, tmp_path: Path) -> None:
    # A real terminal on stderr; the one-second wait and the tenth between draws are made zero.
    out = tmp_path / "out"
    script = ("from engine import cli\nfrom engine.files import Progress\n"
              "Progress.__init__.__kwdefaults__.update(delay=0.0, interval=0.0)\n"
              f"cli.cli(['grade', {str(answers)!r}, {str(BANK)!r}, '-o', {str(out)!r}])")
    status, seen = on_a_terminal(script)
    assert status == 0
    assert b"\rkey [######........................] 1/5 sheets (20 %)" in seen
    assert b"\rgrading [##############################] 5/5 rows (100 %)" in seen
    # Erased before the first message: the notes and "Wrote" lines start at the left margin.
    assert seen.split(b"\rwriting the reports\r\x1b[K")[1].startswith(b"Note: ")
    for name in ("grades.csv", "report.json", "report.md"):
        written = (out / name).read_bytes()
        assert b"\r" not in written and b"sheets (" not in written


# ---------------------------------------------------------------------------------------------
# Endless and oversized submissions


class _Endless(io.RawIOBase):
    """A stream of NUL bytes that never ends, as /dev/zero; counts what was read."""

    def __init__(self, byte: bytes = b"\0") -> None:
        self.byte, self.read_so_far = byte, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(buffer)
        buffer[:size] = self.byte * size
        self.read_so_far += size
        return size


def test_endless_standard_input_is_refused_in_one_line_with_exit_2(runner: CliRunner, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submissions, "MAX_BYTES", 5000)
    endless = _Endless()
    result = runner.invoke(cli, ["grade", "-", str(BANK), "-o", str(tmp_path / "out")], input=endless)
    assert result.exit_code == 2
    assert result.stderr == ("Error: standard input: more than 5000 bytes, the most a submissions file may hold "
                             "(a class of 100 000 takes about 50 MB): is it the right file?\n")
    assert endless.read_so_far <= 5000 + (1 << 20)  # stopped at the cap, not at the end of memory
    assert not (tmp_path / "out").exists()


def test_a_submissions_file_over_the_cap_is_refused(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submissions, "MAX_BYTES", len(CLASS) - 1)
    big = tmp_path / "big.csv"
    big.write_text(CLASS, encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(big), str(BANK), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: {big}: more than {len(CLASS) - 1} bytes")
    monkeypatch.setattr(submissions, "MAX_BYTES", len(CLASS))
    assert runner.invoke(cli, ["grade", str(big), str(BANK), "-o", str(tmp_path / "out")]).exit_code == 0


def _feed(fifo: Path, chunks: Iterator[bytes]) -> threading.Thread:
    """A thread writing ``chunks`` into ``fifo`` until they end or the reader goes away."""
    def write() -> None:
        try:
            with fifo.open("wb") as stream:
                for chunk in chunks:
                    stream.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _forever(first: bytes, then: bytes) -> Iterator[bytes]:
    yield first
    while True:
        yield then


def test_an_endless_fifo_of_submissions_is_refused(runner: CliRunner, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submissions, "MAX_BYTES", 100_000)
    fifo = tmp_path / "answers.csv"
    os.mkfifo(fifo)
    thread = _feed(fifo, _forever(CLASS.encode(), b"s9,GR-11-0001,50\n" * 100))
    result = runner.invoke(cli, ["grade", str(fifo), str(BANK), "-o", str(tmp_path / "out")])
    thread.join(timeout=30)
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: {fifo}: more than 100000 bytes")
    assert not thread.is_alive()


def test_one_endless_line_rejects_its_row_and_the_class_is_graded(runner: CliRunner, tmp_path: Path) -> None:
    # Python's csv reader caps a field (131 072 characters): that row alone is rejected.
    path = tmp_path / "in.csv"
    path.write_text(CLASS + "s6,GR-11-0006," + "1" * 200_000 + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(path), str(BANK), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr.startswith("row 7: unreadable row (field larger than field limit")
    assert "Graded 5 sheets" in result.stdout


# ---------------------------------------------------------------------------------------------
# Endless key files


def test_a_key_value_that_never_ends_is_refused_from_a_fifo(tmp_path: Path, answers: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyfile, "VALUE_LIMIT", 1 << 20)
    fifo = tmp_path / "quiz.json"
    os.mkfifo(fifo)
    thread = _feed(fifo, _forever(b'{"tool": "', b"a" * 65536))
    with pytest.raises(UsageError) as caught:
        api.grade(answers, key=fifo)
    thread.join(timeout=30)
    # Byte 9 is where the value starts; a FIFO cannot be read again to count lines.
    assert str(caught.value).startswith(f"{fifo}: not a quizwright JSON export (invalid JSON at byte 9: "
                                        "a value longer than 1 MiB)")


def test_a_key_value_over_the_cap_in_a_regular_file_names_its_line(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyfile, "VALUE_LIMIT", 1000)
    quiz = tmp_path / "quiz.json"
    quiz.write_text('{\n  "tool": "' + "a" * 100_000 + '"\n}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"invalid JSON at line 2, column 11, byte 12: a value longer than 1000 bytes"):
        KeyFile(quiz).read(lambda copy: None)


def test_endless_white_space_in_a_key_is_read_without_keeping_it(tmp_path: Path) -> None:
    stream = _Endless(b" ")
    key = KeyFile(tmp_path / "unused.json")
    key._stream = io.BufferedReader(stream, 1 << 16)
    calls = 0
    real_more = key._more

    def more() -> bool:
        nonlocal calls
        calls += 1
        if calls > 64:  # 64 MB of spaces read: enough to see whether they are kept
            raise StopIteration
        return real_more()

    key._more = more  # type: ignore[method-assign]
    with pytest.raises(StopIteration):
        key._peek()
    assert len(key._buffer) <= keyfile.CHUNK
