"""Pydantic models of generated quizzes: variants, answer keys, copies; the JSON export is their dump."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.language.allow import formula_hint
from engine.vocabulary import Assumption, Kind, ToleranceKind


class Frozen(BaseModel):
    # defer_build: a model's schema is built when it is first used, so a command that never
    # makes a quiz (grading a batch, printing a schema) does not build Variant, Copy or Quiz.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Option(Frozen):
    """One displayed option, in the variant's (shuffled) order."""

    number: int = Field(ge=1, description="1-based position, shown as ①②③.")
    text: str = Field(description="Markdown (TeX in $...$).")
    correct: bool
    feedback: str | None = Field(None, description="Misconception feedback of a distractor.")
    value: str | None = Field(None, description="Exact value of a computed option (SymPy srepr-free string).")


class Misconception(Frozen):
    """A tagged wrong answer of an integer, numeric or formula exercise."""

    value: str = Field(description="The wrong answer, exact (SymPy string form).")
    latex: str
    decimal: str | None = Field(None, description="The wrong answer to 20 significant digits, when it is a real number.")
    feedback: str


class OptionAnswer(Frozen):
    type: Literal["option"] = "option"
    option: int = Field(ge=1, description="Number of the correct option.")


# What every writer tells students of a question with several correct options.
SELECT_ALL = "Select all that apply."


class OptionsAnswer(Frozen):
    """Select all that apply: every correct option, by its number on the sheet."""

    type: Literal["options"] = "options"
    options: tuple[int, ...] = Field(min_length=1, description="Numbers of the correct options, ascending.")
    shuffle: bool = Field(description="An LMS may shuffle the options again: the exercise shuffles and pins none.")


class BooleanAnswer(Frozen):
    type: Literal["boolean"] = "boolean"
    value: bool
    option: int = Field(description="1 for true, 2 for false, as the chapter numbers them.")


class IntegerAnswer(Frozen):
    type: Literal["integer"] = "integer"
    value: int


class NumericAnswer(Frozen):
    type: Literal["numeric"] = "numeric"
    exact: str = Field(description="The exact value as a SymPy expression, e.g. 'sqrt(15)/10'.")
    latex: str
    decimal: str = Field(description="The value to 20 significant digits.")
    display: str = Field(description="The value rounded to the exercise's precision.")
    tolerance_kind: ToleranceKind
    tolerance: str = Field(description="The tolerance as written in the exercise.")
    absolute_tolerance: str = Field(description="The tolerance as an absolute bound (decimal).")


class FormulaAnswer(Frozen):
    type: Literal["formula"] = "formula"
    expr: str = Field(description="The answer as a SymPy expression string.")
    latex: str
    symbols: dict[str, Assumption]
    syntax_hint: str = Field(
        "", description="One line (Markdown) telling students how to write the formula; shown with the question."
    )

    @model_validator(mode="before")
    @classmethod
    def _hint(cls, data: object) -> object:
        # Filled from the symbols, so that keys saved before the hint existed still load.
        if isinstance(data, dict) and not data.get("syntax_hint") and isinstance(data.get("symbols"), dict):
            return {**data, "syntax_hint": formula_hint(list(data["symbols"]))}
        return data


Answer = Annotated[
    OptionAnswer | OptionsAnswer | BooleanAnswer | IntegerAnswer | NumericAnswer | FormulaAnswer,
    Field(discriminator="type"),
]


class PlotSeries(Frozen):
    label: str = Field(description="Legend text; TeX in $...$.")
    style: Literal["line", "points", "bars"]
    y: list[float] = Field(description="One value per x, from the exact value.")


class Plot(Frozen):
    """A plot of one variant, drawn by the exports; its files are named after its content."""

    type: Literal["plot"] = "plot"
    name: str = Field(description="The name the exercise text shows it by.")
    file: str = Field(description="File name without extension: figures/<file>.png beside a Markdown or JSON export.")
    alt: str = Field(description="What the figure shows, in words.")
    title: str = ""
    x: list[float]
    xlabel: str = ""
    ylabel: str = ""
    xscale: Literal["linear", "log"] = "linear"
    yscale: Literal["linear", "log"] = "linear"
    legend: bool
    series: list[PlotSeries]


class Table(Frozen):
    """A table of one variant; the question's text holds it as a Markdown table too."""

    type: Literal["table"] = "table"
    name: str
    caption: str
    header: list[str] = Field(description="Markdown with TeX.")
    rows: list[list[str]] = Field(description="Cells as Markdown with TeX.")


Figure = Annotated[Plot | Table, Field(discriminator="type")]


