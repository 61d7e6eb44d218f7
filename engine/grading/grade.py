"""Grading submissions against a key: sheet ids, the key (saved or regenerated), one cached check per
(question, answer), sheet results, and the three outputs as text (grades CSV, JSON and Markdown).

Everything here is pure apart from the answer checker's sandbox worker (``engine.compare``):
files are read and written by ``engine.api.grade``.

Decisions:

* A sheet id is ``<code>-<seed>-<copy number>``; it is read leniently (any case, full-width
  digits, spaces around the dashes, ``WI-7-12`` = ``WI-7-0012``) and reported canonically.
* Checks are cached per (question, raw answer); ``engine.compare`` caches again per normalised
  answer, so a class that gives the same few answers costs a handful of checks per question.
  Variants with equal keys (same expected answer, options, tolerance, misconceptions) share a
  ``Question`` and therefore their cache entries, whichever copy they come from.
* An answer the checker cannot decide (timeout, or a broken expected answer) scores 0 and is
  listed in the report for a person; it is never counted as wrong silently.
* Numeric misconception feedback is given when the answer is within the question's own
  tolerance of the misconception's exact value: that is what "equal" means for a rounded number.
* The same student and sheet twice: the later row is rejected ("duplicate of row 4"), so the
  gradebook never receives two grades for one sheet.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy

from engine.authoring.bank import Bank
from engine.errors import UsageError
from engine.files import output_environment
from engine.generation.pipeline import plan_quiz
from engine.generation.quiz import Copy, Quiz, QuizHeader, Variant
from engine.grading.checker.compare import compare
from engine.grading.checker.formula import FormulaError, parse_formula
from engine.grading.checker.normalize import within_tolerance
from engine.grading.checker.verdict import CompareRequest, Kind
from engine.grading.models import (
    AnswerResult,
    AnswerStatus,
    Flagged,
    GradeReport,
    KeyInfo,
    Rejected,
    SheetResult,
    Submission,
    SubmissionBatch,
)

__all__ = [
    "CHECK_CACHE_SIZE",
    "Checked",
    "GradeOutcome",
    "Key",
    "Question",
    "SheetId",
    "check",
    "check_hash",
    "grade_batch",
    "grade_sheet",
    "grades_csv",
    "key_from_quiz",
    "parse_sheet_id",
    "question_of",
    "regenerate_key",
    "report_json",
    "report_markdown",
]

CHECK_CACHE_SIZE = 200_000
MAX_RESPONSE = 200  # characters of an answer kept in the report (the checker rejects longer ones)
MIN_HASH_PREFIX = 8

# ---------------------------------------------------------------------------------------------
# Sheet ids

_SHEET_RE = re.compile(r"([A-Z][A-Z0-9]{0,7})\s*-\s*(\d{1,19})\s*-\s*(\d{1,9})")


@dataclass(frozen=True)
class SheetId:
    code: str
    seed: int
    number: int  # 1-based copy number

    def __str__(self) -> str:
        # The same form as QuizPlan.sheet_id, so regenerated and saved keys agree.
        return f"{self.code}-{self.seed}-{self.number:04d}"


def parse_sheet_id(text: str) -> SheetId | None:
    """The sheet id in ``text`` (``WI-7-0012``, ``wi-7-12``, ``ＷＩ－７－１２``), or None."""
    clean = unicodedata.normalize("NFKC", text).replace("\u2212", "-").replace("\u2013", "-")
    match = _SHEET_RE.fullmatch(clean.strip().upper())
    if match is None or int(match.group(3)) < 1:
        return None
    return SheetId(match.group(1), int(match.group(2)), int(match.group(3)))


# ---------------------------------------------------------------------------------------------
# Questions and checks

@dataclass(frozen=True)
class Question:
    """What grading needs of one variant; hashable, so equal variants share cached checks."""

    kind: Kind
    expected: str | int | bool
    options: int | None = None
    tolerance: tuple[str, str] | None = None
    symbols: tuple[tuple[str, str], ...] = ()
    option_feedback: tuple[str | None, ...] = ()
    misconceptions: tuple[tuple[str, str], ...] = ()

    def __hash__(self) -> int:
        # Hashed on every cache lookup (hundreds of thousands per class): compute it once.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.kind, self.expected, type(self.expected), self.options, self.tolerance,
                           self.symbols, self.option_feedback, self.misconceptions))
            object.__setattr__(self, "_hash", cached)
        return cached

    def request(self, response: str) -> CompareRequest:
        return CompareRequest.model_validate({
            "kind": self.kind,
            "expected": self.expected,
            "response": response,
            "vars": dict(self.symbols) if self.kind == "formula" else None,
            "tolerance": dict([self.tolerance]) if self.tolerance else None,
            "options": self.options if self.kind == "choice" else None,
        })


def question_of(variant: Variant) -> Question:
    """The grading view of a variant: what ``engine.compare`` gets for each kind.

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


