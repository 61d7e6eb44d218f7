"""Moodle XML export: well-formed, accepted by Moodle's importer question for question, and equal
to the JSON key.

Besides strict XML parsers, the file is read the way Moodle reads it: `moodle_read` ports the
parts of Moodle's import code that decide what a question becomes (lib/classes/xml_parser.php,
which drops whitespace-only pieces of character data; question/format/xml/format.php
import_headers/import_category/import_multichoice/import_truefalse/import_numerical; the grade
check of question/format.php importprocess), and `moodle_interval` ports
question/type/numerical/question.php get_tolerance_interval (nominal tolerance) with PHP's
float semantics and the 14-digit `precision` Moodle's database layer stores floats with.

Golden files: tests/golden/moodle/<fixture>.xml, one per kind, compared byte for byte;
`UPDATE_GOLDEN=1 python -m pytest tests/test_moodle.py` rewrites them.
"""

from __future__ import annotations

import html
import pyexpat
import re
import xml.dom.minidom
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import api
from engine.errors import UsageError
from engine.export.formats import writer
from engine.export.html import tex_html
from engine.export.moodle import questions
from engine.export.moodle import writer as moodle_writer
from engine.export.moodle import xml as moodle_xml
from engine.files import atomic_outputs
from engine.generation.quiz import Variant
from engine.language.exact import compile_expr
from engine.language.printing import significant
from tests import multianswer
from tests.golden import assert_golden

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "moodle"
GOLDEN = HERE / "golden" / "moodle"
KIND_FIXTURES = [
    "concept",
    "scenario",
    "choice",
    "true-false",
    "integer",
    "numeric",
    "numeric-absolute",
    "formula",
    "formula-essay",
    "escaping",
]
# Grades question_bank::fraction_options_full() lists (percent), positive and negative.
ACCEPTED = [Decimal(f) for f in questions.MOODLE_FRACTIONS] + [
    -Decimal(f) for f in questions.MOODLE_FRACTIONS[:-1]
]
PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
PHP_WHITESPACE = " \t\n\r\0\x0b"


# -- Moodle's reading of the file, ported -------------------------------------------------------


@dataclass
class Node:
    attrs: dict[str, str]
    children: dict[str, list[Node]] = field(default_factory=dict)
    pieces: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def moodle_parse(data: bytes) -> Node:
    """core\\xml_parser::parse($data, 0, 'UTF-8', true): expat fed 4096-byte chunks; a piece of
    character data is kept only if it is "0" or not whitespace (its `characterdata()`)."""
    root = Node({})
    stack = [root]

    def start(name: str, attrs: dict[str, str]) -> None:
        node = Node(dict(attrs))
        stack[-1].children.setdefault(name, []).append(node)
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if data == "0" or data.strip(PHP_WHITESPACE) != "":
            stack[-1].pieces.append(data)

    parser = pyexpat.ParserCreate("UTF-8")
    parser.buffer_text = False  # PHP's xml extension hands over every piece expat reports
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = (
        start,
        end,
        chars,
    )
    data = data.strip(PHP_WHITESPACE.encode())
    for i in range(0, len(data), 4096):
        parser.Parse(data[i : i + 4096], False)
    parser.Parse(b"", True)
    return root


def getpath(node: Node, *path: str, default: Any = None, text: bool = True) -> Any:
    """qformat_xml::getpath for paths ending in an element's text (trimmed when `text`)."""
    for name in path:
        if name not in node.children:
            return default
        node = node.children[name][0]
    return node.text.strip(PHP_WHITESPACE) if text else node.text


@dataclass
class ImportedAnswer:
    text: str
    fraction: float
    feedback: str
    feedback_format: str
    tolerance: str | None = None
    text_format: str | None = None


@dataclass
class Imported:
    qtype: str
    category: str
    name: str
    questiontext: str
    questiontext_format: str
    generalfeedback: str
    idnumber: str | None
    defaultmark: str
    penalty: str
    tags: list[str]
    answers: list[ImportedAnswer]
    options: dict[str, str]
    xml: Node
    stored_category: list[str] = field(default_factory=list)  # the names Moodle stores, PARAM_TEXT-cleaned
    hints: list[str] = field(default_factory=list)


def text_with_format(node: Node, *path: str, default_format: str = "html") -> tuple[str, str]:
    """import_text_with_files: the text (trimmed) and the format attribute (default html)."""
    target: Node | None = node
    for name in path:
        target = target.children[name][0] if target and name in target.children else None
    if target is None:
        return "", default_format
    return getpath(target, "text", default=""), target.attrs.get("format", default_format)


