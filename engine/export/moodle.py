"""Moodle XML export: one question category per exercise template holding its N variants.

Each exercise becomes ``<question type="category">`` ``$course$/top/<bank title>/<exercise
title>`` followed by one question per variant, so a quiz slot "random question from category"
gives every student a different variant. The mapping (checked against Moodle's own importer,
``question/format/xml/format.php`` and ``question/format.php``; see docs/moodle.md):

- ``concept``/``scenario``/``choice`` → ``multichoice``: one answer, the variant's option order
  (``shuffleanswers`` off, numbered ``123``: the worked solution says "Answer: ③"), fraction
  100 on the correct option and 0 on the others, each distractor with its misconception feedback.
- ``true_false`` → ``truefalse``: answers ``true``/``false``, 100/0, the wrong one with feedback.
- ``integer`` → ``numerical`` with tolerance 0; ``numeric`` → ``numerical`` with the absolute
  tolerance (a relative one times |answer|), the answer as a plain 20-digit decimal. Every
  misconception follows as a 0 answer with its feedback, its interval kept clear of the correct
  one (Moodle takes the first answer whose interval holds the response; the correct one is first).
- ``formula`` → Moodle cannot check symbolic equivalence: ``multichoice`` built from the correct
  formula and the template's distractors (exact, distinct values, so Moodle grades it right),
  or, without distractors, an ``essay`` graded by hand with the formula as grader information.
  The category info and a note in the question say so.

Penalty (used only by the adaptive and interactive behaviours): 1/(options − 1) for a
multichoice or truefalse question, so trying every option in turn earns nothing (1 for
true/false, Moodle's own default there); 0.3333333 (Moodle's default) for numerical; 0 for an
essay. ``defaultgrade`` is the exercise's points. ``idnumber`` is the variant id
``<exercise>.<seed>.<n>`` (≤ 100 characters, unique in its category).

Texts are HTML from :mod:`engine.html` on one line (Moodle's XML parser drops whitespace-only
pieces of character data, and a newline arrives as a piece of its own), always in CDATA when
they contain markup or characters XML would escape (as Moodle's own exporter does), with ``]]>``
split; the XML is produced by autoescaping templates in ``templates/moodle/``. The question
template is rendered once per question shape into a skeleton whose slots are filled per
question (see "skeleton rendering" below): the same bytes as rendering it per question.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import jinja2
from markupsafe import Markup, escape

from engine.errors import QuizwrightError
from engine.export.base import register
from engine.export.html import markdown_to_html, markdown_to_html_inline, one_line, tex_html
from engine.export.skeleton import Helpers, Skeleton, Slot, compile_skeleton
from engine.files import Sink, output_environment
from engine.generation.pipeline import QuizPlan
from engine.generation.quiz import (
    BooleanAnswer,
    ExerciseSummary,
    FormulaAnswer,
    IntegerAnswer,
    NumericAnswer,
    OptionAnswer,
    QuizHeader,
    Variant,
)
from engine.generation.variants import Plan, VariantMaker
from engine.vocabulary import CHOICE_KINDS

# Grades Moodle accepts for an answer (percent, within 0.001), from question_bank::fraction_options_full().
MOODLE_FRACTIONS: tuple[str, ...] = tuple(
    "100 90 83.33333 80 75 70 66.66667 60 50 40 33.33333 30 25 20 16.66667 14.28571 12.5 11.11111 10 5 0".split()
)
RIGHT, WRONG = "100", "0"
NUMERICAL_PENALTY = "0.3333333"  # Moodle's default penalty
ESSAY_PENALTY = "0"
MAX_IDNUMBER = 100  # question_bank_entries.idnumber is varchar(100)
MAX_NAME = 255  # question.name; Moodle shortens longer names itself, we do it predictably
MAX_CATEGORY_NAME = 255
MAX_TAG = 50  # TAG_MAX_LENGTH

FORMULA_CHOICE_NOTE = "Select the expression that is equal to the answer."
FORMULA_ESSAY_NOTE = (
    "Type the formula as plain text, for example 2/(a + b) or sqrt(x)^3; "
    "your teacher grades this answer."
)
FORMULA_CHOICE_LIMITATION = (
    "Moodle cannot check whether two formulas are equivalent, so this free-response formula "
    "exercise is exported as multiple choice: the correct formula among the template's distractors, "
    "each with its misconception feedback, in an order fixed per variant (and shuffled per attempt "
    "when the quiz shuffles within questions). Students recognise the formula instead of writing "
    "it; `quizwright grade` grades the free-response form of the same variants."
)
FORMULA_ESSAY_LIMITATION = (
    "Moodle cannot check whether two formulas are equivalent and this template has no distractors "
    "to build a multiple choice question from, so it is exported as an essay question that the "
    "teacher grades by hand (the correct formula and the worked solution are in the grader "
    "information). It is never graded automatically, so never graded wrongly."
)

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# A plain number plain_decimal() returns unchanged: no trailing zero after the point ("-0" aside).
_CANONICAL_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")
_TAG_REMOVED = re.compile(r"[<>`,\x00-\x1f\x7f]")


class MoodleExportError(QuizwrightError):
    """A variant that cannot be written as a question Moodle would import and grade right."""


# -- XML text helpers -------------------------------------------------------------------------


def xml_chars(text: str) -> str:
    """Text with the characters XML 1.0 forbids (even in CDATA) replaced by U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def cdata_str(text: str) -> str:
    """:func:`cdata` as a plain ``str`` (what skeletons fill in)."""
    if type(text) is not str:
        text = str.__str__(text)  # Markup's own replace() would escape its arguments
    if not text.isprintable():  # every character XML forbids is unprintable; most text is not
        text = _XML_INVALID.sub("\ufffd", text)
    if not text:
        return ""
    return f"<![CDATA[{text.replace(']]>', ']]]]><![CDATA[>')}]]>"


