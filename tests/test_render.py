"""Exercise text: the direct join of simple text gives exactly what a Jinja render gives."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import jinja2.meta
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import api
from engine.authoring import text as render
from engine.authoring.text import compile_text
from engine.language.values import Surd
from engine.paths import bundled_bank

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "weight-init-4"


@pytest.mark.parametrize("bank", [bundled_bank(), BENCH], ids=["bundled", "weight-init-4"])
def test_direct_join_equals_jinja_render_on_real_banks(bank: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = api.bank([bank])
    texts = [t for ex in compiled.exercises for t in (ex.question, ex.explanation)]
    assert any(t.pieces is not None for t in texts), "no text takes the direct path"
    fast = api.export("json", [bank], seed=5, count=12)
    monkeypatch.setattr(render, "_pieces", lambda tree: None)
    monkeypatch.setattr(render, "_simple_pieces", lambda source: None)
    assert api.export("json", [bank], seed=5, count=12) == fast


VALUES = st.one_of(st.integers(), st.fractions(), st.booleans(), st.text(max_size=5),
                   st.builds(Surd, st.fractions().filter(bool), st.sampled_from([2, 3, 5, 6, 7, 10, 1254])))


@given(a=VALUES, b=st.one_of(st.integers(0, 5), st.fractions(min_value=0, max_value=9)))
def test_direct_join_equals_jinja_render(a: object, b: object) -> None:
    source = "A=[[ a ]], $[[ b | latex ]]$ ≈ [[ b | num(3) ]] [[ 3 | circled ]]\n[# note #]x [[a]]\n\n"
    text, names = compile_text(source)
    assert names == {"a", "b"}
    plain = compile_text("[[ a ]] and $\\frac{1}{[[ b | latex ]]}$ then {[[ b | num(3) ]]}} {0} {{\n")[0]
    assert plain.pieces is not None
    for t in (text, plain):
        assert t.render({"a": a, "b": b}) == t.template.render({"a": a, "b": b})


@given(a=st.one_of(st.integers(), st.fractions()), b=st.one_of(st.integers(-5, 5), st.fractions(max_value=9)))
def test_direct_arithmetic_equals_jinja_render(a: object, b: object) -> None:
    text, names = compile_text("[[ a + b ]], [[a-b]], [[ a * 2 ]], [[ b**2 ]]^{2} [[ 3 - a ]]")
    assert text.pieces is not None and names == {"a", "b"}
    assert text.render({"a": a, "b": b}) == text.template.render({"a": a, "b": b})


# Fragments of exercise text: printed names as authors write them, near misses, and literal text
# with brackets, braces and line breaks.
_FRAGMENTS = st.sampled_from([
    "[[ a ]]", "[[a]]", "[[\ta\n]]", "[[ b | latex ]]", "[[ b|num(3) ]]", "[[ b | num( 12 ) ]]", "[[ b | circled ]]",
    "[[ true ]]", "[[ None ]]", "[[ not ]]", "[[ range ]]", "[[ if ]]", "[[ a.real ]]", "[[- a ]]", "[[ a -]]", "[[ b | num(07) ]]",
    "[[ b | num(n) ]]", "[[ b | upper ]]", "[[ a + b ]]", "[[a**2]]", "[[ 2 - a ]]", "[[ b * b ]]", "[[ a*-1 ]]",
    "[[ a + self ]]", "[[ a + true ]]", "[[ a + b + 1 ]]", "[[ a - b -]]", "[[ a ]", "[[", "]]", "[", "]", "[%", "%]", "[#", "#]", "{", "}",
    "{0}", "\n", "\r\n", "\r", " ", "x", "$\\frac{1}{2}$", "é", "-", "|",
])


@given(st.lists(_FRAGMENTS, max_size=8).map("".join))
def test_text_read_without_jinja_is_read_as_jinja_reads_it(source: str) -> None:
    simple = render._simple_pieces(source)
    if simple is None:
        return
    tree = render.text_environment().parse(source)
    assert simple == render._pieces(tree)
    text, names = compile_text(source)
    assert names == set(jinja2.meta.find_undeclared_variables(tree))
    context = {"a": Fraction(-7, 3), "b": 2}
    assert text.render(context) == render.text_environment().from_string(source).render(context)


def test_jinjas_globals_are_left_to_jinja() -> None:
    assert set(render.text_environment().globals) <= render._JINJA_WORDS


@pytest.mark.parametrize("source", [
    "[% if a %]yes[% endif %]", "[[ a + 1 + a ]]", "[[ -a ]]", "[[ a.real ]]", "[[ a | num(n) ]]", "[[ range(2) | list ]]",
])
def test_other_text_is_rendered_by_jinja(source: str) -> None:
    text, _ = compile_text(source)
    assert text.pieces is None
    assert text.render({"a": 1, "n": 2}) == text.template.render({"a": 1, "n": 2})


def test_missing_name_gets_jinjas_error() -> None:
    text, _ = compile_text("[[ a ]] [[ b ]]")
    with pytest.raises(Exception, match="'b' is undefined"):
        text.render({"a": Fraction(1, 2)})


class _Counting:
    """Filters that print like the plain ones and count their calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.filters = {name: self._counted(fn) for name, fn in render.PRINTING_FILTERS.items()}

    def _counted(self, fn: Callable[..., str]) -> Callable[..., str]:
        def apply(*args: object) -> str:
            self.calls += 1
            return fn(*args)

        return apply


@pytest.mark.parametrize("source", ["$[[ b | latex ]]$ ≈ [[ b | num(3) ]]", "[% if a %]$[[ b | latex ]]$ ≈ [[ b | num(3) ]][% endif %]"])
def test_render_prints_with_the_filters_it_is_given(source: str) -> None:
    text, _ = compile_text(source)
    counting = _Counting()
    context = {"a": 1, "b": Fraction(1, 3)}
    assert text.render(context, counting.filters) == text.render(context) == "$\\frac{1}{3}$ ≈ 0.333"
    assert counting.calls == 2


@pytest.mark.parametrize(("source", "context", "message"), [
    ("[[ a ]] [[ b ]]", {"a": 1}, "undefined template variable: 'b' is undefined"),
    ("[% if a %][[ b ]][% endif %]", {"a": 1}, "undefined template variable: 'b' is undefined"),
    ("[[ a.__class__ ]]", {"a": 1}, "cannot render: access to attribute '__class__' of 'int' object is unsafe."),
    ("[[ a | num(2) ]]", {"a": "x"}, "cannot render: "),
])
def test_a_text_that_fails_to_render_names_its_field(source: str, context: dict[str, object], message: str) -> None:
    from engine.errors import TemplateError
    from engine.generation.solving import render as render_text
    from engine.language.printing import Printer

    exercise = api.bank([BENCH]).exercises[0]
    with pytest.raises(TemplateError) as info:
        render_text(exercise, compile_text(source)[0], ["question"], context, Printer())
    assert info.value.field == "question" and info.value.message.startswith(message), info.value.message