@lru_cache(maxsize=1024)
def _formula_distractors(misconceptions: tuple[tuple[str, str], ...],
                         symbols: tuple[tuple[str, str], ...]) -> tuple[tuple[sympy.Expr, str], ...]:
    out = []
    for value, feedback in misconceptions:
        try:  # the values are the bank's own SymPy strings: trusted, parsed by the safe parser anyway
            out.append((parse_formula(value, dict(symbols)), feedback))
        except (FormulaError, ValueError):
            continue  # a misconception we cannot read only costs its feedback, never a grade
    return tuple(out)


@lru_cache(maxsize=CHECK_CACHE_SIZE)
def _misconception_feedback(question: Question, normalized: str) -> str | None:
    if question.kind == "integer":
        for value, feedback in question.misconceptions:
            if value.strip().lstrip("+") == normalized:
                return feedback
        return None
    # numeric: "equal" means within the question's own tolerance of the misconception's value.
    response = Fraction(normalized)  # the checker's canonical text: a decimal or p/q
    tolerance = dict([question.tolerance]) if question.tolerance else None
    # The values are exact constants such as 1/32 or sqrt(33)/66: formulas without symbols.
    for value, feedback in _formula_distractors(question.misconceptions, ()):
        try:
            if within_tolerance(response, value, tolerance):
                return feedback
        except ValueError:  # a misconception that is not a finite real number
            continue
    return None


@lru_cache(maxsize=CHECK_CACHE_SIZE)
def check(question: Question, response: str) -> Checked:
    """Grade one raw answer to one question (cached). Never raises for anything in ``response``."""
    if not response.strip():
        return _UNANSWERED
    distractors: tuple[tuple[sympy.Expr, str], ...] = ()
    if question.kind == "formula":
        distractors = _formula_distractors(question.misconceptions, question.symbols)
    verdict = compare(question.request(response), distractors=distractors)
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
        feedback = _misconception_feedback(question, normalized)
    return Checked(status, verdict.message, normalized, feedback, option)


def clear_cache() -> None:
    """Forget cached checks (engine.compare keeps its own cache)."""
    check.cache_clear()
    _misconception_feedback.cache_clear()


# ---------------------------------------------------------------------------------------------
# The key


@dataclass
class Key:
    """The copies to grade against, by canonical sheet id, and where they came from."""

    info: KeyInfo
    copies: dict[str, Copy]
    _questions: dict[str, list[Question]] = field(default_factory=dict, repr=False)

    def questions(self, sheet: str) -> list[Question]:
        if sheet not in self._questions:
            self._questions[sheet] = [question_of(v) for v in self.copies[sheet].variants]
        return self._questions[sheet]

    @property
    def question_count(self) -> int:
        """Questions per sheet: copy i holds one variant of every exercise."""
        return len(self.info.exercises)

    @property
    def code(self) -> str:
        return self.info.bank.code

    def sheet_range(self) -> str:
        first = SheetId(self.code, self.info.seed, 1)
        last = SheetId(self.code, self.info.seed, self.info.count)
        return f"{first}" if self.info.count == 1 else f"{first} to {last}"

    def find(self, text: str) -> Copy | str:
        """The copy of a written sheet id, or why there is none."""
        sheet = parse_sheet_id(text)
        shown = text.strip()[:40]
        if sheet is None:
            return f"unreadable sheet id {shown!r} (expected like {SheetId(self.code, self.info.seed, 1)})"
        copy = self.copies.get(str(sheet))
        if copy is None:
            return f"unknown sheet {shown!r} (this key has sheets {self.sheet_range()})"
        return copy

    def variants(self) -> dict[str, Variant]:
        return {v.id: v for copy in self.copies.values() for v in copy.variants}


