"""Skeleton rendering: a Jinja template rendered once per *shape*, then filled per record.

Rendering an output template through Jinja for every question costs far more than the question
itself. A template whose control flow reads only a few values can be rendered once per
combination of those values with every data field replaced by a Slot; each record is then
written by applying the template's own transforms to its real values between literal pieces,
which gives exactly the bytes a direct render gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
from markupsafe import Markup, escape

from engine.errors import QuizwrightError


def escape_str(value: object) -> str:
    """``str(markupsafe.escape(value))``, what autoescape makes of a bare ``{{ value }}``."""
    return str(escape(value))


_SLOT_MARK = "\x00"  # never in a template's literal text (checked), nor in XML
# Token n is NUL, n, an apostrophe, n spelled in letters, NUL. A filter that altered it
# (replace, upper, truncate, ...) leaves a NUL in the literal text, or a number that disagrees
# with its spelling, or a token missing. The apostrophe shows whether autoescape escaped the
# token afterwards (to &#39;), as it does with `{{ q.name ~ "!" }}`: str() first, then escape().
_SLOT_TOKEN = re.compile("\x00([0-9]+)('|&#39;)([a-j]+)\x00")
_SPELLING = str.maketrans("0123456789", "abcdefghij")
AUTOESCAPE, STR = "autoescape", "str"


class SkeletonError(QuizwrightError):
    """A template used a data field where a skeleton cannot stand in for it (control flow...)."""


class _Recorder:
    """The tokens issued while one skeleton renders: token n stands for entries[n]."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Slot]] = []  # (transform, field)

    def token(self, transform: str, slot: Slot) -> str:
        self.entries.append((transform, slot))
        n = str(len(self.entries) - 1)
        return f"{_SLOT_MARK}{n}'{n.translate(_SPELLING)}{_SLOT_MARK}"


def _refusing(operation: str) -> Callable[..., Any]:
    def refuse(self: Slot, *args: object, **kwargs: object) -> Any:
        raise SkeletonError(
            f"the template uses the data field {self.name} in {operation}; a skeleton is rendered "
            "once per shape, so only shape values may steer it: pass this value as part of the "
            "shape (see QuestionShape / compile_skeleton) or only output it"
        )

    return refuse


class Slot:
    """Stand-in for one data field while a skeleton renders: it can be output, nothing else.

    Output bare, it becomes a token for autoescape (``__html__``, which ``markupsafe.escape``
    calls) or, without autoescape, for ``str`` (``__str__``); given to a helper such as ``text()``
    (in its skeleton version), it becomes that helper's token.

    Every other use raises SkeletonError, loudly. A skeleton is rendered once and reused for
    every question of its shape, so a template that tested a data field (``{% if q.graderinfo
    %}``, ``q.penalty == "0"``, ``q.name|length``) would bake the answer the marker gave into
    every question and write wrong XML without any error. (``is none`` cannot be intercepted:
    a field whose none-ness matters, like an answer's tolerance, is part of the shape and is
    passed as the real None.)
    """

    __slots__ = ("_recorder", "index", "name")

    def __init__(self, recorder: _Recorder, index: int, name: str) -> None:
        self._recorder = recorder
        self.index = index
        self.name = name

    def __html__(self) -> str:
        return self._recorder.token(AUTOESCAPE, self)

    def __str__(self) -> str:
        return self._recorder.token(STR, self)

    def __repr__(self) -> str:
        return f"<slot {self.name}>"

    __bool__ = _refusing("a condition (truth value)")
    __eq__ = _refusing("a comparison (==)")
    __ne__ = _refusing("a comparison (!=)")
    __lt__ = _refusing("a comparison (<)")
    __le__ = _refusing("a comparison (<=)")
    __gt__ = _refusing("a comparison (>)")
    __ge__ = _refusing("a comparison (>=)")
    __hash__ = _refusing("a hash (set, dict key, ...)")
    __len__ = _refusing("len() or |length")
    __iter__ = _refusing("a loop or a filter that iterates")
    __contains__ = _refusing("an `in` test")
    __getitem__ = _refusing("an attribute or item lookup")
    __add__ = __radd__ = _refusing("arithmetic (+)")
    __sub__ = __rsub__ = _refusing("arithmetic (-)")
    __mul__ = __rmul__ = _refusing("arithmetic (*)")
    __mod__ = __rmod__ = _refusing("arithmetic or formatting (%)")
    __truediv__ = __rtruediv__ = _refusing("arithmetic (/)")
    __floordiv__ = __rfloordiv__ = _refusing("arithmetic (//)")
    __pow__ = __rpow__ = _refusing("arithmetic (**)")
    __neg__ = __pos__ = __abs__ = _refusing("arithmetic")
    __int__ = __float__ = __index__ = _refusing("a number conversion")


