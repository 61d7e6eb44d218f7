"""Issue 12's Moodle export: no category holds two identical questions, hints for interactive mode,
shuffleanswers where the solution allows it, names Moodle keeps whole and unique, a formula's
multiple choice worded as one, and `check`'s warning on a tolerance finer than Moodle stores.

Every export is read the way Moodle's importer reads it (tests/test_moodle.py's port)."""

from __future__ import annotations

import html
import re
import textwrap
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.errors import QuizwrightError
from engine.export.moodle import questions as moodle_questions
from engine.export.moodle import wording
from engine.export.moodle import xml as moodle_xml
from engine.generation.quiz import ExerciseSummary
from tests.test_moodle import Imported, moodle_accepts, moodle_read, php_strip_tags

HERE = Path(__file__).parent

CHOICE = """\
id: {id}
title: {title}
kind: choice
topic: t
params:
  n: {{values: [16, 32, 64]}}
question: A layer has $n_{{in}} = [[ n ]]$. Which is He's variance?
options:
  - {{expr: "2/n", correct: true{pinned}}}
  - {{expr: "1/n", feedback: "LeCun's."}}
  - {{expr: "3/n", feedback: "Too large."}}
{shuffle}explanation: "{explanation}"
{hints}"""


def choice(id_: str, title: str = "He", *, explanation: str = "He doubles LeCun's variance.", pinned: bool = False,
           shuffle: bool = True, hints: str = "") -> str:
    return CHOICE.format(id=id_, title=title, pinned=", pinned: true" if pinned else "",
                         shuffle="" if shuffle else "shuffle: false\n", explanation=explanation, hints=hints)


def bank(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "bank.yaml").write_text("title: Test bank\ncode: TB\n", encoding="utf-8")
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def read(paths: list[Path] | None, **options: Any) -> list[Imported]:
    data = api.export("moodle", paths, **options)
    assert isinstance(data, str)
    questions, errors = moodle_read(data.encode())
    assert errors == []
    return questions


def stored(q: Imported) -> tuple[Any, ...]:
    """What Moodle stores of a question but its name and idnumber; answers as a set when shuffled."""
    answers = [(a.text, a.fraction, a.feedback, a.tolerance) for a in q.answers]
    if q.options.get("shuffleanswers") == "true":
        answers.sort()
    return (q.qtype, q.questiontext, q.generalfeedback, q.defaultmark, q.penalty, tuple(answers),
            tuple(sorted(q.options.items())), tuple(q.hints), tuple(q.tags))


# -- a category never holds two identical questions ---------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> list[Imported]:
    return read(None, seed=7, count=10)  # exercises with four to nine variants repeat


def test_no_category_of_the_bundled_bank_holds_two_identical_questions(bundled: list[Imported]) -> None:
    by_category: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for q in bundled:
        by_category[q.category].append(stored(q))
    assert len(by_category) == len(api.list_exercises(None))
    for category, contents in by_category.items():
        assert len(contents) == len(set(contents)), category
    # Written once each: a category holds at most as many questions as sheets drew its exercise.
    drawn = Counter(v.exercise for copy in api.quiz(None, seed=7, count=10).copies for v in copy.variants)
    assert sum(map(len, by_category.values())) <= sum(drawn.values())


def test_fewer_distinct_questions_than_copies_is_said_once_per_exercise(tmp_path: Path) -> None:
    path = bank(tmp_path, fixed=choice("fixed", shuffle=False, explanation="Answer: [[ answer_text ]]."))
    result = CliRunner().invoke(cli, ["generate", str(path), "--seed", "1", "--count", "5", "-f", "moodle",
                                      "-o", str(tmp_path / "out.xml")])
    assert result.exit_code == 0, result.output
    assert "Note: moodle: fixed: 3 distinct questions for 5 variants (each written once)" in result.stderr
    questions, _ = moodle_read((tmp_path / "out.xml").read_bytes())
    assert [q.idnumber for q in questions] == ["fixed.1.1", "fixed.1.2", "fixed.1.3"]