def cdata(text: str) -> Markup:
    """Text as one or more CDATA sections; a ``]]>`` inside is split as ``]]]]><![CDATA[>``."""
    return Markup(cdata_str(text))


def text_str(value: str) -> str:
    """:func:`text` as a plain ``str`` (what skeletons fill in)."""
    if type(value) is not str:
        value = str.__str__(value)
    if not value.isprintable():
        value = _XML_INVALID.sub("\ufffd", value)
    if "&" in value or "<" in value or ">" in value:
        return cdata_str(value)
    return value


def text(value: str) -> Markup:
    """Plain text for a ``<text>`` element: as is, or CDATA when it holds ``&``, ``<`` or ``>``.

    Like Moodle's own exporter (``qformat_xml::xml_escape``): an entity reference reaches
    Moodle's parser as a separate piece of character data, and it drops pieces that are only
    whitespace, so ``&lt; &gt;`` would lose its space; CDATA has no such pieces.
    """
    return Markup(text_str(value))


def single_line(value: str) -> str:
    """Plain text with every run of whitespace (newlines included) as one space."""
    return " ".join(value.split())


def xml_comment(value: str) -> str:
    """Text safe inside ``<!-- -->`` (no ``--``, no trailing ``-``)."""
    value = single_line(xml_chars(value)).replace("--", "- -")
    return value + " " if value.endswith("-") else value


# -- numbers ----------------------------------------------------------------------------------


def plain_decimal(value: str | int | Decimal) -> str:
    """A number as Moodle's numerical type reads it: plain decimal, no exponent, '-' if negative."""
    if type(value) is str and value != "-0" and _CANONICAL_NUMBER.fullmatch(value):
        return value  # already the plain form: what the steps below would return
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoodleExportError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise MoodleExportError(f"not a finite number: {value!r}")
    result = format(number, "f")
    if "." in result:
        result = result.rstrip("0").rstrip(".")
    if result in ("-0", ""):
        result = "0"
    if not _PLAIN_NUMBER.fullmatch(result):
        raise MoodleExportError(f"cannot write {value!r} as a plain number")
    return result


