"""The Moodle XML writer: a category per exercise holding its variants, in copy order."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO

import jinja2
from markupsafe import Markup

from engine.export.figures import Drawings
from engine.export.html import one_line
from engine.export.moodle.cloze import (
    CLOZE_MAPPING,
    LINKED_LIMITATION,
    ClozeBuilder,
    sheet_questions,
)
from engine.export.moodle.figures import Embedder, shows_plots
from engine.export.moodle.questions import QuestionBuilder, formula_mode, question_key
from engine.export.moodle.render import QUESTION_TEMPLATE, QuestionRenderer, question_values
from engine.export.moodle.xml import (
    category_paths,
    category_segment,
    cdata,
    text,
    text_str,
    xml_comment,
)
from engine.files import Sink, output_environment
from engine.generation.quiz import Copy, ExerciseSummary, QuizHeader, Variant
from engine.vocabulary import CHOICE_KINDS

# Variants of an exercise with at most this many distinct variants (counted exactly) repeat
# when N is larger; the XML of each is kept and only its name and idnumber are rewritten.
REPEAT_CACHE_LIMIT = 4096
# Stand-ins for the name and idnumber while a reusable question is written: private-use
# characters that text() leaves as they are; a question holding them itself is not reused.
_NAME, _IDNUMBER = "\ue000quizwright-name\ue000", "\ue000quizwright-idnumber\ue000"

# Questions written to a spool at once: one write per question costs more than its XML.
SPOOL_BATCH = 256

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


def mapping_text(summary: ExerciseSummary, first: Variant | None, shuffles: bool = False) -> tuple[str, str | None]:
    """How the exercise's kind is represented in Moodle, and the limitation to state, if any."""
    kind = summary.kind
    if kind == "multipart":
        return CLOZE_MAPPING, None
    if first is not None and first.answer.type == "options":
        return (
            "multichoice, several answers (select all that apply): each correct option 100/c %, "
            "each wrong one -100/w % (c correct, w wrong options), which Moodle keeps within 0-100 %: "
            "the partial credit quizwright's grader gives. Shuffled when the exercise shuffles and "
            "pins no option; misconception feedback on every distractor.",
            None,
        )
    if kind in CHOICE_KINDS:
        order = ("options shuffled per attempt when the quiz shuffles within questions" if shuffles else
                 "options in the variant's order (not shuffled: the order is part of the exercise, or its "
                 "texts name an option by its number)")
        return (
            f"multichoice, one answer, {order}, numbered 1, 2, 3, with misconception feedback on every "
            "distractor; one hint, so that interactive mode gives two tries.",
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


def reuses_questions(summary: ExerciseSummary) -> bool:
    """Whether the exercise's questions are written once per distinct variant and reused."""
    distinct = summary.distinct_variants
    # A multi-part exercise may hold a formula part, whose key (with its symbols) is no content key.
    return summary.kind not in ("formula", "multipart") and distinct is not None and distinct <= REPEAT_CACHE_LIMIT


def content_key(variant: Variant) -> Hashable:
    """What a variant's question depends on, but for its name and idnumber."""
    return (variant.exercise, variant.question, variant.explanation, tuple(variant.options),
            variant.answer, tuple(variant.misconceptions))


class ExerciseQuestions:
    """The ``<question>`` elements of one exercise's variants, each written once per content.

    A formula's multiple choice order depends on the variant id, so formula variants are
    always written whole; so are variants that show plots, whose questions hold their images
    and would make the kept XML large.
    """

    def __init__(self, builder: QuestionBuilder, renderer: QuestionRenderer, summary: ExerciseSummary,
                 embedder: Embedder | None = None) -> None:
        self.builder = builder
        self.renderer = renderer
        self.embedder = embedder or Embedder(Drawings())  # the writer shares one among its exercises
        self.reuse = reuses_questions(summary)
        self._made: dict[Hashable, tuple[bytes, tuple[str, str, str] | None]] = {}

    def xml(self, variant: Variant) -> str:
        """The variant's ``<question>``."""
        return self.entry(variant)[1]()

    def entry(self, variant: Variant) -> tuple[bytes, Callable[[], str]]:
        """The variant's question key (see question_key) and a function that writes its XML: a
        question already written is known by its key without writing it again."""
        if shows_plots(variant):
            q = self.builder.build(variant)
            self.embedder.embed(q, variant)
            return question_key(q), lambda: self.renderer.render(q)
        if not self.reuse:
            q = self.builder.build(variant)
            return question_key(q), lambda: self.renderer.render(q)
        key = content_key(variant)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._reusable(variant)
        qkey, parts = made
        if parts is None:
            return qkey, lambda: self.renderer.render(self.builder.build(variant))
        before, between, after = parts

        def write() -> str:
            name, vid = self.builder.name_and_idnumber(variant)
            return before + text_str(name) + between + text_str(vid) + after

        return qkey, write

    def _reusable(self, variant: Variant) -> tuple[bytes, tuple[str, str, str] | None]:
        q = self.builder.build(variant)
        values = question_values(q)
        if any(_NAME[0] in str(v) for v in values if v is not None):
            return question_key(q), None
        values[0], values[1] = _NAME, _IDNUMBER
        xml = self.renderer.fill(q, values)
        before, _, rest = xml.partition(_NAME)
        between, _, after = rest.partition(_IDNUMBER)
        return question_key(q), (before, between, after)


@dataclass
class _Category:
    """One category's questions while the copies stream in: each written once, by its key."""

    first: Variant | None
    spool: IO[str]
    pending: list[str] = field(default_factory=list)
    written: set[bytes] = field(default_factory=set)
    total: int = 0  # the questions the sheets hold, repeats included


class MoodleWriter:
    """Moodle XML for Question bank → Import; always holds the answers (Moodle grades with them)."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        env = output_environment()
        paths = category_paths(header)  # colliding titles fail before anything is written
        builder = QuestionBuilder(header.bank.code, frozenset(s.id for s in header.exercises if s.fixed_order))
        renderer = QuestionRenderer(env.get_template(QUESTION_TEMPLATE))
        embedder = Embedder(Drawings())
        exercises = [ExerciseQuestions(builder, renderer, summary, embedder) for summary in header.exercises]
        positions = {summary.id: k for k, summary in enumerate(header.exercises)}
        cloze = ClozeBuilder(builder)
        # A category per exercise (one per part of a multi-part exercise exported as linked
        # questions); a category never holds one question twice.
        categories: dict[tuple[int, str], _Category] = {}
        with ExitStack() as stack:
            # Copies come copy by copy, categories go exercise by exercise: each category's
            # questions wait in a temporary file, so memory does not grow with N.
            for copy in copies:
                for k, label, group in sheet_questions(copy.variants, positions):
                    c = categories.get((k, label))
                    if c is None:
                        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
                        c = categories[k, label] = _Category(group[0], spool)
                    c.total += 1
                    key, make = exercises[k].entry(group[0]) if len(group) == 1 else cloze.entry(group, renderer)
                    if key in c.written:
                        continue
                    c.written.add(key)
                    c.pending.append(make())
                    if len(c.pending) >= SPOOL_BATCH:
                        c.spool.write("".join(c.pending))
                        c.pending.clear()
            for c in categories.values():
                c.spool.write("".join(c.pending))
            out = sink.open()
            _write_start(env, header, out)
            # An exercise no sheet holds (a slot's pool larger than the class) keeps its empty category.
            empty = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
            for k in set(range(len(exercises))) - {k for k, _ in categories}:
                categories[k, ""] = _Category(None, empty)
            for (k, label), c in sorted(categories.items(), key=lambda item: item[0]):
                summary = header.exercises[k]
                if len(c.written) < c.total:
                    sink.notices.append(f"moodle: {summary.id}{f' part {label}' if label else ''}: {len(c.written)} "
                                        f"distinct question{'s' if len(c.written) != 1 else ''} for {c.total} variants "
                                        "(each written once)")
                shuffles = c.first is not None and builder.shuffles(c.first)
                _write_category(env, builder, header, summary, paths[summary.id], c.first, out, shuffles, label)
                _append(c.spool, out)
        out.write("\n</quiz>\n")


def _append(spool: IO[str], out: IO[str]) -> None:
    """The spool's text, copied to the end of `out` (as bytes when both are files)."""
    spool.flush()
    source, target = getattr(spool, "buffer", None), getattr(out, "buffer", None)
    if source is None or target is None:
        spool.seek(0)
        shutil.copyfileobj(spool, out)
        return
    out.flush()
    source.seek(0)
    shutil.copyfileobj(source, target)


def _write_start(env: jinja2.Environment, header: QuizHeader, out: IO[str]) -> None:
    out.write(env.get_template("moodle/quiz_start.xml.j2").render(comment=xml_comment(
        f"quizwright Moodle XML export, format 1: bank {header.bank.code} sha256 {header.bank.hash}, "
        f"seed {header.seed}, {header.count} variant(s) per exercise, one category per exercise"
    )))


def _write_category(env: jinja2.Environment, builder: QuestionBuilder, header: QuizHeader,
                    summary: ExerciseSummary, path: str, first: Variant | None, out: IO[str],
                    shuffles: bool, part: str = "") -> None:
    if part:  # a linked part: its own category, below the exercise's, mapped as its kind
        path += "/" + category_segment(f"Part {part}")
        summary = summary.model_copy(update={"kind": first.kind if first else summary.kind})
    mapping, limitation = mapping_text(summary, first, shuffles)
    if part:
        limitation = f"{LINKED_LIMITATION} {limitation or ''}".strip()
    info = one_line(env.get_template("moodle/category_info.html.j2").render(
        s=summary,
        header=header,
        count=header.count,
        mapping=Markup(builder.html_inline(mapping)),
        limitation=Markup(builder.html_inline(limitation)) if limitation else None,
    ))
    out.write(env.get_template("moodle/category.xml.j2").render(
        cdata=cdata, text=text, comment=xml_comment(summary.id),
        c={"path": path, "info": info},
    ))
