"""Finished variants → Moodle questions: types, answers, grades, penalties, names, tags.

The mapping is described in docs/moodle.md and checked against Moodle's own importer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

from markupsafe import escape

from engine.export.html import HtmlConverter, one_line, tex_html
from engine.export.moodle.wording import HINTS, choice_wording, names_options_by_number
from engine.export.moodle.xml import (
    MoodleExportError,
    moodle_name,
    plain_decimal,
    round_down,
    shorten_name,
    single_line,
)
from engine.generation.quiz import (
    BooleanAnswer,
    FormulaAnswer,
    IntegerAnswer,
    NumericAnswer,
    OptionAnswer,
    OptionsAnswer,
    Variant,
)

# Grades Moodle accepts for an answer (percent, within 0.001), from question_bank::fraction_options_full().
MOODLE_FRACTIONS: tuple[str, ...] = tuple(
    "100 90 83.33333 80 75 70 66.66667 60 50 40 33.33333 30 25 20 16.66667 14.28571 12.5 11.11111 10 5 0".split()
)
RIGHT, WRONG = "100", "0"
NUMERICAL_PENALTY = "0.3333333"  # Moodle's default penalty
ESSAY_PENALTY = "0"
MAX_IDNUMBER = 100  # question_bank_entries.idnumber is varchar(100)
MAX_NAME = 255  # question.name; Moodle shortens longer names itself, we do it predictably
MAX_TAG = 50  # TAG_MAX_LENGTH

FORMULA_CHOICE_NOTE = "Select the expression that is equal to the answer."
# After the formula syntax hint (FormulaAnswer.syntax_hint), which only an essay gets: a
# multiple-choice formula is chosen, not written, and a hint on writing one would mislead.
FORMULA_ESSAY_NOTE = "Your teacher grades this answer."

_TAG_REMOVED = re.compile(r"[<>`,\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class MoodleFile:
    """A file stored with one text: its name (what `@@PLUGINFILE@@/<name>` links) and its bytes in base64."""

    name: str
    data: str


# Not frozen: one of each is made per question, and a frozen dataclass costs four times as
# much to make.
@dataclass(slots=True)
class MoodleAnswer:
    fraction: str
    text: str  # HTML when `html`, else plain ("true", "0.25")
    feedback: str = ""  # HTML
    html: bool = False
    tolerance: str | None = None


@dataclass(slots=True)
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
    single: bool = True  # multichoice: one answer, or several (select all that apply)
    graderinfo: str = ""  # essay only
    hints: list[str] = field(default_factory=list)  # HTML, one per extra try
    # The files of the texts that show plots (only the question and the worked solution can).
    questiontext_files: tuple[MoodleFile, ...] = ()
    generalfeedback_files: tuple[MoodleFile, ...] = ()
    graderinfo_files: tuple[MoodleFile, ...] = ()


def penalty_for(options: int) -> str:
    """1/(options − 1) to 7 decimals: the last of all tries earns nothing."""
    if options < 2:
        raise MoodleExportError(f"a choice question needs at least 2 options (got {options})")
    share = Decimal(1) / Decimal(options - 1)
    return plain_decimal(share.quantize(Decimal("0.0000001"), rounding=ROUND_HALF_UP))


def share(count: int) -> str:
    """100/count percent as Moodle's grade list writes it (50, 33.33333, 12.5)."""
    exact = Decimal(100) / Decimal(count)
    for grade in MOODLE_FRACTIONS:
        if abs(Decimal(grade) - exact) <= Decimal("0.001"):
            return grade
    raise MoodleExportError(f"no Moodle grade is 1/{count} of the marks")


def name_and_idnumber(title: str, index: int, vid: str) -> tuple[str, str]:
    """A variant question's name (its escaped one-line title, shortened to fit) and its idnumber."""
    if len(vid) > MAX_IDNUMBER:
        raise MoodleExportError(f"{vid}: idnumber longer than {MAX_IDNUMBER} characters")
    suffix = f" (variant {index + 1}, {vid})"
    return shorten_name(title, MAX_NAME - len(suffix)) + suffix, vid


def question_key(q: MoodleQuestion) -> bytes:
    """What Moodle stores of a question but its name and idnumber, as a digest: two questions
    with the same key are the same question to a student. With shuffleanswers on, the order of
    the answers is not part of it."""
    answers = [(a.fraction, a.text, a.feedback, a.html, a.tolerance) for a in q.answers]
    if q.shuffleanswers:
        answers.sort(key=repr)
    files = [(f.name, f.data) for f in (*q.questiontext_files, *q.generalfeedback_files, *q.graderinfo_files)]
    content = (q.type, q.questiontext, q.generalfeedback, q.defaultgrade, q.penalty, q.shuffleanswers,
               q.graderinfo, answers, files, q.hints, q.tags)
    return hashlib.blake2b(repr(content).encode(), digest_size=16).digest()


def _tag(raw: str) -> str:
    # Moodle's PARAM_TAG removes control characters and <>`, collapses spaces and cuts at 50;
    # a comma separates tags in Moodle's forms, so it is replaced too.
    cleaned = single_line(_TAG_REMOVED.sub(" ", raw))
    return cleaned[:MAX_TAG].strip()


