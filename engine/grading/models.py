"""Pydantic models of grading: submissions in, per-answer results, item analysis and the report out.

The JSON report written by ``quizwright grade`` is ``GradeReport.model_dump(mode="json")``; its
schema comes from these models (``GradeReport.model_json_schema()``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.generation.quiz import BankRef
from engine.vocabulary import Kind

# "partial": some of the points, not all (a question with several correct options).
AnswerStatus = Literal["correct", "incorrect", "invalid", "unanswered", "undecided", "partial"]
# The statuses every item's counts list; "partial" is added where an item can give partial credit.
STATUSES: tuple[AnswerStatus, ...] = ("correct", "incorrect", "invalid", "unanswered", "undecided")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# Input


class Submission(Frozen):
    """One student's answers to one worksheet, as read from a CSV row or a JSON entry."""

    row: int = Field(ge=1, description="Spreadsheet row (CSV, header = 1) or 1-based entry (JSON).")
    student: str = Field(min_length=1)
    sheet: str = Field(min_length=1, description="The sheet id as written, e.g. WI-7-0012.")
    answers: dict[str, str] = Field(
        default_factory=dict,
        description="Question label (\"1\" = q1, \"5a\" = q5a) -> raw answer; absent = blank.",
    )
    carried: dict[str, str] = Field(
        default_factory=dict, description="The other columns (an e-mail, ...), by name, as written."
    )
    raw: str = Field("", description="The row or entry as read, for the report if it is rejected.")

    @field_validator("answers", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        # A question number (1) names the question labelled "1".
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class Rejected(Frozen):
    """A row that could not be graded; nothing of it is lost: ``raw`` holds it as read."""

    row: int = Field(ge=1)
    reason: str
    raw: str


class SubmissionBatch(Frozen):
    """Everything read from one submissions file."""

    format: Literal["csv", "json"]
    unit: Literal["row", "entry"] = Field(description="How rejections name their position.")
    submissions: list[Submission]
    rejected: list[Rejected] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    questions: list[str] = Field(
        default_factory=list, description="Question labels (1, 5a) that occur as columns (CSV) or keys (JSON)."
    )
    carried: list[str] = Field(
        default_factory=list, description="The other columns (CSV) or fields (JSON), in order, for grades.csv."
    )

    @field_validator("questions", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        # A question number (1) names the question labelled "1".
        return [str(label) for label in value] if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# Results


class AnswerResult(Frozen):
    """The grade of one answer."""

    question: str = Field(description="q1, q2, ... in the order of the sheet's variants.")
    exercise: str
    variant: str = Field(description="Variant id.")
    kind: Kind
    response: str = Field(description="The raw answer (at most 200 characters kept).")
    normalized: str | None = Field(description="The canonical form the answer was graded as.")
    status: AnswerStatus
    points: int | float = Field(ge=0, description="An integer, or partial credit rounded half up to 2 decimals.")
    max_points: int = Field(ge=0)
    message: str = Field(description="Why: 'correct', 'incorrect', or what is wrong with the answer.")
    feedback: str | None = Field(None, description="Misconception feedback of a recognised wrong answer.")
    option: int | None = Field(None, description="Chosen option number (choice and true/false questions).")
    # Left out when absent: the results of other kinds are written as before.
    options: list[int] | None = Field(None, exclude_if=lambda options: options is None,
                                      description="Chosen option numbers (select all that apply).")


class SheetResult(Frozen):
    """One graded submission: every answer, the total and the percentage."""

    row: int
    student: str
    sheet: str = Field(description="Canonical sheet id, e.g. WI-7-0012.")
    carried: dict[str, str] = Field(default_factory=dict, description="The submission's other columns.")
    answers: list[AnswerResult]
    total: int | float = Field(description="The sum of the answers' points.")
    max: int
    percent: float = Field(description="100 · total / max, rounded half up to 2 decimals.")


class Bin(Frozen):
    label: str = Field(description="e.g. '90–100 %'; the last bin includes 100.")
    low: int
    high: int
    count: int


class Distribution(Frozen):
    """Percent scores of the graded sheets."""

    n: int
    mean: float | None
    median: float | None
    stdev: float | None = Field(description="Sample standard deviation (n − 1); null below 2 sheets.")
    min: float | None
    max: float | None
    bins: list[Bin]


class OptionCount(Frozen):
    """How often one option was chosen. Options are matched across shuffled variants by what they
    are (the correct one, or a distractor by its feedback), not by their printed number."""

    label: str = Field(description="The option's text on the first sheet that shows it.")
    correct: bool
    count: int
    share: float | None = Field(description="count / answers at this position.")


class GroupStats(Frozen):
    """Proportion correct of a group of answers (one variant, or one parameter value)."""

    label: str
    n: int
    correct: int = Field(description="Answers with all the points.")
    p: float | None = Field(description="Mean share of the points earned.")
    flagged: bool = Field(description="|p − p of the exercise| > 0.25 with n ≥ 5.")


class ParamStats(Frozen):
    name: str
    values: list[GroupStats]


class ItemStats(Frozen):
    """Item analysis of one question position (= one exercise: copy i holds variant i of each)."""

    question: str
    position: int
    exercise: str
    title: str
    kind: Kind
    n: int
    counts: dict[AnswerStatus, int]
    p: float | None = Field(description="Proportion correct: the mean share of the points earned (partial credit counts its share).")
    discrimination: float | None = Field(
        description="Point-biserial correlation of the item score with the rest of the test."
    )
    options: list[OptionCount] = Field(default_factory=list)
    variants: list[GroupStats] = Field(default_factory=list)
    params: list[ParamStats] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="Variants or values much harder/easier.")


class Analysis(Frozen):
    sheets: int
    distribution: Distribution
    reliability: float | None = Field(description="Cronbach's alpha (KR-20 for 0/1 items).")
    items: list[ItemStats]


class Flagged(Frozen):
    """An answer the checker could not decide: a person should look at it."""

    row: int
    student: str
    sheet: str
    question: str
    response: str
    message: str


class KeyInfo(Frozen):
    source: Literal["key file", "regenerated"]
    file: str | None = None
    seed: int
    count: int = Field(description="Sheets in the key (the quiz's count, or the largest sheet number).")
    pinned: dict[str, str] = Field(default_factory=dict)
    bank: BankRef
    exercises: list[str]


class GradeReport(Frozen):
    """Everything `quizwright grade` found; report.json is its dump."""

    tool: Literal["quizwright"] = "quizwright"
    report_version: Literal[1] = 1
    key: KeyInfo
    submissions: str = Field(description="The submissions file as given.")
    unit: Literal["row", "entry"] = Field(description="CSV rows (header = row 1) or JSON entries.")
    questions: int
    carried: list[str] = Field(default_factory=list,
                               description="The submissions' other columns, carried into grades.csv.")
    graded: int
    rejected: list[Rejected]
    notices: list[str]
    flagged: list[Flagged]
    analysis: Analysis
    sheets: list[SheetResult]