def test_reordered_options_are_one_question_when_moodle_shuffles_them(tmp_path: Path) -> None:
    # One draw, options shuffled per variant: with shuffleanswers on, the orders are one question.
    path = bank(tmp_path, one=choice("one").replace("[16, 32, 64]", "[16]"))
    questions = read([path], seed=3, count=6)
    assert len(questions) == 1 and questions[0].options["shuffleanswers"] == "true"


# -- hints ---------------------------------------------------------------------------------------------


def test_every_gradable_question_has_a_hint(bundled: list[Imported]) -> None:
    for q in bundled:
        if q.qtype == "essay":
            assert q.hints == []
        else:
            assert len(q.hints) >= 1 and all(h.startswith("<p>") for h in q.hints), q.name
            assert q.xml.children["hint"][0].attrs["format"] == "html"


def test_authored_hints_are_rendered_per_variant_and_capped_by_the_options(tmp_path: Path) -> None:
    hints = "hints:\n  - Start from the fan-in, $n = [[ n ]]$.\n  - LeCun's is 1/n.\n  - A third.\n  - A fourth.\n"
    path = bank(tmp_path, h=choice("h", hints=hints))
    for q in read([path], seed=1, count=3):
        n = q.questiontext.split("= ")[1].split("\\)")[0]
        assert len(q.hints) == 2  # three options: at most three tries
        assert q.hints[0] == f"<p>Start from the fan-in, \\(n = {n}\\).</p>"
    quiz = api.quiz([path], seed=1, count=1)
    assert quiz.copies[0].variants[0].hints[1] == "LeCun's is 1/n."


def test_a_hint_that_names_an_unknown_parameter_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = bank(tmp_path, h=choice("h", hints="hints:\n  - Use [[ m ]].\n"))
    with pytest.raises(QuizwrightError, match=r"h\.yaml:14: hints\[0\]: undefined template variable 'm'"):
        api.quiz([path], seed=1, count=1)


# -- shuffleanswers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("exercise", "shuffles"), [
    (choice("free"), "true"),
    (choice("pinned", pinned=True), "false"),
    (choice("ordered", shuffle=False), "false"),
    (choice("numbered", explanation="Answer: [[ answer_text ]]."), "false"),  # "③" would be wrong after a shuffle
])
def test_shuffleanswers_where_the_solution_allows_it(tmp_path: Path, exercise: str, shuffles: str) -> None:
    path = bank(tmp_path, **{exercise.split()[1]: exercise})
    assert {q.options["shuffleanswers"] for q in read([path], seed=2, count=3)} == {shuffles}


# -- names ---------------------------------------------------------------------------------------------


def test_titles_with_tags_stay_whole_and_apart(tmp_path: Path) -> None:
    path = bank(tmp_path, a=choice("a", "Twin <a>"), b=choice("b", "Twin <b> & co"))
    questions = read([path], seed=1, count=1)
    categories = {q.stored_category[-1] for q in questions}
    assert len(categories) == 2
    # Moodle strips tags (PARAM_TEXT) and shows names as HTML (format_string): the titles survive.
    assert {html.unescape(c) for c in categories} == {"Twin <a>", "Twin <b> & co"}
    assert {html.unescape(q.name).split(" (variant")[0] for q in questions} == {"Twin <a>", "Twin <b> & co"}
    assert php_strip_tags("Twin <a>") == "Twin "  # what an unescaped title would have become


def summary(id_: str, title: str) -> ExerciseSummary:
    return ExerciseSummary(id=id_, title=title, kind="choice", topic="t", source=f"{id_}.yaml",
                           distinct_variants=1, repeats=False)


def test_names_are_compared_as_moodle_stores_them() -> None:
    titles = moodle_xml.category_titles([summary("a", "Café"), summary("b", "CAFE "), summary("c", "x" * 300)])
    assert titles == {"a": "Café (a)", "b": "CAFE (b)", "c": "x" * 300}
    long = moodle_xml.category_titles([summary("p", "y" * 300 + "1"), summary("q", "y" * 300 + "2")])
    paths = {moodle_xml.category_path("B", t) for t in long.values()}
    assert len(paths) == 2 and all(len(p.split("/")[-1]) <= 255 for p in paths)  # the id kept within 255


