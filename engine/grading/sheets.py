"""Grading a batch of submissions against a key: one result per sheet, one rejection per bad row.

Decisions:

* A row whose sheet id is unreadable or not in the key is rejected with its row number.
* The same student and sheet twice: the later row is rejected ("duplicate of row 4"), so the
  gradebook never receives two grades for one sheet.
* Percentages are exact and rounded half up to two places.
* Partial credit (several correct options) earns its share of the points rounded half up to
  two places; a sheet's total is the sum of the points shown.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from engine.grading.keys import Key, Sheet, Tick
from engine.grading.models import (
    AnswerResult,
    Flagged,
    Rejected,
    SheetResult,
    Submission,
    SubmissionBatch,
)
from engine.grading.questions import Checker, Item

__all__ = ["GradeOutcome", "Marking", "grade_batch"]

MAX_RESPONSE = 200  # characters of an answer kept in the report (the checker rejects longer ones)


def _points(points: int, credit: Fraction) -> int | float:
    """``credit`` of ``points``: an integer when whole, else rounded half up to 2 decimals."""
    earned = points * credit
    if earned.denominator == 1:
        return int(earned)
    return float(Decimal(math.floor(earned * 100 + Fraction(1, 2))).scaleb(-2))


def _earned(status: str, points: int, credit: Fraction | None) -> int | float:
    if credit is not None and status in ("correct", "partial", "incorrect"):
        return _points(points, credit)
    return points if status == "correct" else 0


def _percent(total: int | float, maximum: int) -> float:
    if maximum <= 0:
        return 0.0
    # half up, exact (a partial total has 2 decimals: its decimal text is its value)
    hundredths = math.floor(Fraction(100) * Fraction(str(total)) / maximum * 100 + Fraction(1, 2))
    return float(Decimal(hundredths).scaleb(-2))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RESPONSE else text[:MAX_RESPONSE] + "…"


@dataclass
class Marking:
    """One run's answer results: each (variant, raw answer) is checked once, and the sheets of one
    copy share the result objects."""

    checker: Checker = field(default_factory=Checker)
    results: dict[tuple[str, str], AnswerResult] = field(default_factory=dict)

    def answer(self, label: str, variant: str, item: Item, response: str) -> AnswerResult:
        """The result of ``response`` to question ``label`` (5, 5a), variant ``variant`` (of that item)."""
        result = self.results.get((variant, response))
        if result is None:
            checked = self.checker.check(item.question, response)
            result = self.results[(variant, response)] = AnswerResult(
                question=f"q{label}", exercise=item.exercise, variant=variant, kind=item.kind,
                response=_clip(response), normalized=checked.normalized, status=checked.status,
                points=_earned(checked.status, item.points, checked.credit), max_points=item.points,
                message=checked.message, feedback=checked.feedback, option=checked.option,
                options=None if checked.chosen is None else list(checked.chosen),
            )
        return result

    def sheet(self, sheet: Sheet, submission: Submission) -> SheetResult:
        """Grade one submission against its sheet; answers beyond the sheet's questions are ignored."""
        results = [self.answer(label, variant, item, submission.answers.get(label, ""))
                   for label, variant, item in zip(sheet.labels, sheet.variants, sheet.items, strict=True)]
        total = _total([r.points for r in results])
        maximum = sum(r.max_points for r in results)
        return SheetResult(row=submission.row, student=submission.student, sheet=sheet.id,
                           carried=submission.carried, answers=results, total=total, max=maximum,
                           percent=_percent(total, maximum))


def _total(points: list[int | float]) -> int | float:
    """The sum of the points shown, exact: an integer unless some answer earned partial credit."""
    if all(isinstance(p, int) for p in points):
        return sum(points)
    exact = sum((Decimal(str(p)) for p in points), Decimal(0))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


@dataclass
class GradeOutcome:
    """Graded sheets in input order, rejected rows by row number, notices, undecided answers, and the
    submissions' other columns."""

    sheets: list[SheetResult]
    rejected: list[Rejected]
    notices: list[str]
    flagged: list[Flagged]
    carried: list[str] = field(default_factory=list)


def _column_notices(batch: SubmissionBatch, labels: list[str]) -> list[str]:
    notices = []
    questions = len(labels)
    extra = [n for n in batch.questions if n not in labels]
    if extra:
        names = ", ".join(f"q{n}" for n in extra[:10]) + (" ..." if len(extra) > 10 else "")
        notices.append(f"ignored {names}: the quiz has {questions} question{'s' if questions != 1 else ''}")
    if batch.format == "csv":
        missing = [n for n in labels if n not in batch.questions]
        if missing:
            names = ", ".join(f"q{n}" for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
            notices.append(f"no column for {names}: counted as unanswered")
    return notices


def grade_batch(key: Key, batch: SubmissionBatch, progress: Tick | None = None) -> GradeOutcome:
    """Grade every submission that names a sheet of the key; the others become rejections.

    ``progress`` is told the submissions done of all of them.
    """
    # The results are all kept and hold no reference cycles: the cyclic collector would only scan
    # them again and again while they pile up (a third of the time of 10 000 sheets).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _grade(key, batch, progress)
    finally:
        if collecting:
            gc.enable()


def _grade(key: Key, batch: SubmissionBatch, progress: Tick | None) -> GradeOutcome:
    sheets: list[SheetResult] = []
    rejected = list(batch.rejected)
    flagged: list[Flagged] = []
    first_row: dict[tuple[str, str], int] = {}
    rows_of_student: Counter[str] = Counter()
    marking = Marking()
    total = len(batch.submissions)
    for done, submission in enumerate(batch.submissions):
        if progress is not None:
            progress(done, total)
        found = key.find(submission.sheet)
        if isinstance(found, str):
            rejected.append(Rejected(row=submission.row, reason=found, raw=submission.raw))
            continue
        seen = (submission.student, found.id)
        if seen in first_row:
            reason = f"duplicate of {batch.unit} {first_row[seen]} (same student and sheet)"
            rejected.append(Rejected(row=submission.row, reason=reason, raw=submission.raw))
            continue
        first_row[seen] = submission.row
        rows_of_student[submission.student] += 1
        result = marking.sheet(found, submission)
        sheets.append(result)
        flagged.extend(
            Flagged(row=result.row, student=result.student, sheet=result.sheet, question=a.question,
                    response=a.response, message=a.message)
            for a in result.answers if a.status == "undecided"
        )
    if progress is not None:
        progress(total, total)
    notices = list(batch.notices) + _column_notices(batch, key.question_labels)
    several = sorted(name for name, n in rows_of_student.items() if n > 1)
    if several:
        shown = ", ".join(several[:5]) + (" ..." if len(several) > 5 else "")
        notices.append(f"{len(several)} student{'s' if len(several) > 1 else ''} handed in several sheets "
                       f"(each is graded): {shown}")
    rejected.sort(key=lambda r: r.row)
    return GradeOutcome(sheets=sheets, rejected=rejected, notices=notices, flagged=flagged,
                        carried=list(batch.carried))
