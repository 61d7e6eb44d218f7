"""Canvas QTI 1.2 export: the zip, the IMS grammars, the mapping of each kind, and text2qti's shape.

Every XML file of the zip is validated against the published IMS grammars (taken from registry
packages by tests/qti/fetch-grammars): the QTI file against the QTI 1.2.1 ASI DTD, the manifest against the IMS CP 1.1
schema. text2qti 0.8.0, the tool Canvas users write QTI with, is run on a Markdown quiz with the
same kinds of question, and its items' element paths and metadata are compared with ours.

Golden files: tests/golden/qti/<fixture>.xml (the assessment of each kind's fixture) and the
manifest and Canvas settings of one; `UPDATE_GOLDEN=1 python -m pytest tests/test_export_qti.py`
rewrites them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path

import jinja2
import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from engine import api
from engine.cli import cli
from engine.export.formats import BINARY, writer
from engine.export.qti import writer as qti_writer
from engine.export.qti.html import CanvasHtml, equation_image
from engine.export.qti.items import QtiExportError
from engine.export.qti.writer import ZIP_DATE, QtiWriter, well_formed
from engine.files import output_environment
from engine.generation.quiz import Quiz, Variant
from tests.golden import assert_golden

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "moodle"
GOLDEN = HERE / "golden" / "qti"
KIND_FIXTURES = ["concept", "scenario", "choice", "true-false", "integer", "numeric", "numeric-absolute",
                 "formula", "formula-essay", "escaping"]
QTI_NS = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CANVAS_TYPES = {"concept": "multiple_choice_question", "scenario": "multiple_choice_question",
                "choice": "multiple_choice_question", "true_false": "true_false_question",
                "integer": "numerical_question", "numeric": "numerical_question"}


def export(paths: list[Path] | None, seed: int = 7, count: int = 2) -> bytes:
    data = api.export("qti", paths, seed=seed, count=count)
    assert isinstance(data, bytes)
    return data


@cache
def fixture_export(name: str) -> bytes:
    return export([FIXTURES / f"{name}.yaml"])


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def assessment(data: bytes) -> bytes:
    (name,) = [n for n in entries(data) if n.endswith(".xml") and "/" in n and not n.endswith("assessment_meta.xml")]
    return entries(data)[name]


# -- the IMS grammars -----------------------------------------------------------------------------


@cache
def grammars() -> Path:
    """The IMS grammars, taken from registry packages by tests/qti/fetch-grammars (`.ci/run` runs it)."""
    folder = HERE / "qti" / "grammars"
    if all((folder / name).is_file() for name in ("ims_qtiasiv1p2p1.dtd", "imscp_v1p1.xsd", "xml.xsd")):
        return folder
    pytest.fail(f"the IMS grammars are missing from {folder}: run tests/qti/fetch-grammars")


@cache
def qti_dtd() -> etree.DTD:
    # selection_extension is ANY: any declared element. Canvas's one extension element is
    # declared as Canvas's converter declares it (QTIMigrationTool, lib/imsqtiv1.py).
    text = (grammars() / "ims_qtiasiv1p2p1.dtd").read_text(encoding="utf-8")
    return etree.DTD(io.StringIO(text + "\n<!ELEMENT points_per_item (#PCDATA)>\n"))


@cache
def manifest_schema() -> etree.XMLSchema:
    # It imports the xml.xsd beside it, and nothing from the network.
    parser = etree.XMLParser(no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(grammars() / "imscp_v1p1.xsd"), parser))


def without_namespaces(data: bytes) -> etree._Element:
    """The document as the DTD sees it: local names, no xmlns or xsi attributes."""
    root = etree.fromstring(data)
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
        for name in [n for n in element.attrib if n.startswith("{")]:
            del element.attrib[name]
    etree.cleanup_namespaces(root)
    return root


def validate_package(data: bytes) -> dict[str, bytes]:
    files = entries(data)
    manifest = etree.fromstring(files["imsmanifest.xml"])
    assert manifest_schema().validate(manifest), manifest_schema().error_log
    listed = {f.get("href") for f in manifest.iter("{http://www.imsglobal.org/xsd/imscp_v1p1}file")}
    assert listed == set(files) - {"imsmanifest.xml"}
    for name, content in files.items():
        if name.startswith("images/"):  # a plot: a PNG that opens (tests/test_figures_qti.py checks its links)
            assert name.endswith(".png") and Image.open(io.BytesIO(content)).format == "PNG"
            continue
        etree.fromstring(content)  # every file well-formed (the meta has no published schema)
        if name.endswith(".xml") and b"<questestinterop" in content[:300]:
            dtd = qti_dtd()
            assert dtd.validate(without_namespaces(content)), (name, dtd.error_log.filter_from_errors()[:5])
    return files


BANK_RUNS = [(None, 0, 1), (None, 7, 3), (None, 123456789, 5), ([FIXTURES], 11, 4)]


@pytest.mark.parametrize(("paths", "seed", "count"), BANK_RUNS)
def test_every_file_is_valid_for_the_whole_bank(paths: list[Path] | None, seed: int, count: int) -> None:
    files = validate_package(export(paths, seed=seed, count=count))
    assert len([name for name in files if not name.startswith("images/")]) == 3


# -- the zip --------------------------------------------------------------------------------------


def test_zip_is_deterministic_sorted_and_dated_once() -> None:
    first, second = export(None, seed=3, count=2), export(None, seed=3, count=2)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {ZIP_DATE}
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        assert archive.testzip() is None


def test_idents_come_from_the_variant_ids() -> None:
    # Copies 2-3 of a run hold the same items, with the same idents, as the whole run.
    whole = etree.fromstring(assessment(export(None, seed=5, count=3)))
    part = etree.fromstring(assessment(api.export("qti", None, seed=5, count=3, copies=(2, 3))))  # type: ignore[arg-type]
    titles = {i.get("title"): i.get("ident") for i in whole.iter(f"{QTI_NS}item")}
    for item in part.iter(f"{QTI_NS}item"):
        assert titles[item.get("title")] == item.get("ident")
    # Unique in the package (the response and feedback idents are per item, as in text2qti's).
    idents = [e.get("ident") for e in whole.iter(f"{QTI_NS}section", f"{QTI_NS}item")]
    idents += [e.get("ident") for e in whole.iterfind(f".//{QTI_NS}render_choice/{QTI_NS}response_label")]
    assert len(idents) == len(set(idents))


def test_qti_is_a_binary_format_and_ignores_no_key() -> None:
    assert "qti" in BINARY
    assert isinstance(writer("qti", key=False), QtiWriter)


def test_cli_writes_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "quiz.zip"
    result = CliRunner().invoke(cli, ["generate", "-f", "qti", "-n", "2", "-s", "4", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == export(None, seed=4, count=2)


def test_a_broken_file_is_refused_before_zipping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    well_formed(b"<a><b/></a>", "fine")
    with pytest.raises(QtiExportError, match="imsmanifest.xml: not well-formed XML"):
        well_formed(b"<a><b></a>", "imsmanifest.xml")

    def broken_environment() -> jinja2.Environment:
        env = output_environment()
        env.loader = jinja2.ChoiceLoader(
            [jinja2.DictLoader({"qti/section_start.xml.j2": "<section>&"}), env.loader])  # type: ignore[list-item]
        return env

    monkeypatch.setattr(qti_writer, "output_environment", broken_environment)
    out = tmp_path / "quiz.zip"
    with pytest.raises(QtiExportError, match="the assessment: not well-formed XML"):
        api.export("qti", [FIXTURES / "concept.yaml"], output=out)
    assert not out.exists()


# -- the mapping of each kind ---------------------------------------------------------------------


def items(data: bytes) -> Iterator[tuple[etree._Element, etree._Element]]:
    """(group section, item) for each item of the export."""
    root = etree.fromstring(assessment(data))
    for section in root.iter(f"{QTI_NS}section"):
        for item in section.findall(f"{QTI_NS}item"):
            yield section, item


def metadata(item: etree._Element) -> dict[str, str]:
    fields = item.iterfind(f"{QTI_NS}itemmetadata/{QTI_NS}qtimetadata/{QTI_NS}qtimetadatafield")
    return {f.findtext(f"{QTI_NS}fieldlabel"): f.findtext(f"{QTI_NS}fieldentry") or "" for f in fields}


def feedback(item: etree._Element, ident: str) -> str | None:
    for fb in item.iterfind(f"{QTI_NS}itemfeedback"):
        if fb.get("ident") == ident:
            return fb.findtext(f".//{QTI_NS}mattext")
    return None


# The bundled bank as its exercise files, without its bank.yaml's slots: every sheet then holds every
# exercise in the same place, as these tests index the copies (QTI with slots: tests/test_slots.py).
BANK_FILES = sorted(p for p in (HERE.parent / "exercises" / "weight-initialization").glob("*.yaml") if p.name != "bank.yaml")


@pytest.fixture(scope="module", params=[(BANK_FILES, 7, 3), ([FIXTURES], 11, 3)], ids=["bank", "fixtures"])
def exported(request: pytest.FixtureRequest) -> tuple[bytes, Quiz]:
    paths, seed, count = request.param
    return export(paths, seed=seed, count=count), api.quiz(paths, seed=seed, count=count)


def test_one_pick_1_group_per_exercise_with_its_variants(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    root = etree.fromstring(assessment(data))
    (top,) = root.findall(f"{QTI_NS}assessment/{QTI_NS}section")
    groups = top.findall(f"{QTI_NS}section")
    # One group per exercise; one per part of a multi-part exercise.
    positions = {summary.id: k for k, summary in enumerate(quiz.exercises)}
    by_group: dict[tuple[int, str], list[Variant]] = {}
    for copy in quiz.copies:
        for v in copy.variants:
            by_group.setdefault((positions[v.exercise], v.part.label if v.part else ""), []).append(v)
    assert len(groups) == len(by_group)
    for group, (_, variants) in zip(groups, sorted(by_group.items()), strict=True):
        assert group.findtext(f".//{QTI_NS}selection_number") == "1"
        assert group.findtext(f".//{QTI_NS}points_per_item") == str(variants[0].points)
        titles = [i.get("title") for i in group.findall(f"{QTI_NS}item")]
        assert [re.search(r", ([^,]+)\)$", t).group(1) for t in titles] == [v.id for v in variants]  # type: ignore[union-attr]
    meta = etree.fromstring(next(c for n, c in entries(data).items() if n.endswith("assessment_meta.xml")))
    total = sum(v.points for v in quiz.copies[0].variants)
    assert meta.findtext("{http://canvas.instructure.com/xsd/cccv1p0}points_possible") == f"{total}.0"


def _variant(quiz: Quiz, item: etree._Element) -> Variant:
    vid = re.search(r", ([^,]+)\)$", item.get("title", "")).group(1)  # type: ignore[union-attr]
    return next(v for c in quiz.copies for v in c.variants if v.id == vid)


def test_each_kind_becomes_its_canvas_question(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    for _, item in items(data):
        variant = _variant(quiz, item)
        meta = metadata(item)
        assert meta["points_possible"] == str(variant.points)
        expected = CANVAS_TYPES.get(variant.kind) or (
            "multiple_choice_question" if variant.misconceptions else "essay_question")
        if variant.answer.type == "options":  # select all that apply: tests/test_select_all.py reads the rest
            assert meta["question_type"] == "multiple_answers_question"
            continue
        assert meta["question_type"] == expected
        setvars = item.findall(f".//{QTI_NS}respcondition/{QTI_NS}setvar")
        assert [s.text for s in setvars] == ([] if expected == "essay_question" else ["100"])
        assert feedback(item, "general_fb") is not None  # the worked solution, whatever the answer


def test_choices_grade_the_keyed_option_and_carry_its_feedback(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    html = CanvasHtml()
    for _, item in items(data):
        variant = _variant(quiz, item)
        if variant.kind not in ("concept", "scenario", "choice", "true_false") or variant.answer.type == "options":
            continue
        labels = [label.get("ident") for label in item.iter(f"{QTI_NS}response_label")]
        assert metadata(item)["original_answer_ids"] == ",".join(labels)
        (correct,) = [c for c in item.iter(f"{QTI_NS}respcondition") if c.find(f"{QTI_NS}setvar") is not None]
        chosen = labels.index(correct.findtext(f".//{QTI_NS}varequal"))
        assert chosen + 1 == variant.answer.option  # type: ignore[union-attr]
        for number, label in enumerate(labels, start=1):
            option = variant.options[number - 1]
            assert feedback(item, f"{label}_fb") == (html.block(option.feedback) if option.feedback else None)


def test_numbers_are_canvas_exact_answers_with_the_tolerance_as_margin(exported: tuple[bytes, Quiz]) -> None:
    data, quiz = exported
    seen = set()
    for _, item in items(data):
        variant = _variant(quiz, item)
        answer = variant.answer
        if answer.type not in ("integer", "numeric"):
            continue
        seen.add(answer.type)
        condition = item.find(f".//{QTI_NS}respcondition/{QTI_NS}conditionvar/{QTI_NS}or")
        exact = Decimal(condition.findtext(f"{QTI_NS}varequal"))
        low = Decimal(condition.findtext(f"{QTI_NS}and/{QTI_NS}vargte"))
        high = Decimal(condition.findtext(f"{QTI_NS}and/{QTI_NS}varlte"))
        margin = Decimal(0) if answer.type == "integer" else Decimal(answer.absolute_tolerance)
        assert exact == (Decimal(answer.value) if answer.type == "integer" else Decimal(answer.decimal))
        assert (low, high) == (exact - margin, exact + margin)
        wrong = feedback(item, "general_incorrect_fb")
        assert (wrong is not None) == any(m.feedback for m in variant.misconceptions)
    assert seen == {"integer", "numeric"}


def test_formulas_map_as_in_the_moodle_export() -> None:
    for name, qtype in (("formula", "multiple_choice_question"), ("formula-essay", "essay_question")):
        data = fixture_export(name)
        quiz = api.quiz([FIXTURES / f"{name}.yaml"], seed=7, count=2)
        for _, item in items(data):
            variant = _variant(quiz, item)
            assert metadata(item)["question_type"] == qtype
            if qtype == "essay_question":
                assert "Correct answer" in (feedback(item, "general_fb") or "")
                continue
            images = [lxml.html.fromstring(label.findtext(f".//{QTI_NS}mattext"))
                      for label in item.iter(f"{QTI_NS}response_label")]
            tex = [img.get("data-equation-content") for img in images]
            assert variant.answer.latex in tex  # type: ignore[union-attr]
            assert len(tex) == len(set(tex)) >= 2


# -- math and hostile text ------------------------------------------------------------------------


def test_inline_and_display_math_become_canvas_equation_images() -> None:
    html = CanvasHtml().block("Inline $a < b$ and\n\n$$\\frac{1}{2}$$\n\nand $$x$$ in text.")
    tree = lxml.html.fromstring(f"<div>{html}</div>")
    images = tree.findall(".//img")
    assert [i.get("data-equation-content") for i in images] == [
        "a < b", "\\displaystyle \\frac{1}{2}", "\\displaystyle x"]
    assert all(i.get("class") == "equation_image" and i.get("alt") == "LaTeX: " + i.get("data-equation-content")
               for i in images)
    assert images[0].get("src") == "/equation_images/a%20%3C%20b?scale=1"
    assert [i.getparent().tag for i in images] == ["p", "span", "span"]  # display: a centred line


def test_hostile_text_stays_text() -> None:
    data = fixture_export("escaping")
    validate_package(data)
    for _, item in items(data):
        texts = [m.text or "" for m in item.iter(f"{QTI_NS}mattext")]
        fragments = [lxml.html.fragment_fromstring(t, create_parent="div") for t in texts]
        tags = {e.tag for f in fragments for e in f.iter()}
        assert not tags & {"b", "i", "script"}
        words = " ".join(f.text_content() for f in fragments)
        assert "<b>bold?</b>" in words and "]]>" in words and "<script>alert(1)</script>" in words
        tex = [img.get("data-equation-content") for f in fragments for img in f.iter("img")]
        assert "a < b" in tex and "x > 0" in tex


# -- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", KIND_FIXTURES)
def test_golden(name: str) -> None:
    files = {"assessment": assessment(fixture_export(name))}
    if name == "concept":
        found = entries(fixture_export(name))
        files["imsmanifest"] = found["imsmanifest.xml"]
        files["assessment_meta"] = next(c for n, c in found.items() if n.endswith("assessment_meta.xml"))
    for part, content in files.items():
        path = GOLDEN / (f"{name}.xml" if part == "assessment" else f"{name}.{part}.xml")
        assert_golden(path, content)


def test_golden_files_cover_every_kind() -> None:
    kinds = {api.quiz([FIXTURES / f"{name}.yaml"]).exercises[0].kind for name in KIND_FIXTURES}
    assert kinds == {"concept", "scenario", "choice", "true_false", "integer", "numeric", "formula"}


# -- text2qti 0.8.0 -------------------------------------------------------------------------------

TEXT2QTI_QUIZ = """\
Quiz title: Comparison
Quiz description: The kinds quizwright exports.

