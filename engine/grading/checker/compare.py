"""One verdict API for every answer kind: ``compare`` for one request, ``compare_batch`` for JSON lines.

Formula answers are parsed with ``engine.formula`` (syntax and limits in this process, without
SymPy), then built and compared inside the sandbox worker under a hard timeout, so no answer can
hang or crash the caller. Verdicts are cached per (kind, expected, normalised response, vars,
tolerance, options, distractors) in an LRU, including "undecided" ones: a hostile answer that
timed out once costs nothing the second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy
from pydantic import ValidationError

from engine.errors import validation_problems
from engine.grading.checker.equivalence import equivalent
from engine.grading.checker.formula import (
    FormulaError,
    describe,
    make_symbols,
    parse_formula,
    parse_syntax,
    to_text,
)
from engine.grading.checker.normalize import (
    NormalizeError,
    Unanswered,
    canonical_number,
    normalize_choice,
    normalize_integer,
    normalize_numeric,
    normalize_true_false,
    to_fraction,
    within_tolerance,
)
from engine.grading.checker.sandbox import Sandbox, default_sandbox
from engine.grading.checker.verdict import CompareRequest, Verdict

__all__ = ["CACHE_SIZE", "clear_cache", "compare", "compare_batch", "TIMEOUT"]

CACHE_SIZE = 100_000
TIMEOUT = 2.0
PROOF_BUDGET = 0.8  # soft limit for simplification, well inside the hard TIMEOUT

Distractors = Sequence[tuple[sympy.Expr, str]]

_FLAGGED_TIME = "could not decide in time; flagged for a person"
_FLAGGED_MEMORY = "could not decide within the memory limit; flagged for a person"
_FLAGGED_ERROR = "could not be checked (internal error); flagged for a person"


class _BrokenExpected(Exception):
    """The question's expected answer (not the student's) is unusable."""


def _broken(detail: str) -> Verdict:
    return Verdict(
        status="invalid",
        message=f"the expected answer is broken ({detail}); flagged for the question author",
    )


# ---------------------------------------------------------------------------------------------
# Work done inside the sandbox worker


@lru_cache(maxsize=256)
def _expected_expr(text: str, variables: tuple[tuple[str, str], ...]) -> sympy.Expr:
    return parse_formula(text, dict(variables))


def _formula_job(
    expected: str,
    response: str,
    variables: tuple[tuple[str, str], ...],
    distractors: tuple[tuple[sympy.Expr, str], ...],
    budget: float,
) -> tuple[str, str, str | None]:
    """(status, message, feedback) for one formula answer; runs in the worker."""
    try:
        want = _expected_expr(expected, variables)
    except FormulaError as err:
        return "broken", describe(err), None
    try:
        got = parse_formula(response, dict(variables))
    except FormulaError as err:
        return "invalid", describe(err, response), None
    symbols = make_symbols(dict(variables))
    outcome = equivalent(want, got, symbols, budget=budget)
    if outcome.status != "incorrect":
        return outcome.status, _MESSAGES[outcome.status], None
    for expr, feedback in distractors:
        if equivalent(expr, got, symbols, budget=budget, prove=False).status == "correct":
            return "incorrect", _MESSAGES["incorrect"], feedback
    return "incorrect", _MESSAGES["incorrect"], None


_MESSAGES = {
    "correct": "correct",
    "incorrect": "incorrect",
    "undecided": "could not decide; flagged for a person",
}

# ---------------------------------------------------------------------------------------------
# Per kind


def _formula_key(request: CompareRequest) -> tuple[Any, ...] | Verdict:
    """Cache key for a formula answer, or the verdict when the text alone settles it."""
    symbols = request.symbols()
    expected = request.expected
    if isinstance(expected, bool):
        return _broken("a formula, not true/false")
    expected_text = repr(expected) if isinstance(expected, float) else str(expected)
    try:
        parse_syntax(expected_text, symbols)
    except FormulaError as err:
        return _broken(describe(err))
    if not request.response.strip():
        return Verdict(status="unanswered", message="no answer")
    try:
        tree = parse_syntax(request.response, symbols)
    except FormulaError as err:
        return Verdict(status="invalid", message=describe(err, request.response))
    return ("formula", expected_text, to_text(tree), tuple(sorted(symbols.items())))


@lru_cache(maxsize=4096, typed=True)  # typed: True, 1 and 1.0 are different expected values
def _numeric_expected(expected: str | int | float | bool) -> Fraction | sympy.Expr:
    if isinstance(expected, bool):
        raise _BrokenExpected("a number, not true/false")
    try:
        return to_fraction(expected)
    except ValueError:
        if not isinstance(expected, str):
            raise _BrokenExpected("not a finite number") from None
    try:
        value = parse_formula(expected, {})  # a teacher's constant such as sqrt(6/10)
    except FormulaError as err:
        raise _BrokenExpected(describe(err)) from None
    if not value.is_number or value.is_real is False:
        raise _BrokenExpected("not a real number")
    return value


def _judge(key: tuple[Any, ...], sandbox: Sandbox | None) -> Verdict:
    kind = key[0]
    if kind == "formula":
        return _judge_formula(key, sandbox)
    _, (_type, expected), normalized, tolerance, options = key
    try:
        if kind == "numeric":
            want = _numeric_expected(expected)
            got = Fraction(normalized) if "/" in normalized else Decimal(normalized)
            ok = within_tolerance(got, want, dict(tolerance) if tolerance else None)
        elif kind == "integer":
            ok = normalized == str(_integer_expected(expected))
        elif kind == "choice":
            ok = int(normalized) == _choice_expected(expected, options)
        else:
            ok = (normalized == "true") == _true_false_expected(expected)
    except _BrokenExpected as err:
        return _broken(str(err))
    status = "correct" if ok else "incorrect"
    return Verdict(status=status, message=status, normalized=normalized)


def _integer_expected(expected: str | int | float | bool) -> int:
    if isinstance(expected, bool):
        raise _BrokenExpected("an integer, not true/false")
    if isinstance(expected, int):
        return expected
    try:
        return normalize_integer(repr(expected) if isinstance(expected, float) else expected)
    except (NormalizeError, Unanswered):
        raise _BrokenExpected("not an integer") from None


def _choice_expected(expected: str | int | float | bool, options: int) -> int:
    if isinstance(expected, bool) or isinstance(expected, float):
        raise _BrokenExpected("an option number")
    try:
        return normalize_choice(str(expected), options)
    except (NormalizeError, Unanswered):
        raise _BrokenExpected(f"not an option number between 1 and {options}") from None


def _true_false_expected(expected: str | int | float | bool) -> bool:
    if isinstance(expected, bool):
        return expected
    if isinstance(expected, float):
        raise _BrokenExpected("true or false")
    try:
        return normalize_true_false(str(expected))
    except (NormalizeError, Unanswered):
        raise _BrokenExpected("true or false") from None


def _judge_formula(key: tuple[Any, ...], sandbox: Sandbox | None) -> Verdict:
    _, expected, normalized, variables, distractors = key
    box = sandbox or default_sandbox()
    result = box.run(
        _formula_job, expected, normalized, variables, distractors, PROOF_BUDGET, timeout=TIMEOUT
    )
    if result.status == "timeout":
        return Verdict(status="undecided", message=_FLAGGED_TIME, normalized=normalized)
    if result.status == "memory":
        return Verdict(status="undecided", message=_FLAGGED_MEMORY, normalized=normalized)
    if result.status != "ok":
        return Verdict(status="undecided", message=_FLAGGED_ERROR, normalized=normalized)
    status, message, feedback = result.value
    if status == "broken":
        return _broken(message)
    return Verdict(status=status, message=message, normalized=normalized, feedback=feedback)


@lru_cache(maxsize=CACHE_SIZE)
def _judge_cached(key: tuple[Any, ...]) -> Verdict:
    return _judge(key, None)


def clear_cache() -> None:
    """Forget every cached verdict (and the worker-side parse cache of this process)."""
    _judge_cached.cache_clear()
    _expected_expr.cache_clear()


def _normalized_key(request: CompareRequest) -> tuple[Any, ...] | Verdict:
    """The cache key of a non-formula answer, or its verdict if normalisation settles it."""
    raw = request.response
    try:
        if request.kind == "numeric":
            normalized = canonical_number(normalize_numeric(raw))
        elif request.kind == "integer":
            normalized = str(normalize_integer(raw))
        elif request.kind == "choice":
            assert request.options is not None  # guaranteed by CompareRequest
            normalized = str(normalize_choice(raw, request.options))
        else:
            normalized = "true" if normalize_true_false(raw) else "false"
    except Unanswered:
        return Verdict(status="unanswered", message="no answer")
    except NormalizeError as err:
        return Verdict(status="invalid", message=err.message)
    tolerance = request.tolerance_mapping()
    # True == 1 == 1.0 for the LRU, but they are different expected values: keep the type.
    return (
        request.kind,
        (type(request.expected).__name__, request.expected),
        normalized,
        tuple(sorted(tolerance.items())) if tolerance else None,
        request.options,
    )


def compare(
    request: CompareRequest,
    *,
    distractors: Distractors = (),
    use_cache: bool = True,
    sandbox: Sandbox | None = None,
) -> Verdict:
    """Check one answer. Never raises for anything in ``request.response``.

    ``distractors`` are tagged wrong answers (expression, feedback); an incorrect formula answer
    equivalent to one of them gets its feedback. ``sandbox`` defaults to the process-wide one;
    verdicts are cached only with the default sandbox and ``use_cache=True``.
    """
    if request.kind == "formula":
        key = _formula_key(request)
        if isinstance(key, tuple):
            key = (*key, tuple((expr, str(feedback)) for expr, feedback in distractors))
    else:
        key = _normalized_key(request)
    if isinstance(key, Verdict):
        return key
    if use_cache and sandbox is None:
        return _judge_cached(key)
    return _judge(key, sandbox)


# ---------------------------------------------------------------------------------------------
# Batch


def _validation_message(err: ValidationError, data: dict[str, Any]) -> str:
    return "; ".join(problem.render() for problem in validation_problems(err, data))


def _line_verdict(number: int, line: str) -> Verdict:
    text = line.rstrip("\r\n")
    if not text.strip():
        return Verdict(status="invalid", message=f"line {number}: empty line")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return Verdict(
            status="invalid",
            message=f"line {number}: not valid JSON ({err.msg} at column {err.colno})",
        )
    except (RecursionError, ValueError):
        return Verdict(
            status="invalid", message=f"line {number}: not valid JSON (too deep or too large)"
        )
    if not isinstance(data, dict):
        return Verdict(status="invalid", message=f"line {number}: expected a JSON object")
    try:
        request = CompareRequest.model_validate(data)
    except ValidationError as err:
        return Verdict(status="invalid", message=f"line {number}: {_validation_message(err, data)}")
    except (RecursionError, ValueError):
        return Verdict(status="invalid", message=f"line {number}: invalid request")
    return compare(request)


def compare_batch(lines: Iterable[str]) -> Iterator[str]:
    """One compact JSON verdict per input line, in order, whatever the line holds."""
    for number, line in enumerate(lines, start=1):
        try:
            verdict = _line_verdict(number, line)
        except Exception:  # noqa: BLE001 - one bad line must not end the batch
            verdict = Verdict(status="undecided", message=f"line {number}: {_FLAGGED_ERROR}")
        try:
            yield verdict.to_json()
        except Exception:  # noqa: BLE001 - e.g. a lone surrogate that JSON cannot encode
            yield json.dumps(
                {"status": "undecided", "message": f"line {number}: {_FLAGGED_ERROR}"},
                separators=(",", ":"),
            )