def moodle_read(data: bytes) -> tuple[list[Imported], list[str]]:
    """The questions Moodle would store and the errors it would report, in file order."""
    root = moodle_parse(data)
    questions: list[Imported] = []
    errors: list[str] = []
    category = ""
    for q in root.children["quiz"][0].children.get("question", []):
        qtype = q.attrs["type"]
        if qtype == "category":
            category = getpath(q, "category", "text")
            if "info" in q.children and "format" not in q.children["info"][0].attrs:
                errors.append("category info without a format attribute")
            continue
        if qtype not in (
            "multichoice",
            "truefalse",
            "numerical",
            "essay",
            "shortanswer",
            "description",
            "multianswer",
        ):
            errors.append(f"xmltypeunsupported: {qtype}")
            continue
        # qformat_default::clean_question_name: clean_param(PARAM_TEXT), then trim.
        name = php_strip_tags(getpath(q, "name", "text") or "").strip(PHP_WHITESPACE)
        if not name:
            errors.append("xmlimportnoname")
        qtext, qformat = text_with_format(q, "questiontext")
        gtext, _ = text_with_format(q, "generalfeedback")
        if qtype == "multianswer":  # import_multianswer: the parts are read from the text (tests/multianswer.py)
            errors += [f"{name}: {error}" for error in multianswer.validate(multianswer.extract(qtext)[1])]
        answers = []
        for a in q.children.get("answer", []):
            if "fraction" not in a.attrs:
                errors.append(f"{name}: answer without fraction")
            feedback, feedback_format = text_with_format(a, "feedback")
            answers.append(
                ImportedAnswer(
                    text=getpath(a, "text", default=""),
                    fraction=float(a.attrs.get("fraction", 0)) / 100,
                    feedback=feedback,
                    feedback_format=feedback_format,
                    tolerance=getpath(a, "tolerance", text=False),
                    text_format=a.attrs.get("format"),
                )
            )
        # question/format.php importprocess: every fraction must match a grade option (within 0.001).
        for a in answers:
            if not any(
                abs(Decimal(str(a.fraction * 100)) - g) <= Decimal("0.001") for g in ACCEPTED
            ):
                errors.append(f"{name}: invalidgrade {a.fraction}")
        options = {
            key: getpath(q, key)
            for key in (
                "single",
                "shuffleanswers",
                "answernumbering",
                "showstandardinstruction",
                "unitgradingtype",
                "showunits",
                "unitsleft",
                "responseformat",
                "responsefieldlines",
                "responserequired",
            )
            if key in q.children
        }
        if qtype == "essay":
            options["graderinfo"] = text_with_format(q, "graderinfo")[0]
        tags = (
            [getpath(t, "text") for t in q.children["tags"][0].children.get("tag", [])]
            if "tags" in q.children
            else []
        )
        questions.append(
            Imported(
                qtype=qtype,
                category=category,
                name=name,
                questiontext=qtext,
                questiontext_format=qformat,
                generalfeedback=gtext,
                idnumber=getpath(q, "idnumber", text=False),
                defaultmark=getpath(q, "defaultgrade", default="1", text=False),
                penalty=getpath(q, "penalty", default="0.3333333", text=False),
                tags=tags,
                answers=answers,
                options=options,
                xml=q,
                stored_category=[php_strip_tags(part) for part in split_category_path(category)],
                # import_hints: each <hint>'s text, trimmed (import_text_with_files)
                hints=[getpath(h, "text", default="") for h in q.children.get("hint", [])],
            )
        )
        if qtype == "multichoice" and len([a for a in answers if a.text]) < 2:
            errors.append(f"{name}: notenoughanswers")
        if qtype == "truefalse" and sorted(a.text for a in answers) != ["false", "true"]:
            errors.append(f"{name}: truefalseimporterror (answers guessed by position)")
    return questions, errors


