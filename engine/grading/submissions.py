"""Reading student submissions (CSV or JSON) into Submission models, with row numbers and rejections.

CSV: a header with ``student``, ``sheet`` and ``q1``, ``q2``, ... (any case, any order), then one
row per student. JSON: a list of ``{"student": ..., "sheet": ..., "answers": {"q1": ...}}``. The
format is recognised from the content (a JSON document starts with ``[`` or ``{``), not from the
file name.

Decisions:

* The encoding is found by ``encoding``. A row with bytes the encoding cannot decode is rejected
  on its own, naming the byte, its offset and ``--encoding cp1252``, instead of failing the file:
  the bad bytes cannot change how the other rows read, and one damaged byte does not hold up a
  class. The header must decode (it says where every cell goes).
* Other columns (an e-mail, a student number) are carried: each submission keeps their cells, in
  the header's order, for grades.csv. So are the other text, number and true/false fields of a
  JSON entry (at most ``MAX_CARRIED`` names; a field holding a list or object is ignored).
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

import contextlib
import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from typing import IO, Any

from engine.errors import UsageError
from engine.grading.encoding import Decoded, decode_bytes
from engine.grading.models import Rejected, Submission, SubmissionBatch
from engine.grading.rows import (
    QUESTION_RE,
    REQUIRED,
    Part,
    carried_names,
    has_bad_bytes,
    label_order,
    printable,
    question_label,
    rows_of,
)

__all__ = ["MAX_BYTES", "parse_submissions", "parse_csv", "parse_json", "decode", "read_bytes", "read_submissions"]

MAX_CARRIED = 50  # other fields of JSON entries carried into grades.csv (a CSV's header bounds its own)
# 100 000 students with 28 answers each take 20 to 60 MB; more than this is not a class but the
# wrong file, or an endless stream (`grade - < /dev/zero`), and is refused before it fills memory.
MAX_BYTES = 256 << 20
_CHUNK = 1 << 20


def read_bytes(stream: IO[bytes], source: str) -> bytes:
    """The bytes of a submissions file or stream, at most ``MAX_BYTES`` of them.

    Raises:
        UsageError: there are more (a regular file is measured before it is read).
    """
    limit = MAX_BYTES
    with contextlib.suppress(OSError, ValueError):  # a stream without a descriptor is only read
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise _too_large(source, limit)
    data = bytearray()
    while chunk := stream.read(min(_CHUNK, limit + 1 - len(data))):
        data += chunk
        if len(data) > limit:
            raise _too_large(source, limit)
    return bytes(data)


def _too_large(source: str, limit: int) -> UsageError:
    size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
    return UsageError(f"{source}: more than {size}, the most a submissions file may hold (a class of 100 000 "
                      "takes about 50 MB): is it the right file?")


decode = decode_bytes  # the text of a file: its encoding found, undecodable bytes kept as markers


def read_submissions(data: bytes, source: str, part: Part | None = None,
                     encoding: str | None = None) -> SubmissionBatch:
    """Submissions from the bytes of a file, CSV or JSON, in its encoding (see ``decode``)."""
    return parse_submissions(decode(data, source, encoding), source, part)


def parse_submissions(text: str | Decoded, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from a decoded file, CSV or JSON (recognised from the first character).

    With ``part``, only the rows of that part are read; they keep their numbers in the whole file.
    """
    body = text.text if isinstance(text, Decoded) else text
    if body.lstrip()[:1] in ("[", "{"):
        return parse_json(text, source, part)
    return parse_csv(text, source, part)


# ---------------------------------------------------------------------------------------------
# CSV


