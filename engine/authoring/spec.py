"""Pydantic models of an exercise file: the single source of truth for the YAML format."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from engine.tolerance import Tolerance
from engine.vocabulary import Assumption, ChoiceKind

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,59}$"
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"


def _empty_list() -> list[Any]:
    """`default_factory` of the list fields instead of `list`: pydantic inspects a factory's
    signature when it builds a schema, and for a builtin that means tokenizing its text signature
    (some 5 ms of start-up); the signature of a Python function is read directly."""
    return []


class Strict(BaseModel):
    # defer_build: exercise files are validated through one TypeAdapter over the whole `Exercise`
    # union (engine.loader), which generates every model's schema anyway; a validator and a
    # serializer per model, built as each class is created, would only add to every command's
    # start-up. A model used on its own (BankInfo, a test) is built on first use, the same way.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class RangeParam(Strict):
    """An integer drawn uniformly from min..max (inclusive) in steps of step."""

    min: int
    max: int
    step: int = Field(1, ge=1)

    @field_validator("min", "max", "step", mode="before")
    @classmethod
    def _integral(cls, value: Any) -> Any:
        if (isinstance(value, float) and not value.is_integer()) or (isinstance(value, str) and any(c in value for c in "./")):
            raise ValueError("a range holds integers; list other numbers instead: {values: [0.1, 0.2]}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> RangeParam:
        if self.max < self.min:
            raise ValueError(f"max must be >= min (got {self.max} < {self.min})")
        return self

    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1, self.step))


# A parameter value as written: an integer, a decimal (0.05 or "0.05": both exactly 1/20, printed
# 0.05), an exact number as a string ("1/2"), or a text (a string that does not read as an exact
# number: "tanh").
Number = int | float | str
# One value of a record parameter: fields by name, each a number or a text.
Record = dict[Annotated[str, Field(pattern=NAME_PATTERN)], Number]


def _distinct(values: list[Number | Record]) -> list[Number | Record]:
    if len({str(v) for v in values}) != len(values):
        raise ValueError("values must be distinct")
    return values


Values = Annotated[
    list[Number | Record],
    Field(min_length=1, description="Integers, decimals (0.05 or '0.05', exact), exact numbers as strings "
                                    "such as '1/2', texts ('tanh'), or records with the same fields "
                                    "({name: ReLU, gain: 2})."),
    AfterValidator(_distinct),
]


class ListParam(Strict):
    """A value drawn uniformly from an explicit list (e.g. powers of two)."""

    values: Values


class DerivedParam(Strict):
    """A value computed from earlier parameters, e.g. `n_in + n_out`."""

    expr: str = Field(min_length=1)


def _param_tag(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return "constant"
    if isinstance(value, list):
        return "values"
    if not isinstance(value, dict | BaseModel):
        return None
    keys = value.keys() if isinstance(value, dict) else vars(value)
    return "derived" if "expr" in keys else "list" if "values" in keys else "range"


def _as_param(param: Any) -> Any:
    """A constant (5, "0.05") is a list of one value, and a bare list ([1, 2, 3]) is `{values: [...]}`."""
    if isinstance(param, list):
        return ListParam.model_construct(values=param)
    if isinstance(param, int | float | str):
        return ListParam.model_construct(values=[param])
    return param


Param = Annotated[
    Annotated[RangeParam, Tag("range")]
    | Annotated[ListParam, Tag("list")]
    | Annotated[DerivedParam, Tag("derived")]
    | Annotated[Number, Tag("constant"), Field(description="A constant: the same value in every variant.")]
    | Annotated[Values, Tag("values"), Field(description="Shorthand for {values: [...]}.")],
    Discriminator(
        _param_tag,
        custom_error_type="param_form",
        custom_error_message="expected a number (5, 0.05, '1/2'), a list of values ([1, 2, 3]), "
        "{min: ..., max: ...}, {values: [...]} or {expr: ...}",
    ),
    AfterValidator(_as_param),
]


class ChoiceOption(Strict):
    """One option of a choice question: Markdown text or a SymPy expression shown as LaTeX."""

    name: str | None = Field(
        None, pattern=NAME_PATTERN,
        description="Names the option for the explanation and feedback: [[ options.NAME ]] prints its number "
                    "on the sheet and its text, as shuffled.",
    )
    text: str | None = Field(None, description="Markdown text (a Jinja template with [[ ]] delimiters).")
    expr: str | None = Field(None, description="SymPy expression over the parameters, shown as LaTeX.")
    correct: bool = False
    feedback: str | None = Field(
        None, description="For a distractor: which misconception choosing it reveals."
    )
    pinned: bool = Field(False, description="Keep this option at its listed position when shuffling.")

    @model_validator(mode="after")
    def _one_body(self) -> ChoiceOption:
        if (self.text is None) == (self.expr is None):
            raise ValueError("give exactly one of text or expr")
        if not self.correct and not self.feedback:
            raise ValueError("a distractor needs feedback naming the misconception")
        return self


class PoolOption(Strict):
    """A distractor a pool may draw: its text or expression and the misconception it reveals."""

    text: str | None = Field(None, description="Markdown text (a Jinja template with [[ ]] delimiters).")
    expr: str | None = Field(None, description="SymPy expression over the parameters, shown as LaTeX.")
    feedback: str = Field(min_length=1, description="Which misconception choosing it reveals.")
    name: str | None = Field(None, pattern=NAME_PATTERN, description="A name for the misconception (optional).")

    @model_validator(mode="after")
    def _one_body(self) -> PoolOption:
        if (self.text is None) == (self.expr is None):
            raise ValueError("give exactly one of text or expr")
        return self


class DistractorPool(Strict):
    """Distractors drawn per variant: `draw` of `options`, never one equal to a shown option."""

    draw: int = Field(ge=1, description="How many of the pool's distractors each variant shows.")
    options: list[PoolOption] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _enough(self) -> DistractorPool:
        if self.draw > len(self.options):
            raise ValueError(f"draw ({self.draw}) is more than the pool's {len(self.options)} options")
        return self


class Distractor(Strict):
    """A common wrong answer and the misconception it reflects."""

    expr: str = Field(min_length=1)
    feedback: str = Field(min_length=1)


Expr = Annotated[int | str, Field(description="An expression over the parameters (the figure's variable too, where it applies).")]
Scale = Literal["linear", "log"]


class Domain(Strict):
    """The values of a figure's variable: `{min, max}` (integers, `step` apart, or `points` evenly
    spaced), or `{values: [...]}`; each bound and value is an expression over the parameters."""

    name: str = Field("x", pattern=NAME_PATTERN, description="The variable's name in the series' expressions.")
    min: Expr | None = None
    max: Expr | None = None
    step: Expr | None = Field(None, description="Distance between values from min to max (default 1).")
    points: int | None = Field(None, ge=2, le=400, description="Evenly spaced values from min to max, ends included.")
    values: list[Expr] | None = Field(None, min_length=1, max_length=400)

    @model_validator(mode="after")
    def _one_form(self) -> Domain:
        if (self.values is None) == (self.min is None and self.max is None):
            raise ValueError("give either min and max, or values")
        if self.values is None and (self.min is None or self.max is None):
            raise ValueError("give both min and max")
        if self.values is not None and (self.step is not None or self.points is not None):
            raise ValueError("step and points go with min and max, not with values")
        if self.step is not None and self.points is not None:
            raise ValueError("give step or points, not both")
        return self


class Series(Strict):
    """One curve, set of points or set of bars of a plot."""

    label: str = Field(min_length=1, description="Legend text (TeX in $...$ allowed; Jinja with [[ ]]).")
    y: Expr
    style: Literal["line", "points", "bars"] | None = Field(None, description="Default: the plot's style.")


class PlotFigure(Strict):
    """A plot drawn per variant: series over the variable's values."""

    type: Literal["plot"]
    alt: str = Field(min_length=1, description="What the figure shows, in words, for readers who cannot see it.")
    x: Domain
    series: list[Series] = Field(min_length=1, max_length=8)
    style: Literal["line", "points", "bars"] = "line"
    xlabel: str = ""
    ylabel: str = ""
    xscale: Scale = "linear"
    yscale: Scale = "linear"
    legend: bool | None = Field(None, description="Show the legend (default: when there are several series).")
    title: str = ""


