"""End to end from `generate` to `grade`: a synthetic class with known scores, input forms, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from engine.cli import cli
from engine.generation.quiz import Quiz, Variant, question_labels
from engine.language.printing import circled

FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
GARBAGE = {
    "option": ["b", "abc", "1 or 2", "0"],
    "options": ["b", "abc", "1 or 2", "0"],
    "boolean": ["maybe", "0", "yes and no"],
    "integer": ["1,000", "ten", "10.5", "1 0"],
    "numeric": ["0,5", "abc", "50%", "inf"],
    "formula": ["__import__('os').system('touch /tmp/qw_pwned')", "n_in(", "9**9**9**9", "[n_in]"],
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# ---------------------------------------------------------------------------------------------
# A class with known scores


def right(variant: Variant, formatted: bool) -> str:
    """The right answer, as the key prints it or in an accepted other format."""
    a = variant.answer
    if a.type == "option":
        return (circled(a.option), f" {a.option} ", f"({a.option})", str(a.option).translate(FULL_WIDTH))[
            variant.index % 4] if formatted else str(a.option)
    if a.type == "options":  # select all that apply
        return ", ".join(circled(n) for n in a.options) if formatted else ",".join(map(str, a.options))
    if a.type == "boolean":
        return ("true" if a.value else "F") if formatted else str(a.option)
    if a.type == "integer":
        return (f"+{a.value}" if variant.index % 2 else str(a.value).translate(FULL_WIDTH)) if formatted else str(a.value)
    if a.type == "numeric":
        if not formatted:
            return a.display
        return a.display[1:] if a.display.startswith("0.") else a.display.translate(FULL_WIDTH)
    return f"({a.expr})*2/2" if formatted else a.expr


def wrong(variant: Variant) -> tuple[str, str | None]:
    """A known wrong answer and the feedback it must get (None: no misconception to name)."""
    a = variant.answer
    if a.type in ("option", "options"):
        option = next(o for o in variant.options if not o.correct)
        return str(option.number), option.feedback
    if a.type == "boolean":
        other = 2 if a.value else 1
        return circled(other), variant.options[other - 1].feedback
    mistakes = [m for m in variant.misconceptions if m.value != str(getattr(a, "value", ""))]
    if a.type == "integer":
        return (mistakes[0].value, mistakes[0].feedback) if mistakes else (str(a.value + 1), None)
    if a.type == "numeric":
        if not mistakes:  # a part without distractors: a value far from any answer
            return "-999999", None
        return str(sympy.N(sympy.sympify(mistakes[0].value), 12)), mistakes[0].feedback  # the bank's own strings
    return (mistakes[0].value, mistakes[0].feedback) if mistakes else (f"({a.expr}) + 1", None)


@dataclass
class Student:
    name: str
    sheet: str
    answers: list[str]
    total: int
    statuses: set[str] = field(default_factory=set)
    feedback: dict[int, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)  # the sheet's questions: 1, 2, 5a, 5b


def make_class(quiz: Quiz, sheets: list[str]) -> list[Student]:
    """Six students per copy kind of answer; each one's exact total is known by construction."""
    students = []
    for i, sheet in enumerate(sheets):
        variants = next(c for c in quiz.copies if c.sheet == sheet).variants
        full = sum(v.points for v in variants)
        wrongs = [wrong(v) for v in variants]
        half = [right(v, False) if n % 2 == 0 else "" for n, v in enumerate(variants)]
        students += [
            Student(f"right-{i}", sheet, [right(v, False) for v in variants], full, {"correct"}),
            Student(f"formats-{i}", sheet, [right(v, True) for v in variants], full, {"correct"}),
            Student(f"wrong-{i}", sheet, [w for w, _ in wrongs], 0, {"incorrect"},
                    {n: f for n, (_, f) in enumerate(wrongs) if f}),
            Student(f"blank-{i}", sheet, ["" if n % 2 else "   " for n in range(len(variants))], 0, {"unanswered"}),
            Student(f"garbage-{i}", sheet, [GARBAGE[v.answer.type][n % len(GARBAGE[v.answer.type])]
                                            for n, v in enumerate(variants)], 0, {"invalid"}),
            Student(f"half-{i}", sheet, half, sum(v.points for n, v in enumerate(variants) if n % 2 == 0),
                    {"correct", "unanswered"}),
        ]
        for student in students[-6:]:
            student.labels = question_labels(variants)
    return students


