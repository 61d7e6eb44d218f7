"""What grading needs of one variant (an ``Item``, its ``Question``), and the cached check of answers.

Decisions:

* A key keeps ``Item``s, not variants: the question text and worked solution are dropped, and
  variants with equal items (they differ in id and seed only) share one ``Item``, so a 10 000-sheet
  key of a bank with few distinct variants costs little more memory than a 200-sheet one.
* Checks are cached per (question, raw answer) for one grading run; the run's ``Comparer``
  caches again per normalised answer (and prepares each key once), so a class that gives the
  same few answers costs a handful of checks per question. Variants with equal keys (same
  expected answer, options, tolerance, misconceptions) are equal ``Question``s and therefore
  share their cache entries.
* An answer the checker cannot decide (timeout, or a broken expected answer) is ``undecided``:
  it scores 0 and is listed for a person, never counted as wrong silently.
* Numeric misconception feedback is given when the answer is within the question's own
  tolerance of the misconception's exact value: that is what "equal" means for a rounded number.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from engine.generation.quiz import Variant
from engine.grading.checker.compare import Comparer
from engine.grading.checker.verdict import CompareRequest
from engine.grading.models import AnswerStatus
from engine.vocabulary import CheckKind, Kind

__all__ = ["Checked", "Checker", "Choice", "Item", "Question", "item_of", "question_of"]

Misconceptions = tuple[tuple[str, str], ...]


class Question(NamedTuple):
    """What the checker needs of one variant; hashable, so equal variants share cached checks."""

    kind: CheckKind
    expected: str | int | bool
    options: int | None = None
    tolerance: tuple[str, str] | None = None
    symbols: tuple[tuple[str, str], ...] = ()
    option_feedback: tuple[str | None, ...] = ()
    misconceptions: Misconceptions = ()

    def request(self, response: str) -> CompareRequest:
        """The answer checker's request for ``response`` to this question."""
        return CompareRequest.model_validate({
            "kind": self.kind,
            "expected": self.expected,
            "response": response,
            "vars": dict(self.symbols) if self.kind == "formula" else None,
            "tolerance": dict([self.tolerance]) if self.tolerance else None,
            "options": self.options if self.kind in ("choice", "options") else None,
        })


def question_of(variant: Variant) -> Question:
    """The grading view of a variant: what the answer checker gets for each kind.

    choice/concept/scenario: the correct option's number and the number of options;
    true/false: the truth value; integer: the value; numeric: the exact SymPy value with the
    exercise's tolerance; formula: the SymPy expression and its symbols. Option feedback and
    misconceptions come along for the feedback of recognised wrong answers.
    """
    answer = variant.answer
    feedback = tuple(o.feedback for o in variant.options)
    misconceptions = tuple((m.value, m.feedback) for m in variant.misconceptions)
    if answer.type == "option":
        return Question("choice", answer.option, options=len(variant.options), option_feedback=feedback)
    if answer.type == "options":
        return Question("options", ",".join(map(str, answer.options)), options=len(variant.options),
                        option_feedback=feedback)
    if answer.type == "boolean":
        return Question("true_false", answer.value, option_feedback=feedback)
    if answer.type == "integer":
        return Question("integer", answer.value, misconceptions=misconceptions)
    if answer.type == "numeric":
        return Question("numeric", answer.exact, tolerance=(answer.tolerance_kind, answer.tolerance),
                        misconceptions=misconceptions)
    return Question("formula", answer.expr, symbols=tuple(answer.symbols.items()),
                    misconceptions=misconceptions)


class Choice(NamedTuple):
    """One option of a variant, as item analysis counts it."""

    text: str
    correct: bool
    feedback: str | None


class Item(NamedTuple):
    """What grading and item analysis need of one variant, but its id."""

    exercise: str
    title: str
    kind: Kind
    points: int
    params: tuple[tuple[str, str], ...]
    options: tuple[Choice, ...]
    answer_text: str
    question: Question
    part: str = ""  # the letter of a part of a multi-part exercise


def item_of(variant: Variant, shared: dict[Item, Item] | None = None) -> Item:
    """The item of a variant; with ``shared`` (one key's items), the equal item made before, if any."""
    item = Item(variant.exercise, variant.title, variant.kind, variant.points, tuple(variant.params.items()),
                tuple(Choice(o.text, o.correct, o.feedback) for o in variant.options), variant.answer_text,
                question_of(variant), variant.part.label if variant.part else "")
    return item if shared is None else shared.setdefault(item, item)


@dataclass(frozen=True)
class Checked:
    """The verdict on one answer to one question, before it is attached to a student."""

    status: AnswerStatus
    message: str
    normalized: str | None = None
    feedback: str | None = None
    option: int | None = None
    chosen: tuple[int, ...] | None = None  # select all that apply: the options chosen
    credit: Fraction | None = None  # share of the points, when it may be partial


_UNANSWERED = Checked("unanswered", "no answer")


class Checker:
    """Checks answers for one grading run, each (question, raw answer) once, in one ``Comparer``."""

    def __init__(self) -> None:
        self._checked: dict[tuple[Question, str], Checked] = {}
        self._comparer = Comparer()

    def check(self, question: Question, response: str) -> Checked:
        """Grade one raw answer to one question. Never raises for anything in ``response``."""
        checked = self._checked.get((question, response))
        if checked is None:
            checked = self._checked[(question, response)] = self._check(question, response)
        return checked

    def _check(self, question: Question, response: str) -> Checked:
        if not response.strip():
            return _UNANSWERED
        # Formula and numeric misconceptions are the bank's values: the checker reads them in its
        # sandbox, as it reads the key.
        distractors = question.misconceptions if question.kind in ("formula", "numeric") else ()
        verdict = self._comparer.compare(question.request(response), distractors=distractors)
        status: AnswerStatus = verdict.status
        normalized, feedback, option = verdict.normalized, verdict.feedback, None
        if normalized is not None and question.kind in ("choice", "true_false"):
            option = int(normalized) if question.kind == "choice" else (1 if normalized == "true" else 2)
            if status == "incorrect" and option <= len(question.option_feedback):
                feedback = question.option_feedback[option - 1]
        elif status == "incorrect" and normalized is not None and question.kind == "integer":
            feedback = _integer_feedback(question, normalized)
        elif normalized is not None and question.kind == "options":
            chosen = tuple(int(n) for n in normalized.split(","))
            credit = Fraction(verdict.credit) if verdict.credit is not None else None
            # The misconception behind the first wrong option chosen, if any.
            right = {int(n) for n in str(question.expected).split(",")}
            feedback = next((question.option_feedback[n - 1] for n in chosen
                             if n not in right and n <= len(question.option_feedback)
                             and question.option_feedback[n - 1]), None)
            return Checked(status, verdict.message, normalized, feedback, None, chosen, credit)
        return Checked(status, verdict.message, normalized, feedback, option)


def _integer_feedback(question: Question, normalized: str) -> str | None:
    for value, feedback in question.misconceptions:
        if value.strip().lstrip("+") == normalized:
            return feedback
    return None
