"""Issue 11, grading: sheet numbers beyond the quiz, encodings other than UTF-8, carried columns."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.authoring.bank import load_bank
from engine.cli import cli
from engine.errors import UsageError
from engine.generation.pipeline import Generated
from engine.generation.quiz import Copy
from engine.grading import keys
from engine.grading.encoding import decode_bytes
from engine.grading.keys import MIN_BOUND, regenerate_key, sheet_bound
from engine.grading.models import Submission, SubmissionBatch
from engine.grading.report import grades_csv, make_report
from engine.grading.sheets import grade_batch
from engine.grading.submissions import MAX_CARRIED, parse_submissions, read_submissions

BANK = Path(__file__).resolve().parent / "fixtures" / "grading" / "bank"
CP1252_HINT = "grade it with --encoding cp1252"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of every copy that regenerating a key made."""
    numbers: list[int] = []
    real = keys.generate

    def counting(*args: Any, **kwargs: Any) -> Generated:
        generated = real(*args, **kwargs)

        def copies() -> Iterator[Copy]:
            for copy in generated.copies:
                numbers.append(copy.index + 1)
                yield copy

        return Generated(header=generated.header, notices=generated.notices, copies=copies())

    monkeypatch.setattr(keys, "generate", counting)
    return numbers


def answers_csv(path: Path, rows: list[tuple[str, str]], header: str = "student,sheet,q1") -> Path:
    # q1 is the fixture's integer question (answer 50 on GR-11-0001); the answer does not matter here.
    path.write_text(header + "\n" + "".join(f"{student},{sheet},50\n" for student, sheet in rows), encoding="utf-8")
    return path


