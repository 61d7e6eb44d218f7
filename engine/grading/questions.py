"""What grading needs of one variant (a ``Question``), and the cached check of answers against it.

Decisions:

* Checks are cached per (question, raw answer) for one grading run; the answer checker caches
  again per normalised answer, so a class that gives the same few answers costs a handful of
  checks per question. Variants with equal keys (same expected answer, options, tolerance,
  misconceptions) are equal ``Question``s and therefore share their cache entries.
* An answer the checker cannot decide (timeout, or a broken expected answer) is ``undecided``:
  it scores 0 and is listed for a person, never counted as wrong silently.
* Numeric misconception feedback is given when the answer is within the question's own
  tolerance of the misconception's exact value: that is what "equal" means for a rounded number.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy

from engine.generation.quiz import Variant
from engine.grading.checker.compare import compare
from engine.grading.checker.formula import FormulaError, parse_formula
from engine.grading.checker.normalize import within_tolerance
from engine.grading.checker.verdict import CompareRequest
from engine.grading.models import AnswerStatus
from engine.vocabulary import CheckKind

__all__ = ["Checked", "Checker", "Question", "question_of"]

Misconceptions = tuple[tuple[str, str], ...]
Distractors = tuple[tuple[sympy.Expr, str], ...]


@dataclass(frozen=True)
class Question:
    """What grading needs of one variant; hashable, so equal variants share cached checks."""

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
            "options": self.options if self.kind == "choice" else None,
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
    if answer.type == "boolean":
        return Question("true_false", answer.value, option_feedback=feedback)
    if answer.type == "integer":
        return Question("integer", answer.value, misconceptions=misconceptions)
    if answer.type == "numeric":
        return Question("numeric", answer.exact, tolerance=(answer.tolerance_kind, answer.tolerance),
                        misconceptions=misconceptions)
    return Question("formula", answer.expr, symbols=tuple(answer.symbols.items()),
                    misconceptions=misconceptions)


@dataclass(frozen=True)
class Checked:
    """The verdict on one answer to one question, before it is attached to a student."""

    status: AnswerStatus
    message: str
    normalized: str | None = None
    feedback: str | None = None
    option: int | None = None


_UNANSWERED = Checked("unanswered", "no answer")


class Checker:
    """Checks answers for one grading run, each (question, raw answer) once."""

    def __init__(self) -> None:
        self._checked: dict[tuple[Question, str], Checked] = {}
        self._distractors: dict[tuple[Misconceptions, tuple[tuple[str, str], ...]], Distractors] = {}

    def check(self, question: Question, response: str) -> Checked:
        """Grade one raw answer to one question. Never raises for anything in ``response``."""
        checked = self._checked.get((question, response))
        if checked is None:
            checked = self._checked[(question, response)] = self._check(question, response)
        return checked

    def _check(self, question: Question, response: str) -> Checked:
        if not response.strip():
            return _UNANSWERED
        distractors: Distractors = ()
        if question.kind == "formula":
            distractors = self._formula_distractors(question.misconceptions, question.symbols)
        verdict = compare(question.request(response), distractors=distractors)
        # TODO(typed-key): a broken key is recognised by its message text until Verdict says so.
        if verdict.status == "invalid" and verdict.normalized is None and verdict.message.startswith(
                "the expected answer is broken"):
            # The key's fault, not the student's: a person decides.
            return Checked("undecided", verdict.message)
        status: AnswerStatus = verdict.status
        normalized, feedback, option = verdict.normalized, verdict.feedback, None
        if normalized is not None and question.kind in ("choice", "true_false"):
            option = int(normalized) if question.kind == "choice" else (1 if normalized == "true" else 2)
            if status == "incorrect" and option <= len(question.option_feedback):
                feedback = question.option_feedback[option - 1]
        elif status == "incorrect" and normalized is not None and question.kind in ("integer", "numeric"):
            feedback = self._misconception_feedback(question, normalized)
        return Checked(status, verdict.message, normalized, feedback, option)

    def _formula_distractors(self, misconceptions: Misconceptions,
                             symbols: tuple[tuple[str, str], ...]) -> Distractors:
        found = self._distractors.get((misconceptions, symbols))
        if found is None:
            parsed = []
            for value, feedback in misconceptions:
                try:  # the values are the bank's own SymPy strings: trusted, parsed by the safe parser anyway
                    parsed.append((parse_formula(value, dict(symbols)), feedback))
                except (FormulaError, ValueError):
                    continue  # a misconception we cannot read only costs its feedback, never a grade
            found = self._distractors[(misconceptions, symbols)] = tuple(parsed)
        return found

    def _misconception_feedback(self, question: Question, normalized: str) -> str | None:
        if question.kind == "integer":
            for value, feedback in question.misconceptions:
                if value.strip().lstrip("+") == normalized:
                    return feedback
            return None
        # numeric: "equal" means within the question's own tolerance of the misconception's value.
        response = Fraction(normalized)  # the checker's canonical text: a decimal or p/q
        tolerance = dict([question.tolerance]) if question.tolerance else None
        # The values are exact constants such as 1/32 or sqrt(33)/66: formulas without symbols.
        for value, feedback in self._formula_distractors(question.misconceptions, ()):
            try:
                if within_tolerance(response, value, tolerance):
                    return feedback
            except ValueError:  # a misconception that is not a finite real number
                continue
        return None