class Part(Frozen):
    """Where a variant stands in a multi-part exercise: its letter, the scenario and its own question."""

    label: str = Field(pattern=r"^[a-j]$", description="The part's letter: the sheet shows 5a, 5b.")
    scenario: str = Field(description="The shared scenario, rendered (Markdown with TeX).")
    question: str = Field(description="The part's own question, rendered; the variant's question is both.")


class Variant(Frozen):
    """One instance of an exercise template: drawn parameters, rendered text and its key."""

    id: str = Field(description="Stable id: exercise id, seed and index.")
    exercise: str
    index: int = Field(ge=0)
    seed: int = Field(description="Seed of this variant's own random generator.")
    kind: Kind
    title: str
    topic: str
    tags: list[str]
    points: int
    params: dict[str, str] = Field(description="Drawn and derived parameter values, exact.")
    question: str = Field(description="Rendered question, Markdown with TeX in $...$.")
    options: list[Option] = Field(default_factory=list)
    answer: Answer
    answer_text: str = Field(description="The answer as a key prints it, e.g. '②' or '10'.")
    explanation: str = Field(description="Rendered worked solution.")
    misconceptions: list[Misconception] = Field(default_factory=list)
    # Left out when empty, as figures are.
    hints: list[str] = Field(default_factory=list, exclude_if=lambda hints: not hints,
                             description="The exercise's hints for a wrong try, rendered (Markdown).")
    # Left out when empty: a quiz without figures is exported as it was before figures existed.
    figures: list[Figure] = Field(default_factory=list, exclude_if=lambda figures: not figures,
                                  description="The plots and tables its text shows.")
    # Left out when absent: a quiz without multi-part exercises is exported as before them.
    part: Part | None = Field(None, exclude_if=lambda part: part is None,
                              description="A part of a multi-part exercise: consecutive variants share its scenario.")


def question_labels(variants: Sequence[Variant]) -> list[str]:
    """How a sheet numbers its variants: 1, 2, 3a, 3b, 4 (the parts of one exercise share a number)."""
    return number_parts([variant.part.label if variant.part else "" for variant in variants])


def number_parts(parts: Sequence[str]) -> list[str]:
    """The labels of a sheet's questions from their part letters ("" for a question of its own)."""
    labels: list[str] = []
    number = 0
    for part in parts:
        if part in ("", "a"):
            number += 1
        labels.append(f"{number}{part}")
    return labels


class ExerciseSummary(Frozen):
    id: str
    title: str
    kind: Kind
    topic: str
    source: str = Field(description="File of the template, relative to the bank.")
    distinct_variants: int | None = Field(
        description="Number of distinct variants the template can produce; null when not counted."
    )
    repeats: bool = Field(description="True when the quiz asked for more variants than exist.")
    # Left out when false: only a choice exercise whose order is content has it.
    fixed_order: bool = Field(False, exclude_if=lambda fixed: not fixed,
                              description="The options' order is part of the content (shuffle: false, or a "
                                          "pinned option): an LMS must not shuffle it.")


class SlotSummary(Frozen):
    """A slot of the bank: each sheet holds one exercise of its pool, in this place."""

    title: str
    exercises: list[str] = Field(description="The pool: ids of the exercises it may give a sheet.")


class BankRef(Frozen):
    title: str
    code: str
    hash: str = Field(description="sha256 of the bank's exercise files (paths and contents).")


class Copy(Frozen):
    """Copy i of the quiz: variant i of every selected exercise (one student's worksheet)."""

    index: int = Field(ge=0)
    sheet: str = Field(description="Sheet id printed on the worksheet, e.g. WI-7-0001.")
    variants: list[Variant]


class QuizHeader(Frozen):
    """Everything about a quiz except its copies; writers receive copies as a stream."""

    tool: Literal["quizwright"] = "quizwright"
    format_version: Literal[1] = 1
    seed: int
    count: int = Field(ge=1)
    pinned: dict[str, str] = Field(default_factory=dict)
    shuffle: bool = Field(True, description="False when generated with --no-shuffle: every option in its authored order.")
    bank: BankRef
    exercises: list[ExerciseSummary] = Field(description="Every exercise a sheet may hold.")
    # Left out without slots: such a quiz is exported as it was before slots existed.
    slots: list[SlotSummary] = Field(default_factory=list, exclude_if=lambda slots: not slots,
                                     description="With slots, sheet item k is one exercise of slot k's pool.")


class Quiz(QuizHeader):
    """The full quiz as exported to JSON: header plus every copy."""

    copies: list[Copy]
