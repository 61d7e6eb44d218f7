"""SymPy-free symbol sums and reciprocals: the same text, LaTeX and equality as SymPy's."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from engine.authoring.loader import make_symbol
from engine.generation.solving import decimal_or_none, same
from engine.language.exact import compile_expr
from engine.language.printing import exact, latex
from engine.language.symbolic import sympy_symbol
from engine.language.symforms import Reciprocal, RootReciprocal, SymbolSum, SymForm, symbol_latex
from engine.language.values import to_sympy

# Parts chosen to hit SymPy's translations: Greek letters, modifiers, other symbols, digits.
PARTS = ["n", "in", "out", "x", "A", "W", "b", "k", "fan", "lr", "alpha", "Beta", "lamda", "varphi", "hat",
         "xhat", "nbar", "dot", "ddot", "hbar", "ell", "mu", "nu", "prime", "vec", "eps", "abc", "mag", "1", "12",
         "N", "i", "j", "Khi", "omicron", "bm", "layer"]
NAMES = st.builds(
    lambda main, digits, subs: main + digits + "".join("_" + s for s in subs),
    st.sampled_from([p for p in PARTS if not p.isdigit()]),
    st.sampled_from(["", "1", "2", "10"]),
    st.lists(st.sampled_from(PARTS), max_size=3),
).filter(lambda name: len(name) <= 32)
ASSUMPTIONS = st.sampled_from(["real", "positive", "nonnegative", "integer", "positive_integer"])


@given(NAMES)
def test_symbol_latex_is_sympys_or_refused(name: str) -> None:
    ours = symbol_latex(name)
    if ours is not None:
        assert ours == sympy.latex(sympy.Symbol(name))


@pytest.mark.parametrize("name", ["alpha", "xhat", "n_alpha", "nbar_in", "hbar", "varphi", "Lamda", "x__2"])
def test_names_sympy_translates_are_left_to_sympy(name: str) -> None:
    assert symbol_latex(name) is None
    assert not isinstance(make_symbol(name, "positive"), SymbolSum)


@given(st.lists(st.tuples(NAMES, ASSUMPTIONS), min_size=1, max_size=4, unique_by=lambda t: t[0]),
       st.integers(1, 10**6))
def test_sums_and_reciprocals_print_as_sympy(symbols: list[tuple[str, str]], coeff: int) -> None:
    env = {f"s{i}": make_symbol(name, assumption) for i, (name, assumption) in enumerate(symbols)}
    sympy_env = {key: sympy_symbol(name, assumption) for key, (name, assumption) in zip(env, symbols, strict=True)}
    total = " + ".join(env)
    plain = all(symbol_latex(name) is not None for name, _ in symbols)
    nonnegative = all(assumption in ("positive", "nonnegative", "positive_integer") for _, assumption in symbols)
    for source in (total, f"{coeff}/({total})", f"sqrt({coeff}/({total}))"):
        expr = compile_expr(source, set(env))
        value, expected = expr.evaluate(env), expr.evaluate(sympy_env)
        assert to_sympy(value) == expected
        assert exact(value) == str(expected)
        assert latex(value) == sympy.latex(expected)
        # Computed without SymPy whenever the shape allows it.
        assert isinstance(value, SymForm) == (plain and (nonnegative or not source.startswith("sqrt"))), source


def test_the_shapes_stay_out_of_sympy_and_other_arithmetic_goes_to_it() -> None:
    env = {"n_in": make_symbol("n_in", "positive_integer"), "n_out": make_symbol("n_out", "positive_integer")}
    value = compile_expr("2/(n_out + n_in)", set(env)).evaluate(env)
    assert value == Reciprocal(2, SymbolSum((("n_in", "positive_integer"), ("n_out", "positive_integer"))))
    assert (exact(value), latex(value)) == ("2/(n_in + n_out)", r"\frac{2}{n_{in} + n_{out}}")
    assert compile_expr("sqrt(12/(n_out + n_in))", set(env)).evaluate(env) == RootReciprocal(
        2, 3, SymbolSum((("n_in", "positive_integer"), ("n_out", "positive_integer"))))
    n_in, n_out = sympy.symbols("n_in n_out", positive=True, integer=True)
    for source, expected in [("n_in + n_in", 2 * n_in), ("sqrt(n_in)", sympy.sqrt(n_in)),
                             ("n_in * n_out", n_in * n_out), ("Rational(1, 2)/n_in", 1 / (2 * n_in)),
                             ("-2/n_in", -2 / n_in), ("2/n_in + 1", 2 / n_in + 1), ("(n_in + n_out)/2", (n_in + n_out) / 2)]:
        assert compile_expr(source, set(env)).evaluate(env) == expected, source


def test_equality_and_decimals() -> None:
    env = {"a": make_symbol("a", "positive"), "b": make_symbol("b", "positive")}
    one_over = compile_expr("1/(a + b)", set(env)).evaluate(env)
    assert same(one_over, compile_expr("1/(b + a)", set(env)).evaluate(env))
    assert not same(one_over, compile_expr("2/(a + b)", set(env)).evaluate(env))
    assert not same(one_over, Fraction(1, 2))
    # Compared with a SymPy value, it is compared as SymPy would.
    a, b = sympy.symbols("a b", positive=True)
    assert same(one_over, 2 / (2 * a + 2 * b))
    assert not same(one_over, 1 / (a + 2 * b))
    assert decimal_or_none(one_over) is None
    root = compile_expr("sqrt(4/(a + b))", set(env)).evaluate(env)
    assert same(root, compile_expr("sqrt(4/(b + a))", set(env)).evaluate(env))
    assert not same(root, one_over) and not same(root, compile_expr("sqrt(1/(a + b))", set(env)).evaluate(env))
    assert same(root, 2 / sympy.sqrt(a + b))
    assert decimal_or_none(root) is None


def test_a_root_over_a_sum_that_may_be_negative_is_sympys() -> None:
    # SymPy keeps sqrt(1/x) whole when x may be negative: printed as SymPy prints it.
    env = {"x": make_symbol("x", "real")}
    value = compile_expr("sqrt(6/x)", set(env)).evaluate(env)
    assert not isinstance(value, SymForm)
    assert exact(value) == "sqrt(6)*sqrt(1/x)"
