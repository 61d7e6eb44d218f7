"""Reading a saved key (the JSON export) copy by copy, so memory does not grow with the file.

Decisions:

* The file is read in chunks; each copy is validated as a ``Copy`` model when it is reached and
  handed on, the header (any order of its fields) as a ``QuizHeader`` at the end.
* The JSON export writes one copy per line: that line is validated straight from its text. A copy
  laid out otherwise (a file pretty-printed by another tool) is found by the JSON decoder instead.
* Every problem names the file and where: bytes that are not UTF-8 or not JSON by line, column and
  byte offset; a field that is not a key's by line and field path.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

from pydantic import ValidationError

from engine.errors import Problem, UsageError, validation_problems
from engine.generation.quiz import Copy, QuizHeader

__all__ = ["KeyFile"]

CHUNK = 1 << 20
WINDOW = 1 << 16  # bytes first decoded to read one value; doubled while the value goes on
LINE_LIMIT = 16 << 20  # a longer line is not read whole to try it as one copy
# A copy of the export is tens of kB, a header field less: a value this long is not a key's, and one
# that never ends (`--key /dev/urandom`, a FIFO) must not fill memory.
VALUE_LIMIT = 64 << 20
_HINT = "make the key with `quizwright generate --format json`"
_SPACE = b" \t\n\r"
# A JSON error this near the end of the text decoded may come from a cut value, not a bad one.
_CUT_MARGIN = 64
# Python's decoder keeps a lone surrogate escape (``"\\ud800"``) as it is; pydantic's refuses it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class KeyFile:
    """A saved key, read once: each copy is handed on as it is validated, the header is returned."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: IO[bytes] | None = None
        self._buffer = b""
        self._pos = 0  # the next byte to read
        self._mark = 0  # the start of the value being read: kept in the buffer until it is whole
        self._eof = False
        self._start = 0  # the byte offset of the buffer in the file
        self._decoder = json.JSONDecoder()
        self._broken: list[Problem] = []  # of the first copy that is not valid

    def read(self, each: Callable[[Copy], None], progress: Callable[[int, int], None] | None = None) -> QuizHeader:
        """Call ``each`` with every copy of the key, validated, in file order; the validated header.

        ``progress`` is told the copies read of the header's count (0 when it comes after them).

        Raises:
            UsageError: the file cannot be read, or is not a key (naming where).
        """
        try:
            with self.path.open("rb") as stream:
                self._stream = stream
                return self._document(each, progress)
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read ({exc.strerror or exc})") from None

    # -- the document ---------------------------------------------------------------------------

    def _document(self, each: Callable[[Copy], None], progress: Callable[[int, int], None] | None) -> QuizHeader:
        header: dict[str, Any] = {}
        offsets: dict[str, int] = {}
        read = 0  # copies in the list of copies
        self._expect(b"{", "a JSON object (the quiz)")
        while self._peek() != b"}":
            if offsets:
                self._expect(b",", "',' or '}'")
            name = self._value()
            if not isinstance(name, str):
                self._fail("expected a field name in double quotes", self._mark)
            if name == "copies" and read:
                # pydantic keeps the last list, but this one's copies are handed on already
                self._fail("a second list of copies", self._mark)
            offsets[name] = self._start + self._mark
            self._expect(b":", "':'")
            if name == "copies":
                count = header.get("count")  # the export writes it before the copies
                read = self._copies(each, progress, count if type(count) is int and count > 0 else 0)
            else:
                header[name] = self._value()
        self._pos += 1
        if self._peek() != b"":
            self._fail("extra data after the quiz")
        return self._validate_header(header, offsets)

    def _copies(self, each: Callable[[Copy], None], progress: Callable[[int, int], None] | None, total: int) -> int:
        """Read the list of copies; the number of copies in it."""
        self._expect(b"[", "a list of copies")
        number = 0
        while self._peek() != b"]":
            if number:
                self._expect(b",", "',' or ']'")
                self._peek()
            copy = self._copy(number)
            if copy is not None and not self._broken:
                each(copy)
            number += 1
            if progress is not None:
                progress(number, total)
        self._pos += 1
        return number

    def _copy(self, number: int) -> Copy | None:
        """Copy ``number``, or None when it is not valid (its problems are reported with the header's)."""
        self._mark = self._pos
        end = self._buffer.find(b"\n", self._pos)
        while end < 0 and len(self._buffer) - self._pos < LINE_LIMIT and self._more():
            end = self._buffer.find(b"\n", self._pos)
        if end > 0:
            text = self._buffer[self._pos:end].rstrip(b" \t\r,")
            try:
                copy = Copy.model_validate_json(text)
            except ValidationError as exc:
                if any(e["type"] != "json_invalid" for e in exc.errors()):
                    self._invalid(exc, json.loads(text), number)
                    self._pos += len(text)
                    return None
            else:
                self._pos += len(text)
                return copy
        data = self._value()
        try:
            return Copy.model_validate(data)
        except ValidationError as exc:
            self._invalid(exc, data, number)
            return None

    def _validate_header(self, header: dict[str, Any], offsets: dict[str, int]) -> QuizHeader:
        problems: list[Problem] = []
        try:
            quiz = QuizHeader.model_validate(header)
        except ValidationError as exc:
            problems = validation_problems(exc, header, path=str(self.path), root="document",
                                           line_of=lambda loc: self._line_of(offsets.get(str(loc[0]) if loc else "")))
        if "copies" not in offsets:
            problems.append(Problem("required field is missing", str(self.path), None, "copies"))
        problems = sorted([*problems, *self._broken], key=lambda p: (p.line is None, p.line or 0))
        if problems:
            raise UsageError("\n".join([f"{self.path}: not a quizwright JSON export; {_HINT}",
                                        *(p.render() for p in problems)]))
        return quiz

    def _invalid(self, exc: ValidationError, data: Any, number: int) -> None:
        if not self._broken:
            line = self._line_of(self._start + self._mark)
            self._broken = [p._replace(field=f"copies[{number}]" + ("." + p.field if p.field else ""))
                            for p in validation_problems(exc, data, path=str(self.path), line_of=lambda _: line)]

    # -- the bytes ------------------------------------------------------------------------------

    def _peek(self) -> bytes:
        """The next byte that is not white space (b"" at the end), left unread."""
        while True:
            end = len(self._buffer)
            while self._pos < end and self._buffer[self._pos] in _SPACE:
                self._pos += 1
            if self._pos < end:
                return self._buffer[self._pos:self._pos + 1]
            self._mark = self._pos  # white space read is dropped, so endless white space takes no memory
            if not self._more():
                return b""

    def _expect(self, byte: bytes, what: str) -> None:
        if self._peek() != byte:
            self._fail(f"expected {what}")
        self._pos += 1

    def _value(self) -> Any:
        """The next JSON value, decoded from a window that grows until the value is whole."""
        self._peek()
        self._mark = self._pos
        window = WINDOW
        while True:
            raw = self._buffer[self._mark:self._mark + window]
            more = self._mark + window < len(self._buffer) or not self._eof
            try:
                text = codecs.utf_8_decode(raw, "strict", not more)[0]
            except UnicodeDecodeError as exc:
                raise UsageError(f"{self.path}: not a quizwright JSON export (not UTF-8 text at byte "
                                 f"{self._start + self._mark + exc.start}); {_HINT}") from None
            try:
                value, end = self._decoder.raw_decode(text)
            except json.JSONDecodeError as exc:
                if more and (exc.pos >= len(text) - _CUT_MARGIN or exc.msg.startswith("Unterminated string")):
                    window = self._widen(window)
                    continue
                self._fail(exc.msg, self._mark + len(text[:exc.pos].encode()))
            except ValueError as exc:  # an integer beyond Python's 4300 digits (pydantic refuses it too)
                if more:  # or the mantissa of a number the window cut
                    window = self._widen(window)
                    continue
                self._fail(str(exc), self._mark)
            if end < len(text) or not more:  # a number that ends with the text may go on after it
                if _SURROGATE_ESCAPE.search(text, 0, end) and _lone_surrogate(value):
                    self._fail("a string holds half of a UTF-16 surrogate pair", self._mark)
                self._pos = self._mark + len(text[:end].encode())
                return value
            window = self._widen(window)

    def _widen(self, window: int) -> int:
        if len(self._buffer) - self._mark > VALUE_LIMIT:
            limit = f"{VALUE_LIMIT >> 20} MiB" if VALUE_LIMIT >= 1 << 20 else f"{VALUE_LIMIT} bytes"
            self._fail(f"a value longer than {limit}", self._mark)
        if self._mark + window >= len(self._buffer):
            self._more()
        return window * 2

    def _more(self) -> bool:
        """Read another chunk, dropping what was read before the mark; False at the end of the file."""
        if self._eof or self._stream is None:
            return False
        self._start += self._mark
        chunk = self._stream.read(CHUNK)
        self._eof = not chunk
        self._buffer = self._buffer[self._mark:] + chunk
        self._pos -= self._mark
        self._mark = 0
        return bool(chunk)

    def _fail(self, message: str, pos: int | None = None) -> NoReturn:
        byte = self._start + (self._pos if pos is None else pos)
        where = f"byte {byte}"
        if self.path.is_file():  # a FIFO or a device cannot be read again to count lines
            line, column = self._line_and_column(byte)
            where = f"line {line}, column {column}, {where}"
        raise UsageError(f"{self.path}: not a quizwright JSON export (invalid JSON at {where}: {message}); {_HINT}")

    def _line_of(self, byte: int | None) -> int | None:
        return None if byte is None or not self.path.is_file() else self._line_and_column(byte)[0]

    def _line_and_column(self, byte: int) -> tuple[int, int]:
        """Line and column (from 1) of a byte offset: the file is read again, as only an error needs them."""
        lines, column = 1, 1
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        with self.path.open("rb") as stream:
            while byte > 0 and (chunk := stream.read(min(CHUNK, byte))):
                byte -= len(chunk)
                newline = chunk.rfind(b"\n")
                lines += chunk.count(b"\n")
                if newline >= 0:
                    decoder.reset()
                    column = 1
                column += len(decoder.decode(chunk[newline + 1:]))
        return lines, column


def _lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate (which UTF-8 cannot encode)."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False