def question_tags(variant: Variant, bank_code: str) -> list[str]:
    """quizwright, bank, topic and kind tags, then the exercise's own; no empty or repeated tag."""
    raw = ["quizwright", f"bank:{bank_code}", f"topic:{variant.topic}", f"kind:{variant.kind}", *variant.tags]
    tags: list[str] = []
    seen: set[str] = set()
    for tag in map(_tag, raw):
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


def formula_mode(variant: Variant) -> str:
    """'multichoice' when the template has distractors to choose from, else 'essay'."""
    return "multichoice" if variant.misconceptions else "essay"


def formula_options(variant: Variant, answer: FormulaAnswer) -> list[tuple[str, bool, str]]:
    """A formula's multiple choice: (TeX, correct, misconception feedback) of the correct formula
    and each distinct distractor, in a fixed order per variant."""
    options: list[tuple[str, bool, str]] = [(answer.latex, True, "")]
    seen = {single_line(answer.latex)}
    for miscon in variant.misconceptions:
        if single_line(miscon.latex) in seen:
            continue
        seen.add(single_line(miscon.latex))
        options.append((miscon.latex, False, miscon.feedback))
    # A fixed order per variant, from its id (not from a random generator): the correct
    # formula is not always first, and the LMS may shuffle further per attempt.
    options.sort(key=lambda option: hashlib.sha256(f"{variant.id}\0{option[0]}".encode()).hexdigest())
    return options


@dataclass(frozen=True, slots=True)
class _ExerciseConstants:
    """What a question takes from its exercise alone, the same for every variant."""

    title: str  # the name's title part, on one line, escaped (before shortening)
    tags: list[str]
    defaultgrade: str


def _inert(html: str) -> str:
    """An author's `@@PLUGINFILE@@` as text: Moodle would turn it into its file area's address. The
    `@` as an entity reads the same and is not matched; the plots' own links are made after this."""
    return html.replace("@@PLUGINFILE@@", "&#64;@PLUGINFILE@@")