def grade(runner: CliRunner, tmp_path: Path, submissions: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "out"
    result = runner.invoke(cli, ["grade", str(submissions), str(BANK), "-o", str(out), *args])
    report = json.loads((out / "report.json").read_text(encoding="utf-8")) if (out / "report.json").exists() else {}
    return result, report


def grades_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8", newline="")))


# ---------------------------------------------------------------------------------------------
# Sheet numbers beyond the quiz


CLASS = [(f"s{n}", f"GR-11-{n:04d}") for n in range(1, 6)]


def test_a_mistyped_sheet_number_is_a_rejected_row_and_the_key_stays_short(
    runner: CliRunner, tmp_path: Path, made: list[int]
) -> None:
    submissions = answers_csv(tmp_path / "in.csv", [*CLASS[:2], ("Typo", "GR-11-9999"), *CLASS[2:]])
    result, report = grade(runner, tmp_path, submissions, "--seed", "11")
    assert result.exit_code == 1
    assert made == [1, 2, 3, 4, 5]  # not 9999 copies
    assert report["key"]["count"] == 5 and report["graded"] == 5  # the other rows are graded
    assert [(r["row"], r["reason"]) for r in report["rejected"]] == [(4, (
        f"sheet 'GR-11-9999' is beyond GR-11-{MIN_BOUND:04d}, the highest sheet believed without --count "
        f"(twice the class size or its median sheet number, at least {MIN_BOUND}): a typo? If the quiz has "
        "that many sheets, grade again with --count N (the count it was generated with)"))]
    assert result.stderr.startswith("row 4: sheet 'GR-11-9999' is beyond")


def test_count_rejects_higher_sheets_and_the_key_is_made_only_as_far_as_the_sheets_need(
    runner: CliRunner, tmp_path: Path, made: list[int]
) -> None:
    submissions = answers_csv(tmp_path / "in.csv", [*CLASS[:2], ("Typo", "GR-11-0031")])
    result, report = grade(runner, tmp_path, submissions, "--count", "30")
    assert result.exit_code == 1 and made == [1, 2]
    assert report["key"]["count"] == 30 and report["graded"] == 2
    assert report["rejected"][0]["reason"] == (
        "sheet 'GR-11-0031' is beyond the quiz's 30 sheets (--count 30); if the quiz was generated with "
        "more, grade again with --count N (the count it was generated with)")


def test_count_lets_a_real_high_sheet_through(runner: CliRunner, tmp_path: Path, made: list[int]) -> None:
    submissions = answers_csv(tmp_path / "in.csv", [CLASS[0], ("Late", "GR-11-0150")])
    result, report = grade(runner, tmp_path, submissions, "--count", "150")
    assert result.exit_code == 0, result.output
    assert report["graded"] == 2 and made == list(range(1, 151))


def test_with_a_key_file_its_own_count_is_the_count(runner: CliRunner, tmp_path: Path) -> None:
    key = tmp_path / "quiz.json"
    key.write_text(api.export("json", [BANK], seed=11, count=3), encoding="utf-8")
    submissions = answers_csv(tmp_path / "in.csv", [CLASS[0], ("Typo", "GR-11-9999"), CLASS[1]])
    result = runner.invoke(cli, ["grade", str(submissions), "--key", str(key), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "row 3: unknown sheet 'GR-11-9999' (this key has sheets GR-11-0001 to GR-11-0003)"
    assert result.stdout.strip().startswith("Graded 2 sheets")


def test_a_second_group_with_only_high_sheet_numbers_is_graded_without_count(made: list[int]) -> None:
    batch = SubmissionBatch(format="csv", unit="row", submissions=[
        Submission(row=n, student=f"s{n}", sheet=f"GR-11-{n + 100}") for n in range(2, 12)])
    key = regenerate_key(load_bank([BANK]), batch)
    outcome = grade_batch(key, batch)
    assert outcome.rejected == [] and len(outcome.sheets) == 10 and max(made) == 111


def test_a_mistyped_seed_is_a_rejected_row_when_the_class_agrees_on_another(made: list[int]) -> None:
    sheets = [f"GR-11-{n:04d}" for n in range(1, 10)] + ["GR-12-0003"]
    batch = SubmissionBatch(format="csv", unit="row", submissions=[
        Submission(row=n, student=f"s{n}", sheet=sheet) for n, sheet in enumerate(sheets, start=2)])
    outcome = grade_batch(regenerate_key(load_bank([BANK]), batch), batch)
    assert len(outcome.sheets) == 9 and [(r.row, r.reason) for r in outcome.rejected] == [
        (11, "unknown sheet 'GR-12-0003' (seed 12, not 11: this key has sheets GR-11-0001 to GR-11-0009)")]
    with pytest.raises(UsageError, match="different seeds: 11 [(]8 rows[)], 12 [(]1 row[)]; pass --seed"):
        regenerate_key(load_bank([BANK]), batch.model_copy(update={"submissions": batch.submissions[1:]}))


@pytest.mark.parametrize(
    ("numbers", "bound"),
    [
        ([], MIN_BOUND),
        (list(range(1, 31)), MIN_BOUND),  # a class of 30: a floor, so small classes never trip
        ([5, 9999], MIN_BOUND),  # the lower median: one typo cannot raise the bound to itself
        (list(range(171, 201)), 370),  # a second group: its median, not its size
        (list(range(1, 10_001)), 20_000),  # a big class: its size
        ([250], 500),  # one student: believed
        ([2, 5, 9999, 9998, 9997], 2 * 9997),  # a majority of high numbers is not a typo
    ],
)
def test_sheet_bound(numbers: list[int], bound: int) -> None:
    assert sheet_bound(numbers) == bound


# ---------------------------------------------------------------------------------------------
# Encodings


def excel_csv(encoding: str, bom: bytes = b"", delimiter: str = ",") -> bytes:
    text = (f"student{delimiter}sheet{delimiter}q1\r\nAnn Lee{delimiter}GR-11-0001{delimiter}50\r\n"
            f"José Müller{delimiter}GR-11-0002{delimiter}15\r\nBo{delimiter}GR-11-0003{delimiter}1\r\n")
    return bom + text.encode(encoding)


def test_cp1252_without_encoding_rejects_the_row_naming_file_byte_and_hint(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    data = excel_csv("cp1252")
    path.write_bytes(data)
    result, report = grade(runner, tmp_path, path)
    assert result.exit_code == 1 and report["graded"] == 2  # the rest is graded
    offset = data.index("é".encode("cp1252"))
    assert report["rejected"][0]["row"] == 3
    assert report["rejected"][0]["reason"].startswith(f"byte 0xE9 at byte {offset} of {path} is not valid UTF-8 (")
    assert CP1252_HINT in result.stderr and "row 3: byte 0xE9" in result.stderr
    assert "José" not in (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8")


def test_cp1252_with_encoding_is_graded_with_the_names_intact(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(excel_csv("cp1252", delimiter=";"))
    result, _ = grade(runner, tmp_path, path, "--encoding", "Windows-1252")
    assert result.exit_code == 0, result.output
    students = [row[0] for row in grades_rows(tmp_path / "out" / "grades.csv")[1:]]
    assert students == ["Ann Lee", "José Müller", "Bo"]


@pytest.mark.parametrize(
    ("codec", "bom"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
     ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE)],
)
def test_utf8_and_utf16_with_a_byte_order_mark_are_read_without_options(
    runner: CliRunner, tmp_path: Path, codec: str, bom: bytes
) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(excel_csv(codec, bom, delimiter="\t"))  # Excel's "Unicode text" is UTF-16 with tabs
    result, _ = grade(runner, tmp_path, path)
    assert result.exit_code == 0, result.output
    assert [row[0] for row in grades_rows(tmp_path / "out" / "grades.csv")[1:]] == ["Ann Lee", "José Müller", "Bo"]


@pytest.mark.parametrize(
    ("data", "encoding", "byte"),
    [
        (b"student,sheet,q1\nA,GR-11-0001,1\nJ\xf6rg,GR-11-0002,1\n", None, 0xF6),
        (codecs.BOM_UTF8 + "student,sheet,q1\nÅsa,GR-11-0001,①\n".encode() + b"J\xf6rg,GR-11-0002,1\n", None, 0xF6),
        (b"student,sheet,q1\nA\xe9,GR-11-0001,1\nJ\x81rg,GR-11-0002,1\n", "cp1252", 0x81),  # 0x81 is unused
        (codecs.BOM_UTF16_LE + "student,sheet,q1\nÅsa,GR-11-0001,1\nJ".encode("utf-16-le") + b"\x00\xdc"
         + "rg,GR-11-0002,1\n".encode("utf-16-le"), None, 0x00),  # a lone surrogate
    ],
    ids=["utf-8", "utf-8 bom", "cp1252", "utf-16"],
)
def test_the_reported_offset_points_at_the_bad_byte(data: bytes, encoding: str | None, byte: int) -> None:
    batch = read_submissions(data, "in.csv", encoding=encoding)
    assert [s.row for s in batch.submissions] == [2] and [r.row for r in batch.rejected] == [3]
    match = re.match(r"byte 0x([0-9A-F]{2}) at byte (\d+) of in.csv is not valid", batch.rejected[0].reason)
    assert match is not None, batch.rejected[0].reason
    assert int(match.group(1), 16) == byte == data[int(match.group(2))]


def test_json_submissions_follow_the_encoding_too() -> None:
    data = '[{"student": "José", "sheet": "GR-11-0001", "answers": {"q1": "50"}}]'.encode("cp1252")
    rejected = read_submissions(data, "in.json")
    assert rejected.rejected[0].reason.startswith("student: not valid UTF-8 text (") and CP1252_HINT in rejected.rejected[0].reason
    assert rejected.notices[0].startswith("in.json: byte 0xE9 at byte 17 is not valid UTF-8")
    read = read_submissions(data, "in.json", encoding="cp1252")
    assert [s.student for s in read.submissions] == ["José"] and read.notices == []


@pytest.mark.parametrize("name", ["bogus", "base64", "rot13", "utf\x008", ""])
def test_an_unknown_encoding_is_a_usage_error(runner: CliRunner, tmp_path: Path, name: str) -> None:
    submissions = answers_csv(tmp_path / "in.csv", CLASS[:1])
    with pytest.raises(UsageError) as raised:
        api.grade(submissions, encoding=name)
    assert str(raised.value) == f"--encoding: unknown text encoding {name!r} (for example utf-8, utf-16, cp1252, latin-1)"
    if "\x00" not in name:  # an argument cannot hold a NUL
        result, _ = grade(runner, tmp_path, submissions, "--encoding", name)
        assert result.exit_code == 2 and result.stderr == f"Error: {raised.value}\n"


def test_a_wrong_encoding_for_a_utf8_file_is_noticed() -> None:
    batch = read_submissions("student,sheet,q1\nJosé,GR-11-0001,1\n".encode(), "in.csv", encoding="latin-1")
    assert batch.submissions[0].student == "JosÃ©"  # as asked ...
    assert batch.notices == ["in.csv: the file is valid UTF-8 but was read as iso8859-1 (--encoding): "
                             "check the names in grades.csv"]  # ... but not silently


def test_a_byte_order_mark_wins_over_another_encoding_with_a_notice() -> None:
    batch = read_submissions(codecs.BOM_UTF8 + "student,sheet,q1\nJosé,GR-11-0001,1\n".encode(), "in.csv",
                             encoding="cp1252")
    assert batch.submissions[0].student == "José"
    assert batch.notices == ["in.csv: the file starts with a UTF-8 byte-order mark: read as UTF-8, not cp1252 "
                             "(--encoding)"]


def test_utf16_without_a_mark_gets_a_hint_and_reads_with_the_encoding() -> None:
    data = "student,sheet,q1\nJosé,GR-11-0001,1\n".encode("utf-16-le")
    with pytest.raises(UsageError, match="Pass --encoding utf-16-le"):
        read_submissions(data, "in.csv")
    assert read_submissions(data, "in.csv", encoding="utf-16").submissions[0].student == "José"


def test_a_decoded_offset_is_measured_incrementally() -> None:
    decoded = decode_bytes("aé\n".encode() * 3 + b"\xff", "x")
    assert [decoded.offset(n) for n in (0, 3, 6, 9, 3)] == [0, 4, 8, 12, 4]


# ---------------------------------------------------------------------------------------------
# Carried columns


def test_extra_columns_are_carried_into_grades_csv_beside_the_student(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("Email,student,sheet,q1,Student number,total,=cmd()\n"
                    "ann@x.org,Ann,GR-11-0001,50,=1+1,7,\n"
                    "bob@x.org,Bob,GR-11-0002,1,@SUM(A1),,x\n", encoding="utf-8")
    result, report = grade(runner, tmp_path, path)
    assert result.exit_code == 0, result.output
    assert grades_rows(tmp_path / "out" / "grades.csv") == [
        ["student", "Email", "Student number", "total (as submitted)", "'=cmd()", "sheet", "q1", "q2", "q3", "q4",
         "total", "max", "percent"],
        ["Ann", "ann@x.org", "'=1+1", "7", "", "GR-11-0001", "3", "0", "0", "0", "3", "7", "42.86"],  # no formula runs
        ["Bob", "bob@x.org", "'@SUM(A1)", "", "x", "GR-11-0002", "0", "0", "0", "0", "0", "7", "0.00"],
    ]
    assert report["carried"] == ["Email", "Student number", "total (as submitted)", "=cmd()"]
    assert report["sheets"][0]["carried"] == {"Email": "ann@x.org", "Student number": "=1+1",
                                              "total (as submitted)": "7", "=cmd()": ""}
    assert (f"Note: {path}: column 'total' goes into grades.csv as 'total (as submitted)' (grades.csv has a "
            "total column of its own)") in result.stderr


def test_a_carried_cell_with_bad_bytes_rejects_its_row() -> None:
    batch = read_submissions(b"student,email,sheet,q1\nAnn,a@x.org,GR-11-0001,1\nBob,b\xf6@x.org,GR-11-0002,1\n",
                             "in.csv")
    assert [s.student for s in batch.submissions] == ["Ann"]
    assert batch.rejected[0].reason.startswith("byte 0xF6 at byte 53 of in.csv")


def test_json_fields_are_carried_in_first_seen_order() -> None:
    text = """[
        {"student": "Ann", "sheet": "GR-11-0001", "email": "a@x", "answers": {"q1": 50}, "late": true},
        {"student": "Bob", "sheet": "GR-11-0002", "id": 20231234, "tags": ["x"], "q2": "misplaced"},
        {"student": "Cid", "sheet": "GR-11-0003", "email": null, "Student": "dup", "id": 1.50}
    ]"""
    batch = parse_submissions(text, "in.json")
    assert batch.carried == ["email", "late", "id", "Student (as submitted)"]
    assert [s.carried for s in batch.submissions] == [
        {"email": "a@x", "late": "true", "id": "", "Student (as submitted)": ""},
        {"email": "", "late": "", "id": "20231234", "Student (as submitted)": ""},
        {"email": "", "late": "", "id": "1.50", "Student (as submitted)": "dup"},
    ]
    assert "in.json: ignored keys: tags, q2" in batch.notices  # a list, and an answer out of place


def test_json_parts_carry_the_same_columns() -> None:
    text = json.dumps([{"student": "A", "sheet": "GR-11-0001"}, {"student": "B", "sheet": "GR-11-0002", "email": "b"}])
    assert parse_submissions(text, "in.json", (1, 2)).carried == ["email"]


def test_json_carries_at_most_a_bounded_number_of_fields() -> None:
    entries = [{"student": f"s{n}", "sheet": "GR-11-0001", f"f{n}": "x"} for n in range(MAX_CARRIED + 5)]
    batch = parse_submissions(json.dumps(entries), "in.json")
    assert len(batch.carried) == MAX_CARRIED
    assert batch.notices[-1].startswith("in.json: ignored keys: f50, f51")


def test_grades_csv_without_carried_columns_is_unchanged() -> None:
    quiz = api.quiz([BANK], seed=11, count=1)
    key = keys.key_from_quiz(quiz)
    batch = parse_submissions("student,sheet,q1\nAnn,GR-11-0001,50\n", "in.csv")
    text = grades_csv(make_report(key, grade_batch(key, batch), "in.csv", "row"))
    assert next(csv.reader(io.StringIO(text))) == ["student", "sheet", "q1", "q2", "q3", "q4", "total", "max", "percent"]


def test_a_codec_that_is_not_for_files_is_a_usage_error_and_others_never_crash() -> None:
    with pytest.raises(UsageError, match="^in.csv: cannot be read as idna"):
        read_submissions(b"student,sheet,q1\nA\xff,GR-11-0001,1\n", "in.csv", encoding="idna")
    batch = read_submissions(b"student,sheet,q1\nA\xff,GR-11-0001,1\n", "in.csv", encoding="iso2022_jp")
    assert batch.rejected[0].reason.startswith("byte 0xFF at byte 18 of in.csv is not valid iso2022_jp")
