"""The variants of one exercise: plans from sampling, solved, then built into `Variant` models."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Generic, TypeVar

from engine.authoring.loader import CompiledExercise
from engine.authoring.params import printed_params
from engine.generation.fields import render
from engine.generation.quiz import Answer, Option, OptionAnswer, OptionsAnswer, Plot, Variant
from engine.generation.sampling import Env, Plan, Sampler, Stats
from engine.generation.solving import (
    AnswerKeys,
    ChoiceSolution,
    Clash,
    Screen,
    Solution,
    TruthSolution,
    ValueSolution,
    option_names,
    screen,
    solve,
)
from engine.language.printing import Printer, circled
from engine.language.values import Value

__all__ = ["Plan", "Stats", "VariantMaker", "build_variant"]

# Draws whose screen and solution are kept: more than a chunk of plans (made before they are
# materialised), few enough that memory stays flat as N grows.
MEMO_LIMIT = 1024
T = TypeVar("T")


class _Recent(Generic[T]):
    """Results of the most recent draws (a Clash included), bounded by MEMO_LIMIT."""

    def __init__(self) -> None:
        self._items: dict[Hashable, T | Clash] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        found = self._items.get(key)
        if found is None:
            if len(self._items) >= MEMO_LIMIT:
                self._items.clear()
            try:
                found = compute()
            except Clash as clash:
                found = clash
            self._items[key] = found
        if isinstance(found, Clash):
            raise found
        return found


class VariantMaker:
    """Instantiates one exercise under one quiz seed; `stream(n)` yields n variants in order.

    It holds the screens of recent draws: a plan's materialisation reuses its draw's screen.
    """

    def __init__(self, ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value] | None = None,
                 shuffle: bool = True) -> None:
        self.ex = ex
        self.quiz_seed = quiz_seed
        drawn = {d.name for d in ex.space.drawn}
        self.pins = {k: v for k, v in (pins or {}).items() if k in drawn}
        self._screens: _Recent[Screen] = _Recent()
        self._keys = AnswerKeys()
        self.printer = Printer()
        self.sampler = Sampler(ex, quiz_seed, self.pins, self.screen, shuffle)

    @property
    def stats(self) -> Stats:
        return self.sampler.stats

    def distinct_count(self, force: bool = False, wanted: int = 0) -> int | None:
        """How many distinct variants exist, or None when the space is too large to count."""
        return self.sampler.distinct_count(force=force, wanted=wanted)

    def plans(self, count: int) -> Iterator[Plan]:
        """Which draw and option order each of variants 0..count-1 gets (cheap: nothing is rendered)."""
        return self.sampler.plans(count)

    def screen(self, env: Env) -> Screen:
        """`solving.screen` of a draw, remembered; raises Clash."""
        return self._screens.get(self._key(env), lambda: screen(self.ex, env, self.printer))

    def _key(self, env: Env) -> tuple[Value, ...]:
        return tuple([env[name] for name in self.sampler.drawn])

    def materialize(self, plan: Plan) -> Variant:
        """The full variant of a plan: answers, rendered text, options in order."""
        env = self.sampler.env(plan)
        # A plan's values are its draw's key (see _key): sampling has just screened that draw,
        # unless nothing could clash (then sampling screens nothing, and solving does).
        screened = (self._screens.get(plan.values, lambda: screen(self.ex, env, self.printer))
                    if self.sampler.clashable else None)
        solution = solve(self.ex, env, screened, self._keys, self.printer)
        return build_variant(self.ex, solution, self.variant_id(plan.index), plan, self.printer)

    def group(self, plan: Plan) -> list[Variant]:
        """What a plan puts on a sheet: its variant (a multi-part exercise puts one per part)."""
        return [self.materialize(plan)]

    def stream(self, count: int) -> Iterator[Variant]:
        """Variants 0..count-1, distinct while the space has enough of them (each part of one, in order)."""
        for plan in self.plans(count):
            yield from self.group(plan)

    def variant_id(self, index: int) -> str:
        """Id of variant `index` (0-based), e.g. xavier-sum.7.12."""
        return f"{self.ex.id}.{self.quiz_seed}.{index + 1}"


def build_variant(ex: CompiledExercise, solution: Solution, variant_id: str, plan: Plan,
                  printer: Printer | None = None) -> Variant:
    """The `Variant` model of a solved draw, with its options in the plan's order."""
    printer = printer or Printer()
    context = solution.context
    options: list[Option] = []
    names: dict[str, object] = {}
    if isinstance(solution, ChoiceSolution):
        names = option_names(ex, solution.options, plan.order)
        for number, i in enumerate(plan.order, start=1):
            shown = solution.options[i]
            feedback = (render(ex, shown.feedback, list(shown.field), {**context, **names}, printer)
                        if shown.feedback is not None else None)
            options.append(Option(number=number, text=shown.text, correct=shown.correct, feedback=feedback,
                                  value=None if shown.value is None else printer.exact(shown.value)))
        answer, answer_value, answer_text = _choice_answer(ex, options)
    else:
        answer, answer_text = solution.answer, solution.answer_text
        if isinstance(solution, TruthSolution):
            truth = answer_value = solution.answer.value
            wrong = solution.wrong_feedback
            options = [Option(number=1, text="True", correct=truth, feedback=None if truth else wrong),
                       Option(number=2, text="False", correct=not truth, feedback=wrong if truth else None)]
        else:
            answer_value = solution.value
    figures = {figure.name: markdown for figure, markdown in solution.figures}
    explanation = render(ex, ex.explanation, ["explanation"],
                         {**context, **figures, **names, "answer": answer_value, "answer_text": answer_text}, printer)
    spec = ex.spec
    misconceptions = list(solution.misconceptions) if isinstance(solution, ValueSolution) else []
    return Variant.model_validate({
        "id": variant_id, "exercise": ex.id, "index": plan.index, "seed": plan.seed, "kind": spec.kind,
        "title": spec.title, "topic": spec.topic, "tags": list(spec.tags), "points": spec.points,
        "params": printed_params(context, printer.exact),
        "question": solution.question, "options": options, "answer": answer, "answer_text": answer_text,
        "explanation": explanation, "misconceptions": misconceptions,
        "hints": [render(ex, hint, ["hints", i], context, printer) for i, hint in enumerate(ex.hints)],
        # A plot the text leaves out in this draw (`[% if %]`) is not one of its figures: no file to write.
        "figures": [figure for figure, markdown in solution.figures
                    if not isinstance(figure, Plot) or markdown in solution.question or markdown in explanation],
    })


def _choice_answer(ex: CompiledExercise, options: list[Option]) -> tuple[Answer, Value | list[int], str]:
    """The key of a choice variant: its answer, the explanation's `answer` and the key's text."""
    numbers = [o.number for o in options if o.correct]
    spec = ex.spec
    if not getattr(spec, "multiple", False):
        return OptionAnswer(option=numbers[0]), numbers[0], circled(numbers[0])
    shuffle = bool(getattr(spec, "shuffle", False)) and not any(o.pinned for o in ex.options)
    return OptionsAnswer(options=tuple(numbers), shuffle=shuffle), numbers, ", ".join(map(circled, numbers))