class Column(Strict):
    """One column of a table: a header and a value per row."""

    header: str = Field(min_length=1, description="Markdown with TeX; Jinja with [[ ]].")
    value: Expr
    places: int | None = Field(None, ge=0, le=15, description="Decimal places shown; default: the exact value.")


class TableFigure(Strict):
    """A table of values drawn per variant: one row per value of the variable."""

    type: Literal["table"]
    caption: str = Field(min_length=1, description="What the table holds, shown above it.")
    x: Domain
    columns: list[Column] = Field(min_length=1, max_length=12)


Figure = Annotated[PlotFigure | TableFigure, Field(discriminator="type")]


class Shared(Strict):
    """What every exercise has, a multi-part one included: its names, parameters and question."""

    id: str = Field(pattern=ID_PATTERN, description="Unique in the bank; lower-case letters, digits, '-'.")
    title: str = Field(min_length=1)
    topic: str = Field(min_length=1, description="The chapter topic the exercise covers.")
    tags: list[str] = Field(default_factory=_empty_list)
    params: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Param] = Field(default_factory=dict)
    constraints: list[str] = Field(
        default_factory=_empty_list, description="SymPy relations every variant satisfies, e.g. 'n_in != n_out'."
    )
    question: str = Field(min_length=1, description="Markdown with TeX; Jinja with [[ ]] and [% %].")
    symbols: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Assumption] = Field(
        default_factory=dict,
        description="Free symbols of formulas (not drawn), e.g. {n_in: positive_integer}.",
    )
    figures: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Figure] = Field(
        default_factory=dict,
        description="Plots and tables drawn per variant, shown where the question or explanation prints their name.",
    )


