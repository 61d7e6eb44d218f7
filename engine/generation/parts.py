"""Multi-part exercises: one draw per variant, shared by the parts, flattened into one `Variant`
per part (5a, 5b, ...), consecutive, each telling its label and the scenario in its `part`."""

from __future__ import annotations

import random
from collections.abc import Mapping

from engine.authoring.loader import CompiledExercise
from engine.authoring.spec import PART_LABELS
from engine.generation.fields import render
from engine.generation.quiz import Part, Plot, Variant
from engine.generation.sampling import Env, Plan, Sampler
from engine.generation.solving import AnswerKeys, Screen, screen, solve
from engine.generation.variants import VariantMaker, _Recent, build_variant
from engine.language.values import Value


class PartsMaker(VariantMaker):
    """The variants of a multi-part exercise: a draw is usable when every part can use it."""

    def __init__(self, ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value] | None = None,
                 shuffle: bool = True) -> None:
        super().__init__(ex, quiz_seed, pins, shuffle)
        self.shuffle = shuffle
        self._part_screens: _Recent[tuple[Screen, ...]] = _Recent()
        self._part_keys = [AnswerKeys() for _ in ex.parts]
        self.sampler = Sampler(ex, quiz_seed, self.pins, self.screen_parts, shuffle)
        # The exercise itself has no options: a draw can clash in any part that has some.
        self.sampler.clashable = any(part.options or part.distractors for part in ex.parts)

    def screen_parts(self, env: Env) -> tuple[Screen, ...]:
        """Every part's screen of a draw, remembered; raises Clash when one part cannot use it."""
        return self._part_screens.get(self._key(env), lambda: self._screen_all(env))

    def _screen_all(self, env: Env) -> tuple[Screen, ...]:
        return tuple(screen(part, env, self.printer) for part in self.ex.parts)

    def group(self, plan: Plan) -> list[Variant]:
        """The parts of one variant: one draw, the scenario rendered once, each part solved on it."""
        ex, printer = self.ex, self.printer
        env = self.sampler.env(plan)
        screens = (self._part_screens.get(plan.values, lambda: self._screen_all(env)) if self.sampler.clashable
                   else (None,) * len(ex.parts))
        solutions = [solve(part, env, screened, keys, printer)
                     for part, screened, keys in zip(ex.parts, screens, self._part_keys, strict=True)]
        shown = {**solutions[0].context, **{figure.name: markdown for figure, markdown in solutions[0].figures}}
        scenario = render(ex, ex.question, ["question"], shown, printer)
        shared = render(ex, ex.explanation, ["explanation"], shown, printer) if ex.spec.explanation else ""
        base = self.variant_id(plan.index)
        variants = []
        for i, (part, solution) in enumerate(zip(ex.parts, solutions, strict=True)):
            label = PART_LABELS[i]
            order = part_order(part, f"{self.quiz_seed}.{ex.id}.{plan.values}", i, self.shuffle)
            built = build_variant(part, solution, f"{base}.{label}", Plan(plan.index, plan.seed, plan.values, order),
                           printer)
            question = f"{scenario}\n\n{built.question}"
            explanation = f"{shared}\n\n{built.explanation}" if shared and i == 0 else built.explanation
            figures = [figure for figure, markdown in solution.figures
                       if not isinstance(figure, Plot) or markdown in question or markdown in explanation]
            variants.append(built.model_copy(update={
                "question": question, "explanation": explanation, "figures": figures,
                "part": Part(label=label, scenario=scenario, question=built.question),
            }))
        return variants


def part_order(part: CompiledExercise, draw: str, index: int, shuffle: bool) -> tuple[int, ...]:
    """A choice part's option order, pinned options in place: its own generator, seeded by the draw
    and the part. Not by the variant's seed: a variant's content depends on its draw alone, so that
    a repeated draw is the same question wherever a run starts (`--copies`)."""
    pinned = [option.pinned for option in part.options]
    if not (shuffle and pinned and getattr(part.spec, "shuffle", False)):
        return tuple(range(len(pinned)))
    free = [i for i, fixed in enumerate(pinned) if not fixed]
    random.Random(f"{draw}.{index}").shuffle(free)
    moves = iter(free)
    return tuple(i if fixed else next(moves) for i, fixed in enumerate(pinned))


def make_maker(ex: CompiledExercise, quiz_seed: int, pins: Mapping[str, Value] | None = None,
               shuffle: bool = True) -> VariantMaker:
    """The maker of an exercise's variants: one per part for a multi-part exercise."""
    return PartsMaker(ex, quiz_seed, pins, shuffle) if ex.parts else VariantMaker(ex, quiz_seed, pins, shuffle)


def relabel(variants: list[Variant], maker: VariantMaker, index: int, seed: int) -> list[Variant]:
    """A group made for an earlier copy, given the ids, index and seed of copy `index`."""
    base = maker.variant_id(index)
    return [variant.model_copy(update={"id": f"{base}.{variant.part.label}" if variant.part else base,
                                       "index": index, "seed": seed})
            for variant in variants]
