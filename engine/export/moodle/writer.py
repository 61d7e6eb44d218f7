"""The Moodle XML writer: a category per exercise holding its variants, in copy order."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterable
from contextlib import ExitStack
from typing import IO

import jinja2
from markupsafe import Markup

from engine.export.figures import Drawings
from engine.export.html import one_line
from engine.export.moodle.figures import Embedder, shows_plots
from engine.export.moodle.questions import QuestionBuilder, formula_mode, question_key
from engine.export.moodle.render import QUESTION_TEMPLATE, QuestionRenderer, question_values
from engine.export.moodle.xml import (
    category_paths,
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
    return summary.kind != "formula" and distinct is not None and distinct <= REPEAT_CACHE_LIMIT


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


class MoodleWriter:
    """Moodle XML for Question bank → Import; always holds the answers (Moodle grades with them)."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        env = output_environment()
        paths = category_paths(header)  # colliding titles fail before anything is written
        builder = QuestionBuilder(header.bank.code, frozenset(s.id for s in header.exercises if s.fixed_order))
        renderer = QuestionRenderer(env.get_template(QUESTION_TEMPLATE))
        embedder = Embedder(Drawings())
        exercises = [ExerciseQuestions(builder, renderer, summary, embedder) for summary in header.exercises]
        firsts: list[Variant | None] = [None] * len(exercises)
        # The questions written per exercise, by key: a category never holds one question twice.
        written: list[set[bytes]] = [set() for _ in exercises]
        variants = [0] * len(exercises)
        with ExitStack() as stack:
            # Copies come copy by copy, categories go exercise by exercise: each exercise's
            # questions wait in a temporary file, so memory does not grow with N.
            spools: list[IO[str]] = [
                stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
                for _ in exercises
            ]
            pending: list[list[str]] = [[] for _ in exercises]
            position = {summary.id: k for k, summary in enumerate(header.exercises)}
            for copy in copies:
                for variant in copy.variants:
                    k = position[variant.exercise]  # with slots, item k of a sheet is not exercise k
                    if firsts[k] is None:
                        firsts[k] = variant
                    variants[k] += 1
                    key, make = exercises[k].entry(variant)
                    if key in written[k]:
                        continue
                    written[k].add(key)
                    pending[k].append(make())
                    if len(pending[k]) >= SPOOL_BATCH:
                        spools[k].write("".join(pending[k]))
                        pending[k].clear()
            for spool, questions in zip(spools, pending, strict=True):
                spool.write("".join(questions))
            out = sink.open()
            _write_start(env, header, out)
            for summary, first, spool, kept, total in zip(header.exercises, firsts, spools, written, variants,
                                                          strict=True):
                if len(kept) < total:
                    sink.notices.append(f"moodle: {summary.id}: {len(kept)} distinct question"
                                        f"{'s' if len(kept) != 1 else ''} for {total} variants "
                                        "(each written once)")
                shuffles = first is not None and builder.shuffles(first)
                _write_category(env, builder, header, summary, paths[summary.id], first, out, shuffles)
                _append(spool, out)
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
                    shuffles: bool) -> None:
    mapping, limitation = mapping_text(summary, first, shuffles)
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
