"""Property tests for the readers issue 11 added: decimals, parameter values, YAML measured before it
is built, and submissions in any byte-order-marked encoding."""

from __future__ import annotations

import csv
import io
import operator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.authoring.params import parse_value
from engine.authoring.sources import parse_yaml
from engine.grading.checker.formula import parse_formula
from engine.grading.encoding import decode_bytes
from engine.grading.submissions import parse_submissions
from engine.language.decimals import DecimalFraction, decimal_text, terminates

# Rationals with a finite decimal expansion: an integer over 2^a 5^b.
decimals = st.builds(lambda n, a, b: Fraction(n, 2**a * 5**b),
                     st.integers(-10**12, 10**12), st.integers(0, 12), st.integers(0, 12))
rationals = st.builds(Fraction, st.integers(-10**6, 10**6), st.integers(1, 10**4))


@settings(deadline=None)
@given(decimals)
def test_a_decimal_prints_as_its_exact_text(value: Fraction) -> None:
    text = decimal_text(value)
    assert Fraction(text) == value and Decimal(text) == Decimal(value.numerator) / Decimal(value.denominator)
    assert str(DecimalFraction(value)) == text
    assert "e" not in text.lower() and (text.count(".") == 0 or not text.endswith("0"))


@settings(deadline=None)
@given(decimals, st.one_of(decimals.map(DecimalFraction), rationals, st.integers(-1000, 1000)),
       st.sampled_from(["+", "-", "*", "/"]))
def test_decimal_arithmetic_is_fraction_arithmetic(a: Fraction, b: Any, op: str) -> None:
    if op == "/" and b == 0:
        return
    apply = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op]
    result, plain = apply(DecimalFraction(a), b), apply(a, b)
    assert result == plain and hash(result) == hash(plain)
    # The mark stays exactly while the result has a finite expansion and is not whole.
    assert isinstance(result, DecimalFraction) == (plain.denominator != 1 and terminates(plain.denominator))


@settings(deadline=None)
@given(decimals.filter(lambda v: v.denominator != 1))
def test_a_decimal_parameter_is_read_as_written_quoted_or_not(value: Fraction) -> None:
    text = decimal_text(value)
    quoted = parse_value(text, "params.x")
    assert quoted == value and str(quoted) == text
    as_float = float(text)
    digits = len(Decimal(text).as_tuple().digits)
    if repr(as_float) == text and digits <= 15:  # what YAML hands an unquoted number; more digits are refused
        assert parse_value(as_float, "params.x") == value


yaml_values = st.recursive(
    st.one_of(st.integers(-10**6, 10**6), st.text(max_size=20), st.booleans(), st.none()),
    lambda children: st.one_of(st.lists(children, max_size=5),
                               st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(yaml_values)
def test_measured_yaml_is_what_yaml_reads(document: Any) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    notices: list[str] = []
    assert parse_yaml(text, "f.yaml", notices) == yaml.safe_load(text)
    assert notices == []  # a dumped mapping never repeats a key


# Keys YAML reads back as written (it folds line breaks such as U+0085 inside a plain key).
keys = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, yaml_values, min_size=1, max_size=5), st.data())
def test_a_key_given_twice_is_told_and_the_last_one_wins(document: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(document)))
    text = yaml.safe_dump(document, allow_unicode=True) + yaml.safe_dump({key: "again"}, allow_unicode=True)
    notices: list[str] = []
    loaded = parse_yaml(text, "f.yaml", notices)
    assert loaded == yaml.safe_load(text) and loaded[key] == "again"
    assert len(notices) == 1 and notices[0].endswith("given twice in one mapping (also on line "
                                                     f"{_line_of(text, key)}); the last one is used")


def _line_of(text: str, key: str) -> int:
    """The line of the first top-level key `key` in a dumped document."""
    node = yaml.compose(text)
    return next(k.start_mark.line + 1 for k, _ in node.value if k.value == key)


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s[0] not in "=+-@")


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=5, unique=True),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_submissions_in_any_marked_encoding_read_the_same(students: list[str], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "sheet", "q1"])
    writer.writerows([name, f"QW-0-{i:04d}", "1"] for i, name in enumerate(students, 1))
    decoded = decode_bytes(buffer.getvalue().encode(encoding), "answers.csv")
    batch = parse_submissions(decoded, "answers.csv")
    assert [s.student for s in batch.submissions] == students and not batch.rejected


formula_leaves = st.sampled_from(["x", "y", "n_in", "2", "1/3", "pi"])
formulas = st.recursive(
    formula_leaves,
    lambda inner: st.one_of(st.builds("({}+{})".format, inner, inner), st.builds("{}*{}".format, inner, inner),
                            st.builds("{}^2".format, inner), st.builds("sqrt({})".format, inner)),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)  # the first call imports SymPy
@given(st.sampled_from(["x", "n_in", "pi"]), formulas)
def test_a_variable_before_a_parenthesis_is_a_product(name: str, inner: str) -> None:
    symbols = {"n_in": "positive_integer", "x": "real", "y": "real"}
    assert parse_formula(f"{name}({inner})", symbols) == parse_formula(f"{name}*({inner})", symbols)
