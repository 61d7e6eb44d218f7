"""`quizwright compare`: one JSON verdict line per answer, batch mode in order, exit codes."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.grading.checker.batch import MAX_LINE_BYTES, Overlong, compare_stream, read_lines


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def verdicts(output: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in output.splitlines()]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["sqrt(6/(n_in+n_out))", "sqrt(6)/sqrt(n_out+n_in)", "--vars", "n_in:positive,n_out:positive"], "correct"),
        (["2/n_in", "1/n_in", "--kind", "formula", "--vars", "n_in:positive_integer"], "incorrect"),
        (["2/n_in", "2/n_in +", "--vars", "n_in"], "invalid"),
        (["2/n_in", "", "--vars", "n_in"], "unanswered"),
        (["sqrt(15)/5", ".7746", "--kind", "numeric", "--tolerance", "relative:0.01"], "correct"),
        (["sqrt(15)/5", "0.77", "--kind", "numeric", "--tolerance", "absolute:0.005"], "correct"),
        (["sqrt(15)/5", "0.77", "--kind", "numeric", "--tolerance", "absolute:0.001"], "incorrect"),
        (["sqrt(15)/5", "0,77", "--kind", "numeric"], "invalid"),
        (["10", "+10", "--kind", "integer"], "correct"),
        (["2", "②", "--kind", "choice", "--options", "3"], "correct"),
        (["2", "4", "--kind", "choice", "--options", "3"], "invalid"),
        (["false", "X", "--kind", "true_false"], "correct"),
    ],
)
def test_single(runner: CliRunner, args: list[str], status: str) -> None:
    result = runner.invoke(cli, ["compare", *args])
    assert result.exit_code == 0, result.output
    lines = verdicts(result.stdout)
    assert len(lines) == 1 and lines[0]["status"] == status and lines[0]["message"]


def test_single_output_is_exactly_one_json_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["compare", "2/n", "4/(2n)", "--vars", "n:positive"])
    assert result.stdout == '{"status":"correct","message":"correct","normalized":"4/(2*n)"}\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["2/n"], "give EXPECTED and RESPONSE, or --batch FILE"),
        (["2", "1", "--kind", "choice"], "options: a choice question needs the number of options"),
        (["2/n", "1", "--vars", "n:imaginary"], "vars"),
        (["2/n", "1", "--vars", ",n"], "expected NAME[:ASSUMPTION]"),
        (["1", "1", "--kind", "numeric", "--tolerance", "1%"], "expected relative:X or absolute:X"),
        (["1", "1", "--kind", "numeric", "--tolerance", "relative:-1"], "must not be negative"),
        (["1", "1", "--kind", "integer", "--tolerance", "relative:0.1"], "tolerance: only used with kind numeric"),
        (["1", "1", "--kind", "matrix"], "Invalid value for '--kind'"),
        (["1", "1", "--batch", "-"], "--batch takes its requests from the file"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["compare", *args], input="")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


BATCH = [
    '{"kind": "formula", "expected": "2/n_in", "response": "2*n_in^-1", "vars": {"n_in": "positive"}}',
    "not json at all",
    '{"kind": "formula", "expected": "x", "response": "__import__(\'os\').system(\'touch /tmp/qw_pwned\')", "vars": ["x"]}',
    '{"kind": "formula", "expected": "x", "response": "9**9**9**9", "vars": ["x"]}',
    '{"kind": "choice", "expected": 2, "response": "2"}',
    "",
    '[1, 2]',
    '{"kind": "integer", "expected": 10, "response": "+10"}',
]


def test_batch_file_one_verdict_per_line_in_order(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(BATCH) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["compare", "--batch", str(path)])
    assert result.exit_code == 0, result.output
    lines = verdicts(result.stdout)
    assert [v["status"] for v in lines] == [
        "correct", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "correct"]
    assert lines[1]["message"].startswith("line 2: not valid JSON")
    assert lines[4]["message"] == "line 5: options: a choice question needs the number of options"
    assert lines[5]["message"] == "line 6: empty line"
    assert lines[6]["message"] == "line 7: expected a JSON object"
    assert not Path("/tmp/qw_pwned").exists()


def test_batch_from_stdin_with_bom_crlf_and_bad_bytes(runner: CliRunner) -> None:
    data = ("\ufeff" + BATCH[0] + "\r\n").encode() + b'{"kind": "integer", "expected": 1, "response": "\xff1"}\n' + \
        BATCH[7].encode()  # no newline at the end
    result = runner.invoke(cli, ["compare", "--batch", "-"], input=data)
    assert result.exit_code == 0, result.output
    assert [v["status"] for v in verdicts(result.stdout)] == ["correct", "invalid", "correct"]


def test_batch_of_nothing_prints_nothing(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["compare", "--batch", "-"], input=b"")
    assert result.exit_code == 0 and result.stdout == ""


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["compare", "-h"])
    assert result.exit_code == 0 and "Example:" in result.output and "--batch" in result.output


def test_a_broken_numeric_key_is_a_verdict_not_an_internal_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["compare", "--kind", "numeric", "exp(exp(exp(exp(2))))", "1"])
    assert result.exit_code == 0, result.output
    (verdict,) = verdicts(result.stdout)
    assert (verdict["status"], verdict["key_fault"]) == ("undecided", "broken")
    assert "exp(exp(exp(exp(2))))" in verdict["message"]


# --- line size cap --------------------------------------------------------------------------

REQUEST = b'{"kind": "integer", "expected": 7, "response": "7"}'


class _Generated(io.RawIOBase):
    """A raw stream that makes its bytes as they are read: a huge line exists nowhere whole."""

    def __init__(self, *parts: bytes | int) -> None:
        self.parts = list(parts)  # bytes as they are, or n: that many b"x"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                n = min(part, len(buffer))
                buffer[:n] = b"x" * n
                self.parts[0] = part - n
            else:
                n = min(len(part), len(buffer))
                buffer[:n] = part[:n]
                self.parts[0] = part[n:]
            if not self.parts[0]:
                self.parts.pop(0)
            if n:
                return n
        return 0


def test_an_overlong_line_is_skipped_in_bounded_memory() -> None:
    size = 40 * MAX_LINE_BYTES  # 40 MB: reading it whole would show in the peak below
    start = b'{"kind": "integer", "expected": 1, "response": "'
    raw = _Generated(REQUEST + b"\n", start, size, b'"}\n', REQUEST + b"\n",
                     b"x" * MAX_LINE_BYTES, b"\n", REQUEST)
    tracemalloc.start()
    try:
        out = [json.loads(line) for line in compare_stream(io.BufferedReader(raw, 64 * 1024))]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_LINE_BYTES, f"peak {peak:,} bytes"
    assert [o["status"] for o in out] == ["correct", "invalid", "correct", "invalid", "correct"]
    assert out[1]["message"] == f"line 2: longer than 1,000,000 bytes ({len(start) + size + 2:,}); not read"
    assert out[3]["message"].startswith("line 4: not valid JSON")  # exactly at the cap: read


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"ab\ncd", ["ab\n", "cd"]),
        (b"abcd\nef\n", [Overlong(4), "ef\n"]),
        (b"abc\nabcd", ["abc\n", Overlong(4)]),
        (b"\xef\xbb\xbf\n\xffc", ["\n", "\ufffdc"]),  # the BOM counts towards the cap
        (b"\xef\xbb\xbfa\n", [Overlong(4)]),
    ],
)
def test_read_lines(data: bytes, lines: list[object]) -> None:
    assert list(read_lines(io.BytesIO(data), limit=3)) == lines


def test_batch_file_with_a_line_of_several_mb(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(REQUEST + b"\n" + b"[" * (3 * MAX_LINE_BYTES) + b"\n" + REQUEST + b"\n")
    result = runner.invoke(cli, ["compare", "--batch", str(path)])
    assert result.exit_code == 0, result.output
    lines = verdicts(result.stdout)
    assert [v["status"] for v in lines] == ["correct", "invalid", "correct"]
    assert lines[1]["message"] == "line 2: longer than 1,000,000 bytes (3,000,000); not read"