def php_strip_tags(text: str) -> str:
    """PHP's strip_tags($text), what PARAM_TEXT does to a name without multilang tags: a `<` that
    is not followed by whitespace starts a tag (or a comment) that runs to its `>`, quotes inside
    it skipped; an unclosed tag removes the rest."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "<" or i + 1 < n and text[i + 1] in PHP_WHITESPACE:
            out.append(c)
            i += 1
            continue
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = n if end < 0 else end + 3
            continue
        i += 1
        quote = ""
        while i < n and (quote or text[i] != ">"):
            if quote and text[i] == quote:
                quote = ""
            elif not quote and text[i] in "\"'":
                quote = text[i]
            i += 1
        i += 1
    return "".join(out)


def split_category_path(path: str) -> list[str]:
    """qformat_default::split_category_path (without clean_param)."""
    return [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", path)]


# -- Moodle's numerical grading, ported ---------------------------------------------------------

EPSILON = 10.0**-14  # pow(10, -1 * ini_get('precision')) with PHP's default precision 14


def php_stored(text: str, digits: int | None) -> float:
    """A number as Moodle stores it: `$numberstring + 0` (a float), then "$value" in a text column."""
    value = float(text)
    return value if digits is None else float(f"{value:.{digits}G}")


def moodle_interval(answer: str, tolerance: str, digits: int | None = 14) -> tuple[float, float]:
    a, t = php_stored(answer, digits), abs(php_stored(tolerance, digits))
    slack = t + EPSILON * max(abs(t), abs(a), EPSILON)
    return a - slack, a + slack


def moodle_accepts(response: str, answer: str, tolerance: str, digits: int | None = 14) -> bool:
    low, high = moodle_interval(answer, tolerance, digits)
    return low <= float(response) <= high


# -- exports -----------------------------------------------------------------------------------


def export(paths: list[Path] | None, **options: Any) -> bytes:
    return api.export("moodle", paths, **options).encode("utf-8")


def fixture_export(name: str, seed: int = 7, count: int = 2) -> bytes:
    return export([FIXTURES / f"{name}.yaml"], seed=seed, count=count)


# The bundled bank as its exercise files, without its bank.yaml's slots: every sheet holds every
# exercise, so that each one has its category here (the slotted bank: the test after these).
BANK_FILES = sorted(p for p in (HERE.parent / "exercises" / "weight-initialization").glob("*.yaml") if p.name != "bank.yaml")
EXPORTS = [
    ("fixtures", [FIXTURES], 7, 3),
    ("fixtures", [FIXTURES], 11, 6),
    ("bank", BANK_FILES, 7, 3),
    ("bank", BANK_FILES, 123456789, 5),
    ("bank", BANK_FILES, 0, 1),
]


def test_the_bundled_banks_class_export_imports_cleanly_without_repeats() -> None:
    """Issue 12's class, `generate --seed 7 --count 30 -f moodle` on the bundled bank with its slots:
    Moodle's importer reads it without an error, and no category holds two identical questions."""
    questions, errors = moodle_read(export(None, seed=7, count=30))
    assert errors == []
    seen: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    for q in questions:
        body = (q.qtype, q.questiontext, q.generalfeedback, tuple((a.text, a.fraction, a.feedback) for a in q.answers))
        assert body not in seen[q.category], f"{q.name} repeats a question of {q.category}"
        seen[q.category].add(body)
    # Every slot is a category holding its exercises' categories.
    quiz = api.quiz(seed=7, count=30)
    assert len(quiz.slots) >= 2
    for slot in quiz.slots:
        assert any(f"/{moodle_xml.moodle_name(slot.title)}/" in category for category in seen)


@pytest.fixture(scope="module", params=EXPORTS, ids=[f"{n}-seed{s}-n{c}" for n, _, s, c in EXPORTS])
def exported(request: pytest.FixtureRequest) -> dict[str, Any]:
    _, paths, seed, count = request.param
    data = export(paths, seed=seed, count=count)
    quiz = api.quiz(paths, seed=seed, count=count)
    questions, errors = moodle_read(data)
    variants: dict[str, Variant] = {v.id: v for copy in quiz.copies for v in copy.variants}
    return {
        "data": data,
        "quiz": quiz,
        "questions": questions,
        "errors": errors,
        "variants": variants,
        "seed": seed,
        "count": count,
    }


# -- well-formed, strict ---------------------------------------------------------------------------


def test_strict_xml_parsers_accept_every_export(exported: dict[str, Any]) -> None:
    data = exported["data"]
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    assert data.endswith(b"</quiz>\n")
    data.decode("utf-8", errors="strict")
    root = etree.fromstring(
        data, etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    )
    assert root.tag == "quiz"
    xml.dom.minidom.parseString(data)
    # A category per exercise (one per part of a multi-part exercise exported as linked questions),
    # then its questions.
    categories = len({q.category for q in exported["questions"]})
    assert categories >= len(exported["quiz"].exercises)
    assert len(root.findall("question")) == categories + len(exported["questions"])


