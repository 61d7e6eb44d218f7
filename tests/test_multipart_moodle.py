"""Multi-part exercises in Moodle XML: one Cloze question per variant, read back with Moodle's own
multianswer parsing (ported in tests/multianswer.py) and the emulated importer of test_moodle; a
group with a formula part as linked questions, one category per part."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from engine import api
from engine.export.moodle.cloze import outside_text, sub_text
from engine.export.moodle.questions import QuestionBuilder
from engine.generation.quiz import Quiz, Variant
from tests import multianswer
from tests.test_moodle import moodle_read, split_category_path

FIXTURES = Path(__file__).parent / "fixtures" / "multipart"


@pytest.fixture(scope="module")
def exported() -> tuple[bytes, Quiz]:
    data = api.export("moodle", [FIXTURES], seed=7, count=4).encode("utf-8")
    return data, api.quiz([FIXTURES], seed=7, count=4)


def _clozes(data: bytes) -> list[etree._Element]:
    return [q for q in etree.fromstring(data).iter("question") if q.get("type") == "multianswer"]


def test_moodles_importer_takes_the_export(exported: tuple[bytes, Quiz]) -> None:
    questions, errors = moodle_read(exported[0])
    assert errors == []
    kinds = [q.qtype for q in questions]
    # Each distinct question once: single (n in 3 values): 3 numerical; layer (formula part): 5 linked
    # parts x 4; layer-cloze: 4 Cloze; cloze-escaping (k in 2 values): 2.
    assert kinds.count("multianswer") == 6 and len(questions) == 3 + 20 + 6


def test_one_cloze_per_variant_with_a_sub_question_per_part(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    groups = {}
    for copy in quiz.copies:
        for v in copy.variants:
            if v.part is not None and v.exercise != "layer":
                groups.setdefault(v.id.rpartition(".")[0], []).append(v)
    builder = QuestionBuilder(quiz.bank.code)
    clozes = _clozes(data)
    assert {q.findtext("idnumber") for q in clozes} <= set(groups) and len(clozes) == 6
    for q in clozes:
        parts = groups[q.findtext("idnumber")]
        text, subs = multianswer.extract(q.findtext("questiontext/text"))
        assert multianswer.validate(subs) == []
        assert len(subs) == len(parts)
        assert [f"{{#{n}}}" in text for n in range(1, len(parts) + 1)] == [True] * len(parts)
        assert multianswer.SUBQUESTION.search(text) is None
        assert q.findtext("defaultgrade") == str(sum(v.points for v in parts))
        for sub, variant in zip(subs, parts, strict=True):
            assert sub.mark == str(variant.points)
            _same_part(sub, variant, builder)


def _same_part(sub: multianswer.SubQuestion, variant: Variant, builder: QuestionBuilder) -> None:
    """A sub-question as Moodle stores it holds the part's key, options and feedback exactly."""
    answer = variant.answer
    if answer.type in ("integer", "numeric"):
        assert sub.qtype == "numerical"
        right = sub.answers[0]
        assert right.fraction == 1 and all(a.fraction == 0 for a in sub.answers[1:])
        if answer.type == "integer":
            assert Decimal(right.text) == answer.value and Decimal(right.tolerance or "") == 0
        else:
            assert Decimal(right.text) == Decimal(answer.decimal)
            assert Decimal(right.tolerance or "") == Decimal(answer.absolute_tolerance)
        feedback = {builder.html(m.feedback) for m in variant.misconceptions}
        assert {a.feedback for a in sub.answers[1:]} <= feedback
        return
    assert sub.qtype == "multichoice" and sub.single and sub.layout == 5  # MULTICHOICE_V: as on the sheet
    assert [a.text for a in sub.answers] == [f"{'①②③④⑤⑥⑦⑧⑨⑩'[o.number - 1]} {builder.html_inline(o.text)}"
                                             for o in variant.options]
    assert [a.fraction for a in sub.answers] == [1.0 if o.correct else 0.0 for o in variant.options]
    assert [a.feedback for a in sub.answers] == [builder.html(o.feedback) if o.feedback else ""
                                                 for o in variant.options]


