"""The command line through click's CliRunner: exit codes, one-line errors, files written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from tests.conftest import without_notes


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("command", [[], ["generate"], ["list"], ["check"], ["schema"]])
def test_help_everywhere(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "-h"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_generate_json_to_stdout(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "--seed", "7", "--count", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["seed"] == 7 and len(document["copies"]) == 2


def test_generate_markdown_files_with_key(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "quiz.md"
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Sheet FX-0-0002" in out.read_text()
    key = (tmp_path / "quiz.key.md").read_text()
    assert "answer key" in key and "Sheet FX-0-0001" in key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.key.md", "quiz.md"]  # no temp files left


def test_no_key(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "quiz.md"
    assert runner.invoke(cli, ["generate", str(basic_bank), "--no-key", "-o", str(out)]).exit_code == 0
    assert not (tmp_path / "quiz.key.md").exists()


def test_pin_on_the_command_line(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "-f", "json", "-e", "sum", "--param", "n_in=4",
                                 "--param", "n_out=6"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["copies"][0]["variants"][0]["answer"]["value"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "nope"], "Error: unknown exercise 'nope'"),
        (["--param", "zz=1"], "Error: --param zz: no selected exercise draws 'zz'"),
        (["--seed", "-1"], "Error: seed must be between 0"),
    ],
)
def test_errors_are_one_line(runner: CliRunner, basic_bank: Path, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), *args])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(message)
    assert len(without_notes(result.stderr).strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_bad_param_syntax_is_a_usage_error(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "--param", "n_in"])
    assert result.exit_code == 2


def test_broken_template_error_names_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: bad\ntitle: T\nkind: concept\ntopic: t\nquestion: [[ x ]]\n")
    result = runner.invoke(cli, ["generate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "bad.yaml:" in result.stderr
    # One line per problem (two missing fields and a list where text belongs), each in full.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Error: ") and "bad.yaml:" in line for line in lines)
    assert lines[-1].endswith("bad.yaml:5: question: Input should be a valid string")


def test_repeats_are_noted_on_stderr(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "-e", "definition", "-n", "2", "-f", "json"])
    assert result.exit_code == 0
    assert "Note: definition: 1 distinct variant, 2 asked" in result.stderr
    result = runner.invoke(cli, ["generate", str(basic_bank), "-e", "definition", "-n", "2", "--unique"])
    assert result.exit_code == 1 and "--unique" in result.stderr


def test_list(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["list", str(basic_bank)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "kind", "topic", "variants", "stems", "answers"]
    assert any(line.split()[:4] == ["ratio", "choice", "xavier", "2"] for line in lines)


def test_check_passes_on_the_fixture_bank(runner: CliRunner, basic_bank: Path) -> None:
    result = runner.invoke(cli, ["check", str(basic_bank), "--seeds", "20"])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.stdout


def test_check_fails_on_a_broken_template(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "half.yaml").write_text(
        "id: half\ntitle: T\nkind: integer\ntopic: t\nparams:\n  n: {min: 1, max: 9}\n"
        "question: '[[ n ]]/2?'\nanswer: n/2\nexplanation: e\n")
    result = runner.invoke(cli, ["check", str(tmp_path), "--seeds", "30"])
    assert result.exit_code == 1
    assert "half.yaml:8: answer: not an exact integer" in result.stderr


def test_schema_command(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "quizwright exercise"
    assert "copies" in json.loads(runner.invoke(cli, ["schema", "--quiz"]).stdout)["properties"]


def test_bundled_bank_is_the_default(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 0 and "layer-size" in result.stdout


def test_copies_write_that_slice_of_the_full_run(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    # Markdown parts concatenate to the full run's files (worksheets and keys alike).
    full = tmp_path / "full.md"
    assert runner.invoke(cli, ["generate", str(basic_bank), "-s", "3", "-n", "7", "-o", str(full)]).exit_code == 0
    parts = [("1-2", "a"), ("3-3", "b"), ("4-7", "c")]
    for copies, name in parts:
        result = runner.invoke(cli, ["generate", str(basic_bank), "-s", "3", "-n", "7", "--copies", copies,
                                     "-o", str(tmp_path / f"{name}.md")])
        assert result.exit_code == 0, result.output
    for suffix in (".md", ".key.md"):
        joined = "".join((tmp_path / f"{name}{suffix}").read_text() for _, name in parts)
        assert joined == (tmp_path / f"full{suffix}").read_text()
    assert "Sheet FX-3-0003" in (tmp_path / "b.md").read_text()
    assert "Sheet FX-3-0002" not in (tmp_path / "b.md").read_text()


@pytest.mark.parametrize(
    ("copies", "code", "message"),
    [
        ("0-2", 1, "--copies 0-2: expected A-B with 1 <= A <= B <= count (5)"),
        ("3-2", 1, "--copies 3-2: expected A-B with 1 <= A <= B <= count (5)"),
        ("4-6", 1, "--copies 4-6: expected A-B with 1 <= A <= B <= count (5)"),
        ("2", 2, "expected A-B"),
        ("a-b", 2, "expected A-B"),
        ("-1-2", 2, "expected A-B"),
    ],
)
def test_bad_copies(runner: CliRunner, basic_bank: Path, copies: str, code: int, message: str) -> None:
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "5", "--copies", copies])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output


def test_output_under_a_file_names_the_users_path(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file where a folder should be")
    target = tmp_path / "plain" / "quiz.md"
    result = runner.invoke(cli, ["generate", str(basic_bank), "-o", str(target)])
    assert result.exit_code == 1
    assert without_notes(result.stderr) == f"Error: cannot write {target}: {tmp_path / 'plain'} is not a folder\n"


def test_unwritable_key_part_names_it_not_the_temporary_file(runner: CliRunner, basic_bank: Path,
                                                             tmp_path: Path) -> None:
    (tmp_path / "quiz.key.md" / "sub").mkdir(parents=True)
    result = runner.invoke(cli, ["generate", str(basic_bank), "-o", str(tmp_path / "quiz.md")])
    assert result.exit_code == 1
    assert without_notes(result.stderr) == f"Error: cannot write {tmp_path / 'quiz.key.md'}: is a folder\n"


def test_unexpected_error_is_one_internal_error_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import api

    def broken(*_: object, **__: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(api, "list_exercises", broken)
    monkeypatch.delenv("QUIZWRIGHT_DEBUG", raising=False)
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: internal error (KeyError: 'boom'); set QUIZWRIGHT_DEBUG=1")
    assert len(without_notes(result.stderr).splitlines()) == 1


def test_checker_errors_are_library_errors_too(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import api
    from engine.grading.checker.formula import FormulaError

    def broken(*_: object, **__: object) -> None:
        raise FormulaError("unknown function 'Max'", 3)

    monkeypatch.setattr(api, "list_exercises", broken)
    result = runner.invoke(cli, ["list"])
    assert (result.exit_code, result.stderr) == (1, "Error: unknown function 'Max' at position 3\n")


def test_formats_are_listed_without_importing_the_writers() -> None:
    import subprocess
    import sys

    code = ("import sys, engine.cli; "
            "print(sorted(m for m in sys.modules if m.startswith('engine.export.') and m != 'engine.export.formats'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert "markdown|json|moodle" in CliRunner().invoke(cli, ["generate", "-h"]).output


def test_an_output_part_that_cannot_be_written_leaves_nothing(runner: CliRunner, basic_bank: Path, tmp_path: Path) -> None:
    (tmp_path / "quiz.key.md").mkdir()  # the key's place is taken by a folder
    result = runner.invoke(cli, ["generate", str(basic_bank), "-n", "2", "-o", str(tmp_path / "quiz.md")])
    assert result.exit_code == 1
    assert "quiz.key.md" in result.output and "internal error" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.key.md"]  # no quiz.md, no temporary files