def test_moodle_reads_it_without_errors(exported: dict[str, Any]) -> None:
    assert exported["errors"] == []
    # Identical variants are written once: every variant (a multi-part one: its Cloze question, or
    # each linked part) is a question or repeats one.
    groups = {v.id.rpartition(".")[0] if v.part else v.id for v in exported["variants"].values()}
    assert {q.idnumber for q in exported["questions"]} <= exported["variants"].keys() | groups
    assert len({q.category for q in exported["questions"]}) == len(exported["quiz"].exercises) + sum(
        len(categories) - 1 for categories in _part_categories(exported).values())


def test_moodle_reads_the_same_text_as_a_strict_parser(exported: dict[str, Any]) -> None:
    """Moodle drops whitespace-only pieces of character data (each newline is one): no text may
    depend on them, so Moodle's reading equals a conforming parser's."""
    root = etree.fromstring(exported["data"])
    strict = [el.text or "" for el in root.iter("text")]
    ours = []

    def walk(node: Node) -> None:
        for name, children in node.children.items():
            for child in children:
                if name == "text":
                    ours.append(child.text)
                walk(child)

    walk(moodle_parse(exported["data"]))
    assert sorted(ours) == sorted(strict)
    assert all("\n" not in t for t in strict)


# -- grades, types, identifiers --------------------------------------------------------------------


def test_every_fraction_is_one_moodle_accepts(exported: dict[str, Any]) -> None:
    root = etree.fromstring(exported["data"])
    fractions = [a.get("fraction") for a in root.iter("answer")]
    assert fractions
    for fraction in fractions:
        # A select-all question's wrong options take the negative of a listed grade.
        assert any(abs(abs(Decimal(fraction)) - g) <= Decimal("0.001") for g in ACCEPTED), fraction
        assert fraction.removeprefix("-") in questions.MOODLE_FRACTIONS


def test_choice_questions_have_exactly_one_right_answer(exported: dict[str, Any]) -> None:
    for q in exported["questions"]:
        if q.qtype == "multichoice" and q.options["single"] == "false":  # select all: tests/test_select_all.py
            assert abs(sum(a.fraction for a in q.answers if a.fraction > 0) - 1) < 1e-6, q.name
            continue
        if q.qtype in ("multichoice", "truefalse"):
            assert [a.fraction for a in q.answers].count(1.0) == 1, q.name
            assert all(a.fraction in (0.0, 1.0) for a in q.answers)
        if q.qtype == "multichoice":
            assert q.options["single"] == "true"
            assert q.options["answernumbering"] == "123"
            assert len(q.answers) >= 2
            assert all(a.text_format == "html" and a.text for a in q.answers)
            assert q.penalty == questions.penalty_for(len(q.answers))
        if q.qtype == "truefalse":
            assert [a.text for a in q.answers] == ["true", "false"]
            assert q.penalty == "1"


def test_numerical_answers_are_plain_numbers(exported: dict[str, Any]) -> None:
    for q in exported["questions"]:
        if q.qtype != "numerical":
            continue
        assert q.options == {"unitgradingtype": "0", "showunits": "3", "unitsleft": "0"}
        assert q.answers[0].fraction == 1.0
        assert all(a.fraction == 0.0 for a in q.answers[1:])
        for a in q.answers:
            assert PLAIN_NUMBER.fullmatch(a.text), a.text
            assert a.tolerance is not None and PLAIN_NUMBER.fullmatch(a.tolerance), a.tolerance
            assert Decimal(a.tolerance) >= 0


def test_identifiers_names_and_texts(exported: dict[str, Any]) -> None:
    by_category: dict[str, list[str]] = defaultdict(list)
    for q in exported["questions"]:
        assert q.name and len(q.name) <= 255
        assert q.questiontext and q.questiontext_format == "html"
        assert q.generalfeedback
        assert q.idnumber and len(q.idnumber) <= 100
        by_category[q.category].append(q.idnumber)
        assert q.idnumber in q.name
        if q.qtype == "multianswer":  # its parts' variants: tests/test_multipart_moodle.py
            continue
        assert q.defaultmark == str(exported["variants"][q.idnumber].points)
        assert {"quizwright", f"kind:{exported['variants'][q.idnumber].kind}"} <= set(q.tags)
        assert all(t and len(t) <= 50 and not set(t) & set(",<>`") for t in q.tags)
    for ids in by_category.values():
        assert len(ids) == len(set(ids))