class ExerciseBase(Shared):
    explanation: str = Field(min_length=1, description="Worked solution, rendered per variant.")
    points: int = Field(1, ge=1, le=100)
    hints: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=_empty_list, max_length=5,
        description="Hints for a wrong try, in order (Moodle's interactive mode: one more try per hint); "
                    "Markdown, rendered per variant. Default: one hint that gives nothing away.",
    )


class ChoiceFields(Strict):
    kind: ChoiceKind
    options: list[ChoiceOption] = Field(min_length=1, max_length=10,
                                        description="At least 2 shown, those drawn from the pool included.")
    shuffle: bool = Field(True, description="Shuffle the option order per variant.")
    pool: DistractorPool | None = Field(None, description="Distractors drawn per variant, besides the options.")
    multiple: bool = Field(False, description="Select all that apply: one or more options are correct.")

    @model_validator(mode="after")
    def _one_correct(self) -> ChoiceFields:
        correct = sum(option.correct for option in self.options)
        if self.multiple and correct < 1:
            raise ValueError("options: with multiple: true, at least one option must be correct (got 0)")
        if not self.multiple and correct != 1:
            raise ValueError(f"options: exactly one option must be correct (got {correct})")
        return self

    @model_validator(mode="after")
    def _pool_fits(self) -> ChoiceFields:
        drawn = self.pool.draw if self.pool is not None else 0
        if len(self.options) + drawn < 2:
            raise ValueError("options: at least 2 options are shown (list another one, or draw from a pool)")
        if len(self.options) + drawn > 10:
            raise ValueError(f"pool: {len(self.options)} options and {drawn} drawn from the pool "
                             "make more than 10 options shown")
        return self


class ChoiceExercise(ChoiceFields, ExerciseBase):
    pass


class TrueFalseFields(Strict):
    kind: Literal["true_false"]
    answer: bool | str = Field(description="true/false, or a SymPy relation over the parameters.")
    wrong_feedback: str = Field(min_length=1, description="The misconception behind the wrong answer.")


class TrueFalseExercise(TrueFalseFields, ExerciseBase):
    pass