class _Lines:
    """Feeds csv.reader line by line and remembers the physical lines of the current record."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self.current: list[str] = []
        self.start = 0  # where the current record begins in the text
        self._next_start = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.current.append(line)
        return line

    def take(self) -> str:
        """The current record as read (line end dropped); ``start`` says where it began."""
        whole = "".join(self.current)
        self.start, self._next_start = self._next_start, self._next_start + len(whole)
        self.current = []
        return whole.rstrip("\r\n")


class _Layout:
    """Where the cells of a record go: student, sheet, each question, and the carried columns."""

    def __init__(self, cells: list[str], source: str) -> None:
        names = [c.strip().casefold() for c in cells]
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name and name in seen:
                raise UsageError(f"{source}: row 1: column {cells[i].strip()!r} appears twice")
            seen[name] = i
        missing = [name for name in REQUIRED if name not in seen]
        if missing:
            found = ", ".join(c.strip() for c in cells if c.strip()) or "nothing"
            raise UsageError(
                f"{source}: row 1: the header needs the columns student, sheet, q1, q2, ... "
                f"(missing {', '.join(missing)}; found {found})"
            )
        self.width = len(cells)
        self.student, self.sheet = seen["student"], seen["sheet"]
        self.questions: dict[str, int] = {}
        self.carried: dict[str, int] = {}  # name as written -> column
        self.ignored: list[str] = []
        for i, name in enumerate(names):
            match = QUESTION_RE.fullmatch(name)
            label = question_label(match) if match else None
            if label is not None:
                self.questions[label] = i
            elif not name:
                self.ignored.append(f"(unnamed column {i + 1})")
            elif name not in REQUIRED:
                self.carried[cells[i].strip()] = i
        self.used = [self.student, self.sheet, *self.questions.values(), *self.carried.values()]


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0].casefold()
    if "," not in first:
        for delimiter in (";", "\t"):
            if all(name in first for name in REQUIRED) and delimiter in first:
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


def _header(reader: Iterator[list[str]], lines: _Lines, decoded: Decoded) -> _Layout:
    source = decoded.source
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{source}: the file is empty (expected a header student,sheet,q1,...)") from None
    except csv.Error as err:
        raise UsageError(f"{source}: row 1: unreadable header ({err})") from None
    raw = lines.take()
    if decoded.has_bad_bytes(raw):
        raise UsageError(f"{source}: row 1: the header cannot be read: "
                         f"{decoded.first_problem(raw, lines.start, naming=False)}")
    return _Layout(header, source)


def parse_csv(text: str | Decoded, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from CSV text; bad rows become ``Rejected`` and the rest is still read.

    Raises:
        UsageError: no usable header (empty file, missing student/sheet column, duplicate column).
    """
    decoded = text if isinstance(text, Decoded) else Decoded(text, source)
    lines = _Lines(decoded.text)
    delimiter = _sniff_delimiter(decoded.text)
    reader = csv.reader(lines, delimiter=delimiter)
    layout = _header(reader, lines, decoded)
    notices = list(decoded.notices)
    names = carried_names(list(layout.carried), source, notices)
    layout.carried = {names[name]: column for name, column in layout.carried.items()}
    if layout.ignored:
        notices.append(f"{source}: ignored column{'s' if len(layout.ignored) > 1 else ''}: "
                       f"{', '.join(layout.ignored)}")
    rows = rows_of(part, 2, _last_row(decoded.text, delimiter) if part else 0, "row", notices)
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
                rejected.append(Rejected(row=row, reason=f"unreadable row ({err})", raw=printable(raw)))
            continue
        raw = lines.take()
        if (part is not None and row not in rows) or not any(cell.strip() for cell in cells):
            continue
        outcome = _csv_row(row, cells, layout, raw, decoded, lines.start)
        if isinstance(outcome, Submission):
            submissions.append(outcome)
        else:
            rejected.append(outcome)
    return SubmissionBatch(format="csv", unit="row", submissions=submissions, rejected=rejected,
                           notices=notices, questions=sorted(layout.questions, key=label_order),
                           carried=list(layout.carried))


def _csv_row(row: int, cells: list[str], layout: _Layout, raw: str, decoded: Decoded,
             start: int) -> Submission | Rejected:
    def reject(reason: str) -> Rejected:
        return Rejected(row=row, reason=reason, raw=printable(raw))

    # Bad bytes first: a file in another encoding explains a wrong number of cells too.
    if decoded.has_bad_bytes("".join(cells[i] for i in layout.used if i < len(cells))):
        return reject(decoded.first_problem(raw, start))
    width = layout.width
    if len(cells) < width:
        hint = " (an unclosed quote may have joined it with the lines after it)" if "\n" in raw else ""
        return reject(f"{len(cells)} cells, the header has {width}{hint}")
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return reject(f"{len(cells)} cells, the header has {width} "
                      "(quote answers that contain the delimiter, e.g. \"1,5\")")
    student = cells[layout.student].strip()
    sheet = cells[layout.sheet].strip()
    if not student:
        return reject("no student")
    if not sheet:
        return reject("no sheet id")
    answers = {number: cells[i] for number, i in layout.questions.items() if cells[i].strip()}
    carried = {name: cells[i] for name, i in layout.carried.items()}
    return Submission(row=row, student=student, sheet=sheet, answers=answers, carried=carried,
                      raw=printable(raw))


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


