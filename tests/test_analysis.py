"""Item analysis: p-values, point-biserial discrimination, option counts across shuffles, unfair variants."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from engine import api
from engine.generation.quiz import Quiz
from engine.grading.analysis import analyse, distribution, pearson, variant_label
from engine.grading.keys import key_from_quiz
from engine.grading.models import SheetResult, Submission, SubmissionBatch
from engine.grading.questions import item_of
from engine.grading.sheets import grade_batch

GRADING_BANK = Path(__file__).resolve().parent / "fixtures" / "grading" / "bank"


@pytest.fixture(scope="module")
def quiz() -> Quiz:
    return api.quiz([GRADING_BANK], seed=1, count=4)


def grade(quiz: Quiz, rows: list[tuple[str, int, dict[int, str]]]) -> list[SheetResult]:
    subs = [Submission(row=i + 2, student=student, sheet=quiz.copies[copy].sheet, answers=answers)
            for i, (student, copy, answers) in enumerate(rows)]
    return grade_batch(key_from_quiz(quiz), SubmissionBatch(format="csv", unit="row", submissions=subs,
                                                            questions=[1, 2, 3, 4])).sheets


def right(quiz: Quiz, copy: int) -> dict[int, str]:
    count, pick, std, _ = quiz.copies[copy].variants
    return {1: str(count.answer.value), 2: str(pick.answer.option), 3: std.answer.display, 4: "2/n_in"}


def test_pearson() -> None:
    assert pearson([0, 0, 1, 1], [1, 2, 3, 4]) == pytest.approx(statistics.correlation([0, 0, 1, 1], [1, 2, 3, 4]))
    assert pearson([1, 0], [0, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 2, 3]) is None  # everyone right: no discrimination to speak of
    assert pearson([1], [1]) is None


def test_distribution() -> None:
    dist = distribution([0.0, 9.99, 10.0, 55.5, 100.0, 100.0])
    assert [b.count for b in dist.bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]  # 100 % sits in the last bin
    assert dist.bins[-1].label == "90–100 %"
    assert (dist.n, dist.min, dist.max, dist.median) == (6, 0.0, 100.0, 32.75)
    assert dist.mean == round(statistics.fmean([0.0, 9.99, 10.0, 55.5, 100.0, 100.0]), 2)
    empty = distribution([])
    assert empty.n == 0 and empty.mean is None and sum(b.count for b in empty.bins) == 0
    assert distribution([50.0]).stdev is None


def test_variant_label(quiz: Quiz) -> None:
    count, pick, _, variance = map(item_of, quiz.copies[0].variants)
    assert variant_label(count) == "n_in=3, n_out=10"
    assert variant_label(pick) == "key ①"
    assert variant_label(variance) == "single variant"


def test_p_values_discrimination_and_counts(quiz: Quiz) -> None:
    # Strong students get everything right; weak ones only q4; q1 separates them, q4 does not.
    rows = [(f"strong{i}", i % 4, right(quiz, i % 4)) for i in range(6)]
    rows += [(f"weak{i}", i % 4, {4: "2/n_in", 1: "1", 3: "abc"}) for i in range(4)]
    analysis = analyse(sheets := grade(quiz, rows), key_from_quiz(quiz).items())
    q1, q2, q3, q4 = analysis.items
    assert (q1.exercise, q1.kind, q1.n, q1.p) == ("count", "integer", 10, 0.6)
    assert q1.counts == {"correct": 6, "incorrect": 4, "invalid": 0, "unanswered": 0, "undecided": 0}
    assert q2.counts["unanswered"] == 4 and q3.counts["invalid"] == 4
    assert q4.p == 1.0 and q4.discrimination is None
    assert q1.discrimination is not None and q1.discrimination > 0.9
    assert analysis.sheets == 10 and analysis.distribution.n == 10
    assert analysis.reliability is not None and analysis.reliability > 0.8
    # The rest score excludes the item itself.
    rest = [s.total - s.answers[0].points for s in sheets]
    scores = [s.answers[0].points / 3 for s in sheets]
    assert q1.discrimination == round(pearson(scores, [float(r) for r in rest]) or 0, 3)


def test_options_are_counted_by_identity_across_shuffles(quiz: Quiz) -> None:
    # "pick" is shuffled: the correct option is ① on copy 0, ③ on copy 1, ② on copy 2.
    keys = [quiz.copies[c].variants[1].answer.option for c in range(3)]
    assert len(set(keys)) == 3
    xavier = [next(o.number for o in quiz.copies[c].variants[1].options if o.text == "Xavier") for c in range(3)]
    rows = [("a", 0, {2: str(keys[0])}), ("b", 1, {2: str(keys[1])}), ("c", 2, {2: str(xavier[2])}),
            ("d", 0, {2: str(xavier[0])}), ("e", 1, {2: str(xavier[1])}), ("f", 2, {})]
    item = analyse(grade(quiz, rows), key_from_quiz(quiz).items()).items[1]
    assert [(o.label, o.correct, o.count, o.share) for o in item.options] == [
        ("He", True, 2, 0.333), ("Xavier", False, 3, 0.5), ("All zeros", False, 0, 0.0)]


def test_a_much_harder_variant_is_flagged(quiz: Quiz) -> None:
    # Everyone on copies 0–2 gets "std" right; everyone on copy 3 (n_in = 3, irrational) gets it wrong.
    rows = [(f"s{i}", i % 4, right(quiz, i % 4) | ({3: "0.5"} if i % 4 == 3 else {})) for i in range(24)]
    item = analyse(grade(quiz, rows), key_from_quiz(quiz).items()).items[2]
    assert item.p == 0.75
    assert [(g.label, g.n, g.p, g.flagged) for g in item.variants] == [
        ("n_in=3", 6, 0.0, True), ("n_in=18", 6, 1.0, False), ("n_in=50", 6, 1.0, False),
        ("n_in=8", 6, 1.0, False)]
    assert [(v.label, v.flagged) for v in item.params[0].values] == [
        ("n_in=3", True), ("n_in=8", False), ("n_in=18", False), ("n_in=50", False)]  # numeric order
    assert item.flags == ["n_in=3: p = 0.00 (n = 6) vs 0.75 for the exercise"]  # once, not per view


def test_small_groups_are_not_flagged(quiz: Quiz) -> None:
    rows = [(f"s{i}", i % 4, right(quiz, i % 4) | ({3: "0.5"} if i % 4 == 3 else {})) for i in range(8)]
    item = analyse(grade(quiz, rows), key_from_quiz(quiz).items()).items[2]
    assert not item.flags and not any(g.flagged for g in item.variants)


def test_no_sheets() -> None:
    analysis = analyse([], {})
    assert analysis.items == [] and analysis.reliability is None and analysis.distribution.n == 0