def _part_categories(exported: dict[str, Any]) -> dict[str, set[str]]:
    """The categories of each multi-part exercise: one, or one per linked part."""
    found: dict[str, set[str]] = defaultdict(set)
    for q in exported["questions"]:
        variant = exported["variants"].get(q.idnumber)
        if q.qtype == "multianswer" or (variant is not None and variant.part is not None):
            found[q.idnumber.split(".")[0]].add(q.category)
    return found


def test_one_category_per_exercise_holding_its_variants(exported: dict[str, Any]) -> None:
    quiz = exported["quiz"]
    titles = moodle_xml.category_titles(quiz.exercises)
    by_category: dict[str, list[Imported]] = defaultdict(list)
    for q in exported["questions"]:
        by_category[q.category].append(q)
    # A multi-part exercise's categories: tests/test_multipart_moodle.py.
    plain = [summary for summary in quiz.exercises if summary.kind != "multipart"]
    assert len(by_category) == len(quiz.exercises) + sum(
        len(categories) - 1 for categories in _part_categories(exported).values())
    for summary in plain:
        path = moodle_xml.category_path(quiz.bank.title, titles[summary.id])
        assert split_category_path(path) == [
            "$course$",
            "top",
            moodle_xml.moodle_name(quiz.bank.title),
            moodle_xml.moodle_name(titles[summary.id]),
        ]
        ids = [q.idnumber for q in by_category[path]]
        in_order = [f"{summary.id}.{exported['seed']}.{i + 1}" for i in range(exported["count"])]
        assert ids == [i for i in in_order if i in ids] and ids[0] == in_order[0]


# -- round trip against the JSON key ----------------------------------------------------------------


def exact_decimal(value: str, digits: int = 40) -> Decimal:
    return Decimal(significant(compile_expr(value, frozenset()).evaluate({}), digits))


def test_round_trip_matches_the_json_key(exported: dict[str, Any]) -> None:
    for q in exported["questions"]:
        if q.qtype == "multianswer":  # tests/test_multipart_moodle.py
            continue
        v: Variant = exported["variants"][q.idnumber]
        right = [a for a in q.answers if a.fraction == 1.0]
        answer = v.answer
        if answer.type == "option":
            assert [a.fraction for a in q.answers].index(1.0) + 1 == answer.option
            assert q.options["shuffleanswers"] == "false"
            for option, imported in zip(v.options, q.answers, strict=True):
                assert (imported.feedback != "") == bool(option.feedback)
        elif answer.type == "options":
            assert [i + 1 for i, a in enumerate(q.answers) if a.fraction > 0] == list(answer.options)
        elif answer.type == "boolean":
            assert right[0].text == ("true" if answer.value else "false")
            wrong = [a for a in q.answers if a.fraction == 0.0][0]
            assert wrong.feedback and wrong.feedback_format == "html"
        elif answer.type == "integer":
            assert int(right[0].text) == answer.value and Decimal(right[0].tolerance) == 0
        elif answer.type == "numeric":
            assert Decimal(right[0].text) == Decimal(answer.decimal)
            assert Decimal(right[0].tolerance) == Decimal(answer.absolute_tolerance)
            exact = exact_decimal(answer.exact)
            assert abs(Decimal(right[0].text) - exact) < abs(exact) * Decimal("1e-19") + Decimal(
                "1e-30"
            )
        elif q.qtype == "multichoice":  # formula as multiple choice
            assert right[0].text == tex_html(answer.latex, display=False)
            assert q.options["shuffleanswers"] == "true"
            # worded as a multiple choice, or, a stem not recognised, followed by the note
            assert ("Which of the expressions below gives" in q.questiontext) != (
                questions.FORMULA_CHOICE_NOTE in q.questiontext)
        else:
            assert q.qtype == "essay" and not q.answers
            assert tex_html(answer.latex, display=False) in q.options["graderinfo"]
            assert q.options["responseformat"] == "plain"
        if answer.type in ("integer", "numeric"):
            shown = {Decimal(a.text): a.feedback for a in q.answers[1:]}
            for miscon in v.misconceptions:
                wrong = exact_decimal(miscon.value, 20)
                if wrong in shown:
                    assert shown[wrong] == questions.QuestionBuilder("X").html(miscon.feedback)


