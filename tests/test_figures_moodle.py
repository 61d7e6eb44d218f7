"""Figures in the Moodle XML and GIFT exports.

Moodle XML: every plot a text links is a `<file>` of that text element, read back the way Moodle's
importer reads it. `import_files_as_draft` ports qformat_xml::import_text_with_files /
import_files_as_draft (question/format/xml/format.php): each `<file>` of a text element, its
`name` and `path` attributes trimmed (path "/" by default), a repeated path + name skipped,
the content base64-decoded (PHP's lenient base64_decode) and stored through
file_storage::create_file_from_string (lib/filestorage/file_storage.php), which cleans the name
with PARAM_FILE (a changed name is stored under the new one, and the link breaks), refuses an
empty name and a path that does not start and end with "/". Moodle reads the files of the
question text, the general feedback, the essay's grader information, a multichoice answer and
every answer's feedback.

GIFT cannot carry images: exercises that show a plot are left out, with a notice; tables stay,
as HTML tables, read back by gift-pegjs and by the port of Moodle's GIFT importer.

Golden files: tests/golden/figures-moodle/, with each file's base64 replaced by its name (PNG
bytes depend on the image library); `UPDATE_GOLDEN=1` rewrites them.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from engine import api
from engine.cli import cli
from engine.errors import UsageError
from engine.export import figures as figures_mod
from engine.export.figures import Drawings, linked
from engine.export.moodle import questions, render
from engine.export.moodle import writer as moodle_writer
from engine.export.moodle.questions import QuestionBuilder
from engine.generation.quiz import ExerciseSummary, Plot, Quiz, Variant
from tests.golden import assert_golden
from tests.test_export_gift import gift_pegjs, pegjs_read, written
from tests.test_export_gift import moodle_read as gift_moodle_read
from tests.test_moodle import PHP_WHITESPACE, Node, getpath, moodle_read
from tests.test_moodle_fast import direct, template

HERE = Path(__file__).parent
BANK = HERE / "fixtures" / "figures-moodle"
GOLDEN = HERE / "golden" / "figures-moodle"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEED, COUNT = 1, 6
PLOTTED = ("curves", "essay", "loss")  # the fixture's exercises that show a plot
# The elements whose files Moodle stores, per question type (import_headers, import_answer, ...).
FILE_OWNERS = {"questiontext", "generalfeedback", "graderinfo", "feedback"}
_LINK = re.compile(r"@@PLUGINFILE@@/([^\"'\s<>?#]*)")
REAL_DRAW = figures_mod.draw


@pytest.fixture(autouse=True, scope="module")
def drawn_once_per_module() -> Any:
    """matplotlib draws each plot once for the whole module (its exports repeat the same plots)."""
    cache: dict[tuple[str, str], bytes] = {}

    def cached(plot: Plot, kind: figures_mod.Kind) -> bytes:
        if (plot.file, kind) not in cache:
            cache[plot.file, kind] = REAL_DRAW(plot, kind)
        return cache[plot.file, kind]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures_mod, "draw", cached)
        yield


# -- Moodle's reading of a text's files, ported ------------------------------------------------------


def param_file(name: str) -> str:
    """clean_param($name, PARAM_FILE): control characters and & < > " ` | ' : \\ / removed; '.' and '..' empty."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]|[&<>\"`|':\\/]", "", name)
    return "" if cleaned in (".", "..") else cleaned


def php_base64_decode(data: str) -> bytes:
    """PHP's base64_decode($data) (not strict): characters outside the alphabet are skipped."""
    kept = re.sub(r"[^A-Za-z0-9+/]", "", data)
    return base64.b64decode(kept + "=" * (-len(kept) % 4))


@dataclass
class StoredFiles:
    files: dict[str, bytes]  # path + name → bytes, as stored in the text's draft area
    problems: list[str]


def import_files_as_draft(element: Node) -> StoredFiles:
    """The files Moodle stores with one text element, and what went wrong (debugging, exceptions)."""
    stored = StoredFiles({}, [])
    for file in element.children.get("file", []):
        name = file.attrs.get("name", "").strip(PHP_WHITESPACE)
        path = file.attrs.get("path", "/").strip(PHP_WHITESPACE)
        if path + name in stored.files:
            stored.problems.append(f"Duplicate file in XML: {path + name}")
            continue
        if not (path.startswith("/") and path.endswith("/")):
            stored.problems.append(f"Invalid file path: {path!r}")
            continue
        cleaned = param_file(name)
        if cleaned == "":
            stored.problems.append(f"Invalid file name: {name!r}")
            continue
        if cleaned != name:
            stored.problems.append(f"{name!r} stored as {cleaned!r}")
        stored.files[path + cleaned] = php_base64_decode(file.text)
    return stored


