"""Multi-part exercises in Moodle: one Cloze (`multianswer`) question per variant whose parts are
NUMERICAL and MULTICHOICE sub-questions; a group with a formula part as linked questions instead
(one question per part, each in its part's own category). See docs/moodle.md.

The sub-question syntax is read by Moodle's `qtype_multianswer_extract_question`: an answer ends
at the first `~`, `#` or `}` not preceded by `\\` or `&`, a feedback at the first `~` or `}` not
preceded by `\\`; both are then HTML-entity decoded. So every `&`, `\\`, `}`, `#` and `~` of a text
inside a sub-question is written as a numeric entity, which the decoding turns back into the
character (`&#38;`, not `&amp;`: Moodle reads no separator right after `&amp;`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from engine.export.moodle.questions import (
    MoodleAnswer,
    MoodleQuestion,
    QuestionBuilder,
    question_key,
    question_tags,
)
from engine.export.moodle.render import QuestionRenderer
from engine.export.moodle.xml import MoodleExportError
from engine.generation.quiz import (
    BooleanAnswer,
    IntegerAnswer,
    NumericAnswer,
    OptionAnswer,
    Variant,
)
from engine.language.printing import circled
from engine.vocabulary import CHOICE_KINDS

# The kinds a Cloze sub-question grades as quizwright does; a formula needs symbolic equivalence.
CLOZE_KINDS = frozenset({"integer", "numeric", "true_false", *CHOICE_KINDS})
CLOZE_PENALTY = "0.3333333"  # Moodle's default
# Text outside the sub-questions that Moodle would read as one ({1:NM:...) or as a placeholder ({#1}).
CLOZE_MAPPING = (
    "multianswer (Cloze): one question per variant holding the shared scenario and every part, "
    "(a), (b), ..., each part a sub-question worth its points: NUMERICAL for an integer (tolerance 0) or "
    "a numeric part (an absolute tolerance), its misconceptions as 0% answers with their feedback; "
    "MULTICHOICE (vertical, in the sheet's order, numbered as on the sheet) for a choice or true/false part."
)
LINKED_LIMITATION = (
    "A Cloze question cannot check a formula, so this multi-part exercise is exported as linked "
    "questions: one question per part, each showing the shared scenario, each part in its own "
    "category (Part a, Part b, ...). Add one random question from each part's category to a quiz."
)
_LOOKS_LIKE_PART = re.compile(r"\{(?=[0-9]*:|#)")
# A line end too: Moodle's `$` matches before a final newline, which would end an answer early.
_ENTITIES = {"&": "&#38;", "\\": "&#92;", "}": "&#125;", "#": "&#35;", "~": "&#126;", "\n": "&#10;", "\r": "&#13;"}
_SPECIAL = re.compile(r"[&\\}#~\n\r]")
_BEFORE_ESCAPE = re.compile(r"\\(?=[}#])")


def sub_text(html: str) -> str:
    """A text inside a sub-question, so that Moodle ends it where we do and decodes it back to `html`.

    After decoding the entities Moodle turns `\\}` into `}` and `\\#` into `#`: a backslash before
    one of them (TeX's `\\}`) is doubled first, so that this leaves the text as it was.
    """
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], _BEFORE_ESCAPE.sub(r"\\\\", html))


def outside_text(html: str) -> str:
    """Text around the sub-questions, with no brace Moodle could take for a sub-question."""
    return _LOOKS_LIKE_PART.sub("&#123;", html)


def clozable(group: list[Variant]) -> bool:
    """Whether every part of a variant can be a Cloze sub-question (a select-all part cannot: its
    partial credit is quizwright's rule, which a Cloze MULTIRESPONSE does not follow)."""
    return all(variant.kind in CLOZE_KINDS and variant.answer.type != "options" for variant in group)


def sheet_questions(variants: list[Variant], positions: Mapping[str, int]) -> Iterator[tuple[int, str, list[Variant]]]:
    """A sheet's Moodle questions: (exercise position, part label of a linked part or "", variants).

    A plain variant is one question; the parts of a multi-part variant are one Cloze question, or
    one question each (linked) when a part cannot be a sub-question.
    """
    group: list[Variant] = []
    for variant in [*variants, None]:
        if group and (variant is None or variant.part is None or variant.part.label == "a"):
            k = positions[group[0].exercise]
            if clozable(group):
                yield k, "", group
            else:
                yield from ((k, part.part.label if part.part else "", [part]) for part in group)
            group = []
        if variant is None:
            break
        if variant.part is None:
            yield positions[variant.exercise], "", [variant]
        else:
            group.append(variant)


def _numerical(answers: list[MoodleAnswer]) -> str:
    # The correct answer is listed first: Moodle takes the first answer whose interval holds a response.
    return "~".join(f"{'=' if a.fraction == '100' else '%0%'}{a.text}:{a.tolerance}"
                    + (f"#{sub_text(a.feedback)}" if a.feedback else "") for a in answers)


def _choice(answers: list[MoodleAnswer]) -> str:
    # Numbered as on the sheet (①, ②): the worked solution names options by their number.
    return "~".join(f"{'=' if a.fraction == '100' else '%0%'}{sub_text(f'{circled(n)} {a.text}')}"
                    + (f"#{sub_text(a.feedback)}" if a.feedback else "") for n, a in enumerate(answers, start=1))


class ClozeBuilder:
    """Turns the parts of one multi-part variant into one Cloze question."""

    def __init__(self, builder: QuestionBuilder) -> None:
        self.builder = builder

    def sub_question(self, variant: Variant) -> str:
        """`{points:TYPE:answers}` of one part."""
        answer = variant.answer
        b = self.builder
        if isinstance(answer, IntegerAnswer | NumericAnswer):
            return f"{{{variant.points}:NUMERICAL:{_numerical(b._numerical(variant, answer)[2])}}}"
        if isinstance(answer, OptionAnswer):
            answers = b._choice(variant)[2]
        elif isinstance(answer, BooleanAnswer):
            answers = b._true_false(variant, answer)[2]
            for a in answers:
                a.text = a.text.capitalize()
        else:
            raise MoodleExportError(f"{variant.id}: a {variant.kind} part cannot be a Cloze sub-question")
        return f"{{{variant.points}:MULTICHOICE_V:{_choice(answers)}}}"

    def entry(self, group: list[Variant], renderer: QuestionRenderer) -> tuple[bytes, Callable[[], str]]:
        """The Cloze question's key (see question_key) and a function that writes its XML."""
        q = self.build(group)
        return question_key(q), lambda: renderer.render(q)

    def build(self, group: list[Variant]) -> MoodleQuestion:
        first = group[0]
        assert first.part is not None
        vid = first.id.rpartition(".")[0]
        name, idnumber = self.builder.name_and_idnumber(first.model_copy(update={"id": vid}))
        html = self.builder.html
        text = [outside_text(html(first.part.scenario))]
        feedback = []
        for variant in group:
            assert variant.part is not None
            label = f"<p><strong>({variant.part.label})</strong></p>"
            text.append(f"{label} {outside_text(html(variant.part.question))} <p>{self.sub_question(variant)}</p>")
            feedback.append(f"<p><strong>({variant.part.label})</strong> {self.builder.html_inline(variant.answer_text)}"
                            f"</p> {html(variant.explanation)}")
        points = str(sum(variant.points for variant in group))
        tags = question_tags(first.model_copy(update={"kind": "multipart"}), self.builder.bank_code)
        # One hint (a second try in interactive mode), as a numerical question gets.
        hints = self.builder.hints(first, "numerical", 0)
        return MoodleQuestion(name, idnumber, " ".join(text), " ".join(feedback), points, tags,
                              "multianswer", CLOZE_PENALTY, hints=hints)