class QuestionBuilder:
    """Turns finished variants into Moodle questions (mapping only: no sampling, no solving).

    One builder serves one export and keeps what repeats across its variants.
    """

    def __init__(self, bank_code: str, fixed_order: frozenset[str] = frozenset()) -> None:
        self.bank_code = bank_code
        self.fixed_order = fixed_order  # ids of the exercises whose option order is content
        self.converter = HtmlConverter()
        self._exercises: dict[str, _ExerciseConstants] = {}
        self._hints: dict[str, list[str]] = {}

    def html(self, markdown: str) -> str:
        """Block HTML of a text, on one line."""
        return _inert(one_line(self.converter.block(markdown)))

    def html_inline(self, markdown: str) -> str:
        """Inline HTML of a text, on one line."""
        return _inert(one_line(self.converter.inline(markdown)))

    def _constants(self, variant: Variant) -> _ExerciseConstants:
        # The parts of a multi-part exercise differ in kind and points: each has its own.
        key = f"{variant.exercise}.{variant.part.label}" if variant.part else variant.exercise
        const = self._exercises.get(key)
        if const is None:
            const = self._exercises[key] = _ExerciseConstants(
                moodle_name(variant.title), question_tags(variant, self.bank_code), str(variant.points))
        return const

    def name_and_idnumber(self, variant: Variant) -> tuple[str, str]:
        """The variant question's name and idnumber."""
        return name_and_idnumber(self._constants(variant).title, variant.index, variant.id)

    def build(self, variant: Variant) -> MoodleQuestion:
        const = self._constants(variant)
        name, vid = name_and_idnumber(const.title, variant.index, variant.id)
        questiontext = self.html(variant.question)
        generalfeedback = self.html(variant.explanation)
        answer = variant.answer
        shuffle = False
        graderinfo = ""
        if isinstance(answer, OptionAnswer | OptionsAnswer):
            qtype, penalty, answers = self._choice(variant)
            shuffle = self.shuffles(variant)
        elif isinstance(answer, BooleanAnswer):
            qtype, penalty, answers = self._true_false(variant, answer)
        elif isinstance(answer, IntegerAnswer | NumericAnswer):
            qtype, penalty, answers = self._numerical(variant, answer)
        else:
            qtype, penalty, answers, questiontext, shuffle, graderinfo = self._formula(
                variant, answer, questiontext, generalfeedback
            )
        return MoodleQuestion(
            name, vid, questiontext, generalfeedback, const.defaultgrade, list(const.tags),
            qtype, penalty, answers, shuffle, not isinstance(answer, OptionsAnswer), graderinfo,
            hints=self.hints(variant, qtype, len(answers)),
        )  # fmt: skip

    def shuffles(self, variant: Variant) -> bool:
        """Whether Moodle may shuffle a choice question's options per attempt: the exercise
        shuffles, pins none, and no text names an option by its number on the sheet."""
        answer = variant.answer
        free = answer.shuffle if isinstance(answer, OptionsAnswer) else variant.exercise not in self.fixed_order
        return free and not names_options_by_number(variant)

    def hints(self, variant: Variant, qtype: str, answers: int) -> list[str]:
        """The exercise's hints, else one that gives nothing away (two tries in interactive mode);
        a choice gets at most one try per option; an essay, graded by hand, none."""
        if qtype == "essay":
            return []
        if variant.hints:
            made = [self.html(hint) for hint in variant.hints]
        else:
            key = "formula" if isinstance(variant.answer, FormulaAnswer) else qtype
            made = self._hints.get(key) or self._hints.setdefault(key, [self.html(HINTS[key])])
        return made[: answers - 1] if qtype in ("multichoice", "truefalse") else list(made)

    def _choice(self, variant: Variant) -> tuple[str, str, list[MoodleAnswer]]:
        options = variant.options
        correct = sum(o.correct for o in options)
        if isinstance(variant.answer, OptionsAnswer):
            # Moodle adds the grades of the chosen answers, kept within 0..100 %: the rule
            # quizwright grades by (docs/grading.md).
            if correct < 1:
                raise MoodleExportError(f"{variant.id}: no correct option")
            right = share(correct)
            wrong = "-" + share(len(options) - correct) if correct < len(options) else WRONG
        elif correct != 1:
            raise MoodleExportError(f"{variant.id}: {correct} correct options (expected exactly 1)")
        else:
            right, wrong = RIGHT, WRONG
        answers = [
            MoodleAnswer(
                fraction=right if o.correct else wrong,
                text=self.html_inline(o.text),
                html=True,
                feedback=self.html(o.feedback) if o.feedback else "",
            )
            for o in options
        ]
        for number, a in enumerate(answers, start=1):
            if not a.text:  # Moodle skips an empty option and the numbering would shift
                raise MoodleExportError(f"{variant.id}: option {number} has no text")
        return "multichoice", penalty_for(len(answers)), answers

    def _true_false(self, variant: Variant, answer: BooleanAnswer) -> tuple[str, str, list[MoodleAnswer]]:
        # The variant's options are True (1) and False (2); the wrong one carries the feedback.
        feedback = {True: "", False: ""}
        for option in variant.options:
            if option.feedback and option.number in (1, 2):
                feedback[option.number == 1] = self.html(option.feedback)
        value = bool(answer.value)
        answers = [
            MoodleAnswer(fraction=RIGHT if value else WRONG, text="true", feedback=feedback[True]),
            MoodleAnswer(fraction=WRONG if value else RIGHT, text="false", feedback=feedback[False]),
        ]
        return "truefalse", penalty_for(2), answers

    def _numerical(
        self, variant: Variant, answer: IntegerAnswer | NumericAnswer
    ) -> tuple[str, str, list[MoodleAnswer]]:
        # The correct answer's texts come straight from plain_decimal (the Decimal it parses to
        # would print the same again); the Decimals and their 60-digit context are needed only
        # for the misconceptions' intervals.
        if isinstance(answer, IntegerAnswer):
            text = str(answer.value)
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
                    self._misconception_answers(
                        variant,
                        Decimal(text),
                        Decimal(tolerance),
                        Decimal(relative) if relative is not None else None,
                    )
                )
        return "numerical", NUMERICAL_PENALTY, answers

    def _misconception_answers(
        self, variant: Variant, value: Decimal, tolerance: Decimal, relative: Decimal | None
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
            own = round_down(min(own, gap / 2))
            taken.add(wrong)
            yield MoodleAnswer(
                fraction=WRONG,
                text=plain_decimal(wrong),
                tolerance=plain_decimal(own),
                feedback=self.html(miscon.feedback),
            )

    def _formula(
        self, variant: Variant, answer: FormulaAnswer, questiontext: str, generalfeedback: str
    ) -> tuple[str, str, list[MoodleAnswer], str, bool, str]:
        """type, penalty, answers, question text, shuffleanswers and grader info."""
        if formula_mode(variant) == "essay":
            symbols = ", ".join(answer.symbols)
            grader = (
                f"<p>Correct answer: {tex_html(answer.latex, display=False)} "
                f"(<code>{escape(answer.expr)}</code>), in the symbols <code>{escape(symbols)}</code>. "
                f"Accept any equivalent expression.</p> {generalfeedback}"
            )
            note = f"{questiontext} <p><em>{self.html_inline(answer.syntax_hint)} {FORMULA_ESSAY_NOTE}</em></p>"
            return "essay", ESSAY_PENALTY, [], note, False, grader
        answers = [
            MoodleAnswer(
                fraction=RIGHT if correct else WRONG, text=tex_html(latex, display=False), html=True,
                feedback=self.html(feedback) if feedback else "",
            )
            for latex, correct, feedback in formula_options(variant, answer)
        ]
        worded = choice_wording(variant.question)
        # A stem asking to choose needs no note; one this did not recognise keeps it.
        note = self.html(worded) if worded != variant.question else (
            f"{questiontext} <p><em>{FORMULA_CHOICE_NOTE}</em></p>")
        return "multichoice", penalty_for(len(answers)), answers, note, True, ""
