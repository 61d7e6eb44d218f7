"""A student's answer may use the notation of the key it is compared with: a large exponent on a
symbolic base in the key, ``(x-a)^6000``, widens the student's exponent limit for that comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.check import check
from engine.cli import cli
from engine.grading.checker import equivalence
from engine.grading.checker.compare import compare
from engine.grading.checker.expected import formula_job
from engine.grading.checker.formula import (
    NO_ALLOWANCE,
    Allowance,
    FormulaError,
    allowance_for,
    parse_formula,
    parse_syntax,
)
from engine.grading.checker.verdict import CompareRequest

XA = {"x": "real", "a": "real"}
KEY = "(x-a)^6000"


def verdict_of(response: str, expected: str = KEY) -> tuple[str, str]:
    verdict = compare(CompareRequest(kind="formula", expected=expected, response=response, vars=XA))
    assert verdict.key_fault is None, verdict
    return verdict.status, verdict.message


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ("(a-x)^6000", "correct"),
        ("(x-a)^5999*(x-a)", "correct"),
        ("(x - a)^6000", "correct"),
        ("(a - x) ^ 6000", "correct"),
        ("(x-a)^3000*(x-a)^3000", "correct"),
        ("((a-x)^2)^3000", "correct"),  # SymPy multiplies the exponents: no larger number
        ("(x-a)^6001", "incorrect"),  # an off-by-one is wrong, not unreadable
        ("(x-a)^5999", "incorrect"),
        ("(a-x)^6600", "incorrect"),  # the limit: the key's exponent and a tenth more
    ],
)
def test_a_student_may_use_the_keys_exponent(response: str, status: str) -> None:
    assert verdict_of(response)[0] == status


def test_an_exponent_beyond_the_keys_is_invalid_and_names_the_limit() -> None:
    assert verdict_of("(x-a)^7000") == ("invalid", "exponent too large (at most 6600) at position 6")
    assert verdict_of("(a-x)^6601")[1].startswith("exponent too large (at most 6600)")


def test_a_small_key_keeps_the_default_limit() -> None:
    assert verdict_of("(a-x)^1001", expected="(x-a)^2")[1].startswith("exponent too large (at most 1000)")


@pytest.mark.parametrize(
    ("response", "status", "message"),
    [
        ("2^6000*x", "correct", "correct"),  # the key's own text, as today
        ("2^6000 * x", "correct", "correct"),
        ("2^5999*2*x", "invalid", "exponent too large (at most 1000) at position 2"),
        ("2^999*x", "incorrect", "incorrect"),
    ],
)
def test_a_constant_base_keeps_its_limits(response: str, status: str, message: str) -> None:
    assert verdict_of(response, expected="2^6000*x") == (status, message)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        ("((x+1)^1000)^1000", "number too large"),  # exponents within the key's, sizes not
        ("(10^30*x)^6000", "number too large"),  # SymPy would distribute the power: 10^180000
        ("2^6000", "exponent too large \\(at most 1000\\)"),  # constant bases keep their limits
        ("(10^30)^999", "number too large"),
        ("pi^2000", "exponent too large \\(at most 1000\\)"),
    ],
)
def test_the_allowance_does_not_widen_numbers(response: str, error: str) -> None:
    allowance = allowance_for(KEY, XA)
    assert allowance == Allowance(exponent=6000, bits=6000)
    with pytest.raises(FormulaError, match=error):
        parse_syntax(response, XA, allowance=allowance)
    assert verdict_of(response)[0] == "invalid"


@pytest.mark.parametrize(
    "key",
    [
        "(x-a)^2000000",  # beyond what a key may grant: its answers keep the plain limits
        "+".join(["x"] * 5000),  # deeper than the analyser recurses
        "x +* 1",  # unreadable
    ],
)
def test_keys_beyond_measure_grant_nothing(key: str) -> None:
    assert allowance_for(key, XA) == NO_ALLOWANCE


def test_the_check_is_numeric_not_an_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proof(diff: object) -> list[object]:
        raise AssertionError("a proof step (expand, simplify) was attempted")

    monkeypatch.setattr(equivalence, "_proof_steps", no_proof)
    key = parse_formula(KEY, XA, key=True)
    allowance = allowance_for(KEY, XA)
    same = equivalence.equivalent(key, parse_formula("(a-x)^6000", XA, allowance=allowance), budget=None)
    assert (same.status, same.reason) == ("correct", "numeric")
    other = equivalence.equivalent(key, parse_formula("(x-a)^6001", XA, allowance=allowance), budget=None)
    assert other.status == "incorrect"


def test_the_worker_reads_the_answer_under_the_keys_allowance() -> None:
    variables = tuple(sorted(XA.items()))
    assert formula_job(KEY, "(a-x)^6000", variables, (), 1.0)[0] == "correct"
    assert formula_job(KEY, "(a-x)^7000", variables, (), 1.0)[0] == "invalid"


# --- `compare` on the command line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status"),
    [("(a-x)^6000", "correct"), ("(x-a)^5999*(x-a)", "correct"), ("(x-a)^6001", "incorrect"), ("(x-a)^7000", "invalid")],
)
def test_compare_command(response: str, status: str) -> None:
    result = CliRunner().invoke(cli, ["compare", KEY, response, "--vars", "x,a"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["status"] == status, verdict
    if status == "invalid":
        assert verdict["message"].startswith("exponent too large (at most 6600)")


def test_compare_batch_uses_each_lines_key() -> None:
    lines = [
        {"kind": "formula", "expected": KEY, "response": "(a-x)^6000", "vars": XA},
        {"kind": "formula", "expected": "(x-a)^2", "response": "(a-x)^6000", "vars": XA},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    result = CliRunner().invoke(cli, ["compare", "--batch", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["status"] for line in result.output.splitlines()] == ["correct", "invalid"]


# --- `check` flags a key students cannot write ----------------------------------------------------

EXERCISE = """\
id: ex
title: T
kind: formula
topic: t
symbols: {x: real, a: real}
params:
  k: {min: 2, max: 4}
question: Q
answer: "%s"
explanation: E
"""


def test_check_passes_a_key_with_a_large_symbolic_exponent(tmp_path: Path) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(EXERCISE % "(x - a)**6000", encoding="utf-8")
    report = check([path], seeds=3)
    assert not report.problems, report.problems


def test_check_flags_a_key_whose_notation_students_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(EXERCISE % "pi**2000*x", encoding="utf-8")
    report = check([path], seeds=3)
    assert report.lines[0].startswith("FAIL"), report.lines
    assert len(report.problems) == 1
    assert "ex.yaml:9: answer: students cannot write the key 'pi**2000*x' under the grader's limits " \
        "(exponent too large (at most 1000) at position 3)" in report.problems[0], report.problems