# A helper the template calls, by name: (the helper itself, the same transform returning a
# plain str, used at fill time: str(helper(v)) == transform(v) for every v).
Helpers = Mapping[str, tuple[Callable[[Any], Any], Callable[[Any], str]]]


def _skeleton_helper(
    recorder: _Recorder, name: str, helper: Callable[[Any], Any]
) -> Callable[..., Any]:
    def skeleton_version(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, Slot) and not args and not kwargs:
            return Markup(recorder.token(name, value))
        for arg in (value, *args, *kwargs.values()):
            if isinstance(arg, Slot) or (isinstance(arg, str) and _SLOT_MARK in arg):
                raise SkeletonError(
                    f"the template passes a data field to {name}() with other arguments or "
                    "combined with other text; a skeleton can only apply a helper to a field alone"
                )
        return helper(value, *args, **kwargs)  # a constant: its result is literal text

    return skeleton_version


class Skeleton:
    """A template rendered for one shape: literal pieces with a transformed field between each two."""

    __slots__ = ("literals", "slots", "_parts")

    def __init__(self, literals: list[str], slots: list[tuple[Callable[[Any], str], int]]) -> None:
        assert len(literals) == len(slots) + 1
        self.literals = literals
        self.slots = slots
        self._parts: list[str] = [""] * (2 * len(literals) - 1)
        self._parts[0::2] = literals

    def fill(self, values: Sequence[Any]) -> str:
        """The template's output for a question of this shape whose data fields are `values`."""
        parts = self._parts.copy()
        parts[1::2] = [transform(values[i]) for transform, i in self.slots]
        return "".join(parts)

    def bind(self, fixed: Mapping[int, Any]) -> Skeleton:
        """This skeleton with the fields `fixed` gives (by index) written in as literal text.

        `bound.fill(values)` equals `fill(values)` for every `values` that agrees with `fixed`.
        """
        literals = [self.literals[0]]
        slots = []
        for (transform, i), literal in zip(self.slots, self.literals[1:], strict=True):
            if i in fixed:
                literals[-1] += transform(fixed[i]) + literal
            else:
                slots.append((transform, i))
                literals.append(literal)
        return Skeleton(literals, slots)


def compile_skeleton(
    template: jinja2.Template,
    context: Callable[[Callable[[int, str], Slot]], dict[str, Any]],
    helpers: Helpers,
) -> Skeleton:
    """Render `template` once as a Skeleton.

    `context(slot)` returns the render context for one shape: real values for everything the
    template's control flow reads, and ``slot(index, name)`` for every data field, `index`
    being the field's position in the values :meth:`Skeleton.fill` later receives. `helpers`
    are the transforms the template calls by name (passed to it under those names).
    """
    recorder = _Recorder()
    ctx = context(lambda index, name: Slot(recorder, index, name))
    for name, (helper, _) in helpers.items():
        ctx[name] = _skeleton_helper(recorder, name, helper)
    pieces = _SLOT_TOKEN.split(template.render(ctx))
    where = f"template {template.name or '<string>'}"
    literals = pieces[0::4]
    tokens = list(zip(pieces[1::4], pieces[2::4], pieces[3::4], strict=True))
    if any(_SLOT_MARK in literal for literal in literals) or any(
        n.translate(_SPELLING) != spelled or int(n) >= len(recorder.entries)
        for n, _, spelled in tokens
    ):
        raise SkeletonError(
            f"{where}: a data field's slot was altered by a filter or an operation (a skeleton "
            "can only output a field, bare or through a helper), or the template writes a NUL "
            "character itself"
        )
    unused = set(range(len(recorder.entries))) - {int(n) for n, _, _ in tokens}
    if unused:
        transform, slot = recorder.entries[min(unused)]
        raise SkeletonError(
            f"{where}: {slot.name} went through {transform} but the result is not in the output "
            "(stored, measured or discarded): a skeleton can only output a field, bare or "
            "through a helper"
        )
    transforms: dict[str, Callable[[Any], str]] = {AUTOESCAPE: escape_str, STR: str}
    transforms.update((name, transform) for name, (_, transform) in helpers.items())
    slots = []
    for n, apostrophe, _ in tokens:
        transform, slot = recorder.entries[int(n)]
        if apostrophe != "'":  # the token was escaped after it was made
            if transform != STR:
                raise SkeletonError(
                    f"{where}: the result of {transform} on {slot.name} is escaped again"
                )
            # str(value) and then escape(): escape() of a str value, a Markup value unescaped
            # (markup_join keeps it Markup), which is escape_str(value) either way.
            transform = AUTOESCAPE
        slots.append((transforms[transform], slot.index))
    return Skeleton(literals, slots)