def check_hash(actual: str, wanted: str, what: str) -> None:
    """Raise when ``wanted`` (a full hash or a prefix of >= 8 hex digits) does not match ``actual``.

    Raises:
        UsageError: the hashes differ, or ``wanted`` is too short to mean anything.
    """
    wanted = wanted.strip().lower()
    if len(wanted) < MIN_HASH_PREFIX or not re.fullmatch(r"[0-9a-f]+", wanted):
        raise UsageError(f"--bank-hash: expected at least {MIN_HASH_PREFIX} hex digits (got {wanted[:70]!r})")
    if not actual.startswith(wanted):
        raise UsageError(f"--bank-hash {wanted} does not match {what} {actual}")


def key_from_quiz(quiz: Quiz, file: str | None = None, bank: Bank | None = None) -> Key:
    """The key from a saved JSON export; with ``bank``, the bank must not have changed since.

    Raises:
        UsageError: the bank's hash differs from the key's.
    """
    if bank is not None and bank.hash != quiz.bank.hash:
        raise UsageError(
            f"the bank has changed since the key was made: key bank hash {quiz.bank.hash}, "
            f"current bank hash {bank.hash} (grade with --key alone to use the saved key)"
        )
    info = KeyInfo(source="key file", file=file, seed=quiz.seed, count=quiz.count, pinned=quiz.pinned,
                   bank=quiz.bank, exercises=[e.id for e in quiz.exercises])
    copies = {}
    for copy in quiz.copies:
        sheet = parse_sheet_id(copy.sheet)
        copies[str(sheet) if sheet else copy.sheet] = copy
    return Key(info=info, copies=copies)


def _seed_from_sheets(code: str, sheets: Iterable[str]) -> int:
    seeds: Counter[int] = Counter()
    other: Counter[str] = Counter()
    for text in sheets:
        sheet = parse_sheet_id(text)
        if sheet is None:
            continue
        if sheet.code == code:
            seeds[sheet.seed] += 1
        else:
            other[sheet.code] += 1
    if len(seeds) == 1:
        return next(iter(seeds))
    if not seeds:
        hint = f" (found codes {', '.join(sorted(other))})" if other else ""
        raise UsageError(f"no sheet id of bank code {code} in the submissions{hint}; pass --seed "
                         "or --key")
    found = ", ".join(f"{seed} ({n} row{'s' if n > 1 else ''})" for seed, n in seeds.most_common())
    raise UsageError(f"the sheet ids carry different seeds: {found}; pass --seed to choose one")


