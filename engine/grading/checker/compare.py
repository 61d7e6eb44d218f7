"""One verdict API for every answer kind: a ``Comparer`` checks one run's answers (``batch``: JSON lines).

A response is normalised, or parsed with ``formula`` (syntax and limits, without SymPy), in this
process. The expected answer is read and evaluated only in the sandbox worker (``expected``), and so is
every SymPy step, under the worker's hard time and memory limits: no answer and no key can hang or
crash the caller. Only a response that expands to the key's polynomial (``n+n`` for ``2*n``) is
settled here, by bounded arithmetic on the two syntax trees (``polynomial``). A ``Comparer``
belongs to one run (a grading run, a batch) and remembers, bounded, its prepared keys and its
verdicts per (kind, expected, normalised response, vars, tolerance, options, distractors),
"undecided" ones included: a hostile answer that timed out once, or a key too costly to
evaluate, costs the time limit once per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, TypeAlias

from engine.grading.checker.expected import (
    NumericKey,
    formula_job,
    formula_key_fault,
    key_broken,
    numeric_within,
    prepare_numeric,
    read_tolerance,
    undecided,
)
from engine.grading.checker.formula import (
    FormulaError,
    describe,
    key_allowance,
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
)
from engine.grading.checker.options import credit, normalize_options
from engine.grading.checker.polynomial import same_polynomial
from engine.grading.checker.sandbox import Sandbox, default_sandbox
from engine.grading.checker.verdict import CompareRequest, Verdict

if TYPE_CHECKING:  # the worker's: answers settled here never load SymPy
    import sympy

__all__ = ["CACHE_SIZE", "KEYS_CACHED", "Comparer", "Distractors", "compare"]

CACHE_SIZE = 100_000  # verdicts remembered per run
KEYS_CACHED = 4096  # prepared keys remembered per run, of each kind
PROOF_SHARE = 0.4  # of the worker's time limit, for simplification: a soft limit inside the hard one

# Tagged wrong answers with their feedback: formulas (SymPy expressions, or text read in the
# worker) for formula questions, values as ``expected`` takes them for numeric questions.
Distractors: TypeAlias = "Sequence[tuple[sympy.Expr | str | int | float, str]]"


class _BrokenExpected(Exception):
    """The question's expected answer (not the student's) is unusable."""


# ---------------------------------------------------------------------------------------------
# Cache keys: what the text alone settles, in this process


def _formula_key(request: CompareRequest) -> tuple[Any, ...] | Verdict:
    """Cache key for a formula answer, or the verdict when the text alone settles it.

    The key is trusted: it is read under ``KEY_LIMITS`` (the parser's own bounds), never the
    student's, and its notation widens the response's limits (``key_allowance``: ``(a-x)^6000``
    for the key ``(x-a)^6000``). A response over those limits that is the key's own text, as
    ``2^6000*x`` for that key, is the key: it is kept, and correct once the key builds.
    """
    symbols = request.symbols()
    expected = request.expected
    if isinstance(expected, bool):
        return key_broken(expected, "a formula, not true/false")
    try:
        expected_text = repr(expected) if isinstance(expected, float) else str(expected)
        key_tree = parse_syntax(expected_text, symbols, key=True)  # bounded: no SymPy
        key_text = to_text(key_tree)
    except FormulaError as err:
        return key_broken(expected, describe(err))
    except ValueError:  # str() of an integer beyond Python's 4300 digits
        return key_broken(expected, "number too long")
    if not request.response.strip():
        return Verdict(status="unanswered", message="no answer")
    try:
        normalized = to_text(parse_syntax(request.response, symbols, allowance=key_allowance(key_tree)))
    except FormulaError as err:
        try:
            normalized = to_text(parse_syntax(request.response, symbols, sizes=False))
        except FormulaError:
            normalized = None
        if normalized != key_text:
            return Verdict(status="invalid", message=describe(err, request.response))
    return ("formula", expected_text, normalized, tuple(sorted(symbols.items())), normalized == key_text)


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
        elif request.kind == "options":
            assert request.options is not None  # guaranteed by CompareRequest
            normalized = ",".join(map(str, normalize_options(raw, request.options)))
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


# ---------------------------------------------------------------------------------------------
# Judging a key against the expected answer, in one run


class Comparer:
    """One run's checking session: the sandbox it uses, and its verdicts and prepared keys, bounded.

    ``cache_size`` verdicts are remembered (0: none, to time checks); prepared keys always are.
    """

    def __init__(self, sandbox: Sandbox | None = None, *, cache_size: int = CACHE_SIZE) -> None:
        self.sandbox = sandbox if sandbox is not None else default_sandbox()
        self._verdicts = lru_cache(maxsize=cache_size)(self._judge)
        self._formula_keys = lru_cache(maxsize=KEYS_CACHED)(partial(formula_key_fault, box=self.sandbox))
        # typed: True, 1 and 1.0 are different keys
        self._numeric_keys = lru_cache(maxsize=KEYS_CACHED, typed=True)(
            partial(prepare_numeric, box=self.sandbox)
        )

    def compare(self, request: CompareRequest, *, distractors: Distractors = ()) -> Verdict:
        """Check one answer. Never raises for anything in the request.

        ``distractors`` are tagged wrong answers (value, feedback): an incorrect formula answer
        equivalent to one, or an incorrect numeric answer within the tolerance of one, gets its
        feedback.
        """
        key = _formula_key(request) if request.kind == "formula" else _normalized_key(request)
        if isinstance(key, Verdict):
            return key
        return self._verdicts((*key, tuple((value, str(feedback)) for value, feedback in distractors)))

    def _judge(self, key: tuple[Any, ...]) -> Verdict:
        kind = key[0]
        if kind == "formula":
            return self._judge_formula(key)
        _, (_type, expected), normalized, tolerance, options, distractors = key
        if kind == "numeric":
            return self._judge_numeric(expected, normalized, tolerance, distractors)
        if kind == "options":
            return _judge_options(expected, normalized, options)
        try:
            if kind == "integer":
                ok = int(normalized) == _integer_expected(expected)
            elif kind == "choice":
                ok = int(normalized) == _choice_expected(expected, options)
            else:
                ok = (normalized == "true") == _true_false_expected(expected)
        except _BrokenExpected as err:
            return key_broken(expected, str(err))
        status = "correct" if ok else "incorrect"
        return Verdict(status=status, message=status, normalized=normalized)

    def _judge_formula(self, key: tuple[Any, ...]) -> Verdict:
        _, expected, normalized, variables, same_text, distractors = key
        if not same_text and same_polynomial(expected, normalized, dict(variables)):
            return Verdict(status="correct", message="correct", normalized=normalized)
        fault = self._formula_keys(expected, variables)
        if fault is not None:
            return fault
        if same_text:  # the key's own text: equal to a key that builds, whatever its size
            return Verdict(status="correct", message="correct", normalized=normalized)
        box = self.sandbox
        budget = box.timeout * PROOF_SHARE
        result = box.run(formula_job, expected, normalized, variables, distractors, budget)
        if not result.ok:
            return undecided(result, normalized)
        status, message, feedback = result.value
        if status == "broken":
            return key_broken(expected, message)
        return Verdict(status=status, message=message, normalized=normalized, feedback=feedback)

    def _judge_numeric(self, expected: Any, normalized: str, tolerance: Any, distractors: Any) -> Verdict:
        key = self._numeric_keys(expected)
        if isinstance(key, Verdict):
            return key
        try:
            bound = read_tolerance(dict(tolerance) if tolerance else None)
        except ValueError as err:
            return key_broken(expected, str(err))
        box = self.sandbox
        ok = numeric_within(normalized, key, bound, box)
        if isinstance(ok, Verdict):
            return ok
        if ok:
            return Verdict(status="correct", message="correct", normalized=normalized)
        feedback = None
        for value, text in distractors:
            wrong = self._numeric_keys(value)
            if isinstance(wrong, NumericKey) and numeric_within(normalized, wrong, bound, box) is True:
                feedback = text
                break
        return Verdict(status="incorrect", message="incorrect", normalized=normalized, feedback=feedback)


def _integer_expected(expected: str | int | float | bool) -> int:
    # A literal, never an expression: normalize_integer reads at most 200 characters.
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
    except (NormalizeError, Unanswered, ValueError):  # ValueError: str() of a huge int
        raise _BrokenExpected(f"not an option number between 1 and {options}") from None


def _judge_options(expected: str | int | float | bool, normalized: str, options: int) -> Verdict:
    """Partial credit as Moodle gives it: right chosen/c − wrong chosen/w, at least 0 (w = 0: right/c)."""
    if isinstance(expected, bool) or isinstance(expected, float):
        return key_broken(expected, "option numbers")
    try:
        right = set(normalize_options(str(expected), options))
    except (NormalizeError, Unanswered, ValueError):  # ValueError: str() of a huge int
        return key_broken(expected, f"not option numbers between 1 and {options}")
    chosen = {int(n) for n in normalized.split(",")}
    earned = credit(right, chosen, options)
    status = "correct" if chosen == right else "partial" if earned > 0 else "incorrect"
    message = f"partly correct: {earned} of the points" if status == "partial" else status
    return Verdict(status=status, message=message, normalized=normalized, credit=str(earned))


def _true_false_expected(expected: str | int | float | bool) -> bool:
    if isinstance(expected, bool):
        return expected
    if isinstance(expected, float):
        raise _BrokenExpected("true or false")
    try:
        return normalize_true_false(str(expected))
    except (NormalizeError, Unanswered, ValueError):  # ValueError: str() of a huge int
        raise _BrokenExpected("true or false") from None


def compare(
    request: CompareRequest, *, distractors: Distractors = (), sandbox: Sandbox | None = None
) -> Verdict:
    """Check one answer in a run of its own (``Comparer.compare``), by default in the process-wide sandbox."""
    return Comparer(sandbox).compare(request, distractors=distractors)
