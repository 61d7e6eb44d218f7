"""The polynomial identity the checker decides without its worker: what it settles, what it
leaves to the worker, and that it never settles what the worker would judge otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from engine.grading.checker.compare import Comparer
from engine.grading.checker.expected import formula_job
from engine.grading.checker.polynomial import same_polynomial
from engine.grading.checker.sandbox import Sandbox, SandboxResult
from engine.grading.checker.verdict import CompareRequest

VARS = {"n": "positive_integer", "x": "real", "y": "positive"}


class Pair(NamedTuple):
    expected: str
    response: str
    same: bool


PAIRS = [
    Pair("2*n", "n+n", True),
    Pair("2*n", "n*2", True),
    Pair("(x+1)^2", "x^2+2x+1", True),
    Pair("x^2-y^2", "(x-y)*(x+y)", True),
    Pair("x/2", "0.5*x", True),
    Pair("(x+y)^0", "1", True),
    Pair("0^0", "1", True),  # as SymPy has it
    Pair("-(x-y)", "y-x", True),
    Pair("(x/3)*3", "x", True),
    Pair("n^2", "n*n*1", True),
    # Not the same polynomial: the worker decides (it may still find them equal on the domain).
    Pair("2*n", "n+n+1", False),
    Pair("(x+1)^2", "x^2+1", False),
    # Not a polynomial this module expands: the worker decides.
    Pair("x/x", "1", False),  # division by a symbol
    Pair("x^(1/2)", "sqrt(x)", False),
    Pair("x^-1", "1/x", False),
    Pair("x^(n)", "x^(n)", False),  # an exponent that is not a number
    Pair("sqrt(x)", "sqrt(x)", False),  # a function, even written the same
    Pair("pi*x", "x*pi", False),  # a constant
    # Over the limits: the worker decides.
    Pair("(x+1)^40", "(x+1)^40", False),  # degree
    Pair("(x+y+1)^8", "(x+y+1)^8", False),  # terms
    Pair("x*10^100", "x*10^100", False),  # digits
    Pair("14*(x+y+1)^5*(x-y+2)", "+".join(["(x+y+1)^5*(x-y+2)"] * 14), False),  # steps
    Pair("300*x", "+".join(["x"] * 300), False),  # over the students' limits: not read
]


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p.expected} vs {p.response}")
def test_same_polynomial(pair: Pair) -> None:
    assert same_polynomial(pair.expected, pair.response, VARS) is pair.same


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.same], ids=lambda p: f"{p.expected} vs {p.response}")
def test_the_worker_agrees(pair: Pair) -> None:
    status, _message, _feedback = formula_job(pair.expected, pair.response, tuple(sorted(VARS.items())), (), 1.0)
    assert status == "correct"


class _NoWorker(Sandbox):
    def run(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> SandboxResult:
        raise AssertionError("the worker was asked")


def test_a_comparer_decides_the_polynomial_without_its_worker() -> None:
    request = CompareRequest(kind="formula", expected="(x+1)^2", response="x^2 + 2x + 1", vars={"x": "real"})
    verdict = Comparer(_NoWorker()).compare(request, distractors=[("x^2+1", "forgot 2x")])
    assert (verdict.status, verdict.message, verdict.normalized) == ("correct", "correct", "x^2+2*x+1")
