"""Batches of answers: one JSON request per line in, one verdict line out per line, in order.

Lines are read with a size cap: a line longer than ``MAX_LINE_BYTES`` is answered "invalid" with
its number and skipped in bounded chunks, so it is never held in memory whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from engine.errors import validation_problems
from engine.grading.checker.compare import Comparer
from engine.grading.checker.sandbox import Sandbox
from engine.grading.checker.verdict import CompareRequest, Verdict

__all__ = ["MAX_LINE_BYTES", "Overlong", "compare_batch", "compare_stream", "read_lines"]

MAX_LINE_BYTES = 1_000_000  # 1 MB, not counting the line end
_SKIP_CHUNK = 64 * 1024

_FLAGGED_ERROR = "could not be checked (internal error); flagged for a person"


@dataclass(frozen=True)
class Overlong:
    """A line longer than the cap; only its length was read."""

    size: int  # bytes, without the line end


class Lines(Protocol):
    """A binary stream: ``readline(size)`` returns at most ``size`` bytes, b"" at the end."""

    def readline(self, size: int = -1, /) -> bytes: ...


def read_lines(stream: Lines, limit: int = MAX_LINE_BYTES) -> Iterator[str | Overlong]:
    """Lines split on \\n only (as ``wc -l`` counts them), as UTF-8 (bad bytes become U+FFFD), a
    leading BOM dropped; a line over ``limit`` bytes is an ``Overlong``, skipped in bounded chunks."""
    first = True
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            while (chunk := stream.readline(_SKIP_CHUNK)) and not chunk.endswith(b"\n"):
                size += len(chunk)
            yield Overlong(size + len(chunk.rstrip(b"\n")))
        else:
            text = line.decode("utf-8", errors="replace")
            yield text.removeprefix("\ufeff") if first else text
        first = False


def _validation_message(err: ValidationError, data: dict[str, Any]) -> str:
    return "; ".join(problem.render() for problem in validation_problems(err, data))


def _invalid(number: int, reason: str) -> Verdict:
    return Verdict(status="invalid", message=f"line {number}: {reason}")


def _line_verdict(number: int, line: str | Overlong, session: Comparer) -> Verdict:
    if isinstance(line, Overlong):
        return _invalid(number, f"longer than {MAX_LINE_BYTES:,} bytes ({line.size:,}); not read")
    text = line.rstrip("\r\n")
    if not text.strip():
        return _invalid(number, "empty line")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return _invalid(number, f"not valid JSON ({err.msg} at column {err.colno})")
    except (RecursionError, ValueError):
        return _invalid(number, "not valid JSON (too deep or too large)")
    if not isinstance(data, dict):
        return _invalid(number, "expected a JSON object")
    try:
        request = CompareRequest.model_validate(data)
    except ValidationError as err:
        return _invalid(number, _validation_message(err, data))
    except (RecursionError, ValueError):
        return _invalid(number, "invalid request")
    return session.compare(request)


def compare_batch(lines: Iterable[str | Overlong], *, sandbox: Sandbox | None = None) -> Iterator[str]:
    """One compact JSON verdict per input line, in order, whatever the line holds.

    The batch is one run: one ``Comparer`` (over ``sandbox``, by default the process-wide one).
    """
    session = Comparer(sandbox)
    for number, line in enumerate(lines, start=1):
        try:
            verdict = _line_verdict(number, line, session)
        except Exception:  # noqa: BLE001 - a bug of ours on one line must not end the batch
            verdict = Verdict(status="undecided", message=f"line {number}: {_FLAGGED_ERROR}")
        try:
            yield verdict.to_json()
        except Exception:  # noqa: BLE001 - e.g. a lone surrogate that JSON cannot encode
            yield json.dumps(
                {"status": "undecided", "message": f"line {number}: {_FLAGGED_ERROR}"},
                separators=(",", ":"),
            )


def compare_stream(stream: Lines, *, sandbox: Sandbox | None = None) -> Iterator[str]:
    """``compare_batch`` over the capped lines of a binary stream."""
    return compare_batch(read_lines(stream), sandbox=sandbox)