def numerical_questions(exported: dict[str, Any]) -> list[tuple[Imported, Variant]]:
    return [
        (q, exported["variants"][q.idnumber])
        for q in exported["questions"]
        if q.qtype == "numerical"
    ]


def test_misconception_intervals_never_touch_the_correct_one(exported: dict[str, Any]) -> None:
    for q, _ in numerical_questions(exported):
        right = q.answers[0]
        for digits in (14, None):
            low, high = moodle_interval(right.text, right.tolerance, digits)
            for wrong in q.answers[1:]:
                w_low, w_high = moodle_interval(wrong.text, wrong.tolerance, digits)
                assert w_high < low or w_low > high, (q.name, wrong.text)


def candidates(exact: Decimal, tol: Decimal) -> set[str]:
    """Responses a student may type: near the answer, near both interval ends, far away."""
    points = [
        exact + tol * k
        for k in (
            Decimal(x)
            for x in ("-2", "-1.01", "-1", "-0.999", "-0.5", "0", "0.5", "0.999", "1", "1.01", "2")
        )
    ]
    out = set()
    for p in points:
        for places in range(0, 13):
            with localcontext() as ctx:
                ctx.prec = 50
                out.add(format(p.quantize(Decimal(1).scaleb(-places - max(0, -p.adjusted()))), "f"))
    return out


def test_moodle_grades_numerical_responses_as_we_do(exported: dict[str, Any]) -> None:
    """|response − exact| ≤ tolerance (ours) vs Moodle's nominal tolerance check on what it stores.

    They agree except within 1e-12 × |answer| of the interval's ends: Moodle keeps 14 digits
    of the answer and widens the interval by 1e-14 × max(|answer|, tolerance).
    """
    checked = 0
    for q, v in numerical_questions(exported):
        answer = v.answer
        if answer.type == "integer":
            exact, tol = Decimal(answer.value), Decimal(0)
        else:
            exact, tol = exact_decimal(answer.exact), Decimal(answer.absolute_tolerance)
        margin = max(abs(exact), Decimal(1)) * Decimal("1e-12")
        right = q.answers[0]
        for response in candidates(exact, tol):
            r = Decimal(response)
            ours = abs(r - exact) <= tol
            if abs(abs(r - exact) - tol) <= margin and not (ours and abs(r - exact) == tol):
                continue  # inside the documented disagreement zone (an exact end point must agree)
            for digits in (14, None):
                assert moodle_accepts(response, right.text, right.tolerance, digits) == ours, (
                    q.name,
                    response,
                )
            checked += 1
        # The displayed key value (rounded to the exercise's precision) is accepted by both.
        display = answer.display if answer.type == "numeric" else str(answer.value)
        assert moodle_accepts(display, right.text, right.tolerance) == (
            abs(Decimal(display) - exact) <= tol
        )
    assert checked or not numerical_questions(exported)


# -- escaping, CDATA, names -----------------------------------------------------------------------------


CDATA_CASES = [
    ("", ""),
    ("plain", "<![CDATA[plain]]>"),
    ("a]]>b", "<![CDATA[a]]]]><![CDATA[>b]]>"),
    ("]]>]]>", "<![CDATA[]]]]><![CDATA[>]]]]><![CDATA[>]]>"),
    ("x\x01y", "<![CDATA[x\ufffdy]]>"),
]


@pytest.mark.parametrize(("raw", "expected"), CDATA_CASES)
def test_cdata_splits_the_end_marker(raw: str, expected: str) -> None:
    assert str(moodle_xml.cdata(raw)) == expected
    if raw:
        parsed = etree.fromstring(f"<t>{expected}</t>".encode()).text
        assert parsed == raw.replace("\x01", "\ufffd")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("a & b", "<![CDATA[a & b]]>"),
        ("a < b", "<![CDATA[a < b]]>"),
        ("x ]]> y", "<![CDATA[x ]]]]><![CDATA[> y]]>"),
        ('it\'s "q"', 'it\'s "q"'),
    ],
)
def test_plain_text_is_escaped(raw: str, expected: str) -> None:
    assert str(moodle_xml.text(raw)) == expected