def text_elements(node: Node, owner: str = "") -> list[tuple[str, Node]]:
    """Every element holding a `<text>`, with its name, below `node`."""
    found = [(owner, node)] if "text" in node.children else []
    for name, children in node.children.items():
        for child in children:
            found += text_elements(child, name)
    return found


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))


def images(html: str) -> list[dict[str, str | None]]:
    parser = _Images()
    parser.feed(html)
    return parser.images


# -- the fixture bank's export ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported() -> tuple[bytes, Quiz]:
    data = api.export("moodle", [BANK], seed=SEED, count=COUNT)
    assert isinstance(data, str)
    return data.encode(), api.quiz([BANK], seed=SEED, count=COUNT)


def summary(quiz: Quiz, exercise: str) -> ExerciseSummary:
    return next(s for s in quiz.exercises if s.id == exercise)


def plots_of(variant: Variant) -> dict[str, Plot]:
    return {f"{f.file}.png": f for f in variant.figures if isinstance(f, Plot)}


def imported(exported: tuple[bytes, Quiz]) -> list[tuple[Any, Variant]]:
    """Moodle's questions (file order: exercise by exercise) with their variants."""
    data, quiz = exported
    read, errors = moodle_read(data)
    assert errors == []
    variants = {copy.variants[k].id: copy.variants[k] for k in range(len(quiz.exercises)) for copy in quiz.copies}
    ids = [q.idnumber for q in read]
    assert ids == [i for i in variants if i in ids]  # identical variants are written once
    return [(q, variants[q.idnumber]) for q in read]


def test_moodle_stores_every_linked_plot_with_its_text(exported: tuple[bytes, Quiz]) -> None:
    texts_with_files = 0
    for q, variant in imported(exported):
        plots = plots_of(variant)
        for owner, element in text_elements(q.xml):
            text = getpath(element, "text", default="")
            links = _LINK.findall(text)
            stored = import_files_as_draft(element)
            where = f"{variant.id} {owner}"
            assert stored.problems == [], where
            if stored.files:
                texts_with_files += 1
                assert owner in FILE_OWNERS or (owner == "answer" and q.qtype == "multichoice"), where
            assert sorted(set(links)) == sorted(name.lstrip("/") for name in stored.files), where  # none unused
            assert "figures/" not in text, where
            for path, content in stored.files.items():
                assert content.startswith(PNG_SIGNATURE), where
                with Image.open(io.BytesIO(content)) as image:
                    image.verify()
                    assert (image.format, image.size) == ("PNG", (900, 540)), where
                assert path.lstrip("/") in plots, where
    assert texts_with_files >= 2 * COUNT  # the question and the explanation of `curves`, at least


def test_each_text_holds_the_plots_its_markdown_shows_with_their_alt_text(exported: tuple[bytes, Quiz]) -> None:
    for q, variant in imported(exported):
        plots = plots_of(variant)
        expected = {"questiontext": linked(variant.question), "generalfeedback": linked(variant.explanation)}
        if q.qtype == "essay":
            expected["graderinfo"] = linked(variant.explanation)
        for owner, files in expected.items():
            element = q.xml.children[owner][0]
            shown = [(img["src"], img["alt"]) for img in images(getpath(element, "text", default=""))]
            assert shown == [(f"@@PLUGINFILE@@/{f}.png", plots[f"{f}.png"].alt) for f in files], variant.id
            names = [file.attrs["name"] for file in element.children.get("file", [])]
            assert names == list(dict.fromkeys(f"{f}.png" for f in files)), variant.id  # each once per text


def test_the_embedded_bytes_are_the_plots_drawn(exported: tuple[bytes, Quiz]) -> None:
    drawings = Drawings()
    for q, variant in imported(exported):
        for _, element in text_elements(q.xml):
            for path, content in import_files_as_draft(element).files.items():
                assert content == drawings.draw(plots_of(variant)[path.lstrip("/")], "png"), variant.id
    # Drawn again, outside the module's cache: the same bytes.
    for variant in exported[1].copies[0].variants:
        for plot in plots_of(variant).values():
            assert REAL_DRAW(plot, "png") == drawings.draw(plot, "png"), variant.id