def _round_down(value: Decimal, digits: int = 12) -> Decimal:
    """Value rounded towards zero to `digits` significant digits (a tolerance that never grows)."""
    if value <= 0:
        return Decimal(0)
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    return value.quantize(quantum, rounding=ROUND_DOWN)


@lru_cache(maxsize=64)
def penalty_for(options: int) -> str:
    """1/(options − 1) to 7 decimals: the last of all tries earns nothing."""
    if options < 2:
        raise MoodleExportError(f"a choice question needs at least 2 options (got {options})")
    share = Decimal(1) / Decimal(options - 1)
    return plain_decimal(share.quantize(Decimal("0.0000001"), rounding=ROUND_HALF_UP))


# -- the question model the templates receive -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoodleAnswer:
    fraction: str
    text: str  # HTML when `html`, else plain ("true", "0.25")
    feedback: str = ""  # HTML
    html: bool = False
    tolerance: str | None = None


@dataclass(frozen=True, slots=True)
class MoodleQuestion:
    name: str
    idnumber: str
    questiontext: str  # HTML, one line
    generalfeedback: str  # HTML, one line
    defaultgrade: str
    tags: list[str]
    type: str = ""  # multichoice, truefalse, numerical, essay
    penalty: str = ""
    answers: list[MoodleAnswer] = field(default_factory=list)
    shuffleanswers: bool = False
    graderinfo: str = ""  # essay only


@dataclass(frozen=True)
class MoodleCategory:
    path: str
    info: str  # HTML, one line


# Texts without parameters (options, feedback, whole questions) repeat in every variant.
@lru_cache(maxsize=2048)
def html(markdown: str) -> str:
    return _one_line(markdown_to_html(markdown))


@lru_cache(maxsize=2048)
def html_inline(markdown: str) -> str:
    return _one_line(markdown_to_html_inline(markdown))


def _one_line(html: str) -> str:
    # one_line() only strips HTML that holds no line break (most texts): skip its regexes.
    if "\n" in html or "\r" in html:
        return one_line(html)
    return html.strip()


# -- categories -------------------------------------------------------------------------------


def category_segment(name: str) -> str:
    """One level of a category path: '/' doubled as Moodle's split_category_path expects."""
    name = single_line(xml_chars(name))[:MAX_CATEGORY_NAME].strip() or "untitled"
    escaped = name.replace("/", "//")
    if escaped.startswith("/"):
        escaped = " " + escaped
    if escaped.endswith("/"):
        escaped += " "
    return escaped


def category_titles(exercises: Iterable[ExerciseSummary]) -> dict[str, str]:
    """Category name per exercise id: its title, with the id added where titles would collide.

    Two templates in one category would mix their variants in a random slot; Moodle matches
    category names case-insensitively on MySQL, so collisions are found case-insensitively.
    """
    exercises = list(exercises)
    seen: dict[str, int] = {}
    for s in exercises:
        key = single_line(s.title).casefold()
        seen[key] = seen.get(key, 0) + 1
    return {
        s.id: (s.title if seen[single_line(s.title).casefold()] == 1 else f"{s.title} ({s.id})")
        for s in exercises
    }


def category_path(bank_title: str, exercise_title: str) -> str:
    return f"$course$/top/{category_segment(bank_title)}/{category_segment(exercise_title)}"


# -- variants → questions -----------------------------------------------------------------------


def name_and_idnumber(title: str, index: int, vid: str) -> tuple[str, str]:
    """A variant question's name (its one-line title, shortened to fit) and its idnumber."""
    if len(vid) > MAX_IDNUMBER:
        raise MoodleExportError(f"{vid}: idnumber longer than {MAX_IDNUMBER} characters")
    suffix = f" (variant {index + 1}, {vid})"
    room = MAX_NAME - len(suffix)
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return title + suffix, vid


def _tag(raw: str) -> str:
    # Moodle's PARAM_TAG removes control characters and <>`, collapses spaces and cuts at 50;
    # a comma separates tags in Moodle's forms, so it is replaced too.
    cleaned = single_line(_TAG_REMOVED.sub(" ", raw))
    return cleaned[:MAX_TAG].strip()


