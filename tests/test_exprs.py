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
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from engine.language.decimals import DecimalFraction
from engine.language.exact import compile_expr
from engine.language.printing import approximate, exact, latex
from engine.language.values import ExprError, Surd, from_sympy, to_sympy


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
    # Moodle gets each distinct question once: he-variance's 6 option orders, winit-tf's one question.
    assert moodle.count('<question type="multichoice">') == 6
    assert moodle.count('<question type="truefalse">') == 1


# -- the shared grammar against the old `ast` front end ---------------------------------------

import ast  # noqa: E402
import re  # noqa: E402
import warnings  # noqa: E402

import yaml  # noqa: E402

from engine.language import values as exact_module  # noqa: E402
from engine.language.allow import AUTHOR, STUDENT  # noqa: E402

_AST_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^", ast.Mod: "%"}
_AST_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _old_value(text: str, env: dict) -> object:
    """What main's `ast`-based compile_expr computed: Python's parse, the same exact operations."""
    binops, cmpops, truth = exact_module.BINOPS, exact_module.CMPOPS, exact_module.truth

    def ev(node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                return from_sympy(Fraction(ast.get_source_segment(text, node)))
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id] if node.id in env else getattr(sympy, node.id)
        if isinstance(node, ast.BinOp):
            return binops[_AST_BINOPS[type(node.op)]](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not truth(ev(node.operand))
            value = ev(node.operand)
            return binops["-"](0, value) if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Compare):
            values = [ev(node.left)] + [ev(c) for c in node.comparators]
            return all(truth(cmpops[_AST_CMPOPS[type(op)]](a, b))
                       for op, a, b in zip(node.ops, values, values[1:], strict=False))
        if isinstance(node, ast.BoolOp):
            parts = (truth(ev(v)) for v in node.values)
            return all(parts) if isinstance(node.op, ast.And) else any(parts)
        if isinstance(node, ast.IfExp):
            return ev(node.body) if truth(ev(node.test)) else ev(node.orelse)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return exact_module.FUNCTIONS[node.func.id](*(ev(a) for a in node.args))

    return ev(ast.parse(text, mode="eval").body)


def _outcome(compute: object) -> tuple[str, object]:
    try:
        return "value", compute()  # type: ignore[operator]
    except (ExprError, ZeroDivisionError, TypeError, ValueError, ArithmeticError):
        return "error", None


ENV = {"a": 3, "b": Fraction(1, 2), "c": -2, "n_in": 4}
_space = st.sampled_from(["", " ", "  "])
_leaf = st.one_of(
    st.sampled_from(["0", "1", "2", "7", "10", "0.5", "1.", ".25", "2.5e1", "1E-2", "a", "b", "c", "n_in",
                     "True", "False"]),
)
_exponent = st.sampled_from(["2", "3", "0", "-1", "-2", "(1/2)", "-b"])


_ARITY = {"Abs": (1, 1), "Min": (1, 2), "Max": (1, 2), "floor": (1, 1), "ceiling": (1, 1), "sqrt": (1, 1),
          "Mod": (2, 2), "Eq": (2, 2), "Not": (1, 1), "Ne": (2, 2)}


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    paren = st.builds(lambda t: f"({t})", children)
    operand = st.one_of(children, paren)
    binary = st.builds(lambda x, s, op, y: f"{x}{s or ' ' * op.isalpha()}{op}{s or ' ' * op.isalpha()}{y}",
                       operand, _space,
                       st.sampled_from(["+", "-", "*", "/", "%", "<", "<=", "==", "!=", ">", ">=", "and", "or"]),
                       operand)
    power = st.builds(lambda x, y: f"{x}**{y}", operand, _exponent)
    unary = st.builds(lambda op, x: f"{op}{x}", st.sampled_from(["-", "+", "not ", "- "]), operand)
    chain = st.builds(lambda x, y, z: f"{x} < {y} <= {z}", operand, operand, operand)
    conditional = st.builds(lambda x, t, y: f"{x} if {t} else {y}", operand, operand, operand)
    # Calls with the right number of arguments: arity is now checked when an expression is
    # compiled, where before a call in an untaken branch was never checked.
    call = st.sampled_from(sorted(_ARITY.items())).flatmap(
        lambda item: st.builds(lambda xs: f"{item[0]}({', '.join(xs)})",
                               st.lists(children, min_size=item[1][0], max_size=item[1][1])))
    return st.one_of(binary, power, unary, chain, conditional, call, paren)


