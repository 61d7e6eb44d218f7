"""What the Moodle export words itself: hints for a wrong try, a formula's stem as a multiple
choice, and whether a text names an option by its number on the sheet."""

from __future__ import annotations

import re

from engine.generation.quiz import Variant

# The stem of a formula exercise asks to write one ("Write L as a formula in n_in and n_out (use
# sqrt(...) for a square root)."): as a multiple choice, that sentence asks to choose one instead.
# A sentence this does not recognise is kept, and the note after it says what to do.
_WRITE_FORMULA = re.compile(
    r"\b(?:Write|Give|Express|Enter|Type)\s+(?P<what>[^.?!]+?),?\s+as\s+an?\s+(?:formula|expression)"
    r"(?P<rest>[^.?!(]*(?:\([^()]*\)[^.?!(]*)*?)"
    r"(?:\s*\((?:use|write|type|enter)\b(?:[^()]|\([^()]*\))*\))?\s*[.!]"
)
_CIRCLED = re.compile("[\u2460-\u2473]")

# Hints for "Interactive with multiple tries": one try per hint, plus one (so the penalty
# applies). None gives the answer away; the misconception feedback of the response comes first.
HINTS = {
    "multichoice": "Not yet. Read the feedback on your choice, then check each remaining option "
                   "against every detail of the question.",
    "truefalse": "Not yet. Read the statement again: is every part of it true?",
    "numerical": "Not yet. Check which formula applies here, then redo the arithmetic step by step.",
    "formula": "Not yet. Check how each expression depends on the symbols, for example by trying "
               "small values in it.",
}


def names_options_by_number(variant: Variant) -> bool:
    """Whether the question, the worked solution, a feedback or a hint prints an option's number
    (①), which a shuffled order would contradict."""
    texts = [variant.question, variant.explanation, *(o.feedback or "" for o in variant.options), *variant.hints]
    return any(_CIRCLED.search(text) for text in texts)


def choice_wording(question: str) -> str:
    """A formula exercise's stem asking to choose the formula instead of writing it."""
    return _WRITE_FORMULA.sub(lambda m: f"Which of the expressions below gives {m['what']}{m['rest'].rstrip(', ')}?",
                              question, count=1)