def write_csv(students: list[Student], questions: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as a spreadsheet on Windows saves it
    labels = students[0].labels if students and students[0].labels else [str(n) for n in range(1, questions + 1)]
    writer.writerow(["student", "email", "sheet", *(f"q{label}" for label in labels)])
    for s in students:
        writer.writerow([s.name, f"{s.name}@example.org", s.sheet, *s.answers])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")  # with a BOM


def write_json(students: list[Student]) -> str:
    return json.dumps([{"student": s.name, "sheet": s.sheet, "email": f"{s.name}@example.org",
                        "answers": {f"q{label}": a for label, a in zip(s.labels, s.answers, strict=True)}}
                       for s in students],
                      ensure_ascii=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Quiz, list[str]]]:
    """For both banks: the JSON key and the sheet ids printed on the Markdown worksheets."""
    root = Path(__file__).resolve().parent
    runner = CliRunner()
    out: dict[str, tuple[Path, Quiz, list[str]]] = {}
    for name, bank, seed in (("bundled", root.parent / "exercises" / "weight-initialization", 7),
                             ("basic", root / "fixtures" / "basic", 3)):
        folder = tmp_path_factory.mktemp(name)
        key = folder / "quiz.json"
        for args in (["-f", "json", "-o", str(key)], ["-o", str(folder / "sheets.md")]):
            result = runner.invoke(cli, ["generate", str(bank), "--seed", str(seed), "--count", "3", *args])
            assert result.exit_code == 0, result.output
        sheets = re.findall(r"\*\*Sheet (\S+)\*\*", (folder / "sheets.md").read_text(encoding="utf-8"))
        quiz = Quiz.model_validate_json(key.read_bytes())
        assert sheets == [c.sheet for c in quiz.copies]  # the worksheets and the key agree
        out[name] = (key, quiz, sheets)
    return out


def grades_by_student(path: Path) -> dict[str, tuple[str, int, int, str]]:
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    return {r["student"]: (r["sheet"], int(r["total"]), int(r["max"]), r["percent"]) for r in rows}


