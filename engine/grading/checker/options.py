"""Answers to a question with several correct options (select all that apply): reading and credit.

Decisions:

* A response is option numbers separated by commas, semicolons or spaces (``1,3``, ``1 3``,
  ``①, ③``, ``①③``); with at most 9 options a run of digits is one option per digit (``13``).
  Order and repeats do not matter; a number out of range, a letter or no number at all makes the
  answer invalid. The chosen numbers come back ascending.
* Credit is Moodle's rule for a multichoice question with several answers: each correct option
  chosen is worth 1/c, each wrong one −1/w, and the sum is kept at 0 or above (w = 0: r/c).
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from engine.grading.checker.normalize import NormalizeError, prepare

__all__ = ["credit", "normalize_options"]

# ① .. ⑳ spelled as separate numbers before NFKC, which would join ①③ into 13.
_CIRCLED = {chr(0x2460 + k): f" {k + 1} " for k in range(20)}
_OPTIONS_RE = re.compile(r"[\d\s,;]+")


def normalize_options(raw: str, options: int) -> tuple[int, ...]:
    """The distinct option numbers 1..``options`` of a select-all answer, ascending.

    Raises:
        Unanswered: blank answer.
        NormalizeError: not a list of option numbers, or a number out of range.
        ValueError: ``options`` < 1 (a configuration mistake).
    """
    if options < 1:
        raise ValueError("a choice question needs at least one option")
    prepare(raw)  # type, length and blank checks, on the answer as given
    text = unicodedata.normalize("NFKC", "".join(_CIRCLED.get(ch, ch) for ch in raw)).strip()
    if _OPTIONS_RE.fullmatch(text) is None:
        if any(ch.isalpha() for ch in text):
            raise NormalizeError(f"answer with option numbers (1–{options}), not letters or words")
        raise NormalizeError(f"answer with option numbers (1–{options}) separated by commas")
    chosen: set[int] = set()
    for run in re.findall(r"\d+", text):
        for digits in (list(run) if options <= 9 else [run]):
            if len(digits) > 9 or not 1 <= int(digits) <= options:
                shown = f" {int(digits)}" if len(digits) <= 9 else ""
                raise NormalizeError(f"option{shown} does not exist (1–{options})")
            chosen.add(int(digits))
    if not chosen:
        raise NormalizeError(f"answer with option numbers (1–{options})")
    return tuple(sorted(chosen))


def credit(right: set[int], chosen: set[int], options: int) -> Fraction:
    """The share of the points earned by choosing ``chosen`` when ``right`` are the correct options."""
    wrong_options = options - len(right)
    earned = Fraction(len(chosen & right), len(right))
    if wrong_options:
        earned -= Fraction(len(chosen - right), wrong_options)
    return max(earned, Fraction(0))
