"""Hostile answers: never a crash, never a hang, never a side effect; plus the sandbox's hard stops."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from engine.grading.checker.batch import compare_batch
from engine.grading.checker.compare import Comparer, compare
from engine.grading.checker.sandbox import Sandbox
from engine.grading.checker.verdict import CompareRequest

VARS = {"n_in": "positive_integer", "n_out": "positive_integer", "x": "real"}
EXPECTED = "sqrt(6/(n_in+n_out))"
PWNED = Path("/tmp/qw_pwned")
SAFETY_SECONDS = 10.0  # a safety bound, not a performance target


class Hostile(NamedTuple):
    name: str
    response: str
    statuses: frozenset[str]


NOT_CORRECT = frozenset({"invalid", "incorrect", "undecided"})
INVALID = frozenset({"invalid"})

HOSTILE = [
    Hostile("import os", "__import__('os').system('touch /tmp/qw_pwned')", INVALID),
    Hostile("import without quotes", "__import__(os).system(x)", INVALID),
    Hostile("class escape", "().__class__", INVALID),
    Hostile("subclasses", "().__class__.__bases__[0].__subclasses__()", INVALID),
    Hostile("lambda", "lambda: 1", INVALID),
    Hostile("power tower", "9**9**9**9", INVALID),
    Hostile("factorial", "factorial(10**9)", INVALID),
    Hostile("huge power", "10**100**100", INVALID),
    Hostile("deep parentheses", "(" * 10_000 + "x" + ")" * 10_000, INVALID),
    Hostile("1 MB", "x" * 1_000_000, INVALID),
    Hostile("attribute", "x.__class__", INVALID),
    Hostile("exec", 'exec("1")', INVALID),
    Hostile("eval", "eval(x)", INVALID),
    Hostile("cyrillic i", "n_\u0456n", INVALID),
    Hostile("division by zero", "1/0", INVALID),
    Hostile("zero over zero", "0/0", INVALID),
    Hostile("zoo", "zoo", INVALID),
    Hostile("oo", "oo", INVALID),
    Hostile("nan", "nan", INVALID),
    Hostile("symbolic zero division", "n_in/(n_in-n_in)", INVALID),
    Hostile("imaginary unit", "sqrt(-1)", frozenset({"incorrect"})),
    Hostile("I literal", "I", INVALID),
    Hostile("semicolon", "x; import os", INVALID),
    Hostile("assignment", "x = 1", INVALID),
    Hostile("format string", "f'{x}'", INVALID),
    Hostile("dunder name", "__builtins__", INVALID),
    Hostile("null byte", "x\x00", INVALID),
    Hostile("lone surrogate", "x\ud800", INVALID),
    Hostile("bidi override", "x\u202e+1", INVALID),
    Hostile("binomial blow-up", "binomial(n_in^30, n_in^15)", NOT_CORRECT),
    Hostile("factorial of a power", "factorial(n_in^20)", NOT_CORRECT),
    Hostile("double exponential", "10^(10^n_in)", NOT_CORRECT),
    Hostile("exp tower", "exp(exp(exp(exp(x))))", NOT_CORRECT),
    Hostile("symbol tower", "x^x^x^x^x", NOT_CORRECT),
    Hostile("expanded binomial", "(x+1)^1000", NOT_CORRECT),
    Hostile("nested expansion", "((x+1)^1000)^1000", INVALID),
    Hostile("huge constant", "(10^30)^1000", INVALID),
    Hostile("big sine argument", "sin(10^1000*x)", NOT_CORRECT),
    Hostile("many tokens", "+".join(["n_in"] * 300), INVALID),
]


@pytest.fixture(autouse=True)
def _no_leftover_marker() -> None:
    PWNED.unlink(missing_ok=True)


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_response_is_contained(case: Hostile) -> None:
    request = CompareRequest(kind="formula", expected=EXPECTED, response=case.response, vars=VARS)
    start = time.monotonic()
    verdict = compare(request)
    elapsed = time.monotonic() - start
    assert verdict.status in case.statuses, verdict
    assert elapsed < SAFETY_SECONDS
    assert not PWNED.exists()
    for text in (verdict.message, verdict.normalized or ""):
        assert "Traceback" not in text and ".py" not in text and "0x" not in text
    verdict.to_json()  # always encodable


@pytest.mark.parametrize("kind", ["numeric", "integer", "choice", "true_false"])
@pytest.mark.parametrize("case", HOSTILE[:14], ids=[c.name for c in HOSTILE[:14]])
def test_hostile_response_to_other_kinds_is_invalid(kind: str, case: Hostile) -> None:
    data = {"kind": kind, "expected": 1, "response": case.response}
    if kind == "choice":
        data["options"] = 3
    start = time.monotonic()
    verdict = compare(CompareRequest.model_validate(data))
    assert verdict.status == "invalid"
    assert time.monotonic() - start < SAFETY_SECONDS
    assert not PWNED.exists()


def test_hostile_batch_keeps_going() -> None:
    lines = [
        json.dumps(
            {"kind": "formula", "expected": EXPECTED, "response": case.response, "vars": VARS}
        )
        for case in HOSTILE[:20]
    ]
    lines.insert(3, "{" * 50_000)
    lines.insert(7, '"' + "\\u0000" * 1000 + '"')
    lines.append(json.dumps({"kind": "integer", "expected": 7, "response": "7"}))
    start = time.monotonic()
    out = [json.loads(line) for line in compare_batch(lines)]
    assert len(out) == len(lines)
    assert out[-1] == {"status": "correct", "message": "correct", "normalized": "7"}
    assert all(o["status"] in {"invalid", "incorrect", "undecided", "correct"} for o in out)
    assert time.monotonic() - start < 30
    assert not PWNED.exists()


# --- sandbox ------------------------------------------------------------------------------


def _double(value: int) -> int:
    return value * 2


def _huge_power() -> int:
    return 10 ** (10**10)  # one C-level operation: only a kill stops it


def _eat_memory() -> bytes:
    return b"x" * (8 * 1024**3)


def _fail() -> None:
    raise RuntimeError("boom")


def _suicide() -> None:
    os._exit(3)


def _pid() -> int:
    return os.getpid()


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(timeout=0.5, memory_bytes=512 * 1024**2)
    yield box
    box.close()


def test_sandbox_reuses_its_worker(sandbox: Sandbox) -> None:
    assert sandbox.run(_double, 21).value == 42
    pids = {sandbox.run(_pid).value for _ in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids


def test_sandbox_hard_timeout_kills_and_recovers(sandbox: Sandbox) -> None:
    start = time.monotonic()
    result = sandbox.run(_huge_power, timeout=0.3)
    assert result.status == "timeout"
    assert time.monotonic() - start < 3
    assert sandbox.run(_double, 2).value == 4  # a fresh worker answers


def test_sandbox_memory_limit(sandbox: Sandbox) -> None:
    assert sandbox.run(_eat_memory).status == "memory"
    assert sandbox.run(_double, 3).value == 6


def test_sandbox_reports_errors_and_crashes(sandbox: Sandbox) -> None:
    error = sandbox.run(_fail)
    assert (error.status, error.error) == ("error", "RuntimeError: boom")
    assert sandbox.run(_suicide).status == "crashed"
    assert sandbox.run(_double, 5).value == 10


def _slow_job(*args: object) -> tuple[str, str, None]:
    time.sleep(30)
    return "correct", "correct", None


def test_formula_check_timeout_is_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.grading.checker.compare as compare_module

    box = Sandbox(timeout=0.3)
    monkeypatch.setattr(compare_module, "formula_job", _slow_job)
    try:
        request = CompareRequest(kind="formula", expected="x", response="x^2", vars=["x"])
        start = time.monotonic()
        verdict = compare(request, sandbox=box)
        assert time.monotonic() - start < 3
    finally:
        box.close()
    assert (verdict.status, verdict.message) == (
        "undecided",
        "could not decide in time; flagged for a person",
    )


# --- the teacher's key: under the same limits -----------------------------------------------

HANGING_KEY = "sin(cos(exp(exp(exp(exp(1))))))"  # SymPy alone never finishes building it
LIMIT = 0.5  # the sandbox's time limit in these tests


@pytest.fixture
def small_box() -> Sandbox:
    box = Sandbox(timeout=LIMIT)
    yield box
    box.close()


def test_hanging_key_in_a_batch_is_undecided_within_the_limit(small_box: Sandbox) -> None:
    line = json.dumps({"kind": "numeric", "expected": HANGING_KEY, "response": "0.5"})
    start = time.monotonic()
    (out,) = compare_batch([line], sandbox=small_box)
    assert time.monotonic() - start < LIMIT + 2  # the limit, plus starting and killing a worker
    verdict = json.loads(out)
    assert (verdict["status"], verdict["key_fault"]) == ("undecided", "too_costly")
    assert HANGING_KEY[:20] in verdict["message"] and "time limit" in verdict["message"]


def test_a_batch_is_one_run(small_box: Sandbox) -> None:
    lines = [json.dumps({"kind": "numeric", "expected": HANGING_KEY, "response": r}) for r in ("0.5", "2")]
    verdicts = compare_batch(lines, sandbox=small_box)
    assert json.loads(next(verdicts))["key_fault"] == "too_costly"
    start = time.monotonic()
    assert json.loads(next(verdicts))["key_fault"] == "too_costly"
    assert time.monotonic() - start < LIMIT / 2  # the key was found too costly once for the batch


def test_a_costly_key_costs_the_limit_once_per_run(small_box: Sandbox) -> None:
    run = Comparer(small_box)
    request = CompareRequest(kind="formula", expected=HANGING_KEY, response="x", vars=["x"])
    assert run.compare(request).key_fault == "too_costly"
    start = time.monotonic()
    again = run.compare(request.model_copy(update={"response": "2x"}))
    assert again.key_fault == "too_costly" and time.monotonic() - start < LIMIT / 2


class BadKey(NamedTuple):
    kind: str
    expected: str | int | float | bool
    fault: str


BAD_KEYS = [
    BadKey("numeric", HANGING_KEY, "too_costly"),
    BadKey("formula", HANGING_KEY, "too_costly"),
    BadKey("numeric", "exp(exp(exp(exp(2))))", "broken"),  # was "internal error (ValueError)"
    BadKey("numeric", "1/0", "broken"),
    BadKey("numeric", "sqrt(-1)", "broken"),
    BadKey("numeric", "x", "broken"),
    BadKey("numeric", "", "broken"),
    BadKey("numeric", "9^9^9^9", "too_costly"),  # a key is exempt from the student limits: the sandbox stops it
    BadKey("numeric", "x" * 1_000_000, "broken"),
    BadKey("numeric", float("nan"), "broken"),
    BadKey("numeric", float("inf"), "broken"),
    BadKey("numeric", True, "broken"),
    BadKey("formula", 10**5000, "broken"),  # str() of it would raise
    BadKey("formula", "x" * 100_000, "broken"),
    BadKey("formula", True, "broken"),
    BadKey("integer", "2^10", "broken"),
    BadKey("choice", 10**5000, "broken"),
    BadKey("true_false", 10**5000, "broken"),
]


@pytest.mark.parametrize("case", BAD_KEYS, ids=[f"{c.kind}-{i}" for i, c in enumerate(BAD_KEYS)])
def test_a_bad_key_is_undecided_and_named(case: BadKey, small_box: Sandbox) -> None:
    data = {"kind": case.kind, "expected": case.expected, "response": "1"}
    if case.kind == "choice":
        data["options"] = 3
    start = time.monotonic()
    verdict = compare(CompareRequest.model_validate(data), sandbox=small_box)
    assert time.monotonic() - start < LIMIT + 2
    assert (verdict.status, verdict.key_fault) == ("undecided", case.fault), verdict
    assert verdict.message.startswith("the expected answer is ")
    assert "internal error" not in verdict.message
    verdict.to_json()


@pytest.mark.parametrize(
    ("kind", "expected", "response", "tolerance"),
    [
        ("numeric", "0." + "1" * 5000, "0.1", None),  # more bits than this process computes with
        ("numeric", 10**5000, "1e1000", {"relative": "0.5"}),
        ("numeric", "exp(6000)", "1e1000", {"relative": "0.5"}),
        ("numeric", "sqrt(2)", "1e400", {"absolute": "1e400"}),  # float() of 1e400 overflowed
        ("integer", 10**5000, "1", None),
    ],
    ids=["5000 digits", "5000-digit int", "exp(6000)", "overflow in the ladder", "integer"],
)
def test_huge_keys_are_still_judged(
    kind: str, expected: object, response: str, tolerance: dict[str, str] | None, small_box: Sandbox
) -> None:
    request = CompareRequest.model_validate(
        {"kind": kind, "expected": expected, "response": response, "tolerance": tolerance}
    )
    verdict = compare(request, sandbox=small_box)
    want = "correct" if response == "1e400" else "incorrect"
    assert (verdict.status, verdict.key_fault) == (want, None), verdict
