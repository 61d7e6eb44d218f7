"""Pydantic models of the answer checker's boundary: a CompareRequest in, a Verdict out."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from engine.grading.checker.formula import ASSUMPTIONS, expected_names, make_symbols

__all__ = [
    "AbsoluteTolerance",
    "CompareRequest",
    "Kind",
    "RelativeTolerance",
    "Status",
    "Verdict",
]

Status = Literal["correct", "incorrect", "invalid", "undecided", "unanswered"]
Kind = Literal["formula", "numeric", "integer", "choice", "true_false"]
Assumption = Literal["real", "positive", "nonnegative", "integer", "positive_integer"]
assert set(ASSUMPTIONS) == set(Assumption.__args__)  # type: ignore[attr-defined]

_DECIMAL_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Verdict(_Strict):
    """The outcome of checking one answer; ``message`` is written for the student."""

    status: Status
    message: str
    normalized: str | None = None
    feedback: str | None = None

    def to_json(self) -> str:
        """Compact JSON with keys in the fixed order status, message, normalized, feedback."""
        return self.model_dump_json(exclude_none=True)


def _exact_decimal(value: Any) -> Decimal:
    """Decimal of a tolerance given as text or a JSON number (floats via repr, never arithmetic)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value.strip()):
        raise ValueError("must be a decimal number such as 0.01")
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise ValueError("must be a decimal number such as 0.01") from None


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


# A tolerance: exact decimal from text or a JSON number, never negative.
ToleranceValue = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_not_negative)]


class RelativeTolerance(_Strict):
    """Accept |response − expected| <= relative · |expected|."""

    relative: ToleranceValue


class AbsoluteTolerance(_Strict):
    """Accept |response − expected| <= absolute."""

    absolute: ToleranceValue


def _tolerance_tag(value: Any) -> str | None:
    data = value if isinstance(value, dict) else getattr(value, "__dict__", {})
    if "relative" in data:
        return "relative-tolerance"
    if "absolute" in data:
        return "absolute-tolerance"
    return None


def _vars_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "vars-mapping"
    if isinstance(value, list):
        return "vars-list"
    return None


# Tagged unions: one clear error per mistake instead of one per union member. Tags contain a
# hyphen so error locations can drop them (field names never do).
Tolerance = Annotated[
    Annotated[RelativeTolerance, Tag("relative-tolerance")]
    | Annotated[AbsoluteTolerance, Tag("absolute-tolerance")],
    Discriminator(
        _tolerance_tag,
        custom_error_type="tolerance",
        custom_error_message='must be {"relative": x} or {"absolute": x}',
    ),
]
Vars = Annotated[
    Annotated[dict[str, Assumption], Tag("vars-mapping")] | Annotated[list[str], Tag("vars-list")],
    Discriminator(
        _vars_tag,
        custom_error_type="vars",
        custom_error_message="must map names to assumptions or list names",
    ),
]


class CompareRequest(_Strict):
    """One answer to check against the expected answer of one question.

    ``vars`` declares the formula variables: a mapping name → assumption, or a list of names
    (all real). ``tolerance`` applies to numeric answers, ``options`` (the number of options) to
    choice answers.
    """

    kind: Kind
    expected: str | int | float | bool
    response: str
    vars: Vars | None = None
    tolerance: Tolerance | None = None
    options: int | None = Field(None, ge=1, le=1000)

    @field_validator("expected", mode="before")
    @classmethod
    def _expected_scalar(cls, value: Any) -> Any:
        if not isinstance(value, str | int | float):  # bool is an int
            raise ValueError("must be text, a number or true/false")
        return value

    @field_validator("vars")
    @classmethod
    def _variable_names(cls, value: dict[str, str] | list[str] | None) -> Any:
        if value is not None:
            names = value if isinstance(value, list) else list(value)
            make_symbols(dict.fromkeys(names, "real"))  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _options_for_choice(self) -> CompareRequest:
        if self.kind == "choice" and self.options is None:
            raise ValueError("options: a choice question needs the number of options")
        if self.kind != "choice" and self.options is not None:
            raise ValueError(f"options: only used with kind choice, not {self.kind}")
        return self

    @model_validator(mode="after")
    def _tolerance_for_numeric(self) -> CompareRequest:
        if self.kind != "numeric" and self.tolerance is not None:
            raise ValueError(f"tolerance: only used with kind numeric, not {self.kind}")
        return self

    @model_validator(mode="after")
    def _vars_for_formula(self) -> CompareRequest:
        if self.kind != "formula" and self.vars:
            raise ValueError(f"vars: only used with kind formula, not {self.kind}")
        return self

    def symbols(self) -> dict[str, str]:
        """Declared variables as name → assumption (a list means all real).

        A formula request without `vars` declares the names its expected answer uses (real).
        """
        if self.vars is None:
            return expected_names(str(self.expected)) if self.kind == "formula" else {}
        if isinstance(self.vars, list):
            return dict.fromkeys(self.vars, "real")
        return dict(self.vars)

    def tolerance_mapping(self) -> dict[str, str] | None:
        """The tolerance as ``{"absolute": "0.005"}`` / ``{"relative": "0.01"}``."""
        if isinstance(self.tolerance, RelativeTolerance):
            return {"relative": str(self.tolerance.relative)}
        if isinstance(self.tolerance, AbsoluteTolerance):
            return {"absolute": str(self.tolerance.absolute)}
        return None