expressions = st.recursive(_leaf, _compose, max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(expressions)
@example("0 < 1 <= c**2**(1/2)")  # an undecided relation once escaped as AttributeError
def test_new_parser_computes_what_the_ast_front_end_computed(text: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # "1if": Python parses it, with a warning
            ast.parse(text, mode="eval")
    except SyntaxError:
        return  # not an expression authors could write before
    old = _outcome(lambda: _old_value(text, ENV))
    new = _outcome(lambda: compile_expr(text, frozenset(ENV)).evaluate(ENV))
    assert new[0] == old[0], (text, old, new)
    if old[0] == "value":
        # A decimal written with a point keeps that mark for printing; its value is the Fraction.
        new_type = Fraction if type(new[1]) is DecimalFraction else type(new[1])
        assert new_type is type(old[1]) and new[1] == old[1], (text, old, new)


def _bank_expressions() -> list[tuple[str, str]]:
    root = Path(__file__).resolve().parents[1]
    found = []
    for folder in ("exercises", "benchmarks/weight-init-4", "tests/fixtures"):
        for path in sorted((root / folder).rglob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                continue
            texts = [p["expr"] for p in (data.get("params") or {}).values() if isinstance(p, dict) and "expr" in p]
            texts += list(data.get("constraints") or [])
            texts += [o["expr"] for o in data.get("options") or [] if isinstance(o, dict) and o.get("expr")]
            texts += [d["expr"] for d in data.get("distractors") or [] if isinstance(d, dict)]
            if isinstance(data.get("answer"), str | int) and not isinstance(data.get("answer"), bool):
                texts.append(data["answer"])
            # A record's field (act.gain) is new: the old front end never read one.
            found += [(path.name, str(t)) for t in texts if not re.search(r"[A-Za-z_]\w*\.[A-Za-z_]", str(t))]
    return found


BANK_EXPRESSIONS = _bank_expressions()


def test_bank_expressions_were_collected() -> None:
    assert len(BANK_EXPRESSIONS) > 100


@pytest.mark.parametrize(("file", "text"), BANK_EXPRESSIONS, ids=[f"{f}:{t}" for f, t in BANK_EXPRESSIONS])
def test_every_bank_expression_keeps_its_meaning(file: str, text: str) -> None:
    names = set(re.findall(r"[A-Za-z_]\w*", text)) - set(AUTHOR.functions) - {"pi", "E", "True", "False"}
    env = {name: value for name, value in zip(sorted(names), (7, 3, 5, 11, 13, 17, 19, 23, 29, 31, 37, 41), strict=False)}
    old = _outcome(lambda: _old_value(text, env))
    assert old[0] == "value", text
    assert compile_expr(text, frozenset(env)).evaluate(env) == old[1]


def test_students_allow_list_is_a_subset_of_the_authors() -> None:
    assert set(STUDENT.functions) <= set(AUTHOR.functions)
    assert all(AUTHOR.functions[name] == f for name, f in STUDENT.functions.items())
    assert set(STUDENT.constants.items()) <= set(AUTHOR.constants.items())
    assert set(exact_module.FUNCTIONS) == set(AUTHOR.functions)


DROPPED = [
    ("1_000", "'1_000': Python number syntax is no longer accepted; write 1000"),
    ("0x1F + n", "'0x1F': Python number syntax is no longer accepted; write 31"),
    ("2 ^ n", "use \\*\\* for powers, not \\^"),
    ("\uff4e + 1", "unexpected character '\uff4e'; write 'n'"),  # Python read a full-width name as ASCII
]


@pytest.mark.parametrize(("source", "message"), DROPPED, ids=[d[0] for d in DROPPED])
def test_dropped_python_forms_name_the_new_form(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        compile_expr(source, {"n"})


KEPT = [("1 < n < 5", {"n": 3}, True), ("n if n > 2 else -n", {"n": 1}, -1), ("Max(n, 2,)", {"n": 1}, 2),
        ("n  # a comment", {"n": 1}, 1), ("(n +\n 1)", {"n": 1}, 2), ("not n == 1", {"n": 1}, False),
        ("-n**2", {"n": 3}, -9), ("2**-n", {"n": 1}, Fraction(1, 2)), ("7 % 3 * 2", {}, 2), ("1.", {}, 1),
        ("ln(E) + e - E", {}, 1), ("floor(n/2) + Abs(-n)", {"n": 5}, 7)]


@pytest.mark.parametrize(("source", "env", "expected"), KEPT, ids=[k[0] for k in KEPT])
def test_python_forms_authors_use_keep_their_meaning(source: str, env: dict, expected: object) -> None:
    assert compile_expr(source, frozenset(env)).evaluate(env) == expected


_shared_leaf = st.sampled_from(["0", "1", "2", "7", "0.5", ".25", "2.5e1", "x", "y", "pi"])


def _shared(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operand = st.one_of(children, st.builds(lambda t: f"({t})", children))
    return st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", operand, st.sampled_from(["+", "-", "*", "/"]), operand),
        st.builds(lambda a, e: f"{a}**{e}", operand, st.sampled_from(["2", "3", "-1", "(1/2)"])),
        st.builds(lambda a: f"-{a}", operand),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["sqrt", "Abs", "exp", "floor", "log", "sin"]), children),
        st.builds(lambda a, b: f"Max({a}, {b})", children, children),
    )


@settings(max_examples=150, deadline=None)
@given(st.recursive(_shared_leaf, _shared, max_leaves=5))
def test_authors_and_students_read_the_shared_syntax_alike(text: str) -> None:
    from engine.grading.checker.formula import FormulaError, parse_formula

    symbols = {"x": "positive", "y": "real"}
    env = {name: sympy.Symbol(name, **({"positive": True} if kind == "positive" else {"real": True}))
           for name, kind in symbols.items()}
    try:
        student = parse_formula(text, symbols)
    except FormulaError:
        return  # a limit or an undefined value (log(0)): authors' text has neither
    author = to_sympy(compile_expr(text, frozenset(symbols)).evaluate(env))
    assert author == student or sympy.simplify(author - student) == 0, (text, author, student)
