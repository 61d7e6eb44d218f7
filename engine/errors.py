"""The root exception, the typed errors the engine raises, and the one formatter of pydantic errors.

Every error the engine raises on purpose is a `QuizwrightError`; the CLI turns one into
`Error: ...` lines in one place. Input errors say where, then what: `file:line: field.path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


class QuizwrightError(Exception):
    """Root of every error the engine raises on purpose."""


class Problem(NamedTuple):
    """One input mistake: where (file, line, field) and what."""

    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None

    def render(self) -> str:
        """`path:line: field: message`, leaving out the parts that are unknown."""
        where = (self.path or "") + (f":{self.line}" if self.path and self.line is not None else "")
        return ": ".join(part for part in (where, self.field, self.message) if part)


class TemplateError(QuizwrightError):
    """A broken exercise template or bank file: one or more problems, one line each.

    Example: ``exercises/wi/he.yaml:7: params.n_in.max: must be >= min (got 2 < 8)``
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        more: Sequence[Problem] = (),
    ) -> None:
        self.problems = (Problem(message, str(path) if path is not None else None, line, field), *more)
        self.message, self.path, self.line, self.field = self.problems[0]
        super().__init__(self.render())

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> TemplateError:
        """The error listing every problem of `problems` (at least one)."""
        first, *more = problems
        return cls(first.message, path=first.path, line=first.line, field=first.field, more=more)

    def render(self) -> str:
        return "\n".join(p._replace(path=p.path or "<exercise>").render() for p in self.problems)


class UsageError(QuizwrightError):
    """A request the engine cannot satisfy as asked (unknown exercise, bad --param, ...)."""


# ---------------------------------------------------------------------------------------------
# pydantic errors -> problems

_ABSENT = object()
_NAMED = re.compile(r"^([a-z_]\w*): (.+)$", re.DOTALL)
_SHOULD = "Input should be "


def dotted(loc: Sequence[str | int]) -> str:
    """`params.n_in.max`, `options[1].text`: a field path as authors write it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, Mapping):
        if part in node:
            return node[part]
        return next((value for key, value in node.items() if str(key) == str(part)), _ABSENT)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _ABSENT


def _walk(error: ErrorDetails, data: Any) -> tuple[list[str | int], Any, bool]:
    """The real path of an error's loc in data, the node it reaches, and whether the loc ends in a
    part that is no key of the data (a union member's tag)."""
    loc = error["loc"]
    node, real, tagged = data, [], False
    for i, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            node, tagged = child, False
            real.append(part)
        elif i == len(loc) - 1 and error["type"] == "missing":
            real.append(part)  # the field that is not there
        else:
            tagged = True  # a tag pydantic adds (union member, discriminator): not in the data
    return real, node, tagged


def _located(error: ErrorDetails, data: Any) -> tuple[Loc, str, str, bool]:
    """The real path of one pydantic error, its message, the input it got (as ` (got ...)`, or
    empty), and whether the error is one union member's."""
    loc, node, tagged = _walk(error, data)
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        name = str(ctx.get("discriminator", "")).strip("'")
        if name.isidentifier():
            loc.append(name)
        if kind == "union_tag_not_found":
            return tuple(loc), "required field is missing", "", False
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return tuple(loc), f"{name} must be one of {tags}", f" (got {ctx.get('tag')!r})", False
    if kind == "extra_forbidden":
        return tuple(loc), "unknown field (check the spelling)", "", False
    if kind == "missing":
        return tuple(loc), "required field is missing", "", False
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error" and isinstance(node, Mapping) and (match := _NAMED.match(message)):
        # A whole-model rule names the field it is about at the start of its message.
        loc.append(match.group(1))
        message = match.group(2)
    value, got = error.get("input"), ""
    if kind != "model_type" and (value is None or isinstance(value, str | int | float)):
        shown = repr(value)
        got = f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return tuple(loc), message, got, tagged


def validation_problems(
    exc: ValidationError,
    data: Any,
    *,
    path: str | None = None,
    line_of: Callable[[Loc], int | None] | None = None,
    root: str | None = None,
) -> list[Problem]:
    """Every error of `exc` as a Problem at its real field path in `data` (the input as parsed),
    in line order; the alternatives of one union field are merged into one problem.

    `line_of` maps a path to its line in the file; `root` names a problem of the whole document.
    """
    entries: list[tuple[Loc, list[str], str]] = []
    unions: dict[Loc, list[str]] = {}
    for error in exc.errors():
        loc, message, got, tagged = _located(error, data)
        if tagged and loc in unions:
            unions[loc].append(message)
            continue
        messages = [message]
        entries.append((loc, messages, got))
        if tagged:
            unions[loc] = messages
    problems = [
        Problem(_either(messages) + got, path, line_of(loc) if line_of else None, dotted(loc) or root)
        for loc, messages, got in entries
    ]
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def _either(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    if len(unique) > 1 and all(m.startswith(_SHOULD) for m in unique):
        return _SHOULD + " or ".join(m.removeprefix(_SHOULD) for m in unique)
    return " or ".join(unique)
