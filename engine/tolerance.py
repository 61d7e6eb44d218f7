"""The tolerance of a numeric answer: the one model of the words, kept apart from
`engine.vocabulary` so that a command that only needs the words does not import pydantic."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from engine.language.tokens import DECIMAL
from engine.vocabulary import ToleranceKind

# The grammar's decimal literal with a sign; exponents stay short so that a bound is a
# number of ordinary size.
_DECIMAL = re.compile(r"[+-]?" + DECIMAL)
_MAX_EXPONENT_DIGITS = 4


class Tolerance(BaseModel):
    """Exactly one of an absolute or a relative tolerance, as decimal strings."""

    # defer_build: built on first use, as the exercise models (engine.authoring.spec.Strict).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    absolute: str | None = None
    relative: str | None = None

    @field_validator("absolute", "relative", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # YAML and JSON read 0.01 as a float; its repr is the shortest exact decimal of what was
        # typed, so no binary rounding reaches the bound.
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, int):
            return str(value)
        return value

    @field_validator("absolute", "relative")
    @classmethod
    def _decimal(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _DECIMAL.fullmatch(value.strip())
        if not match or len((match.group(2) or "").lstrip("+-")) > _MAX_EXPONENT_DIGITS:
            raise ValueError("must be a decimal number such as 0.01")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern already rules this out
            raise ValueError("must be a decimal number such as 0.01") from None
        if number < 0:
            raise ValueError("must not be negative")
        return value.strip()

    @model_validator(mode="after")
    def _one(self) -> Tolerance:
        if (self.absolute is None) == (self.relative is None):
            raise ValueError("give exactly one of absolute or relative")
        return self

    @property
    def kind(self) -> ToleranceKind:
        return "absolute" if self.absolute is not None else "relative"

    @property
    def text(self) -> str:
        """The tolerance as written (a float through its repr)."""
        return self.absolute if self.absolute is not None else str(self.relative)

    @property
    def value(self) -> Decimal:
        return Decimal(self.text)