class IntegerFields(Strict):
    kind: Literal["integer"]
    answer: str | int = Field(description="SymPy expression that must be an exact integer.")
    distractors: list[Distractor] = Field(default_factory=_empty_list)


class IntegerExercise(IntegerFields, ExerciseBase):
    pass


class NumericFields(Strict):
    kind: Literal["numeric"]
    answer: str | int = Field(description="SymPy expression; the exact value is kept.")
    tolerance: Tolerance
    precision: int = Field(4, ge=0, le=15, description="Decimal places shown in keys and worksheets.")
    distractors: list[Distractor] = Field(default_factory=_empty_list)


class NumericExercise(NumericFields, ExerciseBase):
    pass


class FormulaFields(Strict):
    kind: Literal["formula"]
    answer: str = Field(min_length=1, description="SymPy expression in the symbols (and parameters).")
    distractors: list[Distractor] = Field(default_factory=_empty_list)


class FormulaExercise(FormulaFields, ExerciseBase):
    @model_validator(mode="after")
    def _has_symbols(self) -> FormulaExercise:
        if not self.symbols:
            raise ValueError("symbols: a formula exercise declares the symbols a student may use")
        return self


class PartBase(Strict):
    question: str = Field(min_length=1, description="The part's own question, shown after the scenario.")
    explanation: str = Field(min_length=1, description="Worked solution of this part, rendered per variant.")
    points: int = Field(1, ge=1, le=100)


# A part of a multi-part exercise: a kind's own fields, over the exercise's shared ones.
class ChoicePart(ChoiceFields, PartBase):
    pass


class TrueFalsePart(TrueFalseFields, PartBase):
    pass


class IntegerPart(IntegerFields, PartBase):
    pass


class NumericPart(NumericFields, PartBase):
    pass


class FormulaPart(FormulaFields, PartBase):
    pass


Part = Annotated[
    ChoicePart | TrueFalsePart | IntegerPart | NumericPart | FormulaPart,
    Field(discriminator="kind"),
]
PART_LABELS = "abcdefghij"


class MultipartExercise(Shared):
    """One scenario, drawn once, asked in several parts that share its parameters (5a, 5b, ...)."""

    kind: Literal["multipart"]
    question: str = Field(min_length=1, description="The shared scenario, shown once before the parts.")
    explanation: str | None = Field(
        None, min_length=1, description="Optional: what the parts share, shown before the first part's solution."
    )
    parts: list[Part] = Field(min_length=2, max_length=len(PART_LABELS))


Exercise = Annotated[
    ChoiceExercise | TrueFalseExercise | IntegerExercise | NumericExercise | FormulaExercise | MultipartExercise,
    Field(discriminator="kind"),
]


class Slot(Strict):
    """One place on every sheet: each sheet draws one exercise of its pool (ids, a topic or a tag)."""

    title: str | None = Field(None, min_length=1, description="Names the slot in messages and in the Moodle export.")
    exercises: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        None, min_length=1, description="The pool: these exercise ids.")
    topic: str | None = Field(None, min_length=1, description="The pool: every exercise of this topic.")
    tag: str | None = Field(None, min_length=1, description="The pool: every exercise carrying this tag.")

    @model_validator(mode="after")
    def _one_pool(self) -> Slot:
        given = [name for name in ("exercises", "topic", "tag") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of exercises, topic or tag (got {', '.join(given) or 'none'})")
        if self.exercises is not None and len(set(self.exercises)) != len(self.exercises):
            raise ValueError("exercises: an id is listed twice")
        return self


class BankInfo(Strict):
    """`bank.yaml` in a bank folder."""

    title: str = Field(min_length=1)
    code: str = Field("QW", pattern=r"^[A-Z][A-Z0-9]{0,7}$", description="Prefix of sheet ids.")
    description: str = ""
    order: list[str] = Field(
        default_factory=_empty_list,
        description="Exercise ids in the order worksheets show them; unlisted ones follow by file name.",
    )
    slots: list[Slot] = Field(
        default_factory=_empty_list,
        description="The sheet as a list of slots, each drawing one exercise per sheet from its pool; "
        "without slots a sheet holds every selected exercise.",
    )
