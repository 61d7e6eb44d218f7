"""Text read without Jinja renders, and names what it reads, exactly as Jinja does."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import meta

from engine.authoring.text import (
    _RUN_FILTERS,
    PRINTING_FILTERS,
    TextError,
    compile_text,
    text_environment,
)

CONTEXT = {"a": 3, "b": 12, "n_in": 4, "self": 1, "true": 2, "range": 5, "loop": 6}
NAMES = st.sampled_from(["a", "b", "n_in", "self", "true", "None", "range", "loop", "missing", "é", "a.b"])
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", "\u3000", "-", "+"])
FILTER = st.sampled_from(["", "|num", "| num(3)", "|num( 0 )", "|latex", "| circled", "|num()", "|upper",
                          "|num(03)", "|num(1_0)"])
PRINTED = st.builds(lambda s1, name, s2, fn, s3: f"[[{s1}{name}{s2}{fn}{s3}]]", SPACE, NAMES, SPACE, FILTER, SPACE)
OPERAND = st.one_of(NAMES, st.sampled_from(["0", "2", "07", "1_0", "2.5", "-1"]))
# ("/" is refused on purpose: it divides in floating point.)
OPERATOR = st.sampled_from(["+", "-", "*", "**", "//", "%", "~", "* *"])
ARITHMETIC = st.builds(lambda s1, a, s2, op, s3, b, s4: f"[[{s1}{a}{s2}{op}{s3}{b}{s4}]]",
                       SPACE, OPERAND, SPACE, OPERATOR, SPACE, OPERAND, SPACE)
LITERAL = st.sampled_from(["x", " ", "\n", "\r\n", "\r", "]]", "[", "]", "{{ a }}", "{%", "}", "$\\frac{1}{2}$",
                           "[%", "[# c #]", "%]", "[[", "é"])
SOURCES = st.lists(st.one_of(PRINTED, ARITHMETIC, LITERAL), max_size=6).map("".join)


def _jinja(source: str) -> tuple[Any, ...]:
    env = text_environment()
    try:
        names = set(meta.find_undeclared_variables(env.parse(source)))
        template = env.from_string(source)
    except Exception:  # noqa: BLE001 - any failure to compile
        return ("does not compile",)
    try:
        return template.render({**CONTEXT, _RUN_FILTERS: PRINTING_FILTERS}), names
    except Exception as exc:  # noqa: BLE001 - any failure, compared by message with ours
        return ("fails", str(exc)), names


def _ours(source: str) -> tuple[Any, ...]:
    try:
        text, names = compile_text(source)
    except TextError:
        return ("does not compile",)
    try:
        return text.render(CONTEXT), names
    except Exception as exc:  # noqa: BLE001 - any failure, compared by message with Jinja's
        return ("fails", str(exc)), names


@settings(max_examples=1500, deadline=None)
@given(SOURCES)
def test_text_renders_as_jinja_renders_it(source: str) -> None:
    assert _ours(source) == _jinja(source)


def test_self_is_the_template_not_a_parameter() -> None:
    assert _ours("[[ self ]]") == _jinja("[[ self ]]")
