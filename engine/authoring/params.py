"""Parameter spaces of exercise templates: drawing, constraints, pinning and exact enumeration."""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from engine.language.decimals import keep_decimal
from engine.language.exact import CompiledExpr, compile_expr
from engine.language.values import ExprError, Value, from_sympy

# Spaces up to this many raw combinations are enumerated exactly when a count is needed.
ENUMERATION_LIMIT = 400_000


def variant_seed(quiz_seed: int, exercise_id: str, index: int) -> int:
    """Seed of one variant's own generator: independent of other exercises and of `hash()`.

    Example: ``variant_seed(7, "layer-size", 0)`` is the same on every run and machine.
    """
    digest = hashlib.sha256(f"quizwright:{quiz_seed}:{exercise_id}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


# A number written as a decimal: it stays one (0.05 prints as 0.05, and is exactly 1/20).
_DECIMAL = re.compile(r"\s*[+-]?\s*(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
# Decimal digits a YAML float keeps exactly: any decimal of at most 15 significant digits is
# recovered exactly from the float's shortest text (`repr`); a longer one may not be.
_FLOAT_DIGITS = 15


def parse_value(raw: int | float | str, where: str) -> Value:
    """An exact parameter value from YAML or the command line: 4, '1/2', '0.25', 0.25.

    A decimal (0.25 or '0.25') is a DecimalFraction: exact, and printed as the decimal it is.
    """
    if isinstance(raw, float):
        return _float_value(raw, where)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    try:
        value = from_sympy(compile_expr(str(raw), frozenset()).evaluate({}))
    except ExprError as exc:
        raise ExprError(f"{where}: not an exact number ({exc})") from None
    if not isinstance(value, int | Fraction) or isinstance(value, bool):
        raise ExprError(f"{where}: {raw!r} is not an exact rational number")
    return keep_decimal(value) if _DECIMAL.fullmatch(str(raw)) else value


def _float_value(raw: float, where: str) -> Value:
    """An unquoted YAML decimal, exactly as written: 0.1 is 1/10, not the binary float's value."""
    if not math.isfinite(raw):
        raise ExprError(f"{where}: {raw!r} is not a finite number")
    text = repr(raw)
    if len(Decimal(text).normalize().as_tuple().digits) > _FLOAT_DIGITS:
        raise ExprError(f"{where}: an unquoted number of more than {_FLOAT_DIGITS} significant digits is "
                        f"not kept exactly (it reads as {text}); write it in quotes")
    value = Fraction(text)
    return value.numerator if value.denominator == 1 else keep_decimal(value)


class Record:
    """One value of a record parameter: its fields by name, numbers exact and texts as written.

    Text reads a field as `[[ act.name ]]` (Jinja looks the name up by subscription, a record
    having no attribute of its own); `[[ act ]]` prints its first field.
    """

    __slots__ = ("_fields", "_hash")

    def __init__(self, fields: tuple[tuple[str, Value], ...]) -> None:
        self._fields = dict(fields)
        self._hash = hash(tuple(fields))

    def __getitem__(self, name: str) -> Value:
        return self._fields[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and self._fields == other._fields

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return str(next(iter(self._fields.values())))  # [[ act ]]: the first field

    def __repr__(self) -> str:
        return f"Record({self._fields!r})"


def record_fields(record: Record) -> dict[str, Value]:
    """A record's fields (not a method: text reads every name of a record as a field)."""
    return record._fields


class BadValue(ExprError):
    """A parameter value that cannot be read; `at` is its place under the parameter (["values", 2, "gain"])."""

    def __init__(self, message: str, at: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.at = at


Raw = int | float | str


def read_values(raw: list[Raw | dict[str, Raw]], where: str) -> tuple[Value, ...]:
    """A list parameter's values: all numbers, all texts (strings that do not read as an exact
    number, kept as written) or all records with the same fields."""
    records = [v for v in raw if isinstance(v, dict)]
    if not records:
        return _uniform([v for v in raw if not isinstance(v, dict)], where, lambda i: ("values", i))
    if len(records) != len(raw):
        i = next(i for i, v in enumerate(raw) if not isinstance(v, dict))
        raise BadValue(f"{where}: value {i + 1} is not a record, and others are: give every value "
                       "as a record with the same fields", ("values", i))
    keys = list(records[0])
    for i, record in enumerate(records):
        if set(record) != set(keys):
            raise BadValue(f"{where}: record {i + 1} has the fields {', '.join(record)}, record 1 has "
                           f"{', '.join(keys)} (every record has the same fields)", ("values", i))
    columns = [_uniform([r[key] for r in records], f"{where}.{key}", functools.partial(_field_at, key))
               for key in keys]
    return tuple(Record(tuple(zip(keys, row, strict=True))) for row in zip(*columns, strict=True))


def _field_at(key: str, i: int) -> tuple[str | int, ...]:
    return ("values", i, key)


def _uniform(raw: list[Raw], where: str, at: Callable[[int], tuple[str | int, ...]]) -> tuple[Value, ...]:
    """Values that are all numbers or all texts; a mix names the first value of the other kind."""
    values: list[Value] = []
    for item in raw:
        try:
            values.append(parse_value(item, where))
        except ExprError:
            if not isinstance(item, str):
                raise
            values.append(item)
    texts = [isinstance(v, str) for v in values]
    if any(texts) and not all(texts):
        i = texts.index(not texts[0])
        first, other = ("a text", "a number") if texts[0] else ("a number", "a text")
        raise BadValue(f"{where}: value {i + 1} ({raw[i]!r}) is {other}, value 1 ({raw[0]!r}) {first}: give "
                       "all numbers or all texts (a string that reads as an exact number, such as '1/2', "
                       "is a number)", at(i))
    return tuple(values)


def _text_reason(value: str) -> str:
    """Why a text value is not a number, for the message of an expression that uses it."""
    try:
        parse_value(value, repr(value))
    except ExprError as exc:
        if "not an exact rational number" in str(exc):
            return f"{value!r} is not an exact rational number"
    return f"{value!r} does not read as a number"


def refusals(name: str, values: Sequence[Value]) -> dict[str, str]:
    """What an expression that reads a text parameter, a record or a record's text field is told,
    by the name it reads."""
    first = values[0]
    if isinstance(first, str):
        return {name: f"{name} is a text parameter ({_text_reason(first)}); expressions use numbers"}
    if not isinstance(first, Record):
        return {}
    fields = record_fields(first)
    told = {name: f"{name} is a record parameter; expressions use its numeric fields ({name}.{next(iter(fields))}, ...)"}
    told |= {f"{name}.{f}": f"{name}.{f} is a text field; expressions use numbers"
             for f, value in fields.items() if isinstance(value, str)}
    return told


def printed_params(context: Mapping[str, Value], exact: Callable[[Value], str]) -> dict[str, str]:
    """A draw's parameters as the JSON export records them: numbers exact, texts as written, a
    record as its fields (act.name, act.gain), which follow it in the context."""
    return {name: value if isinstance(value, str) else exact(value)
            for name, value in context.items() if not isinstance(value, Record)}


@dataclass(frozen=True)
class Drawn:
    name: str
    values: Sequence[Value]

    @cached_property
    def positions(self) -> dict[Value, int]:
        """Index of each value (its first, when a list repeats one)."""
        positions: dict[Value, int] = {}
        for i, value in enumerate(self.values):
            positions.setdefault(value, i)
        return positions

    @cached_property
    def firsts(self) -> tuple[int, ...]:
        """For each index, the index of its value's first occurrence."""
        return tuple(self.positions[value] for value in self.values)

    @cached_property
    def kind(self) -> str:
        """'number', 'text' or 'record': what every value of the parameter is."""
        first = self.values[0]
        return "record" if isinstance(first, Record) else "text" if isinstance(first, str) else "number"

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """A record parameter's field names, in the order of its first record."""
        first = self.values[0]
        return tuple(record_fields(first)) if isinstance(first, Record) else ()

    def index(self, pin: Value) -> int | None:
        """Position of a pinned value: the value itself, or for a record the first whose first field equals it."""
        if self.kind == "record":
            return next((i for i, v in enumerate(self.values) if next(iter(record_fields(v).values())) == pin), None)
        return self.positions.get(pin)

    def domain(self) -> str:
        """The values, as a message shows them: '2..16', '2..16 step 2', '16, 32, 64', '1, 2, ..., 9'."""
        values = self.values
        if len(values) >= 3 and all(type(v) is int for v in values):
            step = values[1] - values[0]
            if step > 0 and all(b - a == step for a, b in itertools.pairwise(values)):
                return f"{values[0]}..{values[-1]}" + (f" step {step}" if step != 1 else "")
        shown = [str(v) for v in values]
        return ", ".join(shown if len(shown) <= 12 else [*shown[:10], "...", shown[-1]])


# The drawn "parameter" of a distractor pool's pick: not a name a template can write, and never
# printed (ParamSpace.names leaves it out), so that the pick is drawn, counted and kept distinct
# as every other drawn value is.
POOL_PICK = "pool:pick"


@dataclass(frozen=True)
class Derived:
    name: str
    expr: CompiledExpr


@dataclass(frozen=True)
class Constraint:
    index: int
    expr: CompiledExpr


@dataclass
class ParamSpace:
    """Drawn parameters (each uniform over its values), derived ones, and constraints."""

    drawn: list[Drawn]
    derived: list[Derived]
    constraints: list[Constraint]
    fixed: dict[str, Value] = field(default_factory=dict)

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every parameter's name, a record's fields (act.name) right after it."""
        drawn = [name for d in self.drawn if d.name != POOL_PICK
                 for name in (d.name, *(f"{d.name}.{f}" for f in d.fields))]
        return tuple(drawn) + tuple(d.name for d in self.derived)

    @cached_property
    def _records(self) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
        """Each record parameter and, per field, its name and the flat name expressions read (act.gain)."""
        return tuple((d.name, tuple((f, f"{d.name}.{f}") for f in d.fields)) for d in self.drawn if d.fields)

    def combination(self, values: tuple[Value, ...]) -> int:
        """Position of drawn values (in the drawn parameters' order) among all combinations: one
        small int per draw, so that remembering a hundred thousand draws costs little memory."""
        position = 0
        for param, value in zip(self.drawn, values, strict=True):
            position = position * len(param.values) + param.positions[value]
        return position

    def size(self) -> int:
        """Number of raw combinations of the drawn parameters (before constraints)."""
        total = 1
        for param in self.drawn:
            total *= len(param.values)
        return total

    def pinned(self, pins: Mapping[str, Value]) -> ParamSpace:
        """The same space with some drawn parameters fixed to one of their values each: the value
        as the parameter declares it (a pin 1/20 of a parameter declared 0.05 prints 0.05).

        Raises:
            KeyError: a pin that is not one of its parameter's values.
        """
        drawn = [Drawn(d.name, (d.values[_found(d.index(pins[d.name]), pins[d.name])],)) if d.name in pins else d
                 for d in self.drawn]
        fixed = {d.name: d.values[0] for d in drawn if d.name in pins}
        return ParamSpace(drawn, self.derived, self.constraints, {**self.fixed, **fixed})

    def complete(self, values: Mapping[str, Value], extra: Mapping[str, Value]) -> dict[str, Value]:
        """Add the derived parameters to drawn values; `extra` holds free symbols."""
        env: dict[str, Value] = {**extra, **values}
        for name, fields in self._records:
            record = env[name]
            for field_name, flat in fields:
                env[flat] = record[field_name]
        for param in self.derived:
            env[param.name] = param.expr.evaluate(env)
        return env

    def draw_combination(self, rng: random.Random) -> tuple[tuple[Value, ...], int]:
        """One uniform draw of the drawn parameters (in their order) and its combination."""
        values: list[Value] = []
        position = 0
        for param in self.drawn:
            # choice over the positions draws as choice over the values does
            i = rng.choice(range(len(param.values)))
            values.append(param.values[i])
            position = position * len(param.values) + param.firsts[i]
        return tuple(values), position

    def draw(self, rng: random.Random, extra: Mapping[str, Value]) -> dict[str, Value]:
        values, _ = self.draw_combination(rng)
        return self.complete({d.name: value for d, value in zip(self.drawn, values, strict=True)}, extra)

    def failed_constraint(self, env: Mapping[str, Value]) -> Constraint | None:
        for constraint in self.constraints:
            if not constraint.expr.truth(env):
                return constraint
        return None

    def combinations(self) -> Iterator[tuple[Value, ...]]:
        """Every combination of drawn values (each in the drawn parameters' order), in a fixed order."""
        return itertools.product(*(d.values for d in self.drawn))


def _found(index: int | None, pin: Value) -> int:
    if index is None:
        raise KeyError(pin)
    return index
