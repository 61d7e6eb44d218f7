"""printing.Printer: a run's memoised printing prints exactly as the plain functions do."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.language import printing
from engine.language.printing import Printer
from engine.language.symbolic import sympy
from engine.language.values import Surd, _rational_sqrt

VALUES = st.one_of(st.integers(-10**6, 10**6), st.fractions(max_denominator=10**4),
                   st.builds(Surd, st.fractions(max_denominator=100).filter(bool), st.sampled_from([2, 3, 5, 6, 1254])))


@given(values=st.lists(VALUES, max_size=8))
def test_printer_prints_as_the_plain_functions(values: list[object]) -> None:
    printer = Printer()
    for _ in range(2):  # the second round reads the memos
        for value in values:
            assert printer.latex(value) == printing.latex(value)
            assert printer.exact(value) == printing.exact(value)
            assert printer.num(value, 3) == printing.num(value, 3)
            assert printer.significant(value, 20) == printing.significant(value, 20)
            assert printer.approximate(value, 40) == printing.approximate(value, 40)


def test_num_prints_integers_longer_than_the_default_precision() -> None:
    assert printing.num(10**25, 3) == "1" + "0" * 25 + ".000"
    assert printing.num(-(10**30) - 7, 0) == "-" + "1" + "0" * 29 + "7"


def test_printer_tells_equal_values_of_other_types_apart() -> None:
    printer = Printer()
    assert printer.latex(1) == "1"
    assert printer.latex(True) == r"\text{true}"
    assert printer.exact(sympy().Integer(2) / 3) == "2/3"


def test_printer_memos_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Printer, "LIMIT", 8)
    printer = Printer()
    for n in range(100):
        assert printer.num(Fraction(n, 7), 2) == printing.num(Fraction(n, 7), 2)
    assert 0 < len(printer._num) <= 8


@pytest.mark.parametrize("n", [*range(0, 300), 2 * 9973**2, 3 * 7919**2 * 4, 9973 * 9967, 49999**2 * 6, 10**10 + 1])
@pytest.mark.parametrize("d", [1, 2, 9, 12, 49])
def test_rational_sqrt_is_sympys(n: int, d: int) -> None:
    value = Fraction(n, d)
    assert printing.exact(_rational_sqrt(value)) == str(sympy().sqrt(sympy().Rational(n, d)))
