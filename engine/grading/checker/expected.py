"""The question's expected answer (the key): read and evaluated only in the sandbox worker.

A key is prepared once per run (``compare.Comparer`` remembers it). A formula key is built by SymPy
in the worker. A numeric key that is not a plain number is parsed and evaluated there, to an exact
rational or to a 120-digit approximation with an error estimate. This process then compares a
response with it only through a few Fraction operations on integers of at most ``MAX_BITS`` bits
(responses, by ``normalize``, and tolerances, by ``read_tolerance``, have at most 50 significant
digits and a decimal exponent within ±1000), which is bounded; a margin within the rounding noise,
or a larger value, is decided in the worker. A key that cannot be used gives an "undecided" verdict:
``key_fault`` says why and the message names the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from engine.grading.checker.formula import (
    FormulaError,
    allowance_for,
    describe,
    make_symbols,
    parse_formula,
)
from engine.grading.checker.normalize import (
    MAX_DECIMAL_EXPONENT,
    MAX_SIGNIFICANT_DIGITS,
    NormalizeError,
    Unanswered,
    normalize_numeric,
    to_fraction,
    within_approximation,
    within_tolerance,
)
from engine.grading.checker.sandbox import Sandbox, SandboxResult
from engine.grading.checker.verdict import Verdict

if TYPE_CHECKING:  # imported where the worker uses it: answers settled here never load SymPy
    import sympy

__all__ = [
    "MAX_BITS",
    "NumericKey",
    "expected_expr",
    "formula_job",
    "formula_key_fault",
    "key_broken",
    "numeric_within",
    "prepare_numeric",
    "read_tolerance",
    "undecided",
]

MAX_BITS = 8_000  # numerator + denominator bits of any Fraction this process computes with
_APPROXIMATION_DPS = (60, 120)

Expected: TypeAlias = "str | int | float | bool | sympy.Expr"  # a key, or a distractor value
Bound = tuple[str, Fraction] | None  # a tolerance as read: ("absolute" | "relative", value)
Distractor: TypeAlias = "tuple[sympy.Expr | str | int | float, str]"

# ---------------------------------------------------------------------------------------------
# Verdicts


def _show(expected: Expected) -> str:
    if isinstance(expected, bool):
        return "true" if expected else "false"
    if isinstance(expected, int) and expected.bit_length() > 200:
        return f"an integer of {expected.bit_length()} bits"
    if isinstance(expected, str) and len(expected) > 60:
        return repr(expected[:57] + "...")
    text = repr(expected)
    return text if len(text) <= 60 else text[:57] + "..."


def key_broken(expected: Expected, detail: str) -> Verdict:
    """The verdict for a key that is not a usable value of its kind."""
    return Verdict(
        status="undecided",
        key_fault="broken",
        message=f"the expected answer is broken ({detail}): {_show(expected)}; "
        "flagged for the question author",
    )


def _key_failure(expected: Expected, result: SandboxResult, limit: float) -> Verdict:
    if result.status not in ("timeout", "memory"):
        return key_broken(expected, "it could not be evaluated")
    detail = f"over the {limit:g} s time limit" if result.status == "timeout" else "over the memory limit"
    return Verdict(
        status="undecided",
        key_fault="too_costly",
        message=f"the expected answer is too costly to evaluate ({detail}): {_show(expected)}; "
        "flagged for the question author",
    )


def undecided(result: SandboxResult, normalized: str | None) -> Verdict:
    """The verdict when the worker could not compare a response with a usable key."""
    reason = {"timeout": "could not decide in time", "memory": "could not decide within the memory limit"}
    return Verdict(
        status="undecided",
        message=f"{reason.get(result.status, 'could not be checked')}; flagged for a person",
        normalized=normalized,
    )


# ---------------------------------------------------------------------------------------------
# Formula keys


@lru_cache(maxsize=256)
def expected_expr(text: str, variables: tuple[tuple[str, str], ...]) -> sympy.Expr:
    """The SymPy expression of a key (or distractor) text; only ever called in the worker.

    The cache is the worker's: each forked worker starts it empty and it dies with the worker.
    """
    return parse_formula(text, dict(variables), key=True)


os.register_at_fork(after_in_child=expected_expr.cache_clear)


def _formula_key_job(text: str, variables: tuple[tuple[str, str], ...]) -> str | None:
    try:
        expected_expr(text, variables)  # also warms the worker's cache for the comparisons
    except FormulaError as err:
        return describe(err)
    return None


def formula_key_fault(
    expected: str, variables: tuple[tuple[str, str], ...], box: Sandbox
) -> Verdict | None:
    """None when the worker builds the formula key within its limits, else the verdict."""
    result = box.run(_formula_key_job, expected, variables)
    if not result.ok:
        return _key_failure(expected, result, box.timeout)
    return None if result.value is None else key_broken(expected, result.value)


def formula_job(
    expected: str,
    response: str,
    variables: tuple[tuple[str, str], ...],
    distractors: tuple[Distractor, ...],
    budget: float,
) -> tuple[str, str, str | None]:
    """(status, message, feedback) for one formula answer; runs in the worker."""
    import sympy

    from engine.grading.checker.equivalence import equivalent

    try:
        want = expected_expr(expected, variables)
    except FormulaError as err:
        return "broken", describe(err), None
    try:
        got = parse_formula(response, dict(variables), allowance=allowance_for(expected, dict(variables)))
    except FormulaError as err:
        return "invalid", describe(err, response), None
    symbols = make_symbols(dict(variables))
    outcome = equivalent(want, got, symbols, budget=budget)
    if outcome.status != "incorrect":
        return outcome.status, _MESSAGES[outcome.status], None
    for candidate, feedback in distractors:
        try:
            expr = candidate if isinstance(candidate, sympy.Basic) else expected_expr(
                repr(candidate) if isinstance(candidate, float) else str(candidate), variables
            )
        except (FormulaError, ValueError):  # ValueError: str() of a huge int
            continue  # an unreadable distractor only costs its feedback
        if equivalent(expr, got, symbols, budget=budget, prove=False).status == "correct":
            return "incorrect", _MESSAGES["incorrect"], feedback
    return "incorrect", _MESSAGES["incorrect"], None


def warm_up() -> None:
    """Two small checks, run before the worker forks: the worker inherits SymPy's first-use set-up
    (about 25 ms) instead of paying it inside its first check's time limit."""
    variables = (("a", "positive_integer"), ("b", "positive_integer"))
    formula_job("2/(a + b)", "2/(b+a)", variables, (), 1.0)
    formula_job("sqrt(6)/sqrt(a + b)", "6/(a + b)", variables, (("1/a", ""),), 1.0)


