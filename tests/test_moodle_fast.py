"""Skeleton rendering of Moodle questions: the same bytes as rendering question.xml.j2 directly.

`QuestionWriter` renders templates/moodle/question.xml.j2 once per question shape, with slots for
the data fields, and fills the slots per question. These tests compare it, byte for byte, with a
direct Jinja render of the template for every variant of the bundled bank, the benchmark bank
and the Moodle fixtures, and for hand-made questions with hostile texts; and check that a
template using a data field for control flow fails loudly instead of giving a wrong skeleton.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from engine import api
from engine.export import skeleton as skeleton_mod
from engine.export.figures import Drawings
from engine.export.moodle import questions, render
from engine.export.moodle import writer as moodle_writer
from engine.export.moodle import xml as moodle_xml
from engine.export.moodle.figures import Embedder, shows_plots
from engine.export.moodle.questions import MoodleQuestion
from engine.files import output_environment

ROOT = Path(__file__).resolve().parent.parent
# The bundled bank as its exercise files, without its bank.yaml's slots: every sheet then holds every
# exercise, in the same place, as these tests read the copies. Its multi-part exercises are one Cloze
# question per variant, not one per part: tests/test_multipart.py renders them.
BUNDLED_FILES = sorted(p for p in (ROOT / "exercises" / "weight-initialization").glob("*.yaml")
                       if p.name != "bank.yaml" and "\nkind: multipart\n" not in p.read_text(encoding="utf-8"))
BANKS = {
    "bundled": BUNDLED_FILES,
    "weight-init-4": [ROOT / "benchmarks" / "weight-init-4"],
    "moodle-fixtures": [ROOT / "tests" / "fixtures" / "moodle"],
}


def direct(q: MoodleQuestion) -> str:
    """The reference: question.xml.j2 rendered by Jinja for `q`."""
    return template().render({"cdata": moodle_xml.cdata, "text": moodle_xml.text}, q=q)


TEMPLATE = output_environment().get_template(render.QUESTION_TEMPLATE)
RENDERER = render.QuestionRenderer(TEMPLATE)  # its skeletons serve every test, as in one export


def template() -> jinja2.Template:
    return TEMPLATE


def render_question(q: MoodleQuestion) -> str:
    return RENDERER.render(q)


# -- every variant of the banks ----------------------------------------------------------------


@pytest.mark.parametrize("bank", list(BANKS))
@pytest.mark.parametrize("seed", [0, 7, 123])
def test_every_variant_renders_as_the_template_does(bank: str, seed: int) -> None:
    generated = api.generate(BANKS[bank], seed=seed, count=5)
    builder = questions.QuestionBuilder(generated.header.bank.code)
    renderer = render.QuestionRenderer(template())
    checked = 0
    for copy in generated.copies:
        for variant in copy.variants:
            q = builder.build(variant)
            assert renderer.render(q) == direct(q), variant.id
            checked += 1
    assert checked == 5 * len(generated.header.exercises)


@pytest.mark.parametrize(("bank", "count"), [("moodle-fixtures", 4), ("weight-init-4", 30), ("bundled", 40)])
def test_reused_questions_equal_the_template_per_variant(bank: str, count: int) -> None:
    # With more variants asked than exist, repeated variants reuse their first XML.
    generated = api.generate(BANKS[bank], seed=3, count=count)
    builder = questions.QuestionBuilder(generated.header.bank.code)
    renderer = render.QuestionRenderer(template())
    exercises = [moodle_writer.ExerciseQuestions(builder, renderer, s) for s in generated.header.exercises]
    embedder = Embedder(Drawings())
    for copy in generated.copies:
        for k, variant in enumerate(copy.variants):
            q = builder.build(variant)
            if shows_plots(variant):  # the bundled bank's plots: embedded, as the writer embeds them
                embedder.embed(q, variant)
            assert exercises[k].xml(variant) == direct(q), variant.id
    assert any(e.reuse for e in exercises) or bank == "moodle-fixtures"


# -- hand-made questions with hostile texts ------------------------------------------------------

HOSTILE = ["]]>", "]]", "]>", "&", "<", ">", '"', "'", "%s", "%", "{{ x }}", "\x00", "\x01", "\x0b",
           "\ufffe", "\uffff", "\n", "\r\n", "\t", " ", "é", "€", "𝔛", "<![CDATA[", "&amp;", "\x00 0\x00",
           "\x000'a\x00", "\ud800", "\udfff"]  # fmt: skip
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=12).map(
    "".join
)
long_text = st.integers(min_value=200, max_value=400).map(lambda n: "a]]>&<" * n)
field_text = st.one_of(hostile_text, long_text, st.just(""), hostile_text.map(Markup))

answers = st.builds(
    questions.MoodleAnswer,
    fraction=field_text,
    text=field_text,
    feedback=field_text,
    html=st.booleans(),
    tolerance=st.one_of(st.none(), field_text),
)
any_question = st.builds(
    questions.MoodleQuestion,
    name=field_text,
    idnumber=field_text,
    questiontext=field_text,
    generalfeedback=field_text,
    defaultgrade=field_text,
    tags=st.lists(field_text, max_size=8),
    type=st.sampled_from(["multichoice", "truefalse", "numerical", "essay", "", "other"]),
    penalty=field_text,
    answers=st.lists(answers, max_size=5),
    shuffleanswers=st.booleans(),
    graderinfo=field_text,
    hints=st.lists(field_text, max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=any_question)
def test_hostile_questions_render_as_the_template_does(q: MoodleQuestion) -> None:
    assert render_question(q) == direct(q)


@pytest.mark.parametrize(
    "q",
    [
        questions.MoodleQuestion(
            name="Essay: a < b & c > d ]]> " + "x" * 300,
            idnumber="essay.1.0",
            questiontext="<p>Write it.</p> <p><em>note</em></p>",
            generalfeedback="",
            defaultgrade="1",
            tags=["quizwright", "x&y", "<tag>"],
            type="essay",
            penalty=questions.ESSAY_PENALTY,
            graderinfo="<p>Correct answer: \\(a\\) (<code>a &amp; b</code>)</p> ]]> \x01",
        ),
        questions.MoodleQuestion(
            name="Formula",
            idnumber="f.1.2",
            questiontext="<p>Pick one.</p>",
            generalfeedback="<p>Because ]]>.</p>",
            defaultgrade="2",
            tags=[],
            type="multichoice",
            penalty="0.5",
            answers=[
                questions.MoodleAnswer("100", "\\(\\frac{2}{n}\\)", "", html=True),
                questions.MoodleAnswer("0", "\\(n < 2\\)", "<p>No &amp; no.</p>", html=True),
                questions.MoodleAnswer("0", "\\(x\\)", "", html=True),
            ],
            shuffleanswers=True,
        ),
        questions.MoodleQuestion(
            name="Numerical & co",
            idnumber="n.1.0",
            questiontext="",
            generalfeedback="",
            defaultgrade="1",
            tags=["a"],
            type="numerical",
            penalty=questions.NUMERICAL_PENALTY,
            answers=[
                questions.MoodleAnswer("100", "0.5", "", tolerance="0.005"),
                questions.MoodleAnswer("0", "-2", "<p>Sign.</p>", tolerance="0"),
            ],
        ),
    ],
    ids=["essay-graderinfo", "formula-multichoice-shuffled", "numerical"],
)
def test_hand_made_questions(q: MoodleQuestion) -> None:
    assert render_question(q) == direct(q)
    skeleton = render.QuestionRenderer(template()).skeleton(render.question_shape(q))
    assert skeleton.fill(render.question_values(q)) == direct(q)


# -- the transforms equal the helpers they stand for ------------------------------------------------


def legacy_xml_chars(text: str) -> str:
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]", "\ufffd", text)


def legacy_cdata(text: str) -> Markup:
    """cdata() as it was before skeletons."""
    text = legacy_xml_chars(text)
    if not text:
        return Markup("")
    return Markup("<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>")


def legacy_text(value: str) -> Markup:
    """text() as it was before skeletons."""
    value = legacy_xml_chars(value)
    return legacy_cdata(value) if any(c in value for c in "&<>") else Markup(value)


any_text = st.one_of(hostile_text, st.text(), hostile_text.map(Markup), st.text().map(Markup))


@given(value=any_text)
def test_transforms_equal_the_helpers(value: str) -> None:
    assert moodle_xml.text(value) == legacy_text(value) == moodle_xml.text_str(value)
    assert moodle_xml.cdata(value) == legacy_cdata(value) == moodle_xml.cdata_str(value)
    assert type(moodle_xml.text_str(value)) is str and type(moodle_xml.cdata_str(value)) is str
    assert skeleton_mod.escape_str(value) == str(escape(value))
    for name, (helper, transform) in render.QUESTION_HELPERS.items():
        assert str(helper(value)) == transform(value), name


def test_surrogates_are_replaced() -> None:
    for value in ("a\ud800b", "\udfff", "x\ud83dy"):
        assert moodle_xml.text_str(value) == legacy_text(value)
        assert moodle_xml.cdata_str(value) == legacy_cdata(value)


@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
        st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{0,5})?", fullmatch=True),
    )
)
def test_plain_decimal_is_idempotent(value: str) -> None:
    plain = moodle_xml.plain_decimal(value)
    assert moodle_xml.plain_decimal(plain) == plain
    assert moodle_xml.plain_decimal(Decimal(plain)) == plain  # why the numerical path reuses it


# -- the skeleton machinery on other templates, and its guards --------------------------------------------


def env(autoescape: bool = True) -> jinja2.Environment:
    return jinja2.Environment(
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


SHAPE: render.QuestionShape = ("essay", (False, True), ((False, True), (True, False)), 2, 1)


def skeleton(source: str, autoescape: bool = True) -> skeleton_mod.Skeleton:
    return skeleton_mod.compile_skeleton(
        env(autoescape).from_string(source),
        lambda slot: render.question_context(SHAPE, slot),
        render.QUESTION_HELPERS,
    )


@pytest.mark.parametrize(
    ("source", "used"),
    [
        ("{% if q.graderinfo %}<g>{{ cdata(q.graderinfo) }}</g>{% endif %}", "q.graderinfo"),
        ("{% if not q.name %}none{% endif %}", "q.name"),
        ('{{ "x" if q.penalty == "0" else "y" }}', "q.penalty"),
        ('{% if q.defaultgrade != "1" %}x{% endif %}', "q.defaultgrade"),
        ("{% if q.answers[1].tolerance > '0' %}x{% endif %}", "q.answers[1].tolerance"),
        ("{{ q.tags[0]|length }}", "q.tags[0]"),
        ("{% for c in q.idnumber %}{{ c }}{% endfor %}", "q.idnumber"),
        ("{% if 'a' in q.name %}x{% endif %}", "q.name"),
        ("{{ q.name.upper() }}", "q.name"),
        ("{{ q.questiontext[0] }}", "q.questiontext"),
        (
            "{% if q.answers[0].feedback and q.type == 'essay' %}x{% endif %}",
            "q.answers[0].feedback",
        ),
    ],
)
def test_a_data_field_in_control_flow_fails_loudly(source: str, used: str) -> None:
    with pytest.raises(skeleton_mod.SkeletonError, match=re.escape(used)):
        skeleton(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ text(q.name ~ '!') }}",  # a helper given computed text: its token would be lost
        "{{ cdata(q.name, 1) }}",
        "{{ (q.name ~ '')|replace('0', '1') }}{{ q.penalty }}",  # a token altered by a filter
    ],
)
def test_slots_used_beyond_output_fail_loudly(source: str) -> None:
    with pytest.raises(skeleton_mod.SkeletonError):
        skeleton(source)


def shaped_question(**fields: object) -> MoodleQuestion:
    base = dict(
        name="N & <n> ]]>",
        idnumber="id.1.0",
        questiontext="<p>q</p>",
        generalfeedback="",
        defaultgrade="1",
        tags=["t<1>", "t2"],
        type="essay",
        penalty="0",
        answers=[
            questions.MoodleAnswer("100", "a & b", "<p>f</p>", html=False),
            questions.MoodleAnswer("0", "<b>x</b>", "", html=True, tolerance="0.5"),
        ],
        graderinfo="<p>g ]]></p>",
        hints=["<p>h ]]></p>"],
    )
    base.update(fields)
    return questions.MoodleQuestion(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize(
    "source",
    [
        "",
        "%s %% {{ q.name }} %(x)s",
        '<q t="{{ q.type }}">{{ text(q.name) }}|{{ q.name }}|{{ cdata(q.graderinfo) }}'
        "{% for a in q.answers %}[{{ a.fraction }}{% if a.html %} h{% endif %}"
        "{{ cdata(a.text) if a.html else text(a.text) }}"
        "{% if a.tolerance is not none %}~{{ a.tolerance }}{% endif %}]{% endfor %}"
        "{% for t in q.tags %}<t>{{ text(t) }}</t>{{ loop.index }}{% endfor %}"
        "{{ text('const & <x>') }}{{ q.name ~ '&' }}</q>",
        # str() first, escaped afterwards by autoescape (or not, without it)
        "{{ q.name|e }} {{ q.name|string }} {{ '%s!' % q.name }} {{ [q.name, q.penalty]|join('&') }}",
    ],
    ids=["empty", "percent-signs", "fields", "converted"],
)
def test_other_templates_fill_like_direct_renders(source: str, autoescape: bool) -> None:
    q = shaped_question()
    assert render.question_shape(q) == SHAPE
    expected = (
        env(autoescape)
        .from_string(source)
        .render({"cdata": moodle_xml.cdata, "text": moodle_xml.text}, q=q)
    )
    assert skeleton(source, autoescape).fill(render.question_values(q)) == expected


def test_skeletons_are_cached_per_shape() -> None:
    q = shaped_question()
    renderer = render.QuestionRenderer(template())
    first = renderer.skeleton(render.question_shape(q))
    assert renderer.skeleton(render.question_shape(q)) is first
    other = shaped_question(tags=["only"])
    assert renderer.skeleton(render.question_shape(other)) is not first


def test_bound_skeletons_fill_like_the_unbound_one() -> None:
    q = shaped_question(tags=["a & b", "c"], penalty="0.5", defaultgrade="2")
    whole = render.QuestionRenderer(template()).skeleton(render.question_shape(q))
    first_tag = len(render.question_values(q)) - len(q.tags)
    bound = whole.bind({4: "2", 5: "0.5", first_tag: "a & b", first_tag + 1: "c"})
    assert len(bound.slots) == len(whole.slots) - 4
    for name in ("x", "y <&> ]]>", ""):
        other = shaped_question(name=name, tags=["a & b", "c"], penalty="0.5", defaultgrade="2")
        values = render.question_values(other)
        assert bound.fill(values) == whole.fill(values)


def test_a_renderer_binds_each_exercises_constants_apart() -> None:
    # Equal keys, different bytes: a Markup penalty is not escaped again, a str one is.
    renderer = render.QuestionRenderer(template())
    for q in (shaped_question(penalty="<1>"), shaped_question(penalty=Markup("<1>")),
              shaped_question(tags=["other"]), shaped_question(defaultgrade="3")):
        assert renderer.render(q) == direct(q)
