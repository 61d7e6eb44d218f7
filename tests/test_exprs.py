"""Author expressions: exact values, fast paths agreeing with SymPy, and refused syntax."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.language.exact import ExprError, Surd, compile_expr, from_sympy, to_sympy
from engine.language.printing import approximate, exact, latex


class Case(NamedTuple):
    source: str
    env: dict
    expected: object


VALUES = [
    Case("n_in + n_out", {"n_in": 4, "n_out": 6}, 10),
    Case("2/(n_in + n_out)", {"n_in": 4, "n_out": 6}, Fraction(1, 5)),
    Case("6/(n_in + n_out)", {"n_in": 2, "n_out": 4}, 1),
    Case("sqrt(6/(n_in + n_out))", {"n_in": 2, "n_out": 4}, 1),
    Case("sqrt(6/(n_in + n_out))", {"n_in": 4, "n_out": 6}, sympy.sqrt(sympy.Rational(3, 5))),
    Case("0.1 + 0.2", {}, Fraction(3, 10)),
    Case("2**-2", {}, Fraction(1, 4)),
    Case("Mod(6, n)", {"n": 4}, 2),
    Case("Rational(1, 3) * 3", {}, 1),
    Case("floor(7/2) + ceiling(7/2)", {}, 7),
    Case("n_in if n_in > 3 else 0", {"n_in": 4}, 4),
]


@pytest.mark.parametrize("case", VALUES, ids=[c.source for c in VALUES])
def test_exact_values(case: Case) -> None:
    value = compile_expr(case.source, frozenset(case.env)).evaluate(case.env)
    assert to_sympy(value) == to_sympy(case.expected)


TRUTHS = [
    Case("Eq(Mod(6, n_in + n_out), 0)", {"n_in": 2, "n_out": 4}, True),
    Case("Eq(Mod(6, n_in + n_out), 0)", {"n_in": 2, "n_out": 5}, False),
    Case("n_in != n_out", {"n_in": 3, "n_out": 3}, False),
    Case("n_in != n_out", {"n_in": 3, "n_out": 4}, True),
    Case("1 < n < 5 and n != 3", {"n": 4}, True),
    Case("Or(n == 1, Not(n > 2))", {"n": 2}, True),
]


@pytest.mark.parametrize("case", TRUTHS, ids=[c.source for c in TRUTHS])
def test_constraints(case: Case) -> None:
    assert compile_expr(case.source, frozenset(case.env)).truth(case.env) is case.expected


ERRORS = [
    ("n_in ^ 2", {"n_in"}, "use \\*\\* for powers"),
    ("__import__('os')", set(), "not allowed"),
    ("n_in.real", {"n_in"}, "Attribute is not allowed"),
    ("lambda: 1", set(), "Lambda is not allowed"),
    ("m + 1", {"n"}, "unknown name 'm'"),
    ("2 +", set(), "does not parse"),
    ("'text'", set(), "not allowed"),
    ("eval('1')", set(), "function 'eval' is not allowed"),
]


@pytest.mark.parametrize(("source", "known", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_refused(source: str, known: set[str], message: str) -> None:
    with pytest.raises(ExprError, match=message):
        compile_expr(source, frozenset(known))


def test_division_by_zero_is_an_expr_error() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        compile_expr("1/(n - 2)", {"n"}).evaluate({"n": 2})


@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(-5, 5))
def test_fast_path_agrees_with_sympy(a: int, b: int, k: int) -> None:
    assume(a != b or k >= 0)
    source = "sqrt(6/(a + b)) * (a - b)**k / (a + 2*b) + Mod(a, b)"
    fast = compile_expr(source, {"a", "b", "k"}).evaluate({"a": a, "b": b, "k": k})
    A, B = sympy.Integer(a), sympy.Integer(b)
    slow = sympy.sqrt(6 / (A + B)) * (A - B) ** k / (A + 2 * B) + sympy.Mod(A, B)
    assert sympy.simplify(to_sympy(fast) - slow) == 0


# -- c·√m without SymPy ------------------------------------------------------------------------

SURD_FACTORS = st.tuples(st.integers(-10**6, 10**6).filter(bool), st.integers(1, 10**6))


@given(SURD_FACTORS, st.integers(2, 10**7))
def test_surd_prints_and_approximates_as_sympy_does(factors: tuple[int, int], m: int) -> None:
    coeff = Fraction(*factors)
    expected = sympy.Rational(coeff.numerator, coeff.denominator) * sympy.sqrt(m)
    value = from_sympy(expected)
    assume(isinstance(value, Surd))  # m with a square factor may leave a rational
    assert to_sympy(value) == expected
    assert str(value) == str(expected) == exact(value)
    assert latex(value) == sympy.latex(expected)
    with localcontext() as ctx:
        ctx.prec = 30
        assert approximate(value, 30) == +Decimal(str(sympy.N(expected, 60)))


@given(st.fractions())
def test_rationals_print_as_sympy_does(value: Fraction) -> None:
    expected = sympy.Rational(value.numerator, value.denominator)
    assert latex(value) == sympy.latex(expected)
    assert exact(value) == str(expected)


@given(st.integers(1, 10**5), st.integers(1, 10**5), st.fractions(max_denominator=50).filter(bool))
def test_square_roots_of_rationals_are_surds_equal_to_sympy(p: int, q: int, k: Fraction) -> None:
    env = {"p": p, "q": q, "k": k}
    value = compile_expr("k * sqrt(p/q) / 3", {"p", "q", "k"}).evaluate(env)
    expected = sympy.Rational(k.numerator, k.denominator) * sympy.sqrt(sympy.Rational(p, q)) / 3
    assert to_sympy(value) == expected
    assert isinstance(value, Surd) == (not expected.is_Rational)
    # Sums leave the fast path and come back as a Surd when SymPy's result is one.
    total = compile_expr("sqrt(p/q) + sqrt(p/q)", {"p", "q"}).evaluate(env)
    assert to_sympy(total) == 2 * sympy.sqrt(sympy.Rational(p, q))
    assert exact(total) == str(2 * sympy.sqrt(sympy.Rational(p, q)))


def test_benchmark_bank_generates_without_importing_sympy(tmp_path: Path) -> None:
    # Rationals, surds and he-variance's options (2/n_in, 2/(n_in + n_out), 1/n_in) stay SymPy-free.
    bank = Path(__file__).resolve().parents[1] / "benchmarks" / "weight-init-4"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine import api\n"
        "for fmt in ('moodle', 'json', 'markdown'):\n"
        f"    api.export(fmt, [Path({str(bank)!r})], seed=1, count=50, output=Path({str(tmp_path)!r}) / ('q.' + fmt))\n"
        "assert 'sympy' not in sys.modules, 'SymPy was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    moodle = (tmp_path / "q.moodle").read_text(encoding="utf-8")
    assert moodle.count('<question type="numerical">') == 100  # xavier-sum is an integer question
    assert moodle.count('<question type="multichoice">') == 50
    assert moodle.count('<question type="truefalse">') == 50


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: abs(d) < Decimal("1e30")),
       st.sampled_from(["0.01", "0.05", "0.001", "1", "0.0000003", "2.5", "1e-30"]))
def test_relative_tolerance_in_decimal_equals_the_rational_computation(approx: Decimal, relative: str) -> None:
    from engine.generation.variants import _scaled
    from engine.language.printing import significant

    with localcontext() as ctx:
        ctx.prec = 40
        approx = +approx
    assert _scaled(relative, approx) == significant(Fraction(relative) * abs(Fraction(approx)), 20)