def parse_json(text: str | Decoded, source: str, part: Part | None = None) -> SubmissionBatch:
    """Submissions from a JSON list; a bad entry becomes ``Rejected`` and the rest is still read.

    Raises:
        UsageError: not valid JSON, or not a list.
    """
    decoded = text if isinstance(text, Decoded) else Decoded(text, source)
    try:
        # Numbers keep the exact text they were written as (0.1 stays 0.1, 1e400 stays 1e400).
        data = json.loads(decoded.text, parse_float=_keep_number_text, parse_int=_keep_number_text,
                          parse_constant=_keep_number_text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{source}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    except (RecursionError, ValueError):
        raise UsageError(f"{source}: not valid JSON (too deeply nested)") from None
    if not isinstance(data, list):
        raise UsageError(f"{source}: expected a JSON list of {{student, sheet, answers}} objects")
    notices = list(decoded.notices)
    if decoded.has_bad_bytes():
        notices.append(f"{source}: {decoded.first_problem(decoded.text, 0, naming=False)}")
    reader = _JsonEntries(decoded, data, notices)
    submissions: list[Submission] = []
    rejected: list[Rejected] = []
    for entry_number in rows_of(part, 1, len(data), "entry", notices):
        outcome = reader.entry(entry_number, data[entry_number - 1])
        if isinstance(outcome, Submission):
            submissions.append(outcome)
        else:
            rejected.append(outcome)
    if reader.ignored_keys:
        notices.append(f"{source}: ignored key{'s' if len(reader.ignored_keys) > 1 else ''}: "
                       f"{', '.join(reader.ignored_keys)}")
    if reader.ignored_answers:
        shown = sorted(reader.ignored_answers)[:10]
        notices.append(f"{source}: ignored answer key{'s' if len(reader.ignored_answers) > 1 else ''} "
                       f"(not q1, q2, ...): {', '.join(shown)}{' ...' if len(reader.ignored_answers) > 10 else ''}")
    return SubmissionBatch(format="json", unit="entry", submissions=submissions, rejected=rejected,
                           notices=notices, questions=sorted(reader.numbers, key=label_order),
                           carried=reader.carried)


def _raw_json(entry: Any) -> str:
    try:
        return printable(json.dumps(entry, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - parsed JSON re-encodes
        return printable(repr(entry))


def _field_text(value: Any) -> str | None:
    """A carried field's text: text and numbers as written, true/false, null as blank; else None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else None


class _JsonEntries:
    """Reads entries one by one; knows the fields carried over the whole file, so parts agree."""

    def __init__(self, decoded: Decoded, data: list[Any], notices: list[str]) -> None:
        self.bad_text = f"not valid {decoded.name} text{decoded.hint()}" if decoded.has_bad_bytes() else \
            "not valid Unicode text"
        self.ignored_answers: set[str] = set()
        self.numbers: set[str] = set()
        fields: dict[str, bool] = {}  # name -> every value of it can be carried
        for entry in data:
            if isinstance(entry, dict):
                for key, value in entry.items():
                    if key not in ("student", "sheet", "answers"):
                        fields[key] = fields.get(key, True) and _field_text(value) is not None
        # A top-level q1 is an answer put in the wrong place: carrying it would hide that it is ignored.
        usable = [key for key, ok in fields.items()
                  if ok and not has_bad_bytes(key) and not QUESTION_RE.fullmatch(key.strip().casefold())]
        self.names = carried_names(usable[:MAX_CARRIED], decoded.source, notices)
        self.carried = list(self.names.values())
        self.ignored_keys = [printable(key[:40]) for key in fields if key not in self.names]

    def entry(self, number: int, entry: Any) -> Submission | Rejected:
        """The submission of one entry, or why it is rejected."""
        def reject(reason: str) -> Rejected:
            return Rejected(row=number, reason=reason, raw=_raw_json(entry))

        if not isinstance(entry, dict):
            return reject("expected an object {student, sheet, answers}")
        fields: dict[str, str] = {}
        for name in REQUIRED:
            value = entry.get(name)
            if isinstance(value, bool) or not isinstance(value, str):
                return reject(f"{name}: expected text" if value is not None else f"no {name}")
            if not value.strip():
                return reject(f"no {name}")
            if has_bad_bytes(value):
                return reject(f"{name}: {self.bad_text}")
            fields[name] = value.strip()
        carried = {name: _field_text(entry.get(key)) or "" for key, name in self.names.items()}
        for key, value in zip(self.names, carried.values(), strict=True):
            if has_bad_bytes(value):
                return reject(f"{printable(key[:40])}: {self.bad_text}")
        answers = self._answers(entry.get("answers", {}))
        if isinstance(answers, str):
            return reject(answers)
        return Submission(row=number, student=fields["student"], sheet=fields["sheet"], answers=answers,
                          carried=carried, raw=_raw_json(entry))

    def _answers(self, raw_answers: Any) -> dict[str, str] | str:
        """The answers by question number, or why they cannot be read."""
        if raw_answers is None:
            return {}
        if not isinstance(raw_answers, dict):
            return "answers: expected an object {\"q1\": ..., \"q2\": ...}"
        answers: dict[str, str] = {}
        for key, value in raw_answers.items():
            match = QUESTION_RE.fullmatch(key.strip().casefold())
            label = question_label(match) if match else None
            if label is None:
                self.ignored_answers.add(printable(key[:20]))
                continue
            try:
                text = _answer_text(value)
            except ValueError as err:
                return f"answers.{printable(key[:20])}: unreadable value ({err})"
            if text is not None and has_bad_bytes(text):
                return f"answers.{printable(key[:20])}: {self.bad_text}"
            self.numbers.add(label)
            if text is not None:
                answers[label] = text
        return answers
