"""The product's words, defined once: exercise kinds, the kinds of answer the checker reads, the
assumptions a declared symbol may carry, and the kinds of tolerance of a numeric answer."""

from __future__ import annotations

from typing import Literal, get_args

# What an exercise is; the `kind:` of an exercise file and of an exported variant.
Kind = Literal["concept", "true_false", "scenario", "choice", "integer", "numeric", "formula", "multipart"]
KINDS: tuple[Kind, ...] = get_args(Kind)
# The kinds whose answer is one of the listed options.
ChoiceKind = Literal["concept", "scenario", "choice"]
CHOICE_KINDS: tuple[ChoiceKind, ...] = get_args(ChoiceKind)

# How the answer checker reads and compares an answer (every choice kind is read as "choice", or as
# "options" when several options are correct).
CheckKind = Literal["formula", "numeric", "integer", "choice", "true_false", "options"]
CHECK_KINDS: tuple[CheckKind, ...] = get_args(CheckKind)

# What a declared symbol is assumed to be, and SymPy's keyword arguments for it; the symbols of
# generated formulas and of graded answers alike.
Assumption = Literal["real", "positive", "nonnegative", "integer", "positive_integer"]
ASSUMPTIONS: dict[Assumption, dict[str, bool]] = {
    "real": {"real": True},
    "positive": {"positive": True},
    "nonnegative": {"nonnegative": True, "real": True},
    "integer": {"integer": True},
    "positive_integer": {"integer": True, "positive": True},
}

ToleranceKind = Literal["absolute", "relative"]
