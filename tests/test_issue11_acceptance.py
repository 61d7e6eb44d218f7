"""Issue 11, acceptance: the neighbours of the issue's cases that a user hits next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "tests" / "fixtures" / "grading" / "bank"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ANSWERS = "student,sheet,q1\ns1,GR-11-0001,50\ns2,GR-11-0002,50\n"


def test_grade_reads_submissions_from_a_fifo_as_from_process_substitution(tmp_path: Path) -> None:
    # `quizwright grade <(iconv -f cp1252 -t utf-8 answers.csv)` names a pipe, /dev/fd/63.
    fifo = tmp_path / "answers.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(ANSWERS,), kwargs={"encoding": "utf-8"})
    writer.start()
    done = subprocess.run([sys.executable, "-m", "engine", "grade", str(fifo), str(BANK), "-o", str(tmp_path / "out")],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120)
    writer.join(timeout=5)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["graded"] == 2


def test_grade_names_a_symlink_loop_and_a_missing_file_for_what_they_are(tmp_path: Path) -> None:
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    runner = CliRunner()
    looped = runner.invoke(cli, ["grade", str(loop), str(BANK), "-o", str(tmp_path / "out")])
    assert looped.exit_code == 2  # nothing graded
    assert looped.stderr == f"Error: {loop}: cannot read (Too many levels of symbolic links)\n"
    missing = runner.invoke(cli, ["grade", str(tmp_path / "none.csv"), str(BANK)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_an_empty_part_says_it_has_no_rows(tmp_path: Path) -> None:
    answers = tmp_path / "in.csv"
    answers.write_text(ANSWERS, encoding="utf-8")
    result = CliRunner().invoke(cli, ["grade", str(answers), str(BANK), "--seed", "11", "--part", "3/4",
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Note: part 3 of 4: no rows (the file has 2 rows)\n" in result.stderr


def test_a_parameter_pinned_twice_to_different_values_is_a_usage_error() -> None:
    runner = CliRunner()
    twice = runner.invoke(cli, ["generate", "-e", "layer-size", "--param", "n_in=3", "--param", "n_in=4", "-f", "json"])
    assert twice.exit_code == 2 and twice.stdout == ""
    assert "Invalid value for --param: n_in is given twice, as 3 and 4" in twice.stderr
    same = runner.invoke(cli, ["generate", "-e", "layer-size", "--param", "n_in=4", "--param", "n_in=4", "-f", "json"])
    assert same.exit_code == 0 and json.loads(same.stdout)["pinned"] == {"n_in": "4"}


def test_generate_never_writes_over_a_file_of_the_bank_it_reads(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    exercise = bank / "count.yaml"
    exercise.write_bytes((BANK / "count.yaml").read_bytes())
    runner = CliRunner()
    for output, given in ((exercise, exercise), (bank / "count.yaml", bank), (bank / "new.yml", bank)):
        result = runner.invoke(cli, ["generate", str(given), "-f", "json", "-o", str(output)])
        assert result.exit_code == 1
        assert result.stderr == f"Error: cannot write {output}: it is a file of the bank in {given}; write the output elsewhere\n"
    assert exercise.read_bytes() == (BANK / "count.yaml").read_bytes() and not (bank / "new.yml").exists()
    beside = runner.invoke(cli, ["generate", str(bank), "-f", "json", "-o", str(tmp_path / "quiz.yaml")])
    assert beside.exit_code == 0, beside.output


def test_the_api_never_exports_over_a_file_of_the_bank_either(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    exercise = bank / "count.yaml"
    exercise.write_bytes((BANK / "count.yaml").read_bytes())
    with pytest.raises(OutputError, match="it is a file of the bank in"):
        api.export("json", [bank], output=exercise)
    assert exercise.read_bytes() == (BANK / "count.yaml").read_bytes()


def test_grade_never_writes_over_its_submissions_or_its_key(tmp_path: Path) -> None:
    answers = tmp_path / "in.csv"
    answers.write_text(ANSWERS, encoding="utf-8")
    key = tmp_path / "quiz.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["generate", str(BANK), "--seed", "11", "--count", "2", "-f", "json", "-o", str(key)]).exit_code == 0
    kept = key.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(answers)
    for option, output, role, extra in (("--grades", answers, "submissions file", []),
                                        ("--grades", link, "submissions file", []),
                                        ("--report", key, "key file", ["--key", str(key)])):
        args = ["grade", str(answers), *(extra or [str(BANK)]), option, str(output), "-o", str(tmp_path / "out")]
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"Error: cannot write {output}: it is the {role}; write the output elsewhere\n"
    assert answers.read_text(encoding="utf-8") == ANSWERS and key.read_bytes() == kept
    assert not (tmp_path / "out").exists()


def test_a_decimal_parameter_with_a_decimal_literal_in_jinja_stays_exact(tmp_path: Path) -> None:
    exercise = tmp_path / "rate.yaml"
    exercise.write_text(
        "id: rate\ntitle: Rate\nkind: integer\ntopic: t\nparams:\n  lr0: '0.05'\n  k: 3\n"
        "question: 'sum [[ lr0 + 0.1 ]], product [[ lr0 * 0.1 ]], left [[ 0.2 - lr0 ]], power [[ lr0 ** 2 ]]'\n"
        "answer: k\nexplanation: x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["generate", str(exercise), "-f", "json"])
    assert result.exit_code == 0, result.output
    question = json.loads(result.stdout)["copies"][0]["variants"][0]["question"]
    assert question == "sum 0.15, product 0.005, left 0.15, power 0.0025"


def test_check_counts_every_problem_it_lists(tmp_path: Path) -> None:
    exercise = tmp_path / "count.yaml"
    text = (BANK / "count.yaml").read_text(encoding="utf-8")
    exercise.write_text(text.replace("question:", "qestion:").replace("title:", "titel:"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(exercise), "--seeds", "2"])
    assert result.exit_code == 1
    listed = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(listed) == 2  # titel and qestion (each names the field it stands for)
    assert result.stdout.endswith(f"1 exercises, {len(listed)} problems\n")