def test_names_that_still_collide_are_an_error_naming_both_files(tmp_path: Path) -> None:
    with pytest.raises(moodle_xml.MoodleExportError, match=r"a\.yaml and b\.yaml: the titles 'Same \(b\)' and"):
        moodle_xml.category_titles([summary("a", "Same (b)"), summary("b", "Same"), summary("c", "same")])
    path = bank(tmp_path, a=choice("a", "Same (b)"), b=choice("b", "Same"), c=choice("c", "same"))
    report = api.check([path], seeds=3)
    assert any(re.search(r"a\.yaml and \S*b\.yaml: the titles", p) for p in report.problems)
    assert any(re.search(r"b\.yaml and \S*c\.yaml: the titles 'Same' and 'same' are one name", n)
               for n in report.notices)


def test_a_long_escaped_name_is_never_cut_inside_an_entity() -> None:
    name, _ = moodle_questions.name_and_idnumber(moodle_xml.moodle_name("<" * 300), 0, "x.1.1")
    assert len(name) <= moodle_questions.MAX_NAME and "&lt;…" in name and html.unescape(name).startswith("<<<")


# -- a formula as a multiple choice --------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "worded"), [
    ("Write He's variance $\\sigma^2$ as a formula in $n_{in}$.", "Which of the expressions below gives He's "
     "variance $\\sigma^2$ in $n_{in}$?"),
    ("Uniform. Write the limit $L$ as a formula in `n_in` and `n_out` (use `sqrt(...)` for a square root).",
     "Uniform. Which of the expressions below gives the limit $L$ in `n_in` and `n_out`?"),
    ("Give $\\sigma^2$ as a formula in `n_in` and `n_out`.", "Which of the expressions below gives $\\sigma^2$ in "
     "`n_in` and `n_out`?"),
    ("Which expression is it?", "Which expression is it?"),
])
def test_choice_wording(stem: str, worded: str) -> None:
    assert wording.choice_wording(stem) == worded


def test_the_bundled_formulas_are_worded_as_multiple_choice(bundled: list[Imported]) -> None:
    formulas = [q for q in bundled if "kind:formula" in q.tags]
    assert formulas and all(q.qtype == "multichoice" for q in formulas)
    for q in formulas:
        assert "as a formula" not in q.questiontext and "Which of the expressions below gives" in q.questiontext


# -- check: a tolerance finer than Moodle stores -------------------------------------------------------

NUMERIC = """\
id: sevenths
title: Sevenths
kind: numeric
topic: t
params:
  k: {{values: [1, 2]}}
question: What is $10 \\times [[ k ]]/7$?
answer: 10*k/7
tolerance: {{absolute: "{tolerance}"}}
explanation: It is $10 \\times [[ k ]]/7$.
"""


def test_check_flags_a_tolerance_finer_than_moodle_stores(tmp_path: Path) -> None:
    path = bank(tmp_path, sevenths=NUMERIC.format(tolerance="0.0000000000000001"))
    report = api.check([path], seeds=5)
    assert report.problems == []
    (note,) = [n for n in report.notices if "tolerance" in n]
    assert "sevenths.yaml:9: tolerance: finer than Moodle stores" in note
    assert note.endswith("the smallest safe tolerance is 0.000000000001")
    # Moodle's own reading (14 digits stored): the exact answer is wrong under the fine tolerance,
    # right under the safe one.
    exact = str(Decimal(10) / Decimal(7))
    written = "1.4285714285714285714"  # as the export writes it, 20 significant digits
    assert not moodle_accepts(exact, written, "0.0000000000000001")
    assert moodle_accepts(exact, written, "0.000000000001")


def test_check_is_quiet_on_a_safe_tolerance(tmp_path: Path) -> None:
    path = bank(tmp_path, sevenths=NUMERIC.format(tolerance="0.000000000001"))
    assert not [n for n in api.check([path], seeds=5).notices if "tolerance" in n]
