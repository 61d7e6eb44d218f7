"""Hostile output paths and long runs (issue 11): devices, FIFOs and symlinks are written through and
kept, every write failure is one line naming the user's path, Ctrl-C and kill -9 leave nothing at
the requested path, an absurd output is refused, progress shows only on a terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import cli as cli_module
from engine.cli import cli
from engine.files import Progress
from tests.conftest import without_notes

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _stdout_of(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["generate", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _default_signals() -> None:
    # A test run started in the background (`.ci/run &`, nohup) ignores SIGINT, and so would the
    # child, rightly: these tests play a user at a terminal, whose Ctrl-C is heard.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def on_a_terminal(script: str) -> tuple[int, bytes]:
    """Run a Python script whose stderr is a real terminal: its exit status and all it wrote there."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", script], env=ENV, cwd=ROOT, stderr=secondary)
    os.close(secondary)
    seen = read_terminal(primary)
    return process.wait(timeout=120), seen


def read_terminal(primary: int) -> bytes:
    """All that reaches a terminal (its primary side) until its last writer is gone; closes it."""
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    return seen


def _quizwright(*args: str, **options: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "engine", *args], env=ENV, cwd=ROOT, preexec_fn=_default_signals,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)  # type: ignore[call-overload]


def test_dev_null_stays_a_device_and_gets_no_key_beside_it(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "2", "-o", "/dev/null"])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode) and not os.path.lexists("/dev/null.key")


def test_a_fifo_gets_what_standard_output_gets_and_stays_a_fifo(runner: CliRunner, basic_bank: Path,
                                                                 tmp_path: Path) -> None:
    fifo = tmp_path / "quiz.md"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "2", "-o", str(fifo)])
    reader.join(60)
    assert result.exit_code == 0, result.output
    assert received == [_stdout_of(runner, str(basic_bank), "-n", "2").encode()]  # worksheets, then the key
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and [p.name for p in tmp_path.iterdir()] == ["quiz.md"]


def test_a_symlink_is_kept_and_its_target_written(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "quiz.json"
    target.write_text("old")
    (tmp_path / "quiz.json").symlink_to(target)
    result = runner.invoke(cli, ["generate", str(basic_bank), "-f", "json", "-o", str(tmp_path / "quiz.json")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "quiz.json").is_symlink() and os.readlink(tmp_path / "quiz.json") == str(target)
    assert target.read_text() == _stdout_of(runner, str(basic_bank), "-f", "json")


def test_dev_stdout_is_standard_output() -> None:
    through = _quizwright("generate", "-n", "2", "-o", "/dev/stdout")
    plain = _quizwright("generate", "-n", "2")
    (out, err), (expected, _) = through.communicate(timeout=120), plain.communicate(timeout=120)
    assert through.returncode == 0, err
    assert out == expected and out.startswith(b"# ")


@pytest.mark.parametrize("fmt", ["markdown", "json", "moodle"])
def test_a_full_device_is_one_line_and_stays_a_device(runner: CliRunner, basic_bank: Path, fmt: str) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "-f", fmt, "-o", "/dev/full"])
    assert result.exit_code == 1
    assert without_notes(result.stderr) == "Error: cannot write /dev/full: No space left on device\n"
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode) and not os.path.lexists("/dev/full.key")


def test_a_full_disk_under_the_key_part_writes_neither_part(runner: CliRunner, basic_bank: Path,
                                                            tmp_path: Path) -> None:
    (tmp_path / "quiz.key.md").symlink_to("/dev/full")
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "3", "-o", str(tmp_path / "quiz.md")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: cannot write {tmp_path / 'quiz.key.md'}: No space left on device"
    assert result.stderr.count("Error") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["quiz.key.md"]