def test_text_that_looks_like_a_sub_question_stays_text(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    escaping = [q for q in _clozes(data) if q.findtext("idnumber").startswith("cloze-escaping")]
    text, subs = multianswer.extract(escaping[0].findtext("questiontext/text"))
    assert len(subs) == 3
    assert "&#123;#1}" in text and "&#123;2:NUMERICAL:=1}" in text
    texts = [a.text for a in subs[0].answers]
    assert any(t.endswith("\\(\\{1, 2\\}\\) with ~tilde~ and # hash") for t in texts)  # TeX's \\} kept
    assert any(t.endswith("a \\ backslash, a &quot;quote&quot;, a / slash &amp; an ampersand }") for t in texts)


def test_a_formula_part_makes_linked_questions(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    questions, _ = moodle_read(data)
    linked = [q for q in questions if (q.idnumber or "").startswith("layer.")]
    kinds = {q.category[-1]: q.qtype for q in linked}
    assert kinds == {"a": "numerical", "b": "numerical", "c": "essay", "d": "multichoice", "e": "truefalse"}
    # Each part has its own points and kind tag (part b is worth 2).
    assert {q.category[-1]: q.defaultmark for q in linked} == {"a": "1", "b": "2", "c": "1", "d": "1", "e": "1"}
    assert {q.category[-1]: next(t for t in q.tags if t.startswith("kind:")) for q in linked}["b"] == "kind:numeric"
    by_category: dict[str, list[str]] = {}
    for q in linked:
        by_category.setdefault(q.category, []).append(q.idnumber or "")
    assert sorted(by_category) == [f"$course$/top/Multi-part fixture/One dense layer, five questions/Part {x}"
                                   for x in "abcde"]
    for category, ids in by_category.items():
        label = category[-1]
        assert split_category_path(category)[-1] == f"Part {label}"
        assert ids == [f"layer.7.{n}.{label}" for n in range(1, 5)]
    info = etree.fromstring(data).xpath("//question[@type='category'][contains(category/text, 'Part a')]/info/text")
    assert "Cloze question cannot check a formula" in info[0].text


def test_the_category_says_cloze(exported: tuple[bytes, Quiz]) -> None:
    info = etree.fromstring(exported[0]).xpath("//question[@type='category'][contains(category/text, "
                                               "'Counting a layer')]/info/text")
    assert "multianswer (Cloze)" in info[0].text


def test_a_cloze_question_tags_its_kind_as_multipart(exported: tuple[bytes, Quiz]) -> None:
    tags = [t.text for t in _clozes(exported[0])[0].iter("text") if t.getparent().tag == "tag"]
    assert "kind:multipart" in tags


TEXT = st.text(alphabet=st.sampled_from(list("ab &;#~}{\\/\"'<>:=%0123456789\n")), min_size=1, max_size=40)


@given(answer=TEXT, feedback=TEXT, other=TEXT)
def test_sub_question_texts_survive_moodles_parsing(answer: str, feedback: str, other: str) -> None:
    cloze = f"{outside_text(other)}{{2:MULTICHOICE_V:={sub_text(answer)}#{sub_text(feedback)}~%0%{sub_text(other)}}}"
    text, subs = multianswer.extract(cloze)
    assert len(subs) == 1 and text.endswith("{#1}")
    assert [(a.text, a.fraction, a.feedback) for a in subs[0].answers] == [(answer, 1.0, feedback), (other, 0.0, "")]


@given(text=TEXT)
def test_outside_text_holds_no_sub_question(text: str) -> None:
    assert multianswer.SUBQUESTION.search(outside_text(text)) is None


def test_a_cloze_question_has_a_hint_for_interactive_mode(exported: tuple[bytes, Quiz]) -> None:
    assert all(q.find("hint/text") is not None and q.findtext("hint/text") for q in _clozes(exported[0]))
