"""Pydantic models of the answer checker's boundary: a CompareRequest in, a Verdict out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from engine.grading.checker.formula import check_symbols, expected_names
from engine.tolerance import Tolerance
from engine.vocabulary import Assumption, CheckKind

__all__ = [
    "CompareRequest",
    "KeyFault",
    "Status",
    "Verdict",
]

# "partial": some credit, less than full (only answers to a question with several correct options).
Status = Literal["correct", "incorrect", "invalid", "undecided", "unanswered", "partial"]
# Why an answer was not decided because of the expected answer (the key), not the response:
# "broken" (unreadable, not a value of the kind) or "too_costly" (over the sandbox's limits).
KeyFault = Literal["broken", "too_costly"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Verdict(_Strict):
    """The outcome of checking one answer; ``message`` is written for the student.

    ``key_fault`` is set when the expected answer is to blame; the status is then "undecided".
    """

    status: Status
    message: str
    normalized: str | None = None
    feedback: str | None = None
    key_fault: KeyFault | None = None
    credit: str | None = Field(None, description="Share of the points earned, exact ('2/3'); options answers only.")

    @model_validator(mode="after")
    def _fault_is_undecided(self) -> Verdict:
        if self.key_fault is not None and self.status != "undecided":
            raise ValueError("a verdict with a key fault is undecided")
        return self

    def to_json(self) -> str:
        """Compact JSON, keys in the fixed order status, message, normalized, feedback, key_fault, credit."""
        return self.model_dump_json(exclude_none=True)


def _vars_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "vars-mapping"
    if isinstance(value, list):
        return "vars-list"
    return None


# A tagged union: one clear error per mistake instead of one per union member.
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
    choice and options answers; an options answer's ``expected`` lists the correct ones ("1,3").
    """

    kind: CheckKind
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
            check_symbols(dict.fromkeys(names, "real"))  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _options_for_choice(self) -> CompareRequest:
        if self.kind in ("choice", "options") and self.options is None:
            question = "a choice question" if self.kind == "choice" else "an options (select all) question"
            raise ValueError(f"options: {question} needs the number of options")
        if self.kind not in ("choice", "options") and self.options is not None:
            raise ValueError(f"options: only used with kind choice or options, not {self.kind}")
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
            # Only text can name variables (str() of a huge int would raise).
            text = self.expected if isinstance(self.expected, str) else ""
            return expected_names(text) if self.kind == "formula" else {}
        if isinstance(self.vars, list):
            return dict.fromkeys(self.vars, "real")
        return dict(self.vars)

    def tolerance_mapping(self) -> dict[str, str] | None:
        """The tolerance as ``{"absolute": "0.005"}`` / ``{"relative": "0.01"}``."""
        return {self.tolerance.kind: self.tolerance.text} if self.tolerance is not None else None