_MESSAGES = {
    "correct": "correct",
    "incorrect": "incorrect",
    "undecided": "could not decide; flagged for a person",
}

# ---------------------------------------------------------------------------------------------
# Numeric keys


def read_tolerance(tolerance: Mapping[str, str] | None) -> Bound:
    """A validated tolerance's text as a Fraction of a student number's size (bounded arithmetic).

    Raises:
        ValueError: more than 50 significant digits, or an exponent beyond ±1000.
    """
    if tolerance is None:
        return None
    ((kind, text),) = tolerance.items()
    number = Decimal(text)  # decimal text: engine.tolerance.Tolerance checked it
    if len(bytes(number.as_tuple().digits).rstrip(b"\0")) > MAX_SIGNIFICANT_DIGITS:
        raise ValueError(f"the tolerance has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
    if number and abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ValueError(f"the tolerance is out of range (exponent beyond ±{MAX_DECIMAL_EXPONENT})")
    return kind, Fraction(number)


@dataclass(frozen=True)
class NumericKey:
    """A usable numeric key: the value as given, and what this process may compare with."""

    given: str | int | float | sympy.Expr
    value: Fraction | None  # None: too large for this process, the worker compares
    error: Fraction | None  # None: ``value`` is exact; else an estimate of |value − key|


def _small(value: Fraction) -> Fraction | None:
    bits = value.numerator.bit_length() + value.denominator.bit_length()
    return value if bits <= MAX_BITS else None


def _fraction(value: Any) -> Fraction:
    from mpmath.libmp import to_rational

    p, q = to_rational(value.context.re(value)._mpf_)
    return Fraction(p, q)


def _numeric_key_job(text: str | sympy.Expr) -> tuple[Literal["ok", "broken"], Any, Fraction | None]:
    """("ok", value or None, error) or ("broken", reason, None); runs in the worker."""
    import sympy

    from engine.grading.checker.equivalence import Undefined, evaluate_mp

    try:
        return "ok", _small(to_fraction(text)), None  # a decimal longer than a student's
    except ValueError:
        pass
    try:
        value = text if isinstance(text, sympy.Basic) else expected_expr(text, ())
    except FormulaError as err:
        return "broken", describe(err), None
    if not value.is_number or value.is_real is False:
        return "broken", "not a real number", None
    if value.is_Rational:
        return "ok", _small(Fraction(int(value.p), int(value.q))), None
    try:
        low, high = (evaluate_mp(value, {}, dps) for dps in _APPROXIMATION_DPS)
    except Undefined:
        return "broken", "no finite value the checker can compute", None
    if abs(high.imag) > abs(high) / 10**40:  # mpf and mpc both have .imag
        return "broken", "not a real number", None
    approx = _fraction(high)
    error = abs(approx - _fraction(low)) + abs(approx) / 10**100
    if _small(approx) is None or _small(error) is None:
        return "ok", None, None
    return "ok", approx, error


def prepare_numeric(expected: Expected, box: Sandbox) -> NumericKey | Verdict:
    """The numeric key ready for comparisons, or the verdict that it cannot be used."""
    if isinstance(expected, bool):
        return key_broken(expected, "a number, not true/false")
    if isinstance(expected, int | float):
        try:  # an int is already in memory; a float has at most 17 digits
            return NumericKey(expected, _small(to_fraction(expected)), None)
        except ValueError:
            return key_broken(expected, "not a finite number")
    if isinstance(expected, str):
        try:  # a student's number: at most 200 characters, 50 digits, exponent within ±1000
            return NumericKey(expected, Fraction(normalize_numeric(expected)), None)
        except (NormalizeError, Unanswered):
            pass
    result = box.run(_numeric_key_job, expected)
    if not result.ok:
        return _key_failure(expected, result, box.timeout)
    status, value, error = result.value
    if status == "broken":
        return key_broken(expected, value)
    return NumericKey(expected, value, error)


def _numeric_job(
    given: str | int | float | sympy.Expr, response: Fraction, tolerance: Bound
) -> tuple[str, Any]:
    """("ok", within) or ("broken", reason): the exact comparison; runs in the worker."""
    value: Any = given
    if isinstance(given, str):
        try:
            value = to_fraction(given)
        except ValueError:
            try:
                value = expected_expr(given, ())
            except FormulaError as err:
                return "broken", describe(err)
    try:
        return "ok", within_tolerance(response, value, tolerance)
    except ValueError as err:
        return "broken", str(err)


def numeric_within(normalized: str, key: NumericKey, tolerance: Bound, box: Sandbox) -> bool | Verdict:
    """Whether the response (canonical text) is within tolerance of the key, or why undecided."""
    response = Fraction(normalized)  # at most 50 digits, exponent within ±1000
    if key.value is not None:
        if key.error is None:
            return within_tolerance(response, key.value, tolerance)
        decided = within_approximation(response, key.value, key.error, tolerance)
        if decided is not None:
            return decided
    result = box.run(_numeric_job, key.given, response, tolerance)
    if not result.ok:
        return undecided(result, normalized)
    status, value = result.value
    return key_broken(key.given, value) if status == "broken" else bool(value)
