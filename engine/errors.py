"""The root exception, the typed errors the engine raises, and the one formatter of pydantic errors.

Every error the engine raises on purpose is a `QuizwrightError`; the CLI turns one into
`Error: ...` lines in one place. Input errors say where, then what: `file:line: field.path: message`.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Union, get_args, get_origin

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


class OutputError(QuizwrightError):
    """A file that could not be written: `cannot write PATH: reason`, naming the user's path."""

    def __init__(self, path: object, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"cannot write {path}: {reason}")


# ---------------------------------------------------------------------------------------------
# pydantic errors -> problems

_ABSENT = object()
_NAMED = re.compile(r"^([a-z_]\w*): (.+)$", re.DOTALL)
_SHOULD = "Input should be "
_MISSING = "required field is missing"
# A hostile file can hold 100 000 wrong values: a person reads the first hundred problems.
MAX_PROBLEMS = 100


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
            # No member was picked, so a misspelt tag key is reported by no other error.
            keys = [str(key) for key in node] if isinstance(node, Mapping) else []
            close = difflib.get_close_matches(name, keys, n=1, cutoff=0.75)
            if close and name.isidentifier():
                return (*loc[:-1], close[0]), f"unknown field {close[0]!r} (did you mean {name!r}?)", "", False
            return tuple(loc), _MISSING, "", False
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return tuple(loc), f"{name} must be one of {tags}", f" (got {ctx.get('tag')!r})", False
    if kind == "extra_forbidden":
        return tuple(loc), "unknown field (check the spelling)", "", False
    if kind == "missing":
        return tuple(loc), _MISSING, "", False
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
    model: Any = None,
) -> list[Problem]:
    """Every error of `exc` as a Problem at its real field path in `data` (the input as parsed),
    in line order; the alternatives of one union field are merged into one problem.

    `line_of` maps a path to its line in the file; `root` names a problem of the whole document.
    With `model` (the type validated), an unknown field is matched against the fields of its level:
    "did you mean ...?", and the required field it misspells is not reported as missing too.
    """
    entries: list[tuple[Loc, list[str], str]] = []
    unions: dict[Loc, list[str]] = {}
    meant: set[Loc] = set()  # the fields that unknown ones stand for; (level, "*"): any of that level
    for error in exc.errors():
        loc, message, got, tagged = _located(error, data)
        if error["type"] == "extra_forbidden" and model is not None and loc:
            message, stands_for = _unknown_field(model, error["loc"], str(loc[-1]))
            if stands_for is not None:
                meant.add((*loc[:-1], stands_for))
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
        if not (messages == [_MISSING] and (loc in meant or (*loc[:-1], "*") in meant))
    ]
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems[MAX_PROBLEMS:] = [Problem(f"{rest} more problems, not listed: fix the {MAX_PROBLEMS} above first",
                                           path)]
    return problems


def _unknown_field(model: Any, raw: Loc, name: str) -> tuple[str, str | None]:
    """`unknown field 'qestion' (did you mean 'question'?)`, or the fields allowed at that level;
    and the field the misspelling stands for ("*": a field of another member of a tagged union,
    so that the missing fields of the member picked are beside the point)."""
    found = _fields_at(model, raw[:-1])
    if found is None:
        return f"unknown field {name!r} (check the spelling)", None
    own, others = found
    close = difflib.get_close_matches(name, [*own, *others], n=1, cutoff=0.6)
    if not close:
        return f"unknown field {name!r} (allowed here: {', '.join(sorted(own))})", None
    return f"unknown field {name!r} (did you mean {close[0]!r}?)", close[0] if close[0] in own else "*"


def _fields_at(model: Any, raw: Loc) -> tuple[list[str], list[str]] | None:
    """The field names of the model a pydantic error path reaches, and those of the other members
    of the tagged union it was picked from (a misspelt key can change the member)."""
    node, others = model, []
    parts = list(raw)
    while True:
        node, meta = _unwrap(node)
        members = _union_members(node)
        if members is not None:
            picked = _pick(members, meta, parts[0] if parts else None)
            if picked is None:
                return None
            node, tag, tagged = picked
            if tag:
                parts.pop(0)
            others = [f for member, _ in members for f in _own(member) if f not in _own(node)] if tagged else []
            continue
        if not parts:
            fields = _own(node)
            return (fields, others) if fields else None
        part, others = parts.pop(0), []
        if hasattr(node, "model_fields") and part in node.model_fields:
            node = node.model_fields[part].annotation
        elif get_origin(node) is dict and not str(part).startswith("["):
            node = get_args(node)[1]
        elif get_origin(node) is list and isinstance(part, int):
            node = get_args(node)[0]
        else:
            return None


def _unwrap(node: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(node) is Annotated:
        inner, *meta = get_args(node)
        return inner, tuple(meta)
    return node, ()


def _union_members(node: Any) -> list[tuple[Any, Any]] | None:
    """(member, its Tag or None) of a union, else None."""
    if get_origin(node) not in (Union, types.UnionType):
        return None
    return [(inner, next((m for m in meta if hasattr(m, "tag")), None))
            for inner, meta in map(_unwrap, get_args(node))]


def _pick(members: list[tuple[Any, Any]], meta: tuple[Any, ...], part: Any) -> tuple[Any, bool, bool] | None:
    """The member a path part names: (member, whether the part was its tag, whether tags decided)."""
    for member, tag in members:
        if tag is not None and tag.tag == part:
            return member, True, True
    field = next((m.discriminator for m in meta if isinstance(getattr(m, "discriminator", None), str)), None)
    for member, _ in members:
        annotation = getattr(member, "model_fields", {}).get(field)
        if annotation is not None and part in get_args(annotation.annotation):
            return member, True, False
    for member, _ in members:
        if getattr(member, "__name__", None) == part:
            return member, True, False
    models = [member for member, _ in members if hasattr(member, "model_fields")]
    return (models[0], False, False) if len(models) == 1 else None


def _own(node: Any) -> list[str]:
    return list(getattr(node, "model_fields", {}))


def _either(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    if len(unique) > 1 and all(m.startswith(_SHOULD) for m in unique):
        return _SHOULD + " or ".join(m.removeprefix(_SHOULD) for m in unique)
    return " or ".join(unique)