@pytest.mark.parametrize("bank", ["bundled", "basic"])
def test_generate_then_grade_gives_the_known_scores(
    runner: CliRunner, tmp_path: Path, generated: dict[str, tuple[Path, Quiz, list[str]]], bank: str
) -> None:
    key, quiz, sheets = generated[bank]
    questions = len(quiz.copies[0].variants)
    students = make_class(quiz, sheets)
    submissions = tmp_path / "answers.csv"
    submissions.write_bytes(write_csv(students, questions))
    result = runner.invoke(cli, ["grade", str(submissions), "--key", str(key), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Note: " not in result.stderr  # the e-mail column is carried into grades.csv, not ignored

    grades = grades_by_student(tmp_path / "out" / "grades.csv")
    full = {c.sheet: sum(v.points for v in c.variants) for c in quiz.copies}
    assert {name: (sheet, total) for name, (sheet, total, _, _) in grades.items()} == {
        s.name: (s.sheet, s.total) for s in students}
    for s in students:
        assert grades[s.name][2] == full[s.sheet]
        assert grades[s.name][3] == f"{100 * s.total / full[s.sheet]:.2f}"

    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["graded"] == len(students) and report["rejected"] == []
    by_name = {sheet["student"]: sheet for sheet in report["sheets"]}
    for s in students:
        answers = by_name[s.name]["answers"]
        assert {a["status"] for a in answers} == s.statuses, (s.name, [
            (a["question"], a["response"], a["status"], a["message"]) for a in answers if a["status"] not in s.statuses])
        for n, feedback in s.feedback.items():
            assert answers[n]["feedback"] == feedback, (s.name, answers[n])
    assert not Path("/tmp/qw_pwned").exists()
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Item analysis" in markdown and f"| {len(students)} | 0 | 0 | {questions} |" in markdown


def test_regenerated_key_json_input_and_stdin_give_the_same_grades(
    runner: CliRunner, tmp_path: Path, generated: dict[str, tuple[Path, Quiz, list[str]]]
) -> None:
    key, quiz, sheets = generated["basic"]
    students = make_class(quiz, sheets[1:])  # sheets 2 and 3: regeneration must still make copy 1 first
    csv_file = tmp_path / "answers.csv"
    csv_file.write_bytes(write_csv(students, len(quiz.copies[0].variants)))
    json_file = tmp_path / "answers.json"
    json_file.write_text(write_json(students), encoding="utf-8")
    bank = str(Path(__file__).resolve().parent / "fixtures" / "basic")
    runs = {
        "key": ["grade", str(csv_file), "--key", str(key)],
        "key+bank": ["grade", str(csv_file), bank, "--key", str(key)],
        "regenerated": ["grade", str(csv_file), bank, "--bank-hash", quiz.bank.hash[:16]],
        "json": ["grade", str(json_file), "--key", str(key)],
        "stdin": ["grade", "-", "--key", str(key)],
    }
    outputs = {}
    for name, args in runs.items():
        out = tmp_path / name
        result = runner.invoke(cli, [*args, "-o", str(out)], input=json_file.read_bytes())
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = (out / "grades.csv").read_text(encoding="utf-8")
    assert len(set(outputs.values())) == 1
    assert grades_by_student(tmp_path / "key" / "grades.csv")["right-0"][:2] == (sheets[1], 9)
    regenerated = json.loads((tmp_path / "regenerated" / "report.json").read_text(encoding="utf-8"))
    assert regenerated["key"]["source"] == "regenerated" and regenerated["key"]["count"] == 3


def test_bad_rows_exit_1_and_everything_else_is_still_graded(
    runner: CliRunner, tmp_path: Path, generated: dict[str, tuple[Path, Quiz, list[str]]]
) -> None:
    key, quiz, sheets = generated["basic"]
    answers = tmp_path / "answers.csv"
    answers.write_bytes(
        b"student,sheet,q1,q2\r\n"
        + f"Ann,{sheets[0]},{right(quiz.copies[0].variants[0], False)},x\r\n".encode()
        + b"Bob,FX-3-9999,1,2\r\n"
        + b"Cid\r\n"
        + f"Ann,{sheets[0].lower()},2,2\r\n".encode()
        + f"J\xf6rg,{sheets[1]},1,2\r\n".encode("latin-1")
        + f"Eve,{sheets[1]},{right(quiz.copies[1].variants[0], True)},x\r\n".encode()
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["grade", str(answers), "--key", str(key), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:4] == [
        "row 3: unknown sheet 'FX-3-9999' (this key has sheets FX-3-0001 to FX-3-0003)",
        "row 4: 1 cells, the header has 4",
        "row 5: duplicate of row 2 (same student and sheet)",
        f"row 6: byte 0xF6 at byte 84 of {answers} is not valid UTF-8 (Excel's \"CSV\" on Windows is "
        "Windows-1252: grade it with --encoding cp1252, or save it as \"CSV UTF-8\")",
    ]
    assert "no column for q3, q4, q5, q6, q7, q8, q9: counted as unanswered" in result.stderr
    assert result.stdout.strip() == "Graded 2 sheets, mean 11.11 %; 4 rows rejected"  # 1 of 9 points each
    assert list(grades_by_student(out / "grades.csv")) == ["Ann", "Eve"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [(r["row"], r["raw"]) for r in report["rejected"]] == [
        (3, "Bob,FX-3-9999,1,2"), (4, "Cid"), (5, f"Ann,{sheets[0].lower()},2,2"), (6, f"J\ufffdrg,{sheets[1]},1,2")]
    assert "## Rejected rows" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("parts", [1, 3, 8])
def test_parts_of_a_class_make_the_whole_gradebook(
    runner: CliRunner, tmp_path: Path, generated: dict[str, tuple[Path, Quiz, list[str]]], parts: int
) -> None:
    key, quiz, sheets = generated["basic"]
    rows = [f"s{i},{sheets[i % 3]},{right(quiz.copies[i % 3].variants[0], bool(i % 2))},x" for i in range(7)]
    rows[4] = "bad row"
    answers = tmp_path / "answers.csv"
    answers.write_text("student,sheet,q1,q2\n" + "\n".join(rows) + "\n", encoding="utf-8")
    whole = runner.invoke(cli, ["grade", str(answers), "--key", str(key), "-o", str(tmp_path / "whole")])
    gradebook, rejected = [], []
    for number in range(1, parts + 1):
        out = tmp_path / f"part-{number}"
        result = runner.invoke(cli, ["grade", str(answers), "--key", str(key), "-o", str(out),
                                     "--part", f"{number}/{parts}"])
        assert result.exit_code in (0, 1) and f"Note: part {number} of {parts}: " in result.stderr
        lines = (out / "grades.csv").read_text(encoding="utf-8").splitlines()
        gradebook += lines if number == 1 else lines[1:]
        rejected += json.loads((out / "report.json").read_text(encoding="utf-8"))["rejected"]
    assert gradebook == (tmp_path / "whole" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert rejected == json.loads((tmp_path / "whole" / "report.json").read_text(encoding="utf-8"))["rejected"]
    assert [r["row"] for r in rejected] == [6] and whole.exit_code == 1  # the row number of the whole file


@pytest.mark.parametrize("part", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_part_must_be_k_of_n(runner: CliRunner, tmp_path: Path, part: str) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("student,sheet,q1\nAnn,FX-3-0001,1\n", encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(answers), "--part", part])
    assert result.exit_code == 2 and "--part" in result.stderr and "expected K/N" in result.stderr


def test_separate_output_files(runner: CliRunner, tmp_path: Path,
                               generated: dict[str, tuple[Path, Quiz, list[str]]]) -> None:
    key, _, sheets = generated["basic"]
    answers = tmp_path / "a.csv"
    answers.write_text(f"student,sheet,q1\nAnn,{sheets[0]},1\n", encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(answers), "--key", str(key), "-o", str(tmp_path / "folder"),
                                 "--grades", str(tmp_path / "g.csv"), "--markdown", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "a.csv", "g.csv", "r.md", "report.json"]
    assert (tmp_path / "folder" / "report.json").is_file()


def _changed_bank(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "basic", bank)
    spam = bank / "spam.yaml"
    spam.write_text(spam.read_text(encoding="utf-8").replace("title:", "title: Edited", 1), encoding="utf-8")
    return bank


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "{key}", "{changed}"], "Error: the bank has changed since the key was made: key bank hash {hash}, "
                                          "current bank hash "),
        (["{basic}", "--bank-hash", "0123456789abcdef"], "Error: --bank-hash 0123456789abcdef does not match "
                                                          "the bank's hash {hash}"),
        (["--key", "{key}", "--bank-hash", "0123456789abcdef"], "Error: --bank-hash 0123456789abcdef does not "
                                                                 "match the key's bank hash {hash}"),
        (["--key", "{key}", "--seed", "3"], "Error: --seed: only used without --key"),
        (["--key", "{answers}"], "Error: {answers}: not a quizwright JSON export"),
        (["{basic}", "-e", "nope"], "Error: unknown exercise 'nope'"),
        (["{basic}", "--param", "zz=1"], "Error: --param zz: no selected exercise draws 'zz'"),
        (["--key", "{missing}"], "does not exist"),
    ],
)
def test_errors_exit_2_and_write_nothing(runner: CliRunner, tmp_path: Path, args: list[str], message: str,
                                         generated: dict[str, tuple[Path, Quiz, list[str]]]) -> None:
    key, quiz, sheets = generated["basic"]
    answers = tmp_path / "answers.csv"
    answers.write_text(f"student,sheet,q1\nAnn,{sheets[0]},1\n", encoding="utf-8")
    values = {"key": str(key), "changed": str(_changed_bank(tmp_path)), "hash": quiz.bank.hash,
              "basic": str(Path(__file__).resolve().parent / "fixtures" / "basic"), "answers": str(answers),
              "missing": str(tmp_path / "missing.json")}
    result = runner.invoke(cli, ["grade", str(answers), *(a.format(**values) for a in args),
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message.format(**values) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 or "Usage:" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,q1\nAnn,1\n", "Error: {path}: row 1: the header needs the columns student, sheet"),
        ("student,sheet,q1\nAnn,FX-3-0001,1\nBob,FX-4-0002,1\n", "Error: the sheet ids carry different seeds: "
                                                                  "3 (1 row), 4 (1 row); pass --seed"),
        ("student,sheet,q1\nAnn,WI-7-0001,1\n", "Error: no sheet id of bank code FX in the submissions"),
        ("", "Error: {path}: the file is empty"),
    ],
)
def test_unusable_submissions_exit_2(runner: CliRunner, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(path), str(Path(__file__).resolve().parent / "fixtures" / "basic"),
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(path=path))
    assert not (tmp_path / "out").exists()


def test_missing_submissions_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["grade", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_unwritable_output_writes_nothing(runner: CliRunner, tmp_path: Path,
                                          generated: dict[str, tuple[Path, Quiz, list[str]]]) -> None:
    key, _, sheets = generated["basic"]
    answers = tmp_path / "a.csv"
    answers.write_text(f"student,sheet,q1\nAnn,{sheets[0]},1\n", encoding="utf-8")
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = runner.invoke(cli, ["grade", str(answers), "--key", str(key), "-o", str(tmp_path / "out"),
                                 "--grades", str(tmp_path / "blocker" / "g.csv")])
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {tmp_path / 'blocker' / 'g.csv'}: {tmp_path / 'blocker'} is not a folder\n"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["grade", "-h"])
    assert result.exit_code == 0 and "Example:" in result.output and "--bank-hash" in result.output
