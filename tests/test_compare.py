"""Tests of engine.equivalence, engine.verdict and engine.compare: equivalence table, verdicts, batch."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest
import sympy
from pydantic import ValidationError

from engine.grading.checker.batch import compare_batch
from engine.grading.checker.compare import Comparer, compare
from engine.grading.checker.equivalence import MIN_POINTS, equivalent
from engine.grading.checker.expected import expected_expr
from engine.grading.checker.formula import make_symbols, parse_formula
from engine.grading.checker.sandbox import Sandbox
from engine.grading.checker.verdict import CompareRequest, Verdict

POS = {"n_in": "positive_integer", "n_out": "positive_integer"}


class Equiv(NamedTuple):
    expected: str
    response: str
    vars: dict[str, str]
    status: str


EQUIVALENCE = [
    Equiv("2/n_in", "2/n_in", POS, "correct"),
    Equiv("2/n_in", "2*n_in^-1", POS, "correct"),
    Equiv("2/n_in", "(4/2)/n_in", POS, "correct"),
    Equiv("2/n_in", "2 / n_in", POS, "correct"),
    Equiv("2*n_in", "2n_in", POS, "correct"),
    Equiv("sqrt(6/(n_in+n_out))", "sqrt(6)/sqrt(n_in+n_out)", POS, "correct"),
    Equiv("sqrt(6/(n_in+n_out))", "sqrt(6/(n_out+n_in))", POS, "correct"),
    Equiv("sqrt(6/(n_in+n_out))", "(6/(n_in+n_out))^0.5", POS, "correct"),
    Equiv("sqrt(6/(n_in+n_out))", "sqrt(6/(n_in*n_out))", POS, "incorrect"),
    Equiv("sqrt(6/(n_in+n_out))", "sqrt(2/(n_in+n_out))", POS, "incorrect"),
    Equiv("1/n_in", "2/n_in", POS, "incorrect"),
    Equiv("x", "sqrt(x^2)", {"x": "positive"}, "correct"),
    Equiv("x", "sqrt(x^2)", {"x": "nonnegative"}, "correct"),
    Equiv("x", "sqrt(x^2)", {"x": "real"}, "incorrect"),
    Equiv("abs(x)", "sqrt(x^2)", {"x": "real"}, "correct"),
    Equiv("x", "log(exp(x))", {"x": "real"}, "correct"),
    Equiv("1", "sin(x)^2+cos(x)^2", {"x": "real"}, "correct"),
    Equiv("tan(x)", "sin(x)/cos(x)", {"x": "real"}, "correct"),
    Equiv("(x+1)^2", "x^2+2x+1", {"x": "real"}, "correct"),
    Equiv("(x+1)^2", "x^2+x+1", {"x": "real"}, "incorrect"),
    Equiv("1/(x-1) - 1/(x+1)", "2/(x^2-1)", {"x": "real"}, "correct"),
    Equiv("exp(x)*exp(y)", "exp(x+y)", {"x": "real", "y": "real"}, "correct"),
    Equiv("log(x*y)", "log(x)+log(y)", {"x": "positive", "y": "positive"}, "correct"),
    Equiv("acos(x)", "pi/2 - asin(x)", {"x": "real"}, "correct"),
    Equiv("(-1)^(2n)", "1", {"n": "integer"}, "correct"),
    Equiv("sin(pi*n)", "0", {"n": "integer"}, "correct"),
    Equiv("x/2", "1/2x", {"x": "real"}, "correct"),
    Equiv("x", "x*(1+10^-300)", {"x": "real"}, "incorrect"),  # far below 40 digits, still wrong
    Equiv("x", "x+10^-45", {"x": "real"}, "incorrect"),
    Equiv("exp(-200*x)", "2*exp(-200*x)", {"x": "positive"}, "incorrect"),  # tiny values
    Equiv("(x+10^20)^2 - x^2 - 2*x*10^20", "10^40", {"x": "real"}, "correct"),  # cancellation
    Equiv("sin(pi/12)", "(sqrt(6)-sqrt(2))/4", {}, "correct"),
    Equiv("sqrt(6/10)", "0.7745966692414834", {}, "incorrect"),
    Equiv("x", "sqrt(-1)", {"x": "real"}, "incorrect"),
    Equiv("factorial(n_in)/factorial(n_in-1)", "n_in", POS, "correct"),
    Equiv("binomial(n_in, 2)", "n_in*(n_in-1)/2", POS, "correct"),
    # Max, Min, floor and ceiling: wrong answers are told apart at sample points, not left undecided.
    Equiv("Max(n_in, n_out)", "2n_in", POS, "incorrect"),
    Equiv("Max(n_in, n_out)", "n_in + n_out - Min(n_in, n_out)", POS, "correct"),
    Equiv("floor(n_in/2)", "n_in/2", POS, "incorrect"),
    Equiv("ceiling(n_in/3)", "floor((n_in+2)/3)", POS, "correct"),
    Equiv("floor(x)", "x", {"x": "real"}, "incorrect"),
    Equiv("Min(x, 0)", "(x - abs(x))/2", {"x": "real"}, "correct"),
]


@pytest.mark.parametrize(
    "case",
    EQUIVALENCE,
    ids=[f"{c.expected}|{c.response}|{'/'.join(c.vars.values())}" for c in EQUIVALENCE],
)
def test_equivalence(case: Equiv) -> None:
    expected = parse_formula(case.expected, case.vars)
    response = parse_formula(case.response, case.vars)
    assert equivalent(expected, response, make_symbols(case.vars)).status == case.status


@pytest.mark.parametrize(
    "case", EQUIVALENCE[:12], ids=[f"{c.expected}|{c.response}" for c in EQUIVALENCE[:12]]
)
def test_equivalence_through_compare(case: Equiv) -> None:
    request = CompareRequest(
        kind="formula", expected=case.expected, response=case.response, vars=case.vars
    )
    assert compare(request).status == case.status


def test_numeric_evidence_needs_enough_points() -> None:
    x = sympy.Symbol("x", real=True)
    # The expected value is defined only for x >= 100 (Max of a complex number is not), far
    # outside the sample box: no valid point, and the residue |x| - x does not simplify to 0 for
    # real x, so nothing is claimed.
    expected = sympy.Max(sympy.sqrt(x - 100), 0)
    outcome = equivalent(expected, expected + sympy.Abs(x) - x, {"x": x})
    assert outcome.status == "undecided" and outcome.points < MIN_POINTS


def test_equivalence_is_deterministic_per_seed() -> None:
    x = sympy.Symbol("x", real=True)
    results = {equivalent(sympy.Abs(x - 20) + 2 * x - 20, x, {"x": x}, seed=s) for s in (1, 1, 1)}
    assert len(results) == 1


def test_a_proof_step_that_overflows_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.grading.checker.equivalence as equivalence

    def overflow(expr: sympy.Expr) -> sympy.Expr:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(equivalence, "_proof_steps", lambda diff: [overflow, sympy.expand])
    x = sympy.Symbol("x", real=True)
    assert equivalence._prove((x + 1) ** 2 - x**2 - 2 * x - 1, None) == "correct"


def test_numeric_only_verdict_says_so() -> None:
    x = sympy.Symbol("x", real=True)
    # Agrees on the sample box [-10, 10] but not beyond 20: the documented limit of evidence.
    outcome = equivalent(x, sympy.Abs(x - 20) + 2 * x - 20, {"x": x})
    assert (outcome.status, outcome.reason) == ("correct", "numeric")


# --- verdicts per kind --------------------------------------------------------------------


class Check(NamedTuple):
    request: dict[str, Any]
    status: str
    message: str
    normalized: str | None


# One request per line reads best as a table.
# fmt: off
CHECKS = [
    Check({"kind": "formula", "expected": "2/n_in", "response": "2*n_in^-1", "vars": POS}, "correct", "correct", "2*n_in^(-1)"),
    Check({"kind": "formula", "expected": "2/n_in", "response": "2*m", "vars": POS}, "invalid", "unknown symbol m at position 3", None),
    Check({"kind": "formula", "expected": "2/n_in", "response": "  ", "vars": POS}, "unanswered", "no answer", None),
    Check({"kind": "formula", "expected": "2/n_y", "response": "2/n_in", "vars": POS}, "undecided", "the expected answer is broken (unknown symbol n_y at position 3): '2/n_y'; flagged for the question author", None),
    Check({"kind": "formula", "expected": "1/(n_in-n_in)", "response": "2/n_in", "vars": POS}, "undecided", "the expected answer is broken (the formula is undefined (for example a division by zero)): '1/(n_in-n_in)'; flagged for the question author", None),
    Check({"kind": "formula", "expected": "x + y", "response": "y+x", "vars": ["x", "y"]}, "correct", "correct", "y+x"),
    Check({"kind": "formula", "expected": 2, "response": "4/2"}, "correct", "correct", "4/2"),
    Check({"kind": "numeric", "expected": 0.1095, "response": ".1095", "tolerance": {"relative": 0.01}}, "correct", "correct", "0.1095"),
    Check({"kind": "numeric", "expected": 10, "response": "10.5", "tolerance": {"absolute": "0.5"}}, "correct", "correct", "10.5"),
    Check({"kind": "numeric", "expected": 10, "response": "10.5000000001", "tolerance": {"absolute": "0.5"}}, "incorrect", "incorrect", "10.5000000001"),
    Check({"kind": "numeric", "expected": "sqrt(6/10)", "response": "0.7746", "tolerance": {"absolute": "0.0001"}}, "correct", "correct", "0.7746"),
    Check({"kind": "numeric", "expected": "0.1", "response": "1/10"}, "correct", "correct", "1/10"),
    Check({"kind": "numeric", "expected": 1, "response": "0,5"}, "invalid", "use a point as decimal separator (0.5, not 0,5)", None),
    Check({"kind": "numeric", "expected": "sqrt(x)", "response": "1"}, "undecided", "the expected answer is broken (unknown symbol x at position 6): 'sqrt(x)'; flagged for the question author", None),
    Check({"kind": "numeric", "expected": True, "response": "1"}, "undecided", "the expected answer is broken (a number, not true/false): true; flagged for the question author", None),
    Check({"kind": "integer", "expected": 10, "response": "1e1"}, "correct", "correct", "10"),
    Check({"kind": "integer", "expected": "10", "response": "\u221210"}, "incorrect", "incorrect", "-10"),
    Check({"kind": "integer", "expected": 10, "response": "10.5"}, "invalid", "not an integer", None),
    Check({"kind": "choice", "expected": 2, "response": "\u2461", "options": 3}, "correct", "correct", "2"),
    Check({"kind": "choice", "expected": 2, "response": "4", "options": 3}, "invalid", "option 4 does not exist (1–3)", None),
    Check({"kind": "choice", "expected": 5, "response": "1", "options": 3}, "undecided", "the expected answer is broken (not an option number between 1 and 3): 5; flagged for the question author", None),
    Check({"kind": "true_false", "expected": True, "response": "O"}, "correct", "correct", "true"),
    Check({"kind": "true_false", "expected": "false", "response": "\u2460"}, "incorrect", "incorrect", "true"),
    Check({"kind": "true_false", "expected": False, "response": "0"}, "invalid", "0 is ambiguous: answer 1 (true) or 2 (false)", None),
    Check({"kind": "true_false", "expected": True, "response": ""}, "unanswered", "no answer", None),
]
# fmt: on


@pytest.mark.parametrize(
    "case", CHECKS, ids=[f"{c.request['kind']}:{c.request['response']!r}" for c in CHECKS]
)
def test_compare(case: Check) -> None:
    verdict = compare(CompareRequest.model_validate(case.request))
    assert (verdict.status, verdict.message, verdict.normalized) == (
        case.status,
        case.message,
        case.normalized,
    )


def test_distractor_feedback() -> None:
    n = sympy.Symbol("n_in", integer=True, positive=True)
    request = CompareRequest(kind="formula", expected="2/n_in", response="1/n_in", vars=POS)
    verdict = compare(request, distractors=[(n, "not this"), (1 / n, "you dropped the factor 2")])
    assert (verdict.status, verdict.feedback) == ("incorrect", "you dropped the factor 2")
    plain = compare(request)
    assert (plain.status, plain.feedback) == ("incorrect", None)


def test_distractor_texts_are_read_in_the_worker() -> None:
    request = CompareRequest(kind="formula", expected="2/n_in", response="1/n_in", vars=POS)
    verdict = compare(request, distractors=[("n_in +", "unreadable"), ("1/n_in", "dropped the 2")])
    assert (verdict.status, verdict.feedback) == ("incorrect", "dropped the 2")


@pytest.mark.parametrize(
    ("response", "feedback"),
    [("0.0313", "halved"), ("0.0884", "sqrt"), ("0.5", None), ("0.0625", None)],
)
def test_numeric_distractor_feedback_within_the_tolerance(response: str, feedback: str | None) -> None:
    request = CompareRequest(
        kind="numeric", expected="1/16", response=response, tolerance={"absolute": "0.0001"}
    )
    distractors = [("not a number", "broken"), ("1/32", "halved"), ("sqrt(2)/16", "sqrt")]
    verdict = compare(request, distractors=distractors)
    status = "correct" if response == "0.0625" else "incorrect"
    assert (verdict.status, verdict.feedback) == (status, feedback)


def test_distractors_as_expressions_numbers_or_text() -> None:
    numeric = CompareRequest(kind="numeric", expected="1/16", response="3")
    formula = CompareRequest(kind="formula", expected="2/n", response="3", vars=["n"])
    for request in (numeric, formula):
        verdict = compare(request, distractors=[(sympy.sqrt(2), "root"), (3, "three"), ("n", "n")])
        assert (verdict.status, verdict.feedback) == ("incorrect", "three")


def test_cache_makes_repeats_free() -> None:
    run = Comparer()
    request = CompareRequest(
        kind="formula",
        expected="sqrt(6/(n_in+n_out))",
        response="sqrt(6)/sqrt(n_in+n_out)",
        vars=POS,
    )
    first = run.compare(request)
    again = run.compare(
        CompareRequest(
            kind="formula",
            expected="sqrt(6/(n_in+n_out))",
            response=" sqrt( 6 ) / sqrt(n_in + n_out)",
            vars=POS,
        )
    )
    assert first is again  # same normalised response, same cached verdict object


def test_each_run_keeps_its_verdicts_to_itself() -> None:
    request = CompareRequest(kind="formula", expected="2/n_in", response="4/(2n_in)", vars=POS)
    run = Comparer()
    first = run.compare(request)
    assert run.compare(request) is first
    assert Comparer().compare(request) is not first  # another run judges again
    assert compare(request) is not compare(request)  # the simple call is a run of its own
    assert compare(request) == first


def test_a_run_without_a_verdict_cache_judges_each_answer() -> None:
    run = Comparer(cache_size=0)
    request = CompareRequest(kind="formula", expected="2/n_in", response="4/(2n_in)", vars=POS)
    first = run.compare(request)
    assert run.compare(request) is not first and run.compare(request) == first


def _parse_cache_size() -> int:
    return expected_expr.cache_info().currsize


def test_the_key_parse_cache_is_the_workers() -> None:
    expected_expr("2/n", (("n", "real"),))  # this process's copy is not empty
    box = Sandbox()
    try:
        assert box.run(_parse_cache_size).value == 0  # a forked worker starts with its own
    finally:
        box.close()
        expected_expr.cache_clear()


def test_cache_keeps_expected_types_apart() -> None:
    run = Comparer()
    as_bool = run.compare(CompareRequest(kind="numeric", expected=True, response="1"))
    as_int = run.compare(CompareRequest(kind="numeric", expected=1, response="1"))
    assert (as_bool.status, as_int.status) == ("undecided", "correct")


# --- models -------------------------------------------------------------------------------

BAD_REQUESTS = [
    ({"kind": "essay", "expected": "x", "response": "x"}, "kind"),
    ({"kind": "formula", "expected": "x", "response": "x", "extra": 1}, "extra"),
    ({"kind": "choice", "expected": 1, "response": "1"}, "options"),
    ({"kind": "integer", "expected": 1, "response": "1", "options": 3}, "options"),
    (
        {"kind": "formula", "expected": "x", "response": "x", "tolerance": {"absolute": 1}},
        "tolerance",
    ),
    ({"kind": "numeric", "expected": 1, "response": "1", "vars": ["x"]}, "vars"),
    (
        {"kind": "numeric", "expected": 1, "response": "1", "tolerance": {"absolute": -1}},
        "negative",
    ),
    ({"kind": "numeric", "expected": 1, "response": "1", "tolerance": {"percent": 1}}, "tolerance"),
    ({"kind": "formula", "expected": "x", "response": "x", "vars": {"x": "complex"}}, "vars"),
    ({"kind": "formula", "expected": "x", "response": "x", "vars": ["sin"]}, "function"),
    ({"kind": "formula", "expected": ["x"], "response": "x"}, "expected"),
    ({"kind": "formula", "expected": "x", "response": 1}, "response"),
]


@pytest.mark.parametrize(("data", "word"), BAD_REQUESTS, ids=[w for _, w in BAD_REQUESTS])
def test_request_model_rejects(data: dict[str, Any], word: str) -> None:
    with pytest.raises(ValidationError, match=word):
        CompareRequest.model_validate(data)


@pytest.mark.parametrize(
    ("tolerance", "problem"),
    [({"absolute": "1e1001"}, "out of range"), ({"relative": "0." + "1" * 51}, "significant digits")],
)
def test_a_tolerance_beyond_a_numbers_bounds_is_a_key_fault(tolerance: dict[str, str], problem: str) -> None:
    request = CompareRequest(kind="numeric", expected=1, response="1", tolerance=tolerance)
    verdict = compare(request)
    assert (verdict.status, verdict.key_fault) == ("undecided", "broken") and problem in verdict.message


def test_float_tolerance_is_exact_decimal() -> None:
    request = CompareRequest.model_validate(
        {"kind": "numeric", "expected": 1, "response": "1", "tolerance": {"relative": 0.1}}
    )
    assert request.tolerance_mapping() == {"relative": "0.1"}


def test_models_have_json_schemas() -> None:
    for model in (CompareRequest, Verdict):
        schema = model.model_json_schema()
        json.dumps(schema)
        assert schema["additionalProperties"] is False


def test_verdict_json_has_fixed_key_order() -> None:
    verdict = Verdict(feedback="f", normalized="n", message="m", status="incorrect")
    assert (
        verdict.to_json() == '{"status":"incorrect","message":"m","normalized":"n","feedback":"f"}'
    )
    assert (
        Verdict(status="correct", message="correct").to_json()
        == '{"status":"correct","message":"correct"}'
    )
    fault = Verdict(status="undecided", message="m", key_fault="broken")
    assert fault.to_json() == '{"status":"undecided","message":"m","key_fault":"broken"}'


@pytest.mark.parametrize("status", ["correct", "incorrect", "invalid", "unanswered"])
def test_a_key_fault_is_always_undecided(status: str) -> None:
    with pytest.raises(ValidationError, match="undecided"):
        Verdict(status=status, message="m", key_fault="too_costly")  # type: ignore[arg-type]


# --- batch --------------------------------------------------------------------------------


def test_batch_one_line_out_per_line_in_in_order() -> None:
    lines = [
        json.dumps({"kind": "integer", "expected": 3, "response": "3"}),
        "",
        "not json",
        "[1, 2]",
        json.dumps({"kind": "integer", "expected": 3, "response": "3", "foo": 1}),
        json.dumps({"kind": "formula", "expected": "2/n_in", "response": "2n_in^-1", "vars": POS})
        + "\n",
        "   \n",
        '{"kind": "integer", "expected": 3, "response": "4"',
        json.dumps(
            {"kind": "formula", "expected": "x", "response": "__import__('os')", "vars": ["x"]}
        ),
        "[" * 100_000,
        json.dumps({"kind": "choice", "expected": 1, "response": "1"}),
        json.dumps({"kind": "true_false", "expected": True, "response": "\ud800"}),
    ]
    out = [json.loads(line) for line in compare_batch(lines)]
    assert len(out) == len(lines)
    assert [o["status"] for o in out] == [
        "correct", "invalid", "invalid", "invalid", "invalid", "correct",
        "invalid", "invalid", "invalid", "invalid", "invalid", "invalid",
    ]  # fmt: skip
    assert out[1]["message"] == "line 2: empty line"
    assert out[2]["message"].startswith("line 3: not valid JSON")
    assert out[3]["message"] == "line 4: expected a JSON object"
    assert out[4]["message"] == "line 5: foo: unknown field (check the spelling)"
    assert out[6]["message"] == "line 7: empty line"
    assert out[7]["message"].startswith("line 8: not valid JSON")
    assert out[8]["message"] == "quotes are not allowed at position 12"
    assert out[9]["message"].startswith("line 10: not valid JSON")
    assert out[10]["message"] == "line 11: options: a choice question needs the number of options"


def test_batch_output_is_compact_with_fixed_keys() -> None:
    line = json.dumps({"kind": "formula", "expected": "2/n_in", "response": "2n_in", "vars": POS})
    (out,) = compare_batch([line])
    assert out == '{"status":"incorrect","message":"incorrect","normalized":"2*n_in"}'


def test_batch_is_lazy() -> None:
    def lines() -> Any:
        yield json.dumps({"kind": "integer", "expected": 3, "response": "3"})
        raise AssertionError("read too far")

    assert (
        next(iter(compare_batch(lines())))
        == '{"status":"correct","message":"correct","normalized":"3"}'
    )
