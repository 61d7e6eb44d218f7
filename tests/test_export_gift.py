"""GIFT export: every question read back by two readers and compared with the key.

The readers: the npm parser gift-pegjs 1.0.2 (tests/gift/parse.js; `npm ci --prefix tests/gift`
installs it, as .ci/run does), run on whole exports of the bundled bank and the fixtures, and
`moodle_read`, a port of the parts of Moodle's own importer (question/format/gift/format.php,
readquestions and readquestion) that decide what a question becomes. Both must give back the
texts the Moodle XML export stores, the key's answers and the misconception feedback.

Golden files: tests/golden/gift/<fixture>.gift, compared byte for byte;
`UPDATE_GOLDEN=1 python -m pytest tests/test_export_gift.py` rewrites them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.errors import UsageError
from engine.export import gift
from engine.export.formats import writer
from engine.export.html import markdown_to_html, markdown_to_html_inline, one_line, tex_html
from engine.export.moodle.figures import shows_plots
from engine.export.moodle.questions import QuestionBuilder
from engine.export.moodle.xml import category_path, category_titles, plain_decimal
from engine.generation.quiz import FormulaAnswer, NumericAnswer, Quiz, Variant
from engine.language.printing import circled
from tests.golden import assert_golden

HERE = Path(__file__).parent
HARNESS = HERE / "gift"
HOSTILE = HARNESS / "bank"
FIXTURES = HERE / "fixtures" / "moodle"
GOLDEN = HERE / "golden" / "gift"
PHP_WHITESPACE = " \t\n\r\0\x0b"
KIND_FIXTURES = ["concept", "scenario", "choice", "true-false", "integer", "numeric", "numeric-absolute",
                 "formula", "formula-essay", "escaping"]


@dataclass(frozen=True)
class Read:
    """A question as a reader gives it back, in Moodle's terms."""

    category: str
    name: str
    idnumber: str
    tags: tuple[str, ...]
    qtype: str  # multichoice, truefalse, numerical, essay
    text: str
    general: str
    # (text, fraction, feedback); numerical: text is (value, tolerance) as floats
    answers: tuple[tuple[Any, float, str], ...] = ()
    correct: bool | None = None  # truefalse
    feedback_true: str = ""
    feedback_false: str = ""


# -- gift-pegjs -------------------------------------------------------------------------------------


