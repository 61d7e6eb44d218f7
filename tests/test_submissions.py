"""Reading submissions: CSV edge cases (BOM, CRLF, extra and missing cells, bad bytes) and the JSON form."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from engine.errors import UsageError
from engine.grading.models import Submission
from engine.grading.submissions import decode, parse_csv, parse_json, parse_submissions


def read(data: bytes) -> tuple[list[Submission], list[tuple[int, str]], list[str]]:
    batch = parse_submissions(decode(data, "in.csv"), "in.csv")
    return batch.submissions, [(r.row, r.reason) for r in batch.rejected], batch.notices


HEADER = b"student,sheet,q1,q2,q3\n"


def test_plain_csv() -> None:
    subs, rejected, notices = read(HEADER + b"Ann,WI-7-0001,1,2,3\nBob,WI-7-0002,,x,\n")
    assert rejected == [] and notices == []
    assert [(s.row, s.student, s.sheet, s.answers) for s in subs] == [
        (2, "Ann", "WI-7-0001", {"1": "1", "2": "2", "3": "3"}),
        (3, "Bob", "WI-7-0002", {"2": "x"}),  # blank answers are absent = unanswered
    ]


def test_bom_and_crlf_are_read_like_plain_utf8() -> None:
    plain = read(HEADER + b"Ann,WI-7-0001,1,2,3\nBob,WI-7-0002,\xe2\x91\xa0,,3\n")
    bom_crlf = read(b"\xef\xbb\xbf" + (HEADER + b"Ann,WI-7-0001,1,2,3\nBob,WI-7-0002,\xe2\x91\xa0,,3\n")
                    .replace(b"\n", b"\r\n"))
    assert [(s.row, s.student, s.answers) for s in bom_crlf[0]] == [
        (s.row, s.student, s.answers) for s in plain[0]]
    assert bom_crlf[0][1].answers["1"] == "①"


def test_header_is_case_and_space_insensitive_and_in_any_order() -> None:
    subs, _, _ = read(b" Q2 ,Sheet,STUDENT,q1\n2,WI-7-0001,Ann,1\n")
    assert subs[0].student == "Ann" and subs[0].answers == {"1": "1", "2": "2"}


def test_extra_columns_are_carried_in_their_order() -> None:
    subs, rejected, notices = read(b"student,email,sheet,q1,comment,q2\n"
                                   b"Ann,a@x.org,WI-7-0001,1,late,2\nBob,b@x.org,WI-7-0002,3,,4\n")
    assert rejected == [] and [s.answers for s in subs] == [{"1": "1", "2": "2"}, {"1": "3", "2": "4"}]
    assert [s.carried for s in subs] == [{"email": "a@x.org", "comment": "late"}, {"email": "b@x.org", "comment": ""}]
    assert notices == []


class BadRow(NamedTuple):
    name: str
    line: bytes
    reason: str


BAD_ROWS = [
    BadRow("short row", b"Ann,WI-7-0001,1", "3 cells, the header has 5"),
    BadRow("unquoted comma", b"Ann,WI-7-0001,1,2,5,3", "6 cells, the header has 5 (quote answers"),
    BadRow("no student", b",WI-7-0001,1,2,3", "no student"),
    BadRow("no sheet", b"Ann, ,1,2,3", "no sheet id"),
    BadRow("latin-1 byte", b"J\xf6rg,WI-7-0001,1,2,3", "byte 0xF6 at byte 44 of in.csv is not valid UTF-8"),
]


@pytest.mark.parametrize("case", BAD_ROWS, ids=[c.name for c in BAD_ROWS])
def test_a_bad_row_is_reported_with_its_row_number_and_the_rest_is_read(case: BadRow) -> None:
    subs, rejected, _ = read(HEADER + b"Ann,WI-7-0001,1,2,3\n" + case.line + b"\nBob,WI-7-0002,1,2,3\n")
    assert [s.student for s in subs] == ["Ann", "Bob"]
    assert len(rejected) == 1 and rejected[0][0] == 3
    assert rejected[0][1].startswith(case.reason)


def test_rejected_rows_keep_their_raw_text() -> None:
    batch = parse_csv(decode(HEADER + b"J\xf6rg,WI-7-0001,1\n", "in.csv"), "in.csv")
    assert batch.rejected[0].raw == "J\ufffdrg,WI-7-0001,1"


def test_trailing_blank_cells_and_blank_rows_are_fine() -> None:
    subs, rejected, _ = read(HEADER + b"Ann,WI-7-0001,1,2,3,,\n\n,,,,\nBob,WI-7-0002,1,2,3\n")
    assert rejected == [] and [(s.row, s.student) for s in subs] == [(2, "Ann"), (5, "Bob")]


def test_row_numbers_count_records_as_a_spreadsheet_shows_them() -> None:
    # A quoted newline keeps one record (one spreadsheet row) over two physical lines.
    subs, rejected, _ = read(HEADER + b'Ann,WI-7-0001,"1\n",2,3\nBob,WI-7-0002\nCid,WI-7-0003,1,2,3\n')
    assert [(s.row, s.student) for s in subs] == [(2, "Ann"), (4, "Cid")]
    assert rejected == [(3, "2 cells, the header has 5")]


def test_an_unclosed_quote_is_one_bad_row_whose_raw_keeps_the_swallowed_lines() -> None:
    batch = parse_csv(decode(HEADER + b'Ann,WI-7-0001,"1,2,3\nBob,WI-7-0002,1,2,3\n', "in.csv"), "in.csv")
    assert batch.submissions == []
    assert batch.rejected[0].row == 2 and "unclosed quote" in batch.rejected[0].reason
    assert "Bob" in batch.rejected[0].raw  # nothing is lost


def test_a_huge_cell_is_one_unreadable_row() -> None:
    big = b"x" * 200_000
    subs, rejected, _ = read(HEADER + b'Ann,WI-7-0001,"' + big + b'",2,3\nBob,WI-7-0002,1,2,3\n')
    assert [s.student for s in subs] == ["Bob"]
    assert rejected[0][0] == 2 and rejected[0][1].startswith("unreadable row")


def test_semicolon_csv_from_a_spreadsheet_in_a_comma_locale() -> None:
    subs, rejected, _ = read(b"student;sheet;q1;q2\nAnn;WI-7-0001;0,5;2\n")
    assert rejected == [] and subs[0].answers == {"1": "0,5", "2": "2"}


def test_cr_only_line_ends() -> None:
    subs, _, _ = read(b"student,sheet,q1\rAnn,WI-7-0001,1\rBob,WI-7-0002,2\r")
    assert [(s.row, s.student) for s in subs] == [(2, "Ann"), (3, "Bob")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "in.csv: the file is empty"),
        (b"name,sheet,q1\nAnn,WI-7-0001,1\n", "in.csv: row 1: the header needs the columns student, sheet"),
        (b"student,sheet,q1,Q1\n", "in.csv: row 1: column 'Q1' appears twice"),
        (b"s\x00t\x00", "in.csv: a NUL byte at the start of the file: a UTF-16 file without a byte-order mark"),
        (b"st\xffudent,sheet,q1\n", "in.csv: row 1: the header cannot be read: byte 0xFF at byte 2 is not valid UTF-8"),
    ],
)
def test_unusable_files_are_usage_errors(data: bytes, message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(")):
        read(data)


# ---------------------------------------------------------------------------------------------
# JSON


def test_json_form() -> None:
    text = """[
      {"student": "Ann", "sheet": "WI-7-0001", "answers": {"q1": "①", "q2": 0.10, "q3": true}},
      {"student": "Bob", "sheet": "WI-7-0002", "answers": {"Q2": 10, "q3": null, "q1": "  "}},
      {"student": "Cid", "sheet": "WI-7-0003"}
    ]"""
    batch = parse_submissions(text, "in.json")
    assert batch.format == "json" and batch.unit == "entry" and batch.rejected == []
    assert [(s.row, s.answers) for s in batch.submissions] == [
        (1, {"1": "①", "2": "0.10", "3": "true"}),  # numbers keep their exact text
        (2, {"2": "10"}),
        (3, {}),
    ]
    assert batch.questions == ["1", "2", "3"]


def test_json_bad_entries_are_rejected_and_the_rest_is_read() -> None:
    text = """[
      {"student": "Ann", "sheet": "WI-7-0001", "answers": {"q1": [1, 2]}},
      "Bob",
      {"sheet": "WI-7-0002"},
      {"student": "Dan", "sheet": ["WI-7-0001"]},
      {"student": "Eve", "sheet": "WI-7-0003", "answers": ["1"]},
      {"student": "Fay", "sheet": "WI-7-0004", "answers": {"q1": "2", "bonus": "x"}, "email": "f@x"},
      {"student": 20231234, "sheet": "WI-7-0005"}
    ]"""
    batch = parse_json(text, "in.json")
    assert [s.student for s in batch.submissions] == ["Fay", "20231234"]  # a numeric student id is text
    assert [(r.row, r.reason) for r in batch.rejected] == [
        (1, "answers.q1: unreadable value (a list or object, not an answer)"),
        (2, "expected an object {student, sheet, answers}"),
        (3, "no student"),
        (4, "sheet: expected text"),
        (5, 'answers: expected an object {"q1": ..., "q2": ...}'),
    ]
    assert batch.rejected[0].raw.startswith('{"student": "Ann"')
    assert batch.notices == ["in.json: ignored answer key (not q1, q2, ...): bonus"]
    assert batch.carried == ["email"] and [s.carried for s in batch.submissions] == [{"email": "f@x"}, {"email": ""}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "in.json: not valid JSON (line 1, column 3"),
        ('{"student": "Ann"}', "in.json: expected a JSON list"),
        ("[" * 100_000, "in.json: not valid JSON"),
    ],
)
def test_unusable_json_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(")):
        parse_submissions(text, "in.json")


def test_json_lone_surrogates_are_rejected_not_crashing_the_report() -> None:
    text = r'''[
      {"student": "Ann\ud800", "sheet": "WI-7-0001"},
      {"student": "Bob", "sheet": "WI-7-0002", "answers": {"q1": "\udcff"}},
      {"student": "Cid", "sheet": "WI-7-0003", "answers": {"q\ud800": "1"}, "\udc80": 1}
    ]'''
    batch = parse_json(text, "in.json")
    assert [(r.row, r.reason) for r in batch.rejected] == [
        (1, "student: not valid Unicode text"), (2, "answers.q1: not valid Unicode text")]
    assert batch.rejected[0].raw == '{"student": "Ann\ufffd", "sheet": "WI-7-0001"}'
    assert [s.student for s in batch.submissions] == ["Cid"]
    batch.model_dump_json()  # everything in the batch can be written as UTF-8


@pytest.mark.parametrize(
    "text",
    [
        'student,sheet,q1\nA,S-1-1,1\n\nB,S-1-2,"two\nlines"\nC\nD,S-1-4,4\nE,S-1-5,"5\n',
        '[{"student": "A", "sheet": "S-1-1"}, 3, {"student": "C", "sheet": "S-1-3"}, {}, '
        '{"student": "E", "sheet": "S-1-5", "answers": {"q1": 5}}]',
    ],
    ids=["csv", "json"],
)
@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_parts_hold_each_row_once_with_its_number(text: str, parts: int) -> None:
    whole = parse_submissions(text, "in")
    pieces = [parse_submissions(text, "in", (k, parts)) for k in range(1, parts + 1)]
    assert [s for p in pieces for s in p.submissions] == whole.submissions
    assert [r for p in pieces for r in p.rejected] == whole.rejected
    assert all(p.notices[-1].startswith(f"part {k} of {parts}: ") and f"{whole.unit}s " in p.notices[-1]
               for k, p in enumerate(pieces, 1))
