"""GIFT export (Moodle's plain-text question format): one category per exercise holding its variants.

The questions are the Moodle XML export's (:class:`QuestionBuilder`): the same names, idnumbers,
tags, HTML texts, answers, tolerances and mapping of ``formula``; this module only writes them
as GIFT, read the way Moodle's importer (``question/format/gift/format.php``) and the npm parser
gift-pegjs read it (docs/gift.md):

- every text is ``[html]``, the HTML the Moodle XML export stores (math as ``\\(..\\)`` for
  MathJax), with ``~ = # { } :`` escaped everywhere, TeX included, and a backslash doubled where
  a reader would take it and the next character for an escape (``\\neq`` would be a newline);
- GIFT cannot set an answer numbering or stop shuffling, so a choice option starts with its
  circled number, the one the worked solution names ("Answer: ③");
- GIFT has no grader information: an essay's (the correct formula) becomes its general feedback;
- points and penalties are not in GIFT: Moodle gives every question its defaults;
- GIFT cannot carry images: an exercise whose question or worked solution shows a plot is left
  out, and named in a notice pointing to the Moodle XML export (an error when every exercise
  is); tables stay, as the HTML tables of the Moodle XML export.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from contextlib import ExitStack
from typing import IO

from engine.errors import UsageError
from engine.export.moodle.figures import shows_plots
from engine.export.moodle.questions import (
    MoodleAnswer,
    MoodleQuestion,
    QuestionBuilder,
    formula_mode,
)
from engine.export.moodle.xml import (
    category_path,
    category_segment,
    category_titles,
    single_line,
    slot_titles,
)
from engine.files import Sink
from engine.generation.quiz import Copy, ExerciseSummary, QuizHeader, Variant
from engine.language.printing import circled
from engine.vocabulary import CHOICE_KINDS

_ESCAPED = str.maketrans({**{c: "\\" + c for c in "~=#{}:"}, "\n": "\\n", "\r": ""})
# A backslash the readers would join with the next character: before an escape sequence's
# character (`\n` included) or at the end, where GIFT syntax follows.
_JOINED_BACKSLASH = re.compile(r"\\(?=[\\~=#{}:n]|\Z)")
_ANY_BACKSLASH = re.compile(r"\\")

# What each kind becomes, for the comment above its category.
_MAPPING = {
    "choice": "multiple choice, one answer, options labelled as the worked solution names them",
    "options": "multiple choice, several answers (select all that apply): each right option 100/c %, "
               "each wrong one -100/w % (c right, w wrong options)",
    "true_false": "true/false, the feedback of the wrong answer after the first #",
    "integer": "numerical, exact (tolerance 0); misconceptions are 0% answers with their feedback",
    "numeric": "numerical with an absolute tolerance; misconceptions are 0% answers with their feedback",
    "multichoice": "multiple choice built from the correct formula and the template's distractors",
    "essay": "essay graded by hand: Moodle cannot check formulas; the answer is in the general feedback",
    "multipart": "multi-part: GIFT has no Cloze questions, so each part is a question of its own showing the "
                 "shared scenario, in its part's category (Part a, Part b, ...)",
}


def escape(text: str, *, name: bool = False) -> str:
    """Text as both GIFT readers give it back: ``~ = # { } :`` escaped, backslashes kept.

    A backslash is doubled where a reader would join it with what follows (``\\neq``, ``\\{``,
    ``\\\\``, a final one); in a name (``::name::``) every backslash is, as gift-pegjs requires.
    """
    if "\\" in text:
        text = (_ANY_BACKSLASH if name else _JOINED_BACKSLASH).sub(r"\\\\", text)
    return text.translate(_ESCAPED)


def category_line(bank_title: str, exercise_title: str, slot_title: str | None = None) -> str:
    """``$CATEGORY: $course$/top/<bank>/<exercise>``, the Moodle XML export's path.

    Moodle reads `\\\\` there as one backslash and no other escape, so a joining backslash is
    doubled; gift-pegjs reads the line as it is.
    """
    path = category_path(bank_title, exercise_title, slot_title)
    return "$CATEGORY: " + _JOINED_BACKSLASH.sub(r"\\\\", path)


def _comment_token(key: str, value: str) -> str:
    # Moodle reads `[id:...]`/`[tag:...]` from the comment, with `]` escaped as `\]`.
    escaped = single_line(value).replace("]", "\\]")
    return f"[{key}:{escaped}]"


def _answer_line(answer: MoodleAnswer, mark: str, label: str) -> str:
    if answer.tolerance is not None:
        text = f"{answer.text}:{answer.tolerance}"  # plain decimals: nothing to escape
    else:
        text = escape(label + answer.text)
    feedback = f"#{escape(answer.feedback)}" if answer.feedback else ""
    return f"\t{mark}{text}{feedback}\n"


def _answers(q: MoodleQuestion, labelled: bool) -> str:
    """The lines between `{` and `}`, general feedback excluded."""
    if q.type == "truefalse":
        right = next(a for a in q.answers if a.fraction != "0")
        wrong = next(a for a in q.answers if a.fraction == "0")
        # Moodle's order: the feedback of a wrong answer first, then that of the right one.
        feedback = f"\n\t#{escape(wrong.feedback)}" if wrong.feedback or right.feedback else ""
        if right.feedback:
            feedback += f"\n\t#{escape(right.feedback)}"
        return f"{right.text.upper()}{feedback}\n"
    if q.type == "numerical":
        first, *others = q.answers
        return "#\n" + _answer_line(first, "=", "") + "".join(_answer_line(a, "=%0%", "") for a in others)
    if q.type == "essay":
        return "\n"
    lines = []
    for number, answer in enumerate(q.answers, start=1):
        label = f"{circled(number)} " if labelled else ""
        if not q.single:  # weights, and no `=`: Moodle reads the question as one with several answers
            mark = f"~%{answer.fraction}%"
        else:
            mark = "=" if answer.fraction != "0" else "~"
        lines.append(_answer_line(answer, mark, label))
    return "\n" + "".join(lines)


def question_text(q: MoodleQuestion, *, labelled: bool) -> str:
    """One question in GIFT: the id and tags comment, name, text, answers and general feedback."""
    tokens = [_comment_token("id", q.idnumber), *(_comment_token("tag", tag) for tag in q.tags)]
    general = q.graderinfo if q.type == "essay" else q.generalfeedback
    general_line = f"\t####{escape(general)}\n" if general else ""
    return (
        f"// {' '.join(tokens)}\n"
        f"::{escape(q.name, name=True)}::[html]{escape(q.questiontext)}{{{_answers(q, labelled)}"
        f"{general_line}}}\n"
    )


def _exercise_comment(summary: ExerciseSummary, first: Variant | None) -> str:
    mode: str = summary.kind if summary.kind not in CHOICE_KINDS else "choice"
    if mode == "formula":
        mode = formula_mode(first) if first is not None else "multichoice"
    elif first is not None and first.answer.type == "options":
        mode = "options"
    return single_line(f"// exercise {summary.id} ({summary.kind}, {summary.source}): {_MAPPING[mode]}")


class GiftWriter:
    """GIFT for Question bank → Import; always holds the answers (Moodle grades with them)."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        builder = QuestionBuilder(header.bank.code)
        firsts: list[Variant | None] = [None] * len(header.exercises)
        plotted = [False] * len(header.exercises)
        positions = {summary.id: k for k, summary in enumerate(header.exercises)}
        with ExitStack() as stack:
            # Copies come copy by copy, categories go exercise by exercise: each exercise's
            # questions wait in a temporary file, so memory does not grow with the copies. The
            # parts of a multi-part exercise have a category (and a file) each.
            spools: dict[tuple[int, str], IO[str]] = {}
            # As in the Moodle XML export, a category never holds two identical questions.
            written: dict[tuple[int, str], set[bytes]] = defaultdict(set)
            variants = [0] * len(header.exercises)
            for copy in copies:
                for variant in copy.variants:
                    k, part = positions[variant.exercise], variant.part.label if variant.part else ""
                    firsts[k] = firsts[k] or variant
                    if plotted[k] or shows_plots(variant):
                        plotted[k] = True
                        continue
                    if (k, part) not in spools:
                        spools[k, part] = stack.enter_context(
                            tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
                    variants[k] += 1
                    q, labelled = builder.build(variant), variant.kind in CHOICE_KINDS
                    key = _content_key(q, labelled)
                    if key not in written[k, part]:
                        written[k, part].add(key)
                        spools[k, part].write("\n" + question_text(q, labelled=labelled))
            kept = _without_plots(header, plotted, sink)
            for k, (summary, keep, total) in enumerate(zip(header.exercises, kept, variants, strict=True)):
                distinct = sum(len(keys) for (j, _), keys in written.items() if j == k)
                if keep and distinct < total:
                    sink.notices.append(f"gift: {summary.id}: {distinct} distinct question"
                                        f"{'s' if distinct != 1 else ''} for {total} variants "
                                        "(each written once)")
            out = sink.open()
            out.write(single_line(
                f"// quizwright GIFT export, format 1: bank {header.bank.code} sha256 {header.bank.hash}, "
                f"seed {header.seed}, {header.count} variant(s) per exercise, one category per exercise"
            ) + "\n// Moodle: Question bank → Import → GIFT format. Texts are HTML, math \\(..\\) for MathJax.\n")
            titles = category_titles(header.exercises)
            slots = slot_titles(header)
            for k, (summary, first, keep) in enumerate(zip(header.exercises, firsts, kept, strict=True)):
                if not keep:
                    out.write("\n" + single_line(f"// exercise {summary.id} left out: its text shows a plot, which GIFT "
                                          "cannot carry (export it with --format moodle)") + "\n")
                    continue
                out.write(f"\n{_exercise_comment(summary, first)}\n")
                line = category_line(header.bank.title, titles[summary.id], slots.get(summary.id))
                parts = sorted(((key, spool) for key, spool in spools.items() if key[0] == k), key=lambda item: item[0])
                if not parts:  # no sheet holds it (a slot's pool larger than the class): its category, empty
                    out.write(f"{line}\n")
                for (_, part), spool in parts:
                    # A blank line ends the part before (the first follows the exercise's comment).
                    gap = "" if part in ("", "a") else "\n"
                    out.write(f"{gap}{line}/{category_segment(f'Part {part}')}\n" if part else f"{line}\n")
                    spool.seek(0)
                    shutil.copyfileobj(spool, out)


def _content_key(q: MoodleQuestion, labelled: bool) -> bytes:
    """What the GIFT file holds of a question but its name and idnumber, as a digest. Moodle
    shuffles a GIFT multiple choice, so unlabelled options (a formula's) count in any order."""
    answers = q.answers if labelled or q.type != "multichoice" else sorted(q.answers, key=repr)
    text = question_text(dataclasses.replace(q, name="", idnumber="", answers=answers), labelled=labelled)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _without_plots(header: QuizHeader, plotted: list[bool], sink: Sink) -> list[bool]:
    """Which exercises the file holds: those that show no plot; the others named in a notice.

    Raises:
        UsageError: every exercise shows a plot, so the file would hold no question.
    """
    shown = [f"{s.id} ({single_line(s.title)})" for s, plot in zip(header.exercises, plotted, strict=True) if plot]
    if not shown:
        return [True] * len(plotted)
    if len(shown) == len(plotted):
        raise UsageError(f"GIFT cannot carry images, and every selected exercise shows a plot: {', '.join(shown)}; "
                         "export them with --format moodle, which embeds the plots")
    sink.notices.append(f"GIFT cannot carry images: left out {len(shown)} exercise(s) whose text shows a plot: "
                        f"{', '.join(shown)}; export them with --format moodle, which embeds the plots")
    return [not plot for plot in plotted]
