"""Moodle questions → ``<question>`` XML: templates/moodle/question.xml.j2, rendered once per
question shape into a skeleton that is then filled per question (the same bytes as rendering
the template for each question; see engine/export/skeleton.py)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import jinja2

from engine.export.moodle.questions import MoodleQuestion
from engine.export.moodle.xml import cdata, cdata_str, text, text_str
from engine.export.skeleton import Helpers, Skeleton, Slot, compile_skeleton

QUESTION_TEMPLATE = "moodle/question.xml.j2"
# The data fields of a question, in the order of the values a skeleton is filled with: these,
# then four per answer, then the tags.
QUESTION_FIELDS = (
    "name", "idnumber", "questiontext", "generalfeedback", "defaultgrade", "penalty", "graderinfo",
)  # fmt: skip
ANSWER_FIELDS = ("fraction", "text", "feedback", "tolerance")

# The texts that can hold files, in the order of their files among the values.
FILE_TEXTS = ("questiontext", "generalfeedback", "graderinfo")

# type, (shuffleanswers, single), per answer (html, tolerance is None), number of tags, number of
# hints; then, only for a question whose texts hold files, the number of files of each of FILE_TEXTS
# (so a question without files has the shape, and the skeleton, it had before files existed).
AnswerShapes = tuple[tuple[bool, bool], ...]
Flags = tuple[bool, bool]
QuestionShape = (tuple[str, Flags, AnswerShapes, int, int]
                 | tuple[str, Flags, AnswerShapes, int, int, tuple[int, int, int]])


# The helpers question.xml.j2 calls, each with its plain-str transform for filling.
QUESTION_HELPERS: Helpers = {"text": (text, text_str), "cdata": (cdata, cdata_str)}


def question_shape(q: MoodleQuestion) -> QuestionShape:
    """Every value question.xml.j2's control flow reads."""
    answers = tuple([(a.html, a.tolerance is None) for a in q.answers])
    if q.questiontext_files or q.generalfeedback_files or q.graderinfo_files:
        files = (len(q.questiontext_files), len(q.generalfeedback_files), len(q.graderinfo_files))
        return q.type, (q.shuffleanswers, q.single), answers, len(q.tags), len(q.hints), files
    return q.type, (q.shuffleanswers, q.single), answers, len(q.tags), len(q.hints)


def question_values(q: MoodleQuestion) -> list[Any]:
    """The data fields of a question, in the order of QUESTION_FIELDS, the answers, the files
    (name and data of each, FILE_TEXTS order), the hints, the tags."""
    values: list[Any] = [
        q.name, q.idnumber, q.questiontext, q.generalfeedback, q.defaultgrade, q.penalty,
        q.graderinfo,
    ]  # fmt: skip
    for a in q.answers:
        values += (a.fraction, a.text, a.feedback, a.tolerance)
    if q.questiontext_files or q.generalfeedback_files or q.graderinfo_files:
        for f in (*q.questiontext_files, *q.generalfeedback_files, *q.graderinfo_files):
            values += (f.name, f.data)
    values += q.hints
    values += q.tags
    return values


def question_context(shape: QuestionShape, slot: Callable[[int, str], Slot]) -> dict[str, Any]:
    """The skeleton render context of question.xml.j2 for one shape."""
    qtype, (shuffle, single), answer_shapes, tags, hints = shape[0], shape[1], shape[2], shape[3], shape[4]
    files = shape[5] if len(shape) == 6 else (0, 0, 0)
    q = SimpleNamespace(
        type=qtype,
        shuffleanswers=shuffle,
        single=single,
        **{f: slot(i, f"q.{f}") for i, f in enumerate(QUESTION_FIELDS)},
    )
    base = len(QUESTION_FIELDS)
    q.answers = []
    for k, (is_html, no_tolerance) in enumerate(answer_shapes):
        first = base + len(ANSWER_FIELDS) * k
        fields: dict[str, Slot | None] = {
            f: slot(first + i, f"q.answers[{k}].{f}") for i, f in enumerate(ANSWER_FIELDS)
        }
        if no_tolerance:
            fields["tolerance"] = None
        q.answers.append(SimpleNamespace(html=is_html, **fields))
    first = base + len(ANSWER_FIELDS) * len(answer_shapes)
    for owner, count in zip(FILE_TEXTS, files, strict=True):
        setattr(q, f"{owner}_files", [
            SimpleNamespace(name=slot(first + 2 * j, f"q.{owner}_files[{j}].name"),
                            data=slot(first + 2 * j + 1, f"q.{owner}_files[{j}].data"))
            for j in range(count)
        ])
        first += 2 * count
    q.hints = [slot(first + j, f"q.hints[{j}]") for j in range(hints)]
    first += hints
    q.tags = [slot(first + j, f"q.tags[{j}]") for j in range(tags)]
    return {"q": q}


def question_constants(q: MoodleQuestion) -> tuple[str, ...]:
    """The data fields that are the same for every question of one exercise and shape.

    The grade and the tags come from the exercise, the penalty from the type and the number of
    answers; they are the fields at GRADE_AND_PENALTY, then the tags (QUESTION_FIELDS order).
    """
    return (q.defaultgrade, q.penalty, *q.tags)


GRADE_AND_PENALTY = (QUESTION_FIELDS.index("defaultgrade"), QUESTION_FIELDS.index("penalty"))


class QuestionRenderer:
    """question.xml.j2 for any number of questions: one skeleton per shape, made on first use,
    and bound to the constants of each exercise that uses it (see question_constants)."""

    def __init__(self, template: jinja2.Template) -> None:
        self.template = template
        self._skeletons: dict[QuestionShape, Skeleton] = {}
        self._bound: dict[tuple[QuestionShape, tuple[str, ...], tuple[type, ...]], Skeleton] = {}

    def skeleton(self, shape: QuestionShape) -> Skeleton:
        skeleton = self._skeletons.get(shape)
        if skeleton is None:
            skeleton = self._skeletons[shape] = compile_skeleton(
                self.template, lambda slot: question_context(shape, slot), QUESTION_HELPERS
            )
        return skeleton

    def render(self, q: MoodleQuestion) -> str:
        """The template's output for `q`, byte for byte."""
        return self.fill(q, question_values(q))

    def fill(self, q: MoodleQuestion, values: list[Any]) -> str:
        """The template's output for a question of `q`'s shape and constants whose data fields are
        `values`."""
        shape = question_shape(q)
        constants = question_constants(q)
        # A str and a Markup of the same text are equal keys but escape differently.
        key = (shape, constants, tuple(map(type, constants)))
        skeleton = self._bound.get(key)
        if skeleton is None:
            first_tag = len(values) - len(q.tags)
            fixed = dict(zip((*GRADE_AND_PENALTY, *range(first_tag, len(values))), constants, strict=True))
            skeleton = self._bound[key] = self.skeleton(shape).bind(fixed)
        return skeleton.fill(values)
