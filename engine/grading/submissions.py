"""Reading student submissions (CSV or JSON) into Submission models, with row numbers and rejections.

CSV: a header with ``student``, ``sheet`` and ``q1``, ``q2``, ... (any case, any order, other
columns ignored with one notice), then one row per student. JSON: a list of
``{"student": ..., "sheet": ..., "answers": {"q1": ...}}``. The format is recognised from the
content (a JSON document starts with ``[`` or ``{``), not from the file name.

Decisions:

* Bytes are UTF-8; a leading BOM is dropped; a row with bytes that are not UTF-8 is rejected on
  its own ("not valid UTF-8") instead of failing the file. UTF-16 files are refused with a hint.
* CRLF, LF and CR line ends are all read. The delimiter is ``,``, or ``;`` / tab when the
  header only splits on those (spreadsheets in some locales export ``;``).
* Row numbers are what a spreadsheet shows: the header is row 1, every record (even blank, even
  one spanning several lines through a quoted newline) is one row.
* A row with fewer cells than the header is rejected (a cell is missing, so the answers after it
  cannot be trusted to be in their columns); a row with more cells is rejected unless the extra
  cells are blank (an unquoted ``1,5`` would otherwise shift every later answer silently).
* Blank rows (every cell empty) are skipped: spreadsheets append them.
* Blank answers (empty or whitespace) count as unanswered; they are simply absent from
  ``Submission.answers``.
* JSON answers may be text, numbers (read as their exact text, so ``0.1`` stays ``0.1``), true/
  false or null (= blank); lists and objects are rejected as unreadable values. A student or
  sheet given as a number (a student id ``20231234``) is read as its text.
* A part (``--part K/N``) is the K-th of N equal runs of the file's row numbers, blank rows
  included; only its rows are made into models, and they keep their numbers in the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from engine.errors import UsageError
from engine.grading.models import Rejected, Submission, SubmissionBatch

__all__ = ["parse_submissions", "parse_csv", "parse_json", "decode"]

Part = tuple[int, int]  # (k, n): the k-th (from 1) of n equal runs of a file's rows

MAX_RAW = 500  # characters of a rejected row kept in the report
_QUESTION_RE = re.compile(r"q(\d{1,4})")
_REQUIRED = ("student", "sheet")


def decode(data: bytes, source: str) -> str:
    """Text of a submissions file: UTF-8 (BOM dropped); undecodable bytes kept as surrogates.

    Raises:
        UsageError: a UTF-16/32 file (a byte-order mark says so).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(f"{source}: the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\")")
    # surrogateescape keeps a stray Latin-1 byte inside its row, so only that row is rejected.
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def parse_submissions(text: str, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from a decoded file, CSV or JSON (recognised from the first character).

    With ``part``, only the rows of that part are read; they keep their numbers in the whole file.
    """
    if text.lstrip()[:1] in ("[", "{"):
        return parse_json(text, source, part)
    return parse_csv(text, source, part)


def _rows_of(part: Part | None, first: int, last: int, unit: str, notices: list[str]) -> range:
    """The rows ``first..last`` of the file, or those of ``part`` (noted in ``notices``)."""
    if part is None:
        return range(first, last + 1)
    number, parts = part
    span = last - first + 1
    rows = range(first + span * (number - 1) // parts, first + span * number // parts)
    notices.append(f"part {number} of {parts}: {unit}s {rows.start} to {rows.stop - 1} only")
    return rows


# ---------------------------------------------------------------------------------------------
# CSV


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _has_bad_bytes(text: str) -> bool:
    """Bytes that were not UTF-8 (kept as surrogates by decode) or a lone surrogate from JSON."""
    return _SURROGATE_RE.search(text) is not None


def _printable(text: str) -> str:
    """The raw text as it can go into JSON and Markdown: bad bytes shown as U+FFFD, bounded."""
    clipped = text if len(text) <= MAX_RAW else text[:MAX_RAW] + "…"
    return _SURROGATE_RE.sub("\ufffd", clipped)


class _Lines:
    """Feeds csv.reader line by line and remembers the physical lines of the current record."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.current: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.current.append(line)
        return line

    def take(self) -> str:
        raw = "".join(self.current).rstrip("\r\n")
        self.current = []
        return raw


def _header_layout(cells: list[str], source: str) -> tuple[dict[str, int], dict[int, int], list[str]]:
    """Column of student and sheet, column of each question number, and ignored column names."""
    names = [c.strip().casefold() for c in cells]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:
            raise UsageError(f"{source}: row 1: column {cells[i].strip()!r} appears twice")
        seen[name] = i
    missing = [name for name in _REQUIRED if name not in seen]
    if missing:
        found = ", ".join(c.strip() for c in cells if c.strip()) or "nothing"
        raise UsageError(
            f"{source}: row 1: the header needs the columns student, sheet, q1, q2, ... "
            f"(missing {', '.join(missing)}; found {found})"
        )
    questions: dict[int, int] = {}
    ignored: list[str] = []
    for i, name in enumerate(names):
        match = _QUESTION_RE.fullmatch(name)
        if match and int(match.group(1)) >= 1:
            questions[int(match.group(1))] = i
        elif name not in _REQUIRED:
            ignored.append(cells[i].strip() or f"(unnamed column {i + 1})")
    return {name: seen[name] for name in _REQUIRED}, questions, ignored


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0].casefold()
    if "," not in first:
        for delimiter in (";", "\t"):
            if all(name in first for name in _REQUIRED) and delimiter in first:
                return delimiter
    return ","


