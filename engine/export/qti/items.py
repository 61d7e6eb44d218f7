"""Finished variants → Canvas QTI items: question types, choices, numerical answers, feedback.

Each kind maps as in the Moodle export (docs/moodle.md), within what Canvas Classic Quizzes
can hold; docs/qti.md lists the differences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from engine.errors import QuizwrightError
from engine.export.figures import linked
from engine.export.moodle.questions import (
    FORMULA_CHOICE_NOTE,
    FORMULA_ESSAY_NOTE,
    formula_mode,
    formula_options,
    name_and_idnumber,
)
from engine.export.moodle.xml import plain_decimal, single_line
from engine.export.qti.html import CanvasHtml, equation_image
from engine.generation.quiz import (
    SELECT_ALL,
    BooleanAnswer,
    FormulaAnswer,
    IntegerAnswer,
    NumericAnswer,
    OptionAnswer,
    OptionsAnswer,
    Plot,
    Variant,
)

CHOICE, TRUE_FALSE = "multiple_choice_question", "true_false_question"
MULTIPLE = "multiple_answers_question"
NUMERICAL, ESSAY = "numerical_question", "essay_question"
MISCONCEPTIONS_INTRO = "Common mistakes:"


class QtiExportError(QuizwrightError):
    """A variant that cannot be written as a question Canvas would import and grade right."""


def ident(*parts: str) -> str:
    """A QTI ident stable for its parts: `qw_` and 32 hex digits of their SHA-256."""
    return "qw_" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@dataclass(slots=True)
class QtiChoice:
    ident: str
    html: str
    correct: bool
    feedback: str = ""  # HTML


@dataclass(slots=True)
class QtiNumber:
    """Canvas's "exact answer" with its margin: exact ± margin, and the bounds it reads the margin from."""

    exact: str
    low: str
    high: str


@dataclass(slots=True)
class QtiItem:
    ident: str
    title: str
    type: str
    points: str
    question: str  # HTML
    general_feedback: str  # HTML: the worked solution, shown whatever the answer
    choices: list[QtiChoice] = field(default_factory=list)
    number: QtiNumber | None = None
    incorrect_feedback: str = ""  # HTML: a numerical question's misconceptions

    @property
    def answer_ids(self) -> str:
        """Canvas's `original_answer_ids`: the choices' idents, or the one answer's."""
        if self.choices:
            return ",".join(c.ident for c in self.choices)
        return f"{self.ident}_answer" if self.type == NUMERICAL else ""


def _check_figure_links(variant: Variant) -> None:
    """Raises QtiExportError if a text links a `figures/` file that is none of the variant's plots.

    The zip holds the variant's plots only, and Canvas would show any other such link as a broken image.
    """
    texts = [variant.question, variant.explanation, *(o.text for o in variant.options),
             *(o.feedback or "" for o in variant.options), *(m.feedback for m in variant.misconceptions)]
    plots = {f.file for f in variant.figures if isinstance(f, Plot)}
    stray = sorted({file for text in texts for file in linked(text)} - plots)
    if stray:
        raise QtiExportError(f"{variant.id}: the text links figures/{stray[0]}.png, which is not one of its plots")


class ItemBuilder:
    """Turns finished variants into QTI items (mapping only: no sampling, no solving)."""

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        self.html = CanvasHtml()
        # What an item's content depends on besides its variant id (the bank, the pinned parameters):
        # Canvas overwrites any question of the course with the same ident, whichever quiz it came in.
        self.scope = scope

    def build(self, variant: Variant) -> QtiItem:
        _check_figure_links(variant)
        item = QtiItem(
            ident=ident(*self.scope, variant.id), title=name_and_idnumber(single_line(variant.title), variant.index, variant.id)[0],
            type="", points=str(variant.points), question=self.html.block(variant.question),
            general_feedback=self.html.block(variant.explanation),
        )  # fmt: skip
        answer = variant.answer
        if isinstance(answer, OptionAnswer | OptionsAnswer):
            self._choice(variant, item)
        elif isinstance(answer, BooleanAnswer):
            self._true_false(variant, answer, item)
        elif isinstance(answer, IntegerAnswer | NumericAnswer):
            self._numerical(variant, answer, item)
        else:
            self._formula(variant, answer, item)
        return item

    def _choice(self, variant: Variant, item: QtiItem) -> None:
        correct = sum(o.correct for o in variant.options)
        if isinstance(variant.answer, OptionsAnswer):
            # Canvas shows checkboxes without saying so: the question says it.
            item.type = MULTIPLE
            item.question += f" <p><em>{SELECT_ALL}</em></p>"
        elif correct != 1:
            raise QtiExportError(f"{variant.id}: {correct} correct options (expected exactly 1)")
        else:
            item.type = CHOICE
        for o in variant.options:
            text = self.html.inline(o.text)
            if not text:
                raise QtiExportError(f"{variant.id}: option {o.number} has no text")
            item.choices.append(QtiChoice(f"{item.ident}_{o.number}", text, o.correct,
                                          self.html.block(o.feedback) if o.feedback else ""))

    def _true_false(self, variant: Variant, answer: BooleanAnswer, item: QtiItem) -> None:
        # The variant's options are True (1) and False (2); the wrong one carries the feedback.
        feedback = {o.number: self.html.block(o.feedback) for o in variant.options if o.feedback}
        item.type = TRUE_FALSE
        item.choices = [
            QtiChoice(f"{item.ident}_{number}", label, bool(answer.value) == (number == 1), feedback.get(number, ""))
            for number, label in ((1, "True"), (2, "False"))
        ]

    def _numerical(self, variant: Variant, answer: IntegerAnswer | NumericAnswer, item: QtiItem) -> None:
        item.type = NUMERICAL
        if isinstance(answer, IntegerAnswer):
            exact, margin = str(answer.value), "0"
        else:
            exact, margin = plain_decimal(answer.decimal), plain_decimal(answer.absolute_tolerance)
        with localcontext() as ctx:
            ctx.prec = 60  # exact for 20-digit values and tolerances
            low, high = Decimal(exact) - Decimal(margin), Decimal(exact) + Decimal(margin)
        item.number = QtiNumber(exact, plain_decimal(low), plain_decimal(high))
        # Every answer of a Canvas numerical question is a correct one, so the misconceptions go
        # to the feedback shown after a wrong answer.
        mistakes = [
            f"<li>{equation_image(m.latex, display=False)}: {self.html.inline(m.feedback)}</li>"
            for m in variant.misconceptions if m.feedback
        ]
        if mistakes:
            item.incorrect_feedback = f"<p>{MISCONCEPTIONS_INTRO}</p><ul>{''.join(mistakes)}</ul>"

    def _formula(self, variant: Variant, answer: FormulaAnswer, item: QtiItem) -> None:
        if formula_mode(variant) == "essay":
            item.type = ESSAY
            hint = self.html.inline(f"{answer.syntax_hint} {FORMULA_ESSAY_NOTE}")
            item.question += f" <p><em>{hint}</em></p>"
            correct = f"<p>Correct answer: {equation_image(answer.latex, display=False)}</p>"
            item.general_feedback = f"{correct} {item.general_feedback}"
            return
        item.type = CHOICE
        item.question += f" <p><em>{FORMULA_CHOICE_NOTE}</em></p>"
        item.choices = [
            QtiChoice(f"{item.ident}_{number}", equation_image(latex, display=False), correct,
                      self.html.block(feedback) if feedback else "")
            for number, (latex, correct, feedback) in enumerate(formula_options(variant, answer), start=1)
        ]
