"""Issue 11, acceptance: the neighbours of the issue's cases that a user hits next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli

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