def test_a_symlink_loop_is_one_line(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    (tmp_path / "a.md").symlink_to(tmp_path / "b.md")
    (tmp_path / "b.md").symlink_to(tmp_path / "a.md")
    result = runner.invoke(cli, ["generate", str(basic_bank), "-o", str(tmp_path / "a.md")])
    assert result.exit_code == 1
    assert without_notes(result.stderr) == f"Error: cannot write {tmp_path / 'a.md'}: Too many levels of symbolic links\n"


def test_a_parent_that_is_a_file_is_one_line_for_the_key_part_too(runner: CliRunner, basic_bank: Path,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "quiz.key.md").write_text("a file")
    result = runner.invoke(cli, ["generate", str(basic_bank), "-o", str(tmp_path / "quiz.key.md" / "x.md")])
    assert result.exit_code == 1
    assert without_notes(result.stderr) == (f"Error: cannot write {tmp_path / 'quiz.key.md' / 'x.md'}: "
                             f"{tmp_path / 'quiz.key.md'} is not a folder\n")


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder the command cannot write to."""
    base = Path(tempfile.mkdtemp(prefix="quizwright-ro-"))
    base.chmod(0o755)
    folder = base / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    shutil.rmtree(base)


def test_a_read_only_folder_is_one_line(read_only_folder: Path) -> None:
    folder = read_only_folder
    command = [sys.executable, "-m", "engine", "generate", "-o", str(folder / "quiz.md")]
    if os.geteuid() == 0:  # root writes anywhere, unless it gives up the capability to
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to give up CAP_DAC_OVERRIDE")
        command = ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override", *command]
    process = subprocess.Popen(command, env=ENV, cwd=ROOT, stderr=subprocess.PIPE)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert without_notes(err.decode()) == f"Error: cannot write {folder / 'quiz.md'}: Permission denied\n"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("option", ["--grades", "--report", "--markdown"])
@pytest.mark.parametrize("hostile", ["full", "loop", "under a file"])
def test_grade_outputs_name_the_users_path(runner: CliRunner, basic_bank: Path, tmp_path: Path,
                                          option: str, hostile: str) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("student,sheet,q1\nAnn,FX-0-0001,1\n", encoding="utf-8")
    target, reason = {
        "full": (Path("/dev/full"), "No space left on device"),
        "loop": (tmp_path / "loop.csv", "Too many levels of symbolic links"),
        "under a file": (answers / "out.csv", f"{answers} is not a folder"),
    }[hostile]
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    result = runner.invoke(cli, ["grade", str(answers), str(basic_bank), "-o", str(tmp_path / "out"),
                                 option, str(target)])
    assert without_notes(result.stderr).splitlines()[-1:] == [f"Error: cannot write {target}: {reason}"]
    assert result.exit_code == 2 and stat.S_ISCHR(os.lstat("/dev/full").st_mode)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _started(process: subprocess.Popen[bytes], folder: Path) -> Path:
    """The temporary file of a long generate, once it holds bytes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        for path in folder.glob("quiz.md.quizwright-*.tmp"):
            if path.stat().st_size > 0:
                return path
        time.sleep(0.05)
    raise AssertionError(f"no temporary file: {process.poll()} {process.stderr.read() if process.stderr else ''!r}")


LONG = ("generate", "-n", "1000000", "--no-size-limit", "-f", "json")


def test_ctrl_c_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    process = _quizwright(*LONG, "-o", str(tmp_path / "quiz.md"))
    try:
        _started(process, tmp_path)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().splitlines()[-1] == "Interrupted" and "Traceback" not in err.decode()
    assert list(tmp_path.iterdir()) == []


def test_kill_cleans_up_as_ctrl_c_does(tmp_path: Path) -> None:
    process = _quizwright(*LONG, "-o", str(tmp_path / "quiz.md"))
    try:
        _started(process, tmp_path)
        process.terminate()
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143 and "Traceback" not in err.decode()
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_leaves_ends_the_run_quietly() -> None:
    for output in ([], ["-o", "/dev/stdout"]):
        process = _quizwright(*LONG, *output)
        assert process.stdout is not None
        assert process.stdout.read(10) == b'{\n  "tool"'
        process.stdout.close()
        _, err = process.communicate(timeout=60)
        assert process.returncode == 141 and err.decode().splitlines()[-1].startswith("Note: "), err


def test_a_full_standard_output_is_named(basic_bank: Path) -> None:
    with open("/dev/full", "wb") as full:
        process = subprocess.run([sys.executable, "-m", "engine", "generate", str(basic_bank), "-f", "json"],
                                 env=ENV, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, timeout=120, check=False)
    assert process.returncode == 1
    assert without_notes(process.stderr.decode()) == "Error: cannot write standard output: No space left on device\n"


def test_a_killed_runs_leftover_is_recognisable_and_the_next_run_removes_it(tmp_path: Path) -> None:
    process = _quizwright(*LONG, "-o", str(tmp_path / "quiz.md"))
    try:
        leftover = _started(process, tmp_path)
    finally:
        process.kill()
        process.wait()
    assert leftover.name.startswith(f"quiz.md.quizwright-{process.pid}-") and leftover.exists()
    assert not (tmp_path / "quiz.md").exists()
    again = _quizwright("generate", "-o", str(tmp_path / "quiz.md"))
    again.communicate(timeout=120)
    assert again.returncode == 0
    # The bundled bank shows plots: figures/ beside the worksheet holds their PNG files.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "quiz.key.md", "quiz.md"]
    assert {p.suffix for p in (tmp_path / "figures").iterdir()} == {".png"}


def test_an_absurd_output_is_refused_before_anything_is_written(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["generate", "-n", "10000000", "-o", str(tmp_path / "quiz.md")])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    # The bundled bank's size per copy changes with its exercises: any size over the 10 GB limit will do.
    size = re.match(r"Error: this run would write about (\d+) GB \(10000000 copies of about ", line)
    assert size and int(size[1]) > 10, line
    assert "--no-size-limit" in line and list(tmp_path.iterdir()) == []


def test_the_size_limit_counts_the_copies_asked_for_and_can_be_lifted(runner: CliRunner, basic_bank: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    one = len(_stdout_of(runner, str(basic_bank), "-f", "json").encode())
    # Copies differ by a few bytes (the options' order moves their feedback): a little room for that.
    monkeypatch.setattr(cli_module, "SIZE_LIMIT", 3 * one + 300)
    assert runner.invoke(cli, ["generate", str(basic_bank), "-n", "3", "-f", "json"]).exit_code == 0
    assert runner.invoke(cli, ["generate", str(basic_bank), "-n", "4", "-f", "json"]).exit_code == 1
    sliced = runner.invoke(cli, ["generate", str(basic_bank), "-n", "9", "--copies", "2-4", "-f", "json"])
    assert sliced.exit_code == 0
    lifted = runner.invoke(cli, ["generate", str(basic_bank), "-n", "4", "-f", "json", "--no-size-limit"])
    assert lifted.exit_code == 0 and lifted.stdout.count('"sheet"') >= 4


class Clock:
    """A clock that moves 0.4 s each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.4
        return self.now


def test_progress_appears_after_a_second_and_is_erased() -> None:
    stream = io.StringIO()
    progress = Progress(10, stream, show=True, clock=Clock())
    assert list(progress.wrap(range(10))) == list(range(10))
    progress.close()
    text = stream.getvalue()
    # The clock reads 0.4 s later at each look: no bar before a second, then one at most each 0.1 s.
    assert "] 2/10" not in text and "] 3/10 copies (30 %)" in text and "] 10/10 copies (100 %)" in text
    assert text.startswith("\r[") and text.endswith("\r\x1b[K")


def test_no_progress_when_stderr_is_not_a_terminal(runner: CliRunner, basic_bank: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(Progress.__init__.__kwdefaults__, "delay", 0.0)
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "5", "-o", str(tmp_path / "q.md")])
    assert result.exit_code == 0 and "\r" not in result.stderr and "copies (" not in result.stderr


def test_progress_on_a_terminal(tmp_path: Path, basic_bank: Path) -> None:
    # A real terminal on stderr; the one-second wait is made zero, not waited for.
    script = ("from engine import cli\n"
              "from engine.files import Progress\nProgress.__init__.__kwdefaults__['delay'] = 0.0\n"
              f"cli.cli(['generate', {str(basic_bank)!r}, '-n', '5', '-o', {str(tmp_path / 'q.md')!r}])")
    status, seen = on_a_terminal(script)
    assert status == 0
    assert b"\r[######........................] 1/5 copies (20 %)\r\x1b[KWrote " in seen


def test_a_binary_part_is_atomic_and_reaches_a_text_stdout_as_bytes(tmp_path: Path) -> None:
    from engine.files import atomic_outputs

    target = tmp_path / "quiz.pdf"
    with pytest.raises(RuntimeError), atomic_outputs(target) as sink:
        sink.open_binary().write(b"%PDF-half")
        raise RuntimeError("the writer failed")
    assert not target.exists() and not list(tmp_path.iterdir())
    with atomic_outputs(target) as sink:
        sink.open_binary().write(b"%PDF-1.7\x00\xff")
        sink.open_binary("key").write(b"key")
    assert target.read_bytes() == b"%PDF-1.7\x00\xff" and (tmp_path / "quiz.key.pdf").read_bytes() == b"key"
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")
    with atomic_outputs(None, stdout) as sink:
        sink.open_binary().write(b"\x00zip")
    assert raw.getvalue() == b"\x00zip"


def test_split_is_refused_for_a_format_written_as_one_file(runner: CliRunner, basic_bank: Path,
                                                           tmp_path: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "--split", "-o", str(tmp_path / "q.md")])
    assert result.exit_code == 1 and "--split: markdown is written as one file" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_split_copy_is_named_after_the_output(tmp_path: Path) -> None:
    from engine.errors import UsageError
    from engine.files import Sink

    sink = Sink(tmp_path / "quiz.pdf")
    assert sink.copy_path("WI-7-1") == tmp_path / "quiz-WI-7-1.pdf"
    assert sink.copy_path("WI-7-1", "key") == tmp_path / "quiz-WI-7-1.key.pdf"
    with pytest.raises(UsageError, match="needs an output file"):
        Sink(None).copy_path("WI-7-1")


def test_a_dash_output_is_standard_output(runner: CliRunner, basic_bank: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["generate", str(basic_bank), "-f", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert '"copies"' in result.stdout and list(tmp_path.iterdir()) == []