def test_every_distinct_plot_is_drawn_once(drawn: list[tuple[str, str]]) -> None:
    xml = api.export("moodle", [BANK], seed=SEED, count=8, exercises=["loss", "essay"])
    quiz = api.quiz([BANK], seed=SEED, count=8, exercises=["loss", "essay"])
    distinct = {f.file for copy in quiz.copies for v in copy.variants for f in v.figures}
    assert sorted(drawn) == sorted((file, "png") for file in distinct)
    assert len(distinct) == 5  # two curves and a reference shared by every `loss`, two `essay` plots
    # loss: 2 in its feedback; essay: 2 texts; per question written (identical variants once)
    assert isinstance(xml, str) and xml.count("<file ") == 2 * xml.count("<question type=\"essay\"") + 2 * (
        xml.count("<idnumber>loss."))


def test_figure_questions_render_as_the_template_does(exported: tuple[bytes, Quiz]) -> None:
    _, quiz = exported
    builder = QuestionBuilder(quiz.bank.code)
    renderer = render.QuestionRenderer(template())
    exercises = [moodle_writer.ExerciseQuestions(builder, renderer, s) for s in quiz.exercises]
    for copy in quiz.copies:
        for k, variant in enumerate(copy.variants):
            q = builder.build(variant)
            exercises[k].embedder.embed(q, variant)
            assert exercises[k].xml(variant) == direct(q), variant.id


def test_repeated_table_questions_are_reused_and_equal_the_template() -> None:
    # Variants that show only tables hold no files: their XML is written once per content and reused.
    quiz = api.quiz([BANK], seed=SEED, count=5, exercises=["table-only"])
    builder = QuestionBuilder(quiz.bank.code)
    exercise = moodle_writer.ExerciseQuestions(builder, render.QuestionRenderer(template()), quiz.exercises[0])
    assert exercise.reuse
    for copy in quiz.copies:
        (variant,) = copy.variants
        assert exercise.xml(variant) == direct(builder.build(variant)), variant.id


def test_plot_names_that_differ_only_in_digits_keep_their_own_files(exported: tuple[bytes, Quiz]) -> None:
    # The HTML converter and the question renderer cache by shape (digit runs set aside): two
    # variants whose plot names have the same shape must still link and embed their own plot.
    _, quiz = exported
    variant = next(v for copy in quiz.copies for v in copy.variants if v.exercise == "essay")
    (plot,) = [f for f in variant.figures if isinstance(f, Plot)]
    names = ("fig-1111111111111111", "fig-2222222222222222", "fig-1234567890123456")
    twins = [variant.model_copy(update={
        "figures": [plot.model_copy(update={"file": name, "alt": f"{name} alt 7"})],
        "explanation": variant.explanation.replace(plot.file, name).replace(plot.alt, f"{name} alt 7"),
    }) for name in names]
    builder = QuestionBuilder(quiz.bank.code)
    renderer = render.QuestionRenderer(template())
    exercise = moodle_writer.ExerciseQuestions(builder, renderer, summary(quiz, "essay"))
    for name, twin in [*zip(names, twins, strict=True)] * 2:
        xml = exercise.xml(twin)
        assert set(re.findall(r"fig-[0-9a-f]{16}", xml)) == {name}, name
        assert xml.count(f'<file name="{name}.png"') == 2 and f'alt="{name} alt 7"' in xml


def test_plots_in_an_answer_are_refused(exported: tuple[bytes, Quiz]) -> None:
    _, quiz = exported
    variant = next(v for copy in quiz.copies for v in copy.variants if v.exercise == "curves")
    embedder = moodle_writer.ExerciseQuestions(QuestionBuilder("FM"), render.QuestionRenderer(
        template()), summary(quiz, "curves")).embedder
    q = QuestionBuilder("FM").build(variant)
    q.answers[0].feedback = q.generalfeedback
    with pytest.raises(questions.MoodleExportError, match="only the question and the explanation"):
        embedder.embed(q, variant)
    q = QuestionBuilder("FM").build(variant)
    q.questiontext += '<img src="figures/fig-0000000000000000.png" alt="" />'
    with pytest.raises(questions.MoodleExportError, match="not one of the variant's plots"):
        embedder.embed(q, variant)


