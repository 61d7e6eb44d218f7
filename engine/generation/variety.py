"""How much an exercise's variants really differ: distinct stems and answers (option order left
out), and the drawn parameters that change neither."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.errors import TemplateError
from engine.generation.quiz import Variant
from engine.generation.sampling import Plan
from engine.generation.solving import Clash
from engine.generation.variants import VariantMaker
from engine.language.values import Value

# Variants made to count stems and answers: all of them when there are at most this many, else
# this many drawn (the counts are then lower bounds). `list` makes them for every exercise.
COUNT_LIMIT = 48
# Base draws, and other values of the parameter per base, that `check` tries for each parameter.
BASES = 6
OTHERS = 6


@dataclass(frozen=True)
class Variety:
    stems: int
    answers: int
    exact: bool  # False: counted over a sample of the variants, so at least these many


@dataclass(frozen=True)
class Effect:
    """What varying one drawn parameter, the others fixed, changed over the draws tried."""

    name: str
    tried: int  # pairs of draws compared
    stem: bool
    answer: bool


def face(variant: Variant) -> tuple[str, str]:
    """What a student reads (the question and the options as a set) and what is graded."""
    stem = "\0".join([variant.question, *sorted(o.text for o in variant.options)])
    if variant.answer.type in ("option", "options"):
        answer = "\0".join(sorted(o.text for o in variant.options if o.correct))
    else:
        answer = variant.answer.model_dump_json()
    return stem, answer


def faces(variants: list[Variant]) -> tuple[str, str]:
    """The face of a draw's variants (each part of a multi-part exercise's, together)."""
    each = [face(v) for v in variants]
    return "\0\0".join(s for s, _ in each), "\0\0".join(a for _, a in each)


def made(maker: VariantMaker, values: tuple[Value, ...]) -> list[Variant] | None:
    """The variants of these drawn values (one, or one per part) in the authored option order, or
    None when the draw is unusable (a constraint, coinciding options, a value the kind refuses)."""
    plan = Plan(0, 0, values, tuple(range(len(maker.ex.shown_pinned))))  # every shown option, a pool's too
    if maker.ex.space.failed_constraint(maker.sampler.env(plan)) is not None:
        return None
    try:
        return maker.group(plan)
    except (Clash, TemplateError):
        return None


def _draws(maker: VariantMaker, limit: int) -> tuple[list[tuple[Value, ...]], bool]:
    """Every usable draw when there are at most `limit`, else up to `limit` distinct sampled ones."""
    if not maker.ex.space.drawn:
        return [()], True
    names = maker.sampler.drawn
    usable = maker.distinct_count(force=True)  # with parameters: the usable draws, counted
    if usable is not None and usable <= limit:
        return [tuple(env[name] for name in names) for env in maker.sampler.usable_envs()], True
    sampled = dict.fromkeys(plan.values for plan in maker.plans(limit))
    return list(sampled), False


def variety(maker: VariantMaker, limit: int = COUNT_LIMIT) -> Variety:
    """Distinct stems and answers over the exercise's draws (or a sample of them)."""
    draws, exact = _draws(maker, limit)
    found = [faces(v) for v in (made(maker, values) for values in draws) if v is not None]
    return Variety(len({s for s, _ in found}), len({a for _, a in found}), exact)


def effects(maker: VariantMaker) -> Iterator[Effect]:
    """For each parameter the author draws with several values (a distractor pool's pick is not
    one): whether changing it alone changed the stem or the answer, over up to BASES draws and
    OTHERS other values each."""
    space = maker.ex.space
    bases = _draws(maker, BASES)[0]
    for position, param in enumerate(space.drawn):
        values = list(dict.fromkeys(param.values))
        if len(values) < 2 or param.name not in maker.ex.spec.params:
            continue
        tried, stem, answer = 0, False, False
        for base in bases:
            first = made(maker, base)
            if first is None:
                continue
            own = faces(first)
            others = [v for v in values if v != base[position]]
            others = others[:: max(1, len(others) // OTHERS)][:OTHERS]  # spread over the values
            for value in others:
                other = made(maker, (*base[:position], value, *base[position + 1:]))
                if other is None:
                    continue
                tried += 1
                theirs = faces(other)
                stem, answer = stem or theirs[0] != own[0], answer or theirs[1] != own[1]
            if stem and answer:
                break
        yield Effect(param.name, tried, stem, answer)
