"""The text of a submissions file: its encoding (byte-order mark, UTF-8 or --encoding), bad bytes kept.

Decisions:

* Without ``--encoding``, a file is UTF-8, or UTF-16/UTF-32 when it starts with their byte-order
  mark (Excel's "CSV UTF-8" and "Unicode text"); the mark is dropped. A mark also wins over an
  ``--encoding`` of another family, with a notice: no CSV starts with ``ï»¿`` on purpose.
* A byte the encoding cannot decode is kept as a marker (U+DC00 + the byte, like
  ``surrogateescape``), so only the row that holds it is rejected, naming the byte and its offset.
* The hint for bytes that are not UTF-8 is ``--encoding cp1252``: Excel's plain "CSV" on a
  Western European Windows.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from engine.errors import UsageError

__all__ = ["Decoded", "check_encoding", "decode_bytes"]

_HANDLER = "quizwright.bytes"
_MARKER = re.compile("[\udc00-\udcff]")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Codecs whose encoder writes a mark of its own: offsets are measured with the plain form.
_WITHOUT_MARK = {"utf-8-sig": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}


def _mark(err: UnicodeError) -> tuple[str | bytes, int]:
    """Decoding: each bad byte becomes U+DC00 + byte; encoding: such markers become their bytes again."""
    if isinstance(err, UnicodeDecodeError):
        return "".join(chr(0xDC00 + byte) for byte in err.object[err.start:err.end]), err.end
    if isinstance(err, UnicodeEncodeError):
        text = err.object[err.start:err.end]
        if all(_MARKER.match(ch) for ch in text):
            return bytes(ord(ch) - 0xDC00 for ch in text), err.end
    raise err


codecs.register_error(_HANDLER, _mark)


def check_encoding(name: str) -> str:
    """The canonical name of a text encoding (``cp1252`` for ``Windows-1252``).

    Raises:
        UsageError: no such encoding, or one that is not for text (base64, rot13).
    """
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError(f"--encoding: unknown text encoding {name[:40]!r} (for example utf-8, utf-16, "
                         "cp1252, latin-1)")
    return info.name


def _family(codec: str) -> str:
    return codec[:6] if codec.startswith(("utf-16", "utf-32")) else "utf-8" if codec.startswith("utf-8") else codec


@dataclass
class Decoded:
    """A file's text, with what is needed to point at its bad bytes and to hint at a fix."""

    text: str
    source: str
    codec: str = "utf-8"
    start: int = 0  # bytes before the text: a byte-order mark
    given: bool = False  # the encoding came from --encoding
    notices: tuple[str, ...] = ()
    _measured: tuple[int, int] = (0, 0)  # (characters, bytes) of the text measured so far

    @property
    def name(self) -> str:
        """The encoding as messages name it."""
        return "UTF-8" if self.codec == "utf-8" else self.codec

    def has_bad_bytes(self, text: str | None = None) -> bool:
        """Whether ``text`` (default: the whole file) holds bytes the encoding could not decode."""
        return _MARKER.search(self.text if text is None else text) is not None

    def offset(self, char: int) -> int:
        """The byte offset in the file of the character at ``char`` (cheap when asked in order)."""
        chars, size = self._measured
        if char < chars:
            chars, size = 0, 0
        size += len(self.text[chars:char].encode(self.codec, _HANDLER))
        self._measured = (char, size)
        return self.start + size

    def problem(self, char: int, naming: bool = True) -> str:
        """What is wrong at ``char`` (a marker): the byte, its offset (in the file, if ``naming``), a hint."""
        byte = ord(self.text[char]) - 0xDC00
        try:
            where = f" at byte {self.offset(char)}" + (f" of {self.source}" if naming else "")
        except UnicodeError:  # a stateful codec (iso2022) does not encode a piece as it decoded it
            where = f" in {self.source}" if naming else ""
        return f"byte 0x{byte:02X}{where} is not valid {self.name}{self.hint()}"

    def first_problem(self, text: str, start: int, naming: bool = True) -> str:
        """``problem`` for the first marker of ``text``, which begins at ``start`` in the file's text."""
        found = _MARKER.search(text)
        return self.problem(start + found.start(), naming) if found else f"not valid {self.name} text"

    def hint(self) -> str:
        if self.given:
            return f" (read with --encoding {self.codec}; is that the file's encoding?)"
        if self.codec == "utf-8":
            return (" (Excel's \"CSV\" on Windows is Windows-1252: grade it with --encoding cp1252, "
                    "or save it as \"CSV UTF-8\")")
        return " (the file may be damaged)"


def _codec_for(data: bytes, given: str | None) -> tuple[str, int, str | None]:
    """The codec to decode with, the length of the byte-order mark, and a notice."""
    for mark, codec in _BOMS:
        if data.startswith(mark):
            if given is not None and _family(given) != _family(codec):
                family = _family(codec).upper()
                return codec, len(mark), (f"the file starts with a {family} byte-order mark: read as {family}, "
                                          f"not {given} (--encoding)")
            return codec, len(mark), None
    if given is None:
        return "utf-8", 0, None
    return _WITHOUT_MARK.get(given, given), 0, None


def decode_bytes(data: bytes, source: str, encoding: str | None = None) -> Decoded:
    """The text of a submissions file; bad bytes stay in it as markers (see ``Decoded``).

    Raises:
        UsageError: an unknown ``encoding``, or a NUL byte first (UTF-16 without a mark).
    """
    given = check_encoding(encoding) if encoding is not None else None
    codec, start, notice = _codec_for(data, given)
    if given is None and start == 0 and b"\x00" in data[:2]:  # no CSV or JSON starts with NUL
        raise UsageError(f"{source}: a NUL byte at the start of the file: a UTF-16 file without a byte-order mark? "
                         "Pass --encoding utf-16-le (or utf-16-be)")
    try:
        text = str(memoryview(data)[start:], codec, _HANDLER)
    except UnicodeError as err:  # a codec that is not for files (idna, punycode)
        raise UsageError(f"{source}: cannot be read as {codec} ({err})") from None
    if text.startswith("\ufeff"):  # a mark the codec itself does not drop (utf-16-le given, say)
        start += len("\ufeff".encode(codec, _HANDLER))
        text = text[1:]
    notices = [f"{source}: {notice}"] if notice else []
    if given is not None and _family(codec) != "utf-8" and not data.isascii() and _is_utf8(data):
        notices.append(f"{source}: the file is valid UTF-8 but was read as {given} (--encoding): "
                       "check the names in grades.csv")
    return Decoded(text, source, codec, start, given is not None, tuple(notices))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
