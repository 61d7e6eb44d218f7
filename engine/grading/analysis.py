"""Item analysis and score distribution of graded sheets (pure: results in, ``Analysis`` out).

Per question position (= one exercise, since copy i holds variant i of every exercise in order):
p, the mean share of the points earned (the proportion correct, where partial credit counts as
its share), point-biserial discrimination against the rest of the test (total minus
the item, so an item does not correlate with itself), how often each option was chosen, and p
per sibling variant and per parameter value. A variant or value whose p differs from the
exercise's p by more than ``FLAG_GAP`` with at least ``FLAG_MIN_N`` answers is flagged: students
who drew it were treated unequally.

Options are matched across shuffled variants by identity (the correct one, or a distractor by its
feedback, else its text), so "option ③ chosen 40 %" never mixes different distractors that were
printed third on different sheets.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction

from engine.grading.models import (
    STATUSES,
    Analysis,
    AnswerResult,
    Bin,
    Distribution,
    GroupStats,
    ItemStats,
    OptionCount,
    ParamStats,
    SheetResult,
)
from engine.grading.questions import Choice, Item

__all__ = ["FLAG_GAP", "FLAG_MIN_N", "analyse", "distribution", "pearson", "variant_label"]

FLAG_GAP = 0.25
FLAG_MIN_N = 5
BINS = 10
MAX_OPTION_LABEL = 60


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None when fewer than 2 pairs or either side is constant."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    dx = [x - mx for x in xs]
    dy = [y - my for y in ys]
    sxx = math.fsum(d * d for d in dx)
    syy = math.fsum(d * d for d in dy)
    if sxx <= 0 or syy <= 0:
        return None
    sxy = math.fsum(a * b for a, b in zip(dx, dy, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def distribution(percents: Sequence[float]) -> Distribution:
    """Mean, median, sample stdev, range and a histogram in 10 % bins (100 % in the last one)."""
    counts = [0] * BINS
    for value in percents:
        counts[min(max(int(value // (100 // BINS)), 0), BINS - 1)] += 1
    width = 100 // BINS
    bins = [Bin(label=f"{i * width}–{(i + 1) * width} %", low=i * width, high=(i + 1) * width, count=c)
            for i, c in enumerate(counts)]
    if not percents:
        return Distribution(n=0, mean=None, median=None, stdev=None, min=None, max=None, bins=bins)
    return Distribution(
        n=len(percents),
        mean=round(statistics.fmean(percents), 2),
        median=round(statistics.median(percents), 2),
        stdev=round(statistics.stdev(percents), 2) if len(percents) > 1 else None,
        min=min(percents),
        max=max(percents),
        bins=bins,
    )


def _cronbach(items: Sequence[Sequence[float]], totals: Sequence[float]) -> float | None:
    k = len(items)
    if k < 2 or len(totals) < 2:
        return None
    total_var = statistics.pvariance(totals)
    if total_var == 0:
        return None
    alpha = k / (k - 1) * (1 - math.fsum(statistics.pvariance(i) for i in items) / total_var)
    return round(alpha, 3)


def variant_label(variant: Item) -> str:
    """How a report names a sibling variant: its parameters, or which option is the key."""
    if variant.params:
        return ", ".join(f"{name}={value}" for name, value in variant.params)
    if variant.options:
        return f"key {variant.answer_text}"
    return "single variant"


def _sort_key(value: str) -> tuple[int, Fraction | str]:
    try:
        return (0, Fraction(value))
    except (ValueError, ZeroDivisionError):
        return (1, value)


def _group(label: str, tally: Sequence[float], p: float | None) -> GroupStats:
    n, correct, credit = int(tally[0]), int(tally[1]), tally[2]
    gp = credit / n if n else None
    flagged = gp is not None and p is not None and n >= FLAG_MIN_N and abs(gp - p) > FLAG_GAP
    return GroupStats(label=label, n=n, correct=correct, p=None if gp is None else round(gp, 3),
                      flagged=flagged)


def _option_identity(option: Choice, several: bool = False) -> str:
    # With several correct options, each is counted apart, by its text.
    if option.correct:
        return f"correct: {option.text}" if several else "correct"
    return option.feedback or option.text


def _options(by_item: Sequence[tuple[Item, Sequence[AnswerResult]]], n: int, mixed: bool) -> list[OptionCount]:
    labels: dict[str, tuple[str, bool]] = {}
    counts: dict[str, int] = defaultdict(int)
    for variant, answers in by_item:
        several = variant.question.kind == "options"
        # A slot's exercises are told apart: their options are never one option.
        where = f"{variant.exercise}: " if mixed else ""
        for option in variant.options:  # every option is listed, even one nobody chose
            identity = where + _option_identity(option, several)
            if identity not in labels:
                text = option.text
                if len(text) > MAX_OPTION_LABEL and "$" not in text:  # never cut TeX in half
                    text = text[:MAX_OPTION_LABEL] + "…"
                labels[identity] = (where + text, option.correct)
        for answer in answers:
            chosen = answer.options if answer.options is not None else [answer.option]
            for number in chosen:
                if number is not None and 1 <= number <= len(variant.options):
                    counts[where + _option_identity(variant.options[number - 1], several)] += 1
    rows = [OptionCount(label=text, correct=correct, count=counts[identity],
                        share=round(counts[identity] / n, 3) if n else None)
            for identity, (text, correct) in labels.items()]
    return sorted(rows, key=lambda r: (not r.correct, -r.count))


def _item(position: int, answers: list[AnswerResult], rest: list[float], variants: Mapping[str, Item],
          ) -> ItemStats:
    n = len(answers)
    counts = {status: 0 for status in STATUSES}
    # Variants with equal items share one Item: their answers are one group from the start.
    groups_of: dict[int, tuple[Item, list[AnswerResult]]] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
        item = variants.get(answer.variant)
        if item is not None:
            found = groups_of.get(id(item))
            if found is None:
                found = groups_of[id(item)] = (item, [])
            found[1].append(answer)
    by_item = list(groups_of.values())
    first = by_item[0][0] if by_item else None
    # With slots, one position holds several exercises: name them all, and keep their variants,
    # parameters and options apart (two exercises may both draw n_in, or both have a key ②).
    exercises = dict.fromkeys(item.exercise for item, _ in by_item)
    titles = dict.fromkeys(item.title for item, _ in by_item)
    mixed = len(exercises) > 1
    scores = [a.points / a.max_points if a.max_points else 0.0 for a in answers]
    p = math.fsum(scores) / n if n else None
    discrimination = pearson(scores, rest)
    # Siblings: variants with the same label (same parameters) are one group across copies.
    # A tally is [answers, correct answers, share of the points earned].
    by_label: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    by_param: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0.0]))
    for variant, group in by_item:
        correct = sum(a.status == "correct" for a in group)
        credit = math.fsum(a.points / a.max_points if a.max_points else 0.0 for a in group)
        where = f"{variant.exercise}: " if mixed else ""
        for tally in (by_label[where + variant_label(variant)],
                      *(by_param[where + name][value] for name, value in variant.params)):
            tally[0] += len(group)
            tally[1] += correct
            tally[2] += credit
    groups = [_group(label, group, p) for label, group in by_label.items()] if len(by_label) > 1 else []
    groups.sort(key=lambda g: (g.p if g.p is not None else 2.0, g.label))
    params = [ParamStats(name=name, values=[_group(f"{name}={value}", values[value], p)
                                            for value in sorted(values, key=_sort_key)])
              for name, values in by_param.items() if len(values) > 1]
    # dict.fromkeys: a one-parameter exercise names the same group as a variant and as a value.
    flags = list(dict.fromkeys(f"{g.label}: p = {g.p:.2f} (n = {g.n}) vs {p:.2f} for the exercise"
                               for g in [*groups, *(v for ps in params for v in ps.values)]
                               if g.flagged and g.p is not None and p is not None))
    sample = answers[0] if answers else None
    return ItemStats(
        question=sample.question if sample else f"q{position}", position=position,
        exercise=", ".join(exercises) if first else (sample.exercise if sample else ""),
        title=" / ".join(titles),
        kind=first.kind if first else (sample.kind if sample else "concept"),
        n=n, counts=counts,
        p=None if p is None else round(p, 3),
        discrimination=None if discrimination is None else round(discrimination, 3),
        options=_options(by_item, n, mixed) if first and first.options else [],
        variants=groups, params=params, flags=flags,
    )


def analyse(sheets: Sequence[SheetResult], variants: Mapping[str, Item]) -> Analysis:
    """Score distribution, reliability and per-question item analysis of graded sheets.

    ``variants`` maps variant id -> the key's Item, for titles, options and parameters.
    """
    positions = max((len(s.answers) for s in sheets), default=0)
    rows = [(s.answers, s.total) for s in sheets]
    items = []
    item_scores: list[list[float]] = []
    for index in range(positions):
        answers = [row[index] for row, _ in rows if len(row) > index]
        rest = [float(total - row[index].points) for row, total in rows if len(row) > index]
        items.append(_item(index + 1, answers, rest, variants))
        item_scores.append([float(a.points) for a in answers])
    complete = all(len(s.answers) == positions for s in sheets)
    reliability = _cronbach(item_scores, [float(s.total) for s in sheets]) if complete else None
    return Analysis(sheets=len(sheets), distribution=distribution([s.percent for s in sheets]),
                    reliability=reliability, items=items)