def test_markup_names_and_end_markers_survive_the_round_trip() -> None:
    data = fixture_export("escaping")
    questions, errors = moodle_read(data)
    assert errors == []
    title = "Escaping: a < b & c > d ]]> end"
    # Stored as HTML entities (PARAM_TEXT would strip a tag), shown by format_string as the title.
    stored = "Escaping: a &lt; b &amp; c &gt; d ]]&gt; end"
    assert questions[0].category == f"$course$/top/Fixtures // Moodle &amp; XML/{stored}"
    assert questions[0].stored_category[2:] == ["Fixtures / Moodle &amp; XML", stored]
    assert questions[0].name == f"{stored} (variant 1, escaping.7.1)"
    assert html.unescape(questions[0].name) == f"{title} (variant 1, escaping.7.1)"
    text = questions[0].questiontext
    assert "&lt;b&gt;bold?&lt;/b&gt;" in text and "]]&gt;" in text and "a &amp; b" in text
    assert r"\(a &lt; b\)" in text and r"\(n_{in} * n_{out}\)" in text
    assert "<pre><code>line one ]]&gt;&#10;  line &lt;two&gt;&#10;</code></pre>" in text
    answers = {a.text: a for a in questions[0].answers}
    assert answers["Option with &lt;i&gt;tags&lt;/i&gt; &amp; ]]&gt;"].fraction == 1.0
    assert "&lt;script&gt;" in answers[r"Other with \(x &gt; 0\)"].feedback
    assert set(questions[0].tags) >= {"topic:xml & cdata", "tag", "x&y"}
    assert data.count(b"]]>") == data.count(b"<![CDATA[")  # the title's end marker is "]]&gt;" now
    assert b"<b>" not in data and b"<script>" not in data and b"<i>" not in data


# -- category paths, names, tags, penalties (units) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("bank", "title", "expected"),
    [
        ("Bank", "Exercise", "$course$/top/Bank/Exercise"),
        ("A/B", "C / D", "$course$/top/A//B/C // D"),
        ("/lead", "trail/", "$course$/top/ //lead/trail// "),
        ("multi\nline  bank", "x", "$course$/top/multi line bank/x"),
    ],
)
def test_category_path(bank: str, title: str, expected: str) -> None:
    path = moodle_xml.category_path(bank, title)
    assert path == expected
    assert split_category_path(path)[2:] == [" ".join(bank.split()), " ".join(title.split())]


def test_colliding_titles_get_the_exercise_id() -> None:
    from engine.generation.quiz import ExerciseSummary

    def summary(id_: str, title: str) -> ExerciseSummary:
        return ExerciseSummary(
            id=id_,
            title=title,
            kind="concept",
            topic="t",
            source=f"{id_}.yaml",
            distinct_variants=1,
            repeats=False,
        )

    titles = moodle_xml.category_titles(
        [summary("a", "Same"), summary("b", "same "), summary("c", "Other")]
    )
    assert titles == {"a": "Same (a)", "b": "same (b)", "c": "Other"}


@pytest.mark.parametrize(
    ("options", "penalty"),
    [(2, "1"), (3, "0.5"), (4, "0.3333333"), (5, "0.25"), (7, "0.1666667"), (10, "0.1111111")],
)
def test_penalty_for(options: int, penalty: str) -> None:
    assert questions.penalty_for(options) == penalty


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("1e-06", "0.000001"),
        ("0.0100", "0.01"),
        ("12", "12"),
        ("-0.50", "-0.5"),
        ("1E+3", "1000"),
        ("-0", "0"),
        ("0.000", "0"),
    ],
)
def test_plain_decimal(raw: str, plain: str) -> None:
    assert moodle_xml.plain_decimal(raw) == plain


@pytest.mark.parametrize("raw", ["nan", "inf", "abc", ""])
def test_plain_decimal_refuses_non_numbers(raw: str) -> None:
    with pytest.raises(moodle_xml.MoodleExportError):
        moodle_xml.plain_decimal(raw)


# -- golden files, one per kind ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", KIND_FIXTURES)
def test_golden(name: str) -> None:
    data = fixture_export(name)
    path = GOLDEN / f"{name}.xml"
    assert_golden(path, data)
    etree.fromstring(data)
    assert moodle_read(data)[1] == []


def test_golden_files_cover_every_kind() -> None:
    kinds = {api.quiz([FIXTURES / f"{name}.yaml"]).exercises[0].kind for name in KIND_FIXTURES}
    assert kinds == {"concept", "scenario", "choice", "true_false", "integer", "numeric", "formula"}


def test_formula_limitation_is_stated() -> None:
    for name, limitation in (
        ("formula", moodle_writer.FORMULA_CHOICE_LIMITATION),
        ("formula-essay", moodle_writer.FORMULA_ESSAY_LIMITATION),
    ):
        root = etree.fromstring(fixture_export(name))
        info = root.find("question[@type='category']/info/text").text
        assert "Limitation" in info and limitation.split(",")[0] in info