def regenerate_key(
    bank: Bank,
    batch: SubmissionBatch,
    *,
    seed: int | None = None,
    count: int | None = None,
    exercise_ids: list[str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Key:
    """The key rebuilt from bank + seed; the seed and count come from the sheet ids when not given.

    Copy i depends on the earlier variants of each exercise (they are kept distinct), so the copies
    up to the largest sheet number are generated once and only the sheets in use are kept.

    Raises:
        UsageError: no seed can be inferred, or the sheets disagree on it; plus plan_quiz's errors.
    """
    code = bank.info.code
    if seed is None:
        seed = _seed_from_sheets(code, (s.sheet for s in batch.submissions))
    wanted: set[int] = set()
    for submission in batch.submissions:
        sheet = parse_sheet_id(submission.sheet)
        if sheet is not None and sheet.code == code and sheet.seed == seed:
            if count is None or sheet.number <= count:
                wanted.add(sheet.number)
    if count is None:
        count = max(wanted, default=1)
    plan = plan_quiz(bank, seed=seed, count=count, exercise_ids=exercise_ids, params=params)
    copies = {copy.sheet: copy for copy in plan.copies() if copy.index + 1 in wanted}
    header: QuizHeader = plan.header
    info = KeyInfo(source="regenerated", seed=seed, count=count, pinned=header.pinned, bank=header.bank,
                   exercises=[e.id for e in header.exercises])
    return Key(info=info, copies=copies)


# ---------------------------------------------------------------------------------------------
# Grading


def _percent(total: int, maximum: int) -> float:
    if maximum <= 0:
        return 0.0
    hundredths = math.floor(Fraction(100 * total, maximum) * 100 + Fraction(1, 2))  # half up, exact
    return float(Decimal(hundredths).scaleb(-2))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_RESPONSE else text[:MAX_RESPONSE] + "…"


def _answer(number: int, variant: Variant, question: Question, response: str) -> AnswerResult:
    checked = check(question, response)
    return AnswerResult(
        question=f"q{number}", exercise=variant.exercise, variant=variant.id, kind=variant.kind,
        response=_clip(response), normalized=checked.normalized, status=checked.status,
        points=variant.points if checked.status == "correct" else 0, max_points=variant.points,
        message=checked.message, feedback=checked.feedback, option=checked.option,
    )


def grade_sheet(copy: Copy, questions: list[Question], submission: Submission,
                memo: dict[tuple[str, str], AnswerResult] | None = None) -> SheetResult:
    """Grade one submission against its copy; answers beyond the copy's questions are ignored.

    ``memo`` (variant id, answer) -> result lets sheets of one copy share their answers' results.
    """
    results = []
    for number, (variant, question) in enumerate(zip(copy.variants, questions, strict=True), start=1):
        response = submission.answers.get(number, "")
        result = memo.get((variant.id, response)) if memo is not None else None
        if result is None:
            result = _answer(number, variant, question, response)
            if memo is not None:
                memo[(variant.id, response)] = result
        results.append(result)
    total = sum(r.points for r in results)
    maximum = sum(r.max_points for r in results)
    return SheetResult(row=submission.row, student=submission.student, sheet=copy.sheet, answers=results,
                       total=total, max=maximum, percent=_percent(total, maximum))


@dataclass
class GradeOutcome:
    sheets: list[SheetResult]
    rejected: list[Rejected]
    notices: list[str]
    flagged: list[Flagged]


def _column_notices(batch: SubmissionBatch, questions: int) -> list[str]:
    notices = []
    extra = [n for n in batch.questions if n > questions]
    if extra:
        names = ", ".join(f"q{n}" for n in extra[:10]) + (" ..." if len(extra) > 10 else "")
        notices.append(f"ignored {names}: the quiz has {questions} question{'s' if questions != 1 else ''}")
    if batch.format == "csv":
        missing = [n for n in range(1, questions + 1) if n not in batch.questions]
        if missing:
            names = ", ".join(f"q{n}" for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
            notices.append(f"no column for {names}: counted as unanswered")
    return notices


def grade_batch(key: Key, batch: SubmissionBatch) -> GradeOutcome:
    """Grade every submission that names a sheet of the key; the others become rejections."""
    sheets: list[SheetResult] = []
    rejected = list(batch.rejected)
    flagged: list[Flagged] = []
    first_row: dict[tuple[str, str], int] = {}
    rows_of_student: Counter[str] = Counter()
    memo: dict[tuple[str, str], AnswerResult] = {}
    for submission in batch.submissions:
        found = key.find(submission.sheet)
        if isinstance(found, str):
            rejected.append(Rejected(row=submission.row, reason=found, raw=submission.raw))
            continue
        seen = (submission.student, found.sheet)
        if seen in first_row:
            reason = f"duplicate of {batch.unit} {first_row[seen]} (same student and sheet)"
            rejected.append(Rejected(row=submission.row, reason=reason, raw=submission.raw))
            continue
        first_row[seen] = submission.row
        rows_of_student[submission.student] += 1
        result = grade_sheet(found, key.questions(found.sheet), submission, memo)
        sheets.append(result)
        flagged.extend(
            Flagged(row=result.row, student=result.student, sheet=result.sheet, question=a.question,
                    response=a.response, message=a.message)
            for a in result.answers if a.status == "undecided"
        )
    notices = list(batch.notices) + _column_notices(batch, key.question_count)
    several = sorted(name for name, n in rows_of_student.items() if n > 1)
    if several:
        shown = ", ".join(several[:5]) + (" ..." if len(several) > 5 else "")
        notices.append(f"{len(several)} student{'s' if len(several) > 1 else ''} handed in several sheets "
                       f"(each is graded): {shown}")
    rejected.sort(key=lambda r: r.row)
    return GradeOutcome(sheets=sheets, rejected=rejected, notices=notices, flagged=flagged)


# ---------------------------------------------------------------------------------------------
# Outputs as text

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    # A cell starting like a formula runs in a spreadsheet (CSV injection); a leading ' shows it as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def grades_csv(report: GradeReport) -> str:
    """student,sheet,q1..qN (points),total,max,percent: one row per graded sheet, in input order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "sheet", *(f"q{n}" for n in range(1, report.questions + 1)),
                     "total", "max", "percent"])
    for sheet in report.sheets:
        points = [str(a.points) for a in sheet.answers]
        points += [""] * (report.questions - len(points))
        writer.writerow([_safe_cell(sheet.student), _safe_cell(sheet.sheet), *points,
                         sheet.total, sheet.max, f"{sheet.percent:.2f}"])
    return out.getvalue()


def report_json(report: GradeReport) -> str:
    """The report's dump: everything but the sheets indented, then one graded sheet per line.

    One line per sheet (its answers last) keeps a class of 10 000 greppable and a third smaller
    than indenting.
    """
    head = report.model_dump_json(indent=1, exclude={"sheets"})
    dumped: dict[int, str] = {}  # sheets of one copy share answer objects: dump each one once

    def answer(a: AnswerResult) -> str:
        text = dumped.get(id(a))
        if text is None:
            text = dumped[id(a)] = a.model_dump_json()
        return text

    sheets = ",\n  ".join(
        sheet.model_dump_json(exclude={"answers"})[:-1] + ',"answers":[' + ",".join(map(answer, sheet.answers)) + "]}"
        for sheet in report.sheets
    )
    return head[:-2] + ',\n "sheets": [' + (f"\n  {sheets}\n ]" if sheets else "]") + "\n}\n"


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])")
_MD_BLOCK_START = re.compile(r"([#+=>-]|\d{1,9}[.)])")


def md(value: Any) -> str:
    """Text made inert in Markdown: one line, inline syntax and a leading block marker escaped.

    CommonMark allows a backslash before any ASCII punctuation, so the result is always valid;
    it keeps ``|`` from splitting a table cell, ``<`` from opening HTML, ``[`` from making a link
    and ``#``/``-``/``1.`` at the start from making a heading or a list.
    """
    text = "" if value is None else str(value)
    text = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) and ch != " " else ch
                   for ch in text)
    text = _MD_INLINE.sub(r"\\\1", text.strip())
    match = _MD_BLOCK_START.match(text)
    if match:
        end = match.end()
        text = text[: end - 1] + "\\" + text[end - 1:]
    return text


def md_bank(value: Any) -> str:
    """Bank-authored text (titles, option texts) in a table cell: TeX and Markdown kept working.

    Only what would break the table is escaped: ``|`` and line breaks. Student text always goes
    through ``md`` instead.
    """
    return " ".join(str(value).split()).replace("|", "\\|")


def _fmt(value: float | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:.{places}f}"


@lru_cache(maxsize=1)
def _report_environment() -> Any:
    env = output_environment().overlay()
    env.filters["md"] = md
    env.filters["md_bank"] = md_bank
    env.filters["fmt"] = _fmt
    return env


def report_markdown(report: GradeReport) -> str:
    """The Markdown report: summary, score distribution, item analysis, flags and rejected rows."""
    template = _report_environment().get_template("report/report.md.j2")
    return template.render(report=report, analysis=report.analysis)