def question_tags(variant: Variant, header: QuizHeader) -> list[str]:
    return list(_tags(header.bank.code, variant.topic, variant.kind, tuple(variant.tags)))


@lru_cache(maxsize=1024)
def _tags(bank_code: str, topic: str, kind: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    raw = ["quizwright", f"bank:{bank_code}", f"topic:{topic}", f"kind:{kind}", *extra]
    tags: list[str] = []
    seen: set[str] = set()
    for tag in map(_tag, raw):
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tuple(tags)


def formula_mode(variant: Variant) -> str:
    """'multichoice' when the template has distractors to choose from, else 'essay'."""
    return "multichoice" if variant.misconceptions else "essay"


@dataclass(frozen=True, slots=True)
class _ExerciseConstants:
    """What a question takes from its exercise alone, the same for every variant."""

    title: str  # the name's title part, on one line (before shortening)
    tags: tuple[str, ...]
    defaultgrade: str


@lru_cache(maxsize=1024)
def _exercise_constants(
    bank_code: str, title: str, topic: str, kind: str, tags: tuple[str, ...], points: int
) -> _ExerciseConstants:
    return _ExerciseConstants(
        title=single_line(title),
        tags=_tags(bank_code, topic, kind, tags),
        defaultgrade=str(points),
    )


# Answers that depend only on texts the exercise repeats (option texts and feedback, a
# true/false key): one frozen MoodleAnswer shared by every variant showing it.
@lru_cache(maxsize=8192)
def _option_answer(text: str, correct: bool, feedback: str | None) -> MoodleAnswer:
    return MoodleAnswer(
        fraction=RIGHT if correct else WRONG,
        text=html_inline(text),
        html=True,
        feedback=html(feedback) if feedback else "",
    )


@lru_cache(maxsize=1024)
def _true_false_answers(
    value: bool, true_feedback: str, false_feedback: str
) -> tuple[MoodleAnswer, MoodleAnswer]:
    return (
        MoodleAnswer(fraction=RIGHT if value else WRONG, text="true", feedback=true_feedback),
        MoodleAnswer(fraction=WRONG if value else RIGHT, text="false", feedback=false_feedback),
    )


def _answer_kind(answer: object) -> type:
    """Which of the four mappings an answer takes (integer and numeric share one)."""
    if isinstance(answer, OptionAnswer):
        return OptionAnswer
    if isinstance(answer, BooleanAnswer):
        return BooleanAnswer
    if isinstance(answer, IntegerAnswer | NumericAnswer):
        return NumericAnswer
    return FormulaAnswer


_ANSWER_KINDS: dict[type, type] = {
    OptionAnswer: OptionAnswer,
    BooleanAnswer: BooleanAnswer,
    IntegerAnswer: NumericAnswer,
    NumericAnswer: NumericAnswer,
    FormulaAnswer: FormulaAnswer,
}


class QuestionBuilder:
    """Turns finished variants into Moodle questions (mapping only: no sampling, no solving)."""

    def __init__(self, header: QuizHeader) -> None:
        self.header = header
        self._bank_code = header.bank.code

    def build(self, variant: Variant) -> MoodleQuestion:
        const = _exercise_constants(
            self._bank_code,
            variant.title,
            variant.topic,
            variant.kind,
            tuple(variant.tags),
            variant.points,
        )
        name, vid = name_and_idnumber(const.title, variant.index, variant.id)
        questiontext = html(variant.question)
        generalfeedback = html(variant.explanation)
        answer = variant.answer
        shuffle = False
        graderinfo = ""
        kind = _ANSWER_KINDS.get(type(answer)) or _answer_kind(answer)
        if kind is OptionAnswer:
            qtype, penalty, answers = self._choice(variant)
        elif kind is BooleanAnswer:
            qtype, penalty, answers = self._true_false(variant, answer)
        elif kind is NumericAnswer:
            qtype, penalty, answers = self._numerical(variant, answer)
        else:
            qtype, penalty, answers, questiontext, shuffle, graderinfo = self._formula(
                variant, answer, questiontext, generalfeedback
            )
        return MoodleQuestion(
            name, vid, questiontext, generalfeedback, const.defaultgrade, list(const.tags),
            qtype, penalty, answers, shuffle, graderinfo,
        )  # fmt: skip

    @staticmethod
    def _choice(variant: Variant) -> tuple[str, str, list[MoodleAnswer]]:
        options = variant.options
        correct = 0
        for o in options:
            if o.correct:
                correct += 1
        if correct != 1:
            raise MoodleExportError(f"{variant.id}: {correct} correct options (expected exactly 1)")
        answers = [_option_answer(o.text, o.correct, o.feedback) for o in options]
        for number, a in enumerate(answers, start=1):
            if not a.text:  # Moodle skips an empty option and the numbering would shift
                raise MoodleExportError(f"{variant.id}: option {number} has no text")
        return "multichoice", penalty_for(len(answers)), answers

    @staticmethod
    def _true_false(variant: Variant, answer: BooleanAnswer) -> tuple[str, str, list[MoodleAnswer]]:
        # The variant's options are True (1) and False (2); the wrong one carries the feedback.
        feedback = {True: "", False: ""}
        for option in variant.options:
            if option.feedback and option.number in (1, 2):
                feedback[option.number == 1] = html(option.feedback)
        answers = _true_false_answers(bool(answer.value), feedback[True], feedback[False])
        return "truefalse", penalty_for(2), list(answers)

    @classmethod
    def _numerical(
        cls, variant: Variant, answer: IntegerAnswer | NumericAnswer
    ) -> tuple[str, str, list[MoodleAnswer]]:
        # The correct answer's texts come straight from plain_decimal (the Decimal it parses to
        # would print the same again); the Decimals and their 60-digit context are needed only
        # for the misconceptions' intervals.
        if isinstance(answer, IntegerAnswer):
            number = answer.value
            text = str(number) if type(number) is int else plain_decimal(Decimal(number))
            tolerance = "0"
            relative = None
        else:
            text = plain_decimal(answer.decimal)
            tolerance = plain_decimal(answer.absolute_tolerance)
            relative = (
                plain_decimal(answer.tolerance) if answer.tolerance_kind == "relative" else None
            )
        answers = [MoodleAnswer(RIGHT, text, "", False, tolerance)]
        if variant.misconceptions:
            with localcontext() as ctx:
                ctx.prec = 60
                answers.extend(
                    cls._misconception_answers(
                        variant,
                        Decimal(text),
                        Decimal(tolerance),
                        Decimal(relative) if relative is not None else None,
                    )
                )
        return "numerical", NUMERICAL_PENALTY, answers

    @staticmethod
    def _misconception_answers(
        variant: Variant, value: Decimal, tolerance: Decimal, relative: Decimal | None
    ) -> Iterator[MoodleAnswer]:
        """Each misconception as a 0 answer whose interval stays clear of the correct one.

        Its tolerance is the exercise's (a relative one scaled to the wrong value), cut to half
        the gap to the correct interval; a wrong value inside (or within 1e-9 of) the correct
        interval is left out, since the correct answer, listed first, would take it anyway.
        """
        taken: set[Decimal] = set()
        for miscon in variant.misconceptions:
            wrong = Decimal(miscon.decimal) if miscon.decimal is not None else None
            if wrong is None or wrong in taken:
                continue
            gap = abs(wrong - value) - tolerance
            scale = max(Decimal(1), abs(value), abs(wrong))
            if gap <= scale * Decimal("1e-9"):
                continue
            own = abs(wrong) * relative if relative is not None else tolerance
            own = _round_down(min(own, gap / 2))
            taken.add(wrong)
            yield MoodleAnswer(
                fraction=WRONG,
                text=plain_decimal(wrong),
                tolerance=plain_decimal(own),
                feedback=html(miscon.feedback),
            )

    @staticmethod
    def _formula(
        variant: Variant, answer: FormulaAnswer, questiontext: str, generalfeedback: str
    ) -> tuple[str, str, list[MoodleAnswer], str, bool, str]:
        """type, penalty, answers, question text, shuffleanswers and grader info."""
        if formula_mode(variant) == "essay":
            symbols = ", ".join(answer.symbols)
            grader = (
                f"<p>Correct answer: {tex_html(answer.latex, display=False)} "
                f"(<code>{escape(answer.expr)}</code>), in the symbols <code>{escape(symbols)}</code>. "
                f"Accept any equivalent expression.</p> {generalfeedback}"
            )
            note = f"{questiontext} <p><em>{FORMULA_ESSAY_NOTE}</em></p>"
            return "essay", ESSAY_PENALTY, [], note, False, grader
        options: list[tuple[str, str, str]] = [(answer.latex, RIGHT, "")]
        seen = {single_line(answer.latex)}
        for miscon in variant.misconceptions:
            if single_line(miscon.latex) in seen:
                continue
            seen.add(single_line(miscon.latex))
            options.append((miscon.latex, WRONG, html(miscon.feedback)))
        # A fixed order per variant, from its id (not from a random generator): the correct
        # formula is not always first, and Moodle may shuffle further per attempt.
        options.sort(
            key=lambda option: hashlib.sha256(f"{variant.id}\0{option[0]}".encode()).hexdigest()
        )
        answers = [
            MoodleAnswer(
                fraction=fraction, text=tex_html(latex, display=False), html=True, feedback=feedback
            )
            for latex, fraction, feedback in options
        ]
        note = f"{questiontext} <p><em>{FORMULA_CHOICE_NOTE}</em></p>"
        return "multichoice", penalty_for(len(answers)), answers, note, True, ""


# -- questions through skeletons --------------------------------------------------------------------

QUESTION_TEMPLATE = "moodle/question.xml.j2"
# At fill time the transforms are memoised: tags, feedback and option texts repeat in every
# variant of an exercise. (Both take strings only and depend only on their characters.)
QUESTION_HELPERS: Helpers = {
    "text": (text, lru_cache(maxsize=4096)(text_str)),
    "cdata": (cdata, lru_cache(maxsize=4096)(cdata_str)),
}
# The data fields of a question, in the order of the values a skeleton is filled with: these,
# then four per answer, then the tags.
QUESTION_FIELDS = (
    "name", "idnumber", "questiontext", "generalfeedback", "defaultgrade", "penalty", "graderinfo",
)  # fmt: skip
ANSWER_FIELDS = ("fraction", "text", "feedback", "tolerance")

# type, shuffleanswers, per answer (html, tolerance is None), number of tags
QuestionShape = tuple[str, bool, tuple[tuple[bool, bool], ...], int]


def question_shape(q: MoodleQuestion) -> QuestionShape:
    """Every value question.xml.j2's control flow reads."""
    return (
        q.type,
        q.shuffleanswers,
        tuple([(a.html, a.tolerance is None) for a in q.answers]),
        len(q.tags),
    )


def question_values(q: MoodleQuestion) -> list[Any]:
    """The data fields of a question, in the order of QUESTION_FIELDS, the answers, the tags."""
    values = [
        q.name, q.idnumber, q.questiontext, q.generalfeedback, q.defaultgrade, q.penalty,
        q.graderinfo,
    ]  # fmt: skip
    for a in q.answers:
        values += (a.fraction, a.text, a.feedback, a.tolerance)
    values += q.tags
    return values


def question_context(shape: QuestionShape, slot: Callable[[int, str], Slot]) -> dict[str, Any]:
    """The skeleton render context of question.xml.j2 for one shape."""
    qtype, shuffle, answer_shapes, tags = shape
    q = SimpleNamespace(
        type=qtype,
        shuffleanswers=shuffle,
        **{f: slot(i, f"q.{f}") for i, f in enumerate(QUESTION_FIELDS)},
    )
    base = len(QUESTION_FIELDS)
    q.answers = []
    for k, (is_html, no_tolerance) in enumerate(answer_shapes):
        first = base + len(ANSWER_FIELDS) * k
        fields = {f: slot(first + i, f"q.answers[{k}].{f}") for i, f in enumerate(ANSWER_FIELDS)}
        if no_tolerance:
            fields["tolerance"] = None
        q.answers.append(SimpleNamespace(html=is_html, **fields))
    first_tag = base + len(ANSWER_FIELDS) * len(answer_shapes)
    q.tags = [slot(first_tag + j, f"q.tags[{j}]") for j in range(tags)]
    return {"q": q}


# A handful of shapes per export; keyed by template too (it is reloaded when its file changes).
_SKELETONS: dict[tuple[jinja2.Template, QuestionShape], Skeleton] = {}


def question_skeleton(template: jinja2.Template, shape: QuestionShape) -> Skeleton:
    skeleton = _SKELETONS.get((template, shape))
    if skeleton is None:
        skeleton = compile_skeleton(
            template, lambda slot: question_context(shape, slot), QUESTION_HELPERS
        )
        _SKELETONS[template, shape] = skeleton
    return skeleton


def question_template() -> jinja2.Template:
    return output_environment().get_template(QUESTION_TEMPLATE)


class QuestionWriter:
    """One variant → its ``<question>`` element, as question.xml.j2 renders it, via skeletons."""

    def __init__(self, header: QuizHeader, template: jinja2.Template | None = None) -> None:
        self.builder = QuestionBuilder(header)
        self.template = template if template is not None else question_template()

    def xml(self, variant: Variant) -> str:
        return self.render(self.builder.build(variant))

    def render(self, q: MoodleQuestion) -> str:
        return render_question(q, self.template)


def render_question(q: MoodleQuestion, template: jinja2.Template | None = None) -> str:
    """question.xml.j2 (or `template`, given the same context) rendered for `q`, byte for byte."""
    if template is None:
        template = question_template()
    return question_skeleton(template, question_shape(q)).fill(question_values(q))


def mapping_text(summary: ExerciseSummary, first: Variant | None) -> tuple[str, str | None]:
    """How the exercise's kind is represented in Moodle, and the limitation to state, if any."""
    kind = summary.kind
    if kind in CHOICE_KINDS:
        return (
            "multichoice, one answer, options in the order of the worked solution (no shuffling), "
            "numbered 1, 2, 3, with misconception feedback on every distractor.",
            None,
        )
    if kind == "true_false":
        return "truefalse, with misconception feedback on the wrong answer.", None
    if kind == "integer":
        return (
            "numerical, exact (tolerance 0); misconceptions are extra 0% answers with their "
            "feedback.",
            None,
        )
    if kind == "numeric":
        return (
            "numerical with an absolute tolerance (a relative tolerance is multiplied by |answer|); "
            "the answer is written to 20 significant digits; misconceptions are extra 0% answers "
            "with their feedback.",
            None,
        )
    if first is not None and formula_mode(first) == "essay":
        return "essay (graded by hand).", FORMULA_ESSAY_LIMITATION
    return (
        "multichoice built from the correct formula and the template's distractors.",
        FORMULA_CHOICE_LIMITATION,
    )


# Variants of an exercise with at most this many distinct variants (counted exactly) repeat
# when N is larger; the XML of each is kept and only its name and idnumber are rewritten.
REPEAT_CACHE_LIMIT = 4096
# Stand-ins for the name and idnumber while a reusable question is written: private-use
# characters that text() leaves as they are; a question holding them itself is not reused.
_NAME, _IDNUMBER = "\ue000quizwright-name\ue000", "\ue000quizwright-idnumber\ue000"


def reuses_questions(summary: ExerciseSummary) -> bool:
    """Whether the exercise's questions are written once per distinct variant and reused."""
    distinct = summary.distinct_variants
    return summary.kind != "formula" and distinct is not None and distinct <= REPEAT_CACHE_LIMIT


class ExerciseQuestions:
    """The ``<question>`` elements of one exercise's variant plans, each written once per content.

    A variant's question depends on its drawn values and option order only, but for its name
    and idnumber (a formula's multiple choice order also depends on the variant id, so formula
    variants are always written whole).
    """

    def __init__(self, writer: QuestionWriter, summary: ExerciseSummary, maker: VariantMaker) -> None:
        self.writer = writer
        self.maker = maker
        self.reuse = reuses_questions(summary)
        self._made: dict[tuple, tuple[str, str, str] | None] = {}
        self.title = single_line(maker.ex.spec.title)

    def xml(self, plan: Plan) -> str:
        if not self.reuse:
            return self.writer.xml(self.maker.materialize(plan))
        key = (plan.values, plan.order)
        if key not in self._made:
            self._made[key] = self._reusable(self.maker.materialize(plan))
        parts = self._made[key]
        if parts is None:
            return self.writer.xml(self.maker.materialize(plan))
        before, between, after = parts
        name, vid = name_and_idnumber(self.title, plan.index, self.maker.variant_id(plan.index))
        return before + text_str(name) + between + text_str(vid) + after

    def _reusable(self, variant: Variant) -> tuple[str, str, str] | None:
        q = self.writer.builder.build(variant)
        values = question_values(q)
        if any(_NAME[0] in str(v) for v in values if v is not None):
            return None
        values[0], values[1] = _NAME, _IDNUMBER
        xml = question_skeleton(self.writer.template, question_shape(q)).fill(values)
        before, _, rest = xml.partition(_NAME)
        between, _, after = rest.partition(_IDNUMBER)
        return before, between, after


def _render_questions(plan: QuizPlan, k: int, plans: list[Plan]) -> str:
    """The <question> elements of a run of variant plans of exercise k."""
    writer = plan.memo.get("moodle")
    if writer is None:
        writer = plan.memo["moodle"] = QuestionWriter(plan.header)
    questions = plan.memo.get(("moodle", k))
    if questions is None:
        questions = plan.memo["moodle", k] = ExerciseQuestions(writer, plan.header.exercises[k], plan.makers[k])
    return "".join(questions.xml(p) for p in plans)


class MoodleWriter:
    name = "moodle"
    suffix = ".xml"
    help = (
        "Moodle XML for Question bank → Import: a category per exercise holding its N variants, "
        "for random-question slots (always includes the answers)"
    )

    def write(self, plan: QuizPlan, sink: Sink, *, key: bool = True) -> None:
        # Moodle needs the answers to grade, so `key` does not apply: the export always has them.
        env = output_environment()
        start = env.get_template("moodle/quiz_start.xml.j2")
        category = env.get_template("moodle/category.xml.j2")
        info = env.get_template("moodle/category_info.html.j2")
        helpers = {"cdata": cdata, "text": text}
        header = plan.header
        titles = category_titles(header.exercises)
        out = sink.open()
        out.write(
            start.render(
                comment=xml_comment(
                    f"quizwright Moodle XML export, format 1: bank {header.bank.code} sha256 {header.bank.hash}, "
                    f"seed {header.seed}, {header.count} variant(s) per exercise, one category per exercise"
                )
            )
        )
        for k, summary in enumerate(header.exercises):
            maker = plan.makers[k]
            first = maker.materialize(next(maker.plans(1)))
            mapping, limitation = mapping_text(summary, first)
            info_html = one_line(
                info.render(
                    s=summary,
                    header=header,
                    count=header.count,
                    mapping=Markup(html_inline(mapping)),
                    limitation=Markup(html_inline(limitation)) if limitation else None,
                )
            )
            out.write(
                category.render(
                    helpers,
                    comment=xml_comment(summary.id),
                    c=MoodleCategory(
                        path=category_path(header.bank.title, titles[summary.id]), info=info_html
                    ),
                )
            )
            # Reused questions cost less to write here than to send back from a worker.
            for chunk in plan.map_variants(k, _render_questions, spread=not reuses_questions(summary)):
                out.write(chunk)
        out.write("\n</quiz>\n")


register(MoodleWriter())