# -- files, streaming ------------------------------------------------------------------------------------


def test_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out" / "quiz.xml"
    api.export("moodle", [FIXTURES], output=target, seed=3, count=2)
    data = target.read_bytes()
    assert moodle_read(data)[1] == []
    assert sorted(p.name for p in target.parent.iterdir()) == ["quiz.xml"]


def test_a_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "quiz.xml"
    calls = {"n": 0}
    build = questions.QuestionBuilder.build

    def failing(self: questions.QuestionBuilder, variant: Variant) -> questions.MoodleQuestion:
        calls["n"] += 1
        if calls["n"] == 3:
            raise moodle_xml.MoodleExportError("boom")
        return build(self, variant)

    monkeypatch.setattr(questions.QuestionBuilder, "build", failing)
    with pytest.raises(moodle_xml.MoodleExportError):
        api.export("moodle", [FIXTURES], output=target, seed=3, count=2)
    assert list(tmp_path.iterdir()) == []


def categories(xml: str) -> dict[str, tuple[str, list[str]]]:
    """Per exercise: its category element and its questions' XML, in file order."""
    result = {}
    for part in xml.split("\n  <!-- exercise ")[1:]:
        exercise = part.split(" ", 1)[0]
        comment, category, *written = part.split('\n  <question type="')
        written[-1] = written[-1].removesuffix("\n</quiz>\n")
        result[exercise] = (comment + category, [question.rstrip() for question in written])
    return result


@pytest.mark.parametrize("bank", [FIXTURES, HERE.parent / "benchmarks" / "weight-init-4"])
def test_a_slice_holds_the_full_runs_questions_in_the_same_categories(bank: Path) -> None:
    # A slice leaves out the questions identical to one before it in the slice: it holds every
    # question of the full run from its copies, and others only where an identical one came earlier.
    full = categories(api.export("moodle", [bank], seed=5, count=12))
    ids = re.compile(r"<idnumber>([^<]*)</idnumber>")
    for first, last in ((1, 3), (4, 11), (12, 12)):
        part = categories(api.export("moodle", [bank], seed=5, count=12, copies=(first, last)))
        assert part.keys() == full.keys()
        for exercise, (category, written) in part.items():
            assert category == full[exercise][0]
            copies = {f"{exercise}.5.{i}" for i in range(first, last + 1)}
            in_full = [q for q in full[exercise][1] if ids.search(q)[1] in copies]  # type: ignore[index]
            assert [q for q in written if q in in_full] == in_full, (exercise, first, last)
            assert all(ids.search(q)[1] in copies for q in written)  # type: ignore[index]


def test_memory_does_not_grow_with_the_copies() -> None:
    """Copies come in copy order and categories go out in exercise order, through temporary files."""
    import tracemalloc

    generated = api.generate([HERE.parent / "benchmarks" / "weight-init-4"], seed=5, count=40,
                         exercises=["xavier-limit", "xavier-sum"])
    some = list(generated.copies)

    class Discard(StringIO):
        def write(self, s: str) -> int:
            return len(s)

    def peak(count: int) -> int:
        tracemalloc.start()
        with atomic_outputs(None, Discard()) as sink:
            writer("moodle").write(generated.header, (some[i % len(some)] for i in range(count)), sink)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(300), peak(3000)  # 3000 copies write about 8 MB
    assert large < small * 1.5, (small, large)


def test_formats() -> None:
    from engine.export.formats import BINARY, FORMATS, SPLITTABLE
    from engine.export.pdf.writer import PdfWriter

    assert FORMATS == ("markdown", "json", "moodle", "gift", "html", "qti", "pdf")
    assert isinstance(writer("moodle"), moodle_writer.MoodleWriter)
    assert isinstance(writer("pdf", split=True), PdfWriter) and "pdf" in BINARY and "pdf" in SPLITTABLE
    with pytest.raises(UsageError, match="unknown format 'docx'"):
        writer("docx")


def test_writers_take_only_the_quiz_models_from_generation() -> None:
    import ast

    export = HERE.parent / "engine" / "export"
    imported = set()
    for path in export.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert {m for m in imported if m.startswith("engine.generation")} == {"engine.generation.quiz"}
    assert not {m for m in imported if m.startswith(("engine.authoring", "engine.grading"))}