def _last_row(text: str, delimiter: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = 0
    while True:
        try:
            next(reader)
        except StopIteration:
            return rows
        except csv.Error:
            pass
        rows += 1


def parse_csv(text: str, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from CSV text; bad rows become ``Rejected`` and the rest is still read.

    Raises:
        UsageError: no usable header (empty file, missing student/sheet column, duplicate column).
    """
    lines = _Lines(text)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{source}: the file is empty (expected a header student,sheet,q1,...)") from None
    except csv.Error as err:
        raise UsageError(f"{source}: row 1: unreadable header ({err})") from None
    lines.take()
    if _has_bad_bytes("".join(header)):
        raise UsageError(f"{source}: row 1: the header is not valid UTF-8; save the file as UTF-8")
    columns, questions, ignored = _header_layout(header, source)
    notices = []
    if ignored:
        notices.append(f"{source}: ignored column{'s' if len(ignored) > 1 else ''}: {', '.join(ignored)}")
    rows = _rows_of(part, 2, _last_row(text, delimiter) if part else 0, "row", notices)
    submissions: list[Submission] = []
    rejected: list[Rejected] = []
    row = 1
    while True:
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raw = lines.take()
            if part is None or row in rows:
                rejected.append(Rejected(row=row, reason=f"unreadable row ({err})", raw=_printable(raw)))
            continue
        raw = lines.take()
        if (part is not None and row not in rows) or not any(cell.strip() for cell in cells):
            continue
        outcome = _csv_row(row, cells, len(header), columns, questions, raw)
        if isinstance(outcome, Submission):
            submissions.append(outcome)
        else:
            rejected.append(outcome)
    return SubmissionBatch(format="csv", unit="row", submissions=submissions, rejected=rejected,
                           notices=notices, questions=sorted(questions))


def _csv_row(row: int, cells: list[str], width: int, columns: dict[str, int],
             questions: dict[int, int], raw: str) -> Submission | Rejected:
    def reject(reason: str) -> Rejected:
        return Rejected(row=row, reason=reason, raw=_printable(raw))

    if len(cells) < width:
        hint = " (an unclosed quote may have joined it with the lines after it)" if "\n" in raw else ""
        return reject(f"{len(cells)} cells, the header has {width}{hint}")
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return reject(f"{len(cells)} cells, the header has {width} "
                      "(quote answers that contain the delimiter, e.g. \"1,5\")")
    used = [cells[i] for i in (*columns.values(), *questions.values())]
    if _has_bad_bytes("".join(used)):
        return reject("not valid UTF-8 text (save the file as UTF-8)")
    student = cells[columns["student"]].strip()
    sheet = cells[columns["sheet"]].strip()
    if not student:
        return reject("no student")
    if not sheet:
        return reject("no sheet id")
    answers = {number: cells[i] for number, i in questions.items() if cells[i].strip()}
    return Submission(row=row, student=student, sheet=sheet, answers=answers, raw=_printable(raw))


# ---------------------------------------------------------------------------------------------
# JSON


def _keep_number_text(text: str) -> str:
    return text


def _answer_text(value: Any) -> str | None:
    """Text of one JSON answer; None when blank. Raises ValueError for lists/objects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value.strip() else None
    raise ValueError("a list or object, not an answer")


def parse_json(text: str, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from a JSON list; a bad entry becomes ``Rejected`` and the rest is still read.

    Raises:
        UsageError: not valid JSON, or not a list.
    """
    try:
        # Numbers keep the exact text they were written as (0.1 stays 0.1, 1e400 stays 1e400).
        data = json.loads(text, parse_float=_keep_number_text, parse_int=_keep_number_text,
                          parse_constant=_keep_number_text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{source}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    except (RecursionError, ValueError):
        raise UsageError(f"{source}: not valid JSON (too deeply nested)") from None
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a JSON list of {{student, sheet, answers}} objects")
    submissions: list[Submission] = []
    rejected: list[Rejected] = []
    extra_keys: set[str] = set()
    ignored_answers: set[str] = set()
    numbers: set[int] = set()
    notices: list[str] = []
    entries = _rows_of(part, 1, len(data), "entry", notices)
    for entry_number in entries:
        entry = data[entry_number - 1]
        outcome = _json_entry(entry_number, entry, extra_keys, ignored_answers, numbers)
        if isinstance(outcome, Submission):
            submissions.append(outcome)
        else:
            rejected.append(outcome)
    if extra_keys:
        notices.append(f"{source}: ignored key{'s' if len(extra_keys) > 1 else ''}: "
                       f"{', '.join(sorted(extra_keys))}")
    if ignored_answers:
        shown = sorted(ignored_answers)[:10]
        notices.append(f"{source}: ignored answer key{'s' if len(ignored_answers) > 1 else ''} "
                       f"(not q1, q2, ...): {', '.join(shown)}{' ...' if len(ignored_answers) > 10 else ''}")
    return SubmissionBatch(format="json", unit="entry", submissions=submissions, rejected=rejected,
                           notices=notices, questions=sorted(numbers))


def _raw_json(entry: Any) -> str:
    try:
        return _printable(json.dumps(entry, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - parsed JSON re-encodes
        return _printable(repr(entry))


def _json_entry(number: int, entry: Any, extra_keys: set[str], ignored_answers: set[str],
                numbers: set[int]) -> Submission | Rejected:
    def reject(reason: str) -> Rejected:
        return Rejected(row=number, reason=reason, raw=_raw_json(entry))

    if not isinstance(entry, dict):
        return reject("expected an object {student, sheet, answers}")
    extra_keys.update(_printable(k[:40]) for k in entry if k not in ("student", "sheet", "answers"))
    fields: dict[str, str] = {}
    for name in _REQUIRED:
        value = entry.get(name)
        if isinstance(value, bool) or not isinstance(value, str):
            return reject(f"{name}: expected text" if value is not None else f"no {name}")
        if not value.strip():
            return reject(f"no {name}")
        if _has_bad_bytes(value):
            return reject(f"{name}: not valid Unicode text")
        fields[name] = value.strip()
    raw_answers = entry.get("answers", {})
    if raw_answers is None:
        raw_answers = {}
    if not isinstance(raw_answers, dict):
        return reject("answers: expected an object {\"q1\": ..., \"q2\": ...}")
    answers: dict[int, str] = {}
    for key, value in raw_answers.items():
        match = _QUESTION_RE.fullmatch(key.strip().casefold())
        if match is None or int(match.group(1)) < 1:
            ignored_answers.add(_printable(key[:20]))
            continue
        try:
            text = _answer_text(value)
        except ValueError as err:
            return reject(f"answers.{_printable(key[:20])}: unreadable value ({err})")
        if text is not None and _has_bad_bytes(text):
            return reject(f"answers.{_printable(key[:20])}: not valid Unicode text")
        numbers.add(int(match.group(1)))
        if text is not None:
            answers[int(match.group(1))] = text
    return Submission(row=number, student=fields["student"], sheet=fields["sheet"], answers=answers,
                      raw=_raw_json(entry))