def gift_pegjs(documents: list[str]) -> list[list[dict[str, Any]]]:
    """Each document parsed by gift-pegjs 1.0.2: its questions, as the parser returns them."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: install Node.js and npm (Debian: apt-get install nodejs npm)")
    if not (HARNESS / "node_modules" / "gift-pegjs").is_dir():
        pytest.fail("gift-pegjs is not installed: run `npm ci --prefix tests/gift`")
    run = subprocess.run([node, str(HARNESS / "parse.js")], input=json.dumps(documents), capture_output=True,
                         text=True, encoding="utf-8", check=False)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    for result in results:
        assert "error" not in result, f"gift-pegjs refused the export: {result['error']}"
    return [result["questions"] for result in results]


def _text(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    assert value["format"] == "html"
    text: str = value["text"]
    return text


def pegjs_read(parsed: list[dict[str, Any]]) -> list[Read]:
    """gift-pegjs's questions in Moodle's terms (its `trueFeedback` is the first `#`, which
    Moodle shows for a wrong answer)."""
    found: list[Read] = []
    category = ""
    for q in parsed:
        if q["type"] == "Category":
            category = q["title"]
            continue
        assert not q["hasEmbeddedAnswers"]
        common = dict(category=category, name=q["title"], idnumber=q["id"], tags=tuple(q["tags"] or ()),
                      text=_text(q["stem"]), general=_text(q["globalFeedback"]))
        if q["type"] == "TF":
            wrong, right = _text(q["trueFeedback"]), _text(q["falseFeedback"])
            found.append(Read(**common, qtype="truefalse", correct=q["isTrue"],
                              feedback_true=right if q["isTrue"] else wrong,
                              feedback_false=wrong if q["isTrue"] else right))
        elif q["type"] == "Essay":
            found.append(Read(**common, qtype="essay"))
        else:
            answers = []
            for choice in q["choices"]:
                fraction = (1.0 if choice["isCorrect"] else 0.0) if choice["weight"] is None else choice["weight"] / 100
                if q["type"] == "Numerical":
                    assert choice["isCorrect"] and choice["text"]["type"] == "range"
                    text: Any = (choice["text"]["number"], choice["text"]["range"])
                else:
                    text = _text(choice["text"])
                answers.append((text, fraction, _text(choice["feedback"])))
            qtype = {"MC": "multichoice", "Numerical": "numerical"}[q["type"]]
            found.append(Read(**common, qtype=qtype, answers=tuple(answers)))
    return found


# -- Moodle's importer, ported ------------------------------------------------------------------------

_ESCAPES = [("\\:", "&&058;"), ("\\#", "&&035;"), ("\\=", "&&061;"), ("\\{", "&&123;"), ("\\}", "&&125;"),
            ("\\~", "&&126;"), ("\\n", "&&010")]
_WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")
_PHP_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*")
_ID = re.compile(r"\[id:((?:\\]|[^\]\x00-\x1f\x7f])+)]")
_TAG = re.compile(r"\[tag:((?:\\]|[^\]<>`\x00-\x1f\x7f])+)]")


def _pre(text: str) -> str:
    text = text.replace("\\\\", "&&092;")
    for escaped, placeholder in _ESCAPES:
        text = text.replace(escaped, placeholder)
    return text.replace("&&092;", "\\")


def _post(text: str) -> str:
    for escaped, placeholder in _ESCAPES:
        text = text.replace(placeholder, escaped[1] if escaped != "\\n" else "\n")
    return text


def _formatted(text: str) -> str:
    """parse_text_with_format: the writer marks the question text [html]; the rest inherit it."""
    text = text.strip(PHP_WHITESPACE)
    if text.startswith("[html]"):
        text = text[len("[html]"):]
    assert not re.match(r"\[(?:moodle|html|plain|markdown)\]", text), text
    return _post(text).strip(PHP_WHITESPACE)


def _weight(answer: str, default: float) -> tuple[float, str]:
    if _WEIGHT.match(answer):
        end = answer.index("%", 1)
        return float(answer[1:end]) / 100, answer[end + 1:]
    return default, answer


def moodle_read(document: str) -> list[Read]:
    """qformat_default::readquestions (blocks between blank lines) and qformat_gift::readquestion."""
    blocks: list[list[str]] = [[]]
    for line in document.split("\n"):
        line = line.strip(PHP_WHITESPACE)
        if line in ("", "0"):  # PHP's empty()
            blocks.append([])
        else:
            blocks[-1].append(line)
    found: list[Read] = []
    category = ""
    for lines in filter(None, blocks):
        comments = "".join(line + "\n" for line in lines if line.startswith("//"))
        text = "\n".join(" " if line.startswith("//") else line for line in lines).strip(PHP_WHITESPACE)
        if not text:
            continue
        text = _pre(text)
        if text.startswith("$CATEGORY:"):
            category = text[10:].strip(PHP_WHITESPACE)
            continue
        found.append(_moodle_question(text, comments, category))
    return found


def _moodle_question(text: str, comments: str, category: str) -> Read:
    assert text.startswith("::"), text
    end = text.index("::", 2)
    name, text = _post(text[2:end]), text[end + 2:].strip(PHP_WHITESPACE)
    start, finish = text.index("{"), text.index("}")
    assert text.endswith("}") and finish == len(text) - 1, "answers must close the question"
    answertext = text[start + 1:finish].strip(PHP_WHITESPACE)
    general = ""
    if (separator := answertext.rfind("####")) >= 0:
        general, answertext = answertext[separator + 4:], answertext[:separator].strip(PHP_WHITESPACE)
    id_match = _ID.search(comments)
    common = dict(category=category, name=name, idnumber=id_match.group(1).strip().replace("\\]", "]") if id_match else "",
                  tags=tuple(t.strip().replace("\\]", "]") for t in _TAG.findall(comments)),
                  text=_formatted(text[:start]), general=_formatted(general))
    if answertext == "":
        return Read(**common, qtype="essay")
    if answertext[0] == "#":
        return Read(**common, qtype="numerical", answers=_moodle_numerical(answertext[1:]))
    if "~" in answertext:
        answers = []
        for answer in answertext.replace("=", "~=").split("~"):
            answer = answer.strip(PHP_WHITESPACE)
            if not answer:
                continue
            fraction, answer = (1.0, answer[1:]) if answer[0] == "=" else _weight(answer, 0.0)
            body, _, feedback = answer.partition("#")
            answers.append((_formatted(body), fraction, _formatted(feedback)))
        assert len(answers) >= 2
        return Read(**common, qtype="multichoice", answers=tuple(answers))
    value, *feedback = answertext.split("#", 2)
    assert value.strip(PHP_WHITESPACE) in ("T", "TRUE", "F", "FALSE"), f"short answer, not true/false: {answertext}"
    wrong, right = (_formatted(f) for f in [*feedback, "", ""][:2])
    correct = value.strip(PHP_WHITESPACE) in ("T", "TRUE")
    return Read(**common, qtype="truefalse", correct=correct, feedback_true=right if correct else wrong,
                feedback_false=wrong if correct else right)


def _moodle_numerical(answertext: str) -> tuple[tuple[Any, float, str], ...]:
    assert "~" not in answertext, "a ~ makes Moodle add a catch-all answer"
    answers = []
    for answer in answertext.split("="):
        answer = answer.strip(PHP_WHITESPACE)
        if not answer:
            continue
        fraction, answer = _weight(answer, 1.0)
        body, _, feedback = answer.partition("#")
        value, _, tolerance = _formatted(body).partition(":")
        assert ".." not in value and _PHP_NUMERIC.fullmatch(value) and _PHP_NUMERIC.fullmatch(tolerance), body
        answers.append(((float(value), float(tolerance)), fraction, _formatted(feedback)))
    return tuple(answers)


# -- what the key says -----------------------------------------------------------------------------------


def _block(markdown: str) -> str:
    return one_line(markdown_to_html(markdown))


def categories(quiz: Quiz) -> dict[tuple[int, str], list[Variant]]:
    """The variants of each category in file order (one per exercise, one per part of a multi-part
    one): the first of each distinct question (what Moodle stores but the name and idnumber; a
    formula's options in any order, as Moodle shuffles them, a choice's labelled ones in theirs)."""
    builder = QuestionBuilder(quiz.bank.code)
    positions = {summary.id: k for k, summary in enumerate(quiz.exercises)}
    found: dict[tuple[int, str], list[Variant]] = {}
    seen: set[tuple[Any, ...]] = set()
    for copy in quiz.copies:
        for v in copy.variants:
            where = (positions[v.exercise], v.part.label if v.part else "")
            q = builder.build(v)
            answers = [(a.text, a.fraction, a.feedback, a.tolerance) for a in q.answers]
            if v.kind == "formula":
                answers.sort()
            content = (where, q.type, q.questiontext, q.generalfeedback, q.graderinfo, tuple(q.tags), tuple(answers))
            if content not in seen:
                seen.add(content)
                found.setdefault(where, []).append(v)
    return dict(sorted(found.items()))


def written(quiz: Quiz) -> list[Variant]:
    """The variants the file holds, in file order."""
    return [v for variants in categories(quiz).values() for v in variants]


def check(reads: list[Read], quiz: Quiz) -> None:
    """The questions, in file order (an exercise's category, then its distinct questions), against the key."""
    builder = QuestionBuilder(quiz.bank.code)
    titles = category_titles(quiz.exercises)
    assert len(reads) == len(written(quiz))
    reads_iter = iter(reads)
    for (k, part), variants in categories(quiz).items():
        summary = quiz.exercises[k]
        for variant in variants:
            read = next(reads_iter)
            moodle = builder.build(variant)  # the texts, names and tags are the Moodle XML export's
            where = variant.id
            path = category_path(quiz.bank.title, titles[summary.id]) + (f"/Part {part}" if part else "")
            assert read.category == path, where
            assert (read.name, read.idnumber, read.tags) == (moodle.name, variant.id, tuple(moodle.tags)), where
            assert read.text == moodle.questiontext, where
            if isinstance(variant.answer, FormulaAnswer) and read.qtype == "essay":
                assert read.general == moodle.graderinfo, where
                assert tex_html(variant.answer.latex, display=False) in read.general, where
            else:
                assert read.general == _block(variant.explanation), where
            check_answers(read, variant)


def check_answers(read: Read, variant: Variant) -> None:
    """The question's type, correct answer and feedback against the variant's key."""
    answer, where = variant.answer, variant.id
    if answer.type == "boolean":
        feedback = {o.number == 1: _block(o.feedback) if o.feedback else "" for o in variant.options}
        assert (read.qtype, read.correct) == ("truefalse", answer.value), where
        assert (read.feedback_true, read.feedback_false) == (feedback[True], feedback[False]), where
        assert feedback[not answer.value], f"{where}: the wrong answer has feedback"
    elif answer.type in ("integer", "numeric"):
        right = (float(answer.value), 0.0) if answer.type == "integer" else (
            float(answer.decimal), float(answer.absolute_tolerance))
        assert read.qtype == "numerical" and read.answers[0] == (right, 1.0, ""), where
        misconceptions = {float(m.decimal): _block(m.feedback) for m in variant.misconceptions if m.decimal}
        for (value, tolerance), fraction, text in read.answers[1:]:
            assert fraction == 0 and misconceptions[value] == text, where
            assert 0 <= tolerance and abs(value - right[0]) > tolerance + right[1], where
    elif answer.type == "option":
        options = [(f"{circled(o.number)} {one_line(markdown_to_html_inline(o.text))}", 1.0 if o.correct else 0.0,
                    _block(o.feedback) if o.feedback else "") for o in variant.options]
        assert (read.qtype, list(read.answers)) == ("multichoice", options), where
        assert [o.number for o in variant.options if o.correct] == [answer.option], where
    elif answer.type == "options":  # select all that apply: each right option 1/c, each wrong one -1/w
        right = len(answer.options)
        wrongs = len(variant.options) - right
        assert read.qtype == "multichoice" and len(read.answers) == len(variant.options), where
        for (_, fraction, _), option in zip(read.answers, variant.options, strict=True):
            assert abs(fraction - (1 / right if option.correct else -1 / wrongs)) < 1e-6, where
    elif not variant.misconceptions:
        assert read.qtype == "essay", where
    else:
        formulas = {tex_html(answer.latex, display=False): (1.0, "")}
        for m in variant.misconceptions:
            formulas.setdefault(tex_html(m.latex, display=False), (0.0, _block(m.feedback)))
        assert read.qtype == "multichoice", where
        assert sorted(read.answers) == sorted((text, f, fb) for text, (f, fb) in formulas.items()), where


def check_categories(parsed: list[dict[str, Any]], quiz: Quiz) -> None:
    """gift-pegjs sees one category per exercise, each before its distinct questions."""
    kinds = [q["type"] for q in parsed]
    sizes = [len(variants) for variants in categories(quiz).values()]
    assert kinds.count("Category") == len(sizes)
    assert [i for i, kind in enumerate(kinds) if kind == "Category"] == [
        sum(sizes[:j]) + j for j in range(len(sizes))]


# -- the whole bank and the fixtures, read back ---------------------------------------------------------------

# The bundled bank's files without its bank.yaml's slots, so that every sheet holds every exercise in
# the same place, as the read-back below expects (a GIFT file of a bank with slots: tests/test_slots.py).
BANK_FILES = sorted(p for p in (HERE.parent / "exercises" / "weight-initialization").glob("*.yaml") if p.name != "bank.yaml")
RUNS = [("bank", BANK_FILES, 0, 3), ("bank", BANK_FILES, 7, 2), ("bank", BANK_FILES, 123456789, 2),
        ("fixtures", [FIXTURES], 7, 3), ("hostile", [HOSTILE], 1, 2), ("hostile", [HOSTILE], 5, 3)]


@pytest.fixture(scope="module")
def exports() -> list[tuple[str, str, Quiz]]:
    return [(name, str(api.export("gift", paths, seed=seed, count=count)),
             without_plots(api.quiz(paths, seed=seed, count=count)))
            for name, paths, seed, count in RUNS]


def without_plots(quiz: Quiz) -> Quiz:
    """The quiz as its GIFT file holds it: the exercises that show no plot (GIFT cannot carry images)."""
    plotted = {v.exercise for copy in quiz.copies for v in copy.variants if shows_plots(v)}
    copies = [copy.model_copy(update={"variants": [v for v in copy.variants if v.exercise not in plotted]})
              for copy in quiz.copies]
    exercises = [s for s in quiz.exercises if s.id not in plotted]
    return quiz.model_copy(update={"exercises": exercises, "copies": copies})


def test_gift_pegjs_reads_every_question_back_as_the_key(exports: list[tuple[str, str, Quiz]]) -> None:
    parsed = gift_pegjs([document for _, document, _ in exports])
    for questions, (name, _, quiz) in zip(parsed, exports, strict=True):
        check_categories(questions, quiz)
        reads = pegjs_read(questions)
        if name == "hostile":
            # gift-pegjs reads the $CATEGORY line as it is; Moodle, the importer that matters,
            # reads `\\` there as one backslash (checked with moodle_read below).
            reads = [dataclasses.replace(r, category=r.category.replace("\\\\", "\\")) for r in reads]
        check(reads, quiz)


def test_moodles_importer_reads_every_question_back_as_the_key(exports: list[tuple[str, str, Quiz]]) -> None:
    for _, document, quiz in exports:
        check(moodle_read(document), quiz)


def test_the_runs_cover_every_kind_and_both_formula_forms(exports: list[tuple[str, str, Quiz]]) -> None:
    _, document, quiz = next(e for e in exports if e[0] == "fixtures")
    questions = [q for q in gift_pegjs([document])[0] if q["type"] != "Category"]
    kinds = [variant.kind for variant in written(quiz)]
    assert set(zip((q["type"] for q in questions), kinds, strict=True)) == {
        ("MC", "concept"), ("MC", "scenario"), ("MC", "choice"), ("TF", "true_false"), ("Numerical", "integer"),
        ("Numerical", "numeric"), ("MC", "formula"), ("Essay", "formula")}


def test_numbers_are_the_keys_decimal_text(exports: list[tuple[str, str, Quiz]]) -> None:
    for _, document, quiz in exports:
        for variant in (v for copy in quiz.copies for v in copy.variants):
            if isinstance(variant.answer, NumericAnswer):
                line = f"\t={plain_decimal(variant.answer.decimal)}:{plain_decimal(variant.answer.absolute_tolerance)}\n"
                assert line in document, variant.id


def test_hostile_tex_and_gift_characters_come_back_as_written(exports: list[tuple[str, str, Quiz]]) -> None:
    _, document, _ = next(e for e in exports if e[0] == "hostile")
    choice = next(r for r in moodle_read(document) if r.idnumber.startswith("hostile-choice"))
    assert "\\(a \\neq b\\)" in choice.text and "\\(\\frac{a}{b} = 1\\)" in choice.text
    assert "\\(\\{x\\}\\)" in choice.text and "\\(x \\\\ y\\)" in choice.text
    assert "~ = # { } :" in choice.text and "~ = # { } :" in choice.general
    assert choice.name.startswith("Escapes :: ~ = # { } : \\n and \\\\ (variant")
    assert choice.category.endswith("/GIFT: hostile {text} = ~ # \\neq/Escapes :: ~ = # { } : \\n and \\\\")
    assert "\\neq" not in document.replace("\\\\neq", "")  # never a bare \n for a reader to take


# -- escaping, one text at a time ----------------------------------------------------------------------------

HOSTILE_TEXTS = ["\\neq", "\\\\", "a\\", "\\{x\\}", "~=#{}:", "\\:", "\\\\n", "C:\\new", "####", "a\\\\", "\\#",
                 "\\(\\frac{a}{b}\\)", "x = {1}", "back\\slash", "\\\\\\", "a\nb"]


@pytest.mark.parametrize("name", [False, True])
def test_escaped_text_reads_back_the_same_in_both_readers(name: bool) -> None:
    texts = [t.replace("\n", " ") if name else t for t in HOSTILE_TEXTS]
    if name:
        documents = [f"::{gift.escape(t, name=True)}::[html]x{{\n\t####y\n}}\n" for t in texts]
    else:
        documents = [f"::n::[html]{gift.escape(t)}{{\n\t####{gift.escape(t)}\n}}\n" for t in texts]
    for text, document, parsed in zip(texts, documents, gift_pegjs(documents), strict=True):
        (pegjs,), (moodle,) = pegjs_read(parsed), moodle_read(document)
        if name:
            assert pegjs.name == moodle.name == text
        else:
            assert pegjs.text == moodle.text == pegjs.general == moodle.general == text


@pytest.mark.parametrize(("raw", "written"), [
    ("\\neq", "\\\\neq"), ("\\frac{a}{b}", "\\frac\\{a\\}\\{b\\}"), ("\\{", "\\\\\\{"), ("\\(x\\)", "\\(x\\)"),
    ("a\\", "a\\\\"), ("~=#{}:", "\\~\\=\\#\\{\\}\\:"), ("x\\\\y", "x\\\\\\y"),
])
def test_a_backslash_is_doubled_only_where_a_reader_would_join_it(raw: str, written: str) -> None:
    assert gift.escape(raw) == written


def test_moodle_reads_a_bracket_in_an_id_or_tag() -> None:
    comment = gift._comment_token("tag", "x]y") + " " + gift._comment_token("id", "a]b")
    (read,) = moodle_read(f"// {comment}\n::n::[html]x{{\n}}\n")
    assert (read.tags, read.idnumber) == (("x]y",), "a]b")


def test_a_backslash_in_a_category_reaches_moodle() -> None:
    line = gift.category_line("Bank \\n", "A \\\\ b")
    (question,) = moodle_read(f"{line}\n\n::n::[html]x{{\n}}\n")
    assert question.category == "$course$/top/Bank \\n/A \\\\ b"


# -- golden files, determinism, the command line ------------------------------------------------------------


@pytest.mark.parametrize("name", [*KIND_FIXTURES, "hostile"])
def test_golden(name: str) -> None:
    paths = [HOSTILE] if name == "hostile" else [FIXTURES / f"{name}.yaml"]
    data = str(api.export("gift", paths, seed=7, count=2)).encode("utf-8")
    path = GOLDEN / f"{name}.gift"
    assert_golden(path, data)


def test_the_same_bank_and_seed_give_the_same_bytes() -> None:
    first = api.export("gift", None, seed=11, count=4)
    assert api.export("gift", None, seed=11, count=4) == first
    assert api.export("gift", None, seed=12, count=4) != first


def test_a_slice_of_copies_holds_those_questions_of_the_full_run() -> None:
    full = api.quiz([FIXTURES], seed=5, count=6)
    part = moodle_read(str(api.export("gift", [FIXTURES], seed=5, count=6, copies=(2, 4))))
    sliced = full.model_copy(update={"copies": full.copies[1:4]})
    check(part, sliced)  # the full run's variants 2 to 4, each distinct question once


def test_generate_writes_gift(tmp_path: Path) -> None:
    out = tmp_path / "quiz.gift"
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-f", "gift", "-n", "2", "-s", "7", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == api.export("gift", [FIXTURES], seed=7, count=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.gift"]


def test_gift_is_one_file() -> None:
    with pytest.raises(UsageError, match="--split: gift is written as one file"):
        writer("gift", split=True)