GROUP
pick: 1
points per question: 2

1.  Which initialization keeps the variance for ReLU, $\\sigma^2$?
... He doubles the variance.
*a) He
... Right.
b) Xavier
... Xavier is for tanh.
c) Zeros
... Zeros never break the symmetry.

END_GROUP

2.  Zero initialization breaks the symmetry.
... It does not.
a) True
... Every unit computes the same thing.
*b) False

3.  What is $\\sqrt{2}/8$ to four decimals?
... The solution.
-   A common mistake.
=   0.1768 +- 0.002
"""


@cache
def text2qti_items() -> dict[str, etree._Element]:
    """text2qti's items of TEXT2QTI_QUIZ, by question type, and its group section under "group"."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "quiz.md").write_text(TEXT2QTI_QUIZ, encoding="utf-8")
        # text2qti writes its configuration to ~/.text2qti.bespon: HOME is the temporary folder.
        done = subprocess.run(
            [sys.executable, "-c", "from text2qti.cmdline import main; main()", "quiz.md"],
            cwd=folder, env={**os.environ, "HOME": tmp}, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"text2qti 0.8.0 failed (pip install -e '.[test]'): {done.stderr}"
        data = (folder / "quiz.zip").read_bytes()
    found: dict[str, etree._Element] = {}
    for section, item in items(data):
        found[metadata(item)["question_type"]] = item
        if section.find(f"{QTI_NS}selection_ordering") is not None:
            found["group"] = section
    return found


def paths(element: etree._Element) -> set[str]:
    """The element paths below `element` (local names), attributes named as @name."""
    out = set()
    for e in element.iter():
        trail = [etree.QName(a).localname for a in reversed(list(e.iterancestors())) if a in set(element.iter())]
        trail.append(etree.QName(e).localname)
        path = "/".join(trail)
        out.add(path)
        out.update(f"{path}/@{name}" for name in e.attrib)
    return out


def test_text2qti_validates_as_ours() -> None:
    # The grammar is the one text2qti's output, imported by Canvas every day, meets too.
    for item in text2qti_items().values():
        assert qti_dtd().validate(without_namespaces(etree.tostring(item))), qti_dtd().error_log


@pytest.mark.parametrize(("fixture", "qtype"), [
    ("concept", "multiple_choice_question"), ("true-false", "true_false_question"),
    ("numeric", "numerical_question")])
def test_items_have_text2qti_shape(fixture: str, qtype: str) -> None:
    theirs = text2qti_items()[qtype]
    _, ours = next(items(fixture_export(fixture)))
    assert list(metadata(ours)) == list(metadata(theirs))
    assert metadata(ours)["question_type"] == metadata(theirs)["question_type"]
    assert re.fullmatch(r"\d+", metadata(ours)["points_possible"])
    assert paths(ours) == paths(theirs)
    conditions = [(c.get("continue"), [etree.QName(e).localname for e in c.iter()])
                  for c in ours.iter(f"{QTI_NS}respcondition")]
    their_conditions = [(c.get("continue"), [etree.QName(e).localname for e in c.iter()])
                        for c in theirs.iter(f"{QTI_NS}respcondition")]
    assert sorted(set(map(str, conditions))) == sorted(set(map(str, their_conditions)))


def test_groups_have_text2qti_shape() -> None:
    theirs = text2qti_items()["group"]
    ours = next(s for s, _ in items(fixture_export("concept")) if s.find(f"{QTI_NS}selection_ordering") is not None)
    shape = {p for p in paths(ours) if "/item" not in p}
    assert shape == {p for p in paths(theirs) if "/item" not in p}


def test_math_is_written_as_text2qti_writes_it() -> None:
    item = text2qti_items()["numerical_question"]
    theirs = lxml.html.fragment_fromstring(item.findtext(f".//{QTI_NS}mattext"), create_parent="div").find(".//img")
    ours = lxml.html.fragment_fromstring(equation_image("\\sqrt{2}/8", display=False), create_parent="div").find("img")
    assert dict(ours.attrib) == dict(theirs.attrib)