def test_tables_are_html_tables_moodle_keeps(exported: tuple[bytes, Quiz]) -> None:
    for q, variant in imported(exported):
        if variant.exercise not in ("curves", "table-only"):
            continue
        (table,) = [f for f in variant.figures if f.type == "table"]
        text = q.questiontext
        caption = text[text.index("<p>", text.index("/>") if "<img" in text else 0):text.index("<table>")]
        assert "<table> <thead> <tr> <th" in text and "</tbody> </table>" in text, variant.id
        assert text.count("<th ") == len(table.header) and text.count("<tr>") == 1 + len(table.rows), variant.id
        # Hostile captions and cells stay text: escaped markup, `|` and `]]>` as characters.
        assert "&lt;" in caption and "|" in caption and "<b>" not in text and "<th>" not in text, variant.id


def test_hostile_alt_text_stays_text(exported: tuple[bytes, Quiz]) -> None:
    data, _ = exported
    assert b'alt="Runs &lt;A&gt; &amp; &quot;B&quot; ]]&gt; over 6 layers: $5 | ~=#{}: one grows"' in data


def test_the_same_bank_and_seed_give_the_same_bytes(exported: tuple[bytes, Quiz]) -> None:
    assert api.export("moodle", [BANK], seed=SEED, count=COUNT).encode() == exported[0]  # type: ignore[union-attr]


def without_png(xml: str) -> str:
    return re.sub(r'(<file name="([^"]+)" path="/" encoding="base64">)[^<]*', r"\1(PNG \2)", xml)


def test_golden_moodle() -> None:
    xml = api.export("moodle", [BANK], seed=SEED, count=2)
    assert isinstance(xml, str)
    assert_golden(GOLDEN / "figures.xml", without_png(xml).encode())


def test_generate_writes_moodle_xml_with_figures(tmp_path: Path) -> None:
    out = tmp_path / "quiz.xml"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-f", "moodle", "-n", "2", "-s", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.xml"]  # the images are inside
    assert out.read_text(encoding="utf-8") == api.export("moodle", [BANK], seed=1, count=2)


# -- GIFT ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gift() -> tuple[str, Quiz]:
    data = api.export("gift", [BANK], seed=SEED, count=3)
    assert isinstance(data, str)
    return data, api.quiz([BANK], seed=SEED, count=3)


def test_gift_leaves_out_exercises_that_show_a_plot(gift: tuple[str, Quiz]) -> None:
    document, quiz = gift
    for reads in (pegjs_read(gift_pegjs([document])[0]), gift_moodle_read(document)):
        # table-only's distinct questions (GIFT, like Moodle XML, writes each once)
        assert [r.idnumber for r in reads] == [v.id for v in written(quiz) if v.exercise == "table-only"]
        assert reads and all(r.idnumber.startswith(f"table-only.{SEED}.") for r in reads)
    for exercise in PLOTTED:
        assert f"// exercise {exercise} left out: its text shows a plot" in document
    assert "@@PLUGINFILE@@" not in document and "<img" not in document and "figures/" not in document


def test_gift_tables_read_back_as_the_moodle_xml_tables(gift: tuple[str, Quiz]) -> None:
    document, quiz = gift
    builder = QuestionBuilder(quiz.bank.code)
    variants = [v for v in written(quiz) if v.exercise == "table-only"]
    for reads in (pegjs_read(gift_pegjs([document])[0]), gift_moodle_read(document)):
        for read, variant in zip(reads, variants, strict=True):
            assert read.text == builder.build(variant).questiontext, variant.id
            assert "<table> <thead>" in read.text and "~=#{}: ]]&gt;" in read.text, variant.id


def test_gift_names_the_left_out_exercises_in_one_notice(tmp_path: Path) -> None:
    out = tmp_path / "quiz.gift"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-f", "gift", "-n", "2", "-s", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 1
    assert "GIFT cannot carry images" in notes[0] and "--format moodle" in notes[0]
    assert all(f"{exercise} (" in notes[0] for exercise in PLOTTED) and "table-only" not in notes[0]


def test_gift_refuses_a_selection_where_every_exercise_shows_a_plot(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="every selected exercise shows a plot: curves .*--format moodle"):
        api.export("gift", [BANK], seed=1, count=2, exercises=["curves", "loss"])
    out = tmp_path / "quiz.gift"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-f", "gift", "-e", "essay", "-o", str(out)])
    assert result.exit_code == 1 and result.output.startswith("Error: GIFT cannot carry images"), result.output
    assert not out.exists()


def test_golden_gift(gift: tuple[str, Quiz]) -> None:
    assert_golden(GOLDEN / "figures.gift", gift[0].encode())
