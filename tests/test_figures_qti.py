"""Figures in the Canvas QTI export: plots as PNG files in the zip, linked as Canvas resolves package files.

Each distinct plot is one `images/<file>.png`, listed once in the manifest as a `webcontent`
resource and linked from the HTML as `%24IMS-CC-FILEBASE%24/images/<file>.png`, the shape
text2qti 0.8.0 writes for a Markdown image (run here on an equivalent quiz). The package is
validated against the IMS grammars of tests/test_export_qti.py; tables are HTML tables.

Golden files: tests/golden/figures-qti/ (the manifest and the assessment, no PNG bytes);
`UPDATE_GOLDEN=1 python -m pytest tests/test_figures_qti.py` rewrites them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import urllib.parse
import zipfile
from functools import cache
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from engine import api
from engine.cli import cli
from engine.export.figures import plots
from engine.export.qti.html import FILE_LINK, image_path
from engine.export.qti.items import ItemBuilder, QtiExportError
from engine.generation.quiz import Plot, Quiz, Table, Variant
from tests.golden import assert_golden
from tests.test_export_qti import QTI_NS, manifest_schema, metadata, qti_dtd, without_namespaces

HERE = Path(__file__).parent
BANK = HERE / "fixtures" / "figures-qti"
GOLDEN = HERE / "golden" / "figures-qti"
CP_NS = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
FILEBASE = "%24IMS-CC-FILEBASE%24/"
SEED, COUNT = 7, 3


@cache
def export(seed: int = SEED, count: int = COUNT) -> bytes:
    data = api.export("qti", [BANK], seed=seed, count=count)
    assert isinstance(data, bytes)
    return data


@cache
def quiz(seed: int = SEED, count: int = COUNT) -> Quiz:
    return api.quiz([BANK], seed=seed, count=count)


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def assessment_name(files: dict[str, bytes]) -> str:
    (name,) = [n for n in files if n.startswith("qw_") and not n.endswith("assessment_meta.xml")]
    return name


def image_resources(manifest: bytes) -> list[etree._Element]:
    """The manifest's `webcontent` resources, whatever its namespace (text2qti's is Common Cartridge's)."""
    root = etree.fromstring(manifest)
    return [r for r in root.iter() if etree.QName(r).localname == "resource" and r.get("type") == "webcontent"]


def item_variants(data: bytes, found: Quiz) -> list[tuple[etree._Element, Variant]]:
    """(item, its variant) for every item of the export."""
    by_id = {v.id: v for c in found.copies for v in c.variants}
    root = etree.fromstring(entries(data)[assessment_name(entries(data))])
    return [(item, by_id[item.get("title", "").rsplit(", ", 1)[1].rstrip(")")]) for item in root.iter(f"{QTI_NS}item")]


def fragments(item: etree._Element) -> list[lxml.html.HtmlElement]:
    """Every mattext of the item (question, options, feedback) as parsed HTML."""
    return [lxml.html.fragment_fromstring(m.text or "", create_parent="div") for m in item.iter(f"{QTI_NS}mattext")]


def plot_images(item: etree._Element) -> list[lxml.html.HtmlElement]:
    """The item's <img> that are not Canvas equations."""
    return [img for f in fragments(item) for img in f.iter("img") if img.get("class") != "equation_image"]


# -- the zip and its manifest ---------------------------------------------------------------------


def test_each_plot_is_one_png_listed_once_in_a_valid_manifest() -> None:
    files = entries(export())
    expected = {image_path(p.file) for p in plots(quiz().copies)}
    assert len(expected) >= 4  # several draws share a plot, several differ
    assert {n for n in files if n.startswith("images/")} == expected
    manifest = etree.fromstring(files["imsmanifest.xml"])
    assert manifest_schema().validate(manifest), manifest_schema().error_log
    resources = image_resources(files["imsmanifest.xml"])
    hrefs = [r.get("href") for r in resources]
    assert sorted(hrefs) == hrefs and set(hrefs) == expected and len(hrefs) == len(expected)
    for resource in resources:
        assert [f.get("href") for f in resource.iter(f"{CP_NS}file")] == [resource.get("href")]
    idents = [r.get("identifier") for r in manifest.iter(f"{CP_NS}resource")]
    assert len(idents) == len(set(idents))
    listed = {f.get("href") for f in manifest.iter(f"{CP_NS}file")}
    assert listed == set(files) - {"imsmanifest.xml"}


def test_the_assessment_still_meets_the_qti_dtd() -> None:
    files = entries(export())
    dtd = qti_dtd()
    assert dtd.validate(without_namespaces(files[assessment_name(files)])), dtd.error_log.filter_from_errors()[:5]
    for name, content in files.items():
        if name.endswith(".xml"):
            etree.fromstring(content)


def test_the_pngs_open_at_the_drawn_size() -> None:
    for name, content in entries(export()).items():
        if name.startswith("images/"):
            with Image.open(io.BytesIO(content)) as image:
                assert (image.format, image.size) == ("PNG", (900, 540))
                image.verify()


def test_the_zip_is_byte_identical_twice() -> None:
    first = api.export("qti", [BANK], seed=SEED, count=COUNT)
    assert first == api.export("qti", [BANK], seed=SEED, count=COUNT) == export()


def test_another_process_writes_the_same_bytes(tmp_path: Path) -> None:
    # A fresh interpreter: matplotlib's caches and state start anew, the PNGs must not change.
    out = tmp_path / "quiz.zip"
    done = subprocess.run([sys.executable, "-m", "engine", "generate", str(BANK), "-f", "qti", "-n", str(COUNT),
                           "-s", str(SEED), "-o", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == export()


def test_each_distinct_plot_is_drawn_once(drawn: list[tuple[str, str]]) -> None:
    api.export("qti", [BANK], seed=SEED, count=8)
    distinct = {p.file for p in plots(api.quiz([BANK], seed=SEED, count=8).copies)}
    assert sorted(drawn) == sorted((f, "png") for f in distinct)


def test_a_part_of_a_run_holds_only_its_copies_plots() -> None:
    data = api.export("qti", [BANK], seed=SEED, count=COUNT, copies=(2, 2))
    assert isinstance(data, bytes)
    second = [quiz().copies[1]]
    assert {n for n in entries(data) if n.startswith("images/")} == {image_path(p.file) for p in plots(second)}


def test_cli_writes_the_images_into_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "quiz.zip"
    result = CliRunner().invoke(cli, ["generate", str(BANK), "-f", "qti", "-n", str(COUNT), "-s", str(SEED),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == export()
    assert not (tmp_path / "figures").exists()  # everything travels in the zip


# -- the links, the alt text and the tables -------------------------------------------------------


def test_every_link_resolves_to_a_file_in_the_zip() -> None:
    files = entries(export())
    linked: set[str] = set()
    for item, _ in item_variants(export(), quiz()):
        for fragment in fragments(item):
            for element in fragment.iter():
                for attr in ("src", "href"):
                    url = element.get(attr)
                    if url is None or element.get("class") == "equation_image":
                        continue
                    assert url.startswith(FILEBASE), url
                    path = urllib.parse.unquote(url.removeprefix(FILEBASE))
                    assert path in files, url
                    linked.add(path)
    assert linked == {n for n in files if n.startswith("images/")}  # and no image is left unlinked


def test_each_item_shows_its_variants_plots_with_their_alt_text() -> None:
    for item, variant in item_variants(export(), quiz()):
        variant_plots = {f.file: f for f in variant.figures if isinstance(f, Plot)}
        images = plot_images(item)
        assert {img.get("src") for img in images} == {FILE_LINK.format(file=f) for f in variant_plots}
        for img in images:
            plot = variant_plots[img.get("src").removeprefix(FILEBASE + "images/").removesuffix(".png")]
            assert img.get("alt") == plot.alt
            assert "max-width: 100%" in img.get("style")


def test_the_plot_in_question_and_explanation_is_one_file() -> None:
    for item, variant in item_variants(export(), quiz()):
        if variant.exercise == "curves":
            question = item.find(f"{QTI_NS}presentation/{QTI_NS}material/{QTI_NS}mattext").text
            explanation = next(fb for fb in item.iter(f"{QTI_NS}itemfeedback") if fb.get("ident") == "general_fb")
            (plot,) = [f for f in variant.figures if isinstance(f, Plot)]
            link = FILE_LINK.format(file=plot.file)
            assert link in question and link in etree.tostring(explanation, encoding="unicode")


def test_tables_are_html_tables() -> None:
    seen = 0
    for item, variant in item_variants(export(), quiz()):
        for table in [f for f in variant.figures if isinstance(f, Table)]:
            question = fragments(item)[0]
            (html_table,) = [t for t in question.iter("table") if len(t.findall("thead/tr/th")) == len(table.header)]
            rows = html_table.findall("tbody/tr")
            assert len(rows) == len(table.rows)
            assert html_table.getprevious().text_content() == table.caption
            seen += 1
    assert seen >= 2
    curves = next(item for item, v in item_variants(export(), quiz()) if v.exercise == "curves")
    cells = [[td.text_content() for td in tr.findall("td")] for tr in fragments(curves)[0].iter("tr")][1:]
    assert [row[0] for row in cells] == ["1", "3", "6"]


def test_hostile_alt_text_captions_and_cells_stay_text() -> None:
    hostile = [(item, v) for item, v in item_variants(export(), quiz()) if v.exercise == "hostile"]
    assert hostile
    for item, _ in hostile:
        question = fragments(item)[0]
        tags = {e.tag for f in fragments(item) for e in f.iter()}
        assert not tags & {"b", "i", "script", "a", "em"}
        (img,) = plot_images(item)
        assert img.get("alt") == ("Bars <b>bold?</b> & \"quoted\" 'single' $5 | pipe ]]> "
                                  "<script>alert(1)</script> [x](y) *star*")
        words = question.text_content()
        assert "Caption <b>bold?</b> & | pipe $5 and ]]> <script>alert(2)</script>" in words
        headers = [th.text_content() for th in question.iter("th")]
        assert headers[0] == "i | <b>&</b>"
        assert headers[1].startswith('"q" ') and headers[1].endswith(" <img src=x>")
        assert [img.get("data-equation-content") for img in question.iter("img") if img.get("class")] == ["k^i"]


def test_a_link_to_a_file_that_is_not_a_plot_is_refused() -> None:
    # The zip holds the variant's plots only: any other figures/ link would be a broken image.
    variant = next(v for c in quiz().copies for v in c.variants if v.exercise == "curves")
    ItemBuilder().build(variant)
    stray = variant.model_copy(update={"explanation": variant.explanation + "\n\n![old](figures/fig-0123456789abcdef.png)"})
    with pytest.raises(QtiExportError, match=r"curves\.7\.\d+: the text links figures/fig-0123456789abcdef\.png"):
        ItemBuilder().build(stray)


# -- text2qti 0.8.0 -------------------------------------------------------------------------------

TEXT2QTI_QUIZ = """\
Quiz title: An image

1.  Which run used He initialization? ![Three curves & <more>](plot.png)
*a) Run B
b) Run A
"""


@cache
def text2qti_zip() -> dict[str, bytes]:
    """text2qti's package for TEXT2QTI_QUIZ, its image a plot of ours."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = entries(export())
        (folder / "plot.png").write_bytes(next(c for n, c in files.items() if n.startswith("images/")))
        (folder / "quiz.md").write_text(TEXT2QTI_QUIZ, encoding="utf-8")
        # text2qti writes its configuration to ~/.text2qti.bespon: HOME is the temporary folder.
        done = subprocess.run(
            [sys.executable, "-c", "from text2qti.cmdline import main; main()", "quiz.md"],
            cwd=folder, env={**os.environ, "HOME": tmp}, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"text2qti 0.8.0 failed (pip install -e '.[test]'): {done.stderr}"
        return entries((folder / "quiz.zip").read_bytes())


def test_image_resources_have_text2qti_shape() -> None:
    theirs_files = text2qti_zip()
    (theirs,) = image_resources(theirs_files["imsmanifest.xml"])
    ours = image_resources(entries(export())["imsmanifest.xml"])
    for resource in ours:
        assert set(resource.attrib) == set(theirs.attrib)
        assert [etree.QName(c).localname for c in resource] == [etree.QName(c).localname for c in theirs]
        assert resource.get("href").split("/")[0] == theirs.get("href").split("/")[0] == "images"
    assert theirs.get("href") in theirs_files


def test_image_links_have_text2qti_form() -> None:
    files = text2qti_zip()
    root = etree.fromstring(files[next(n for n in files if n.endswith(".xml") and "/text2qti_assessment_" in n)])
    item = next(root.iter(f"{QTI_NS}item"))
    assert metadata(item)["question_type"] == "multiple_choice_question"
    (theirs,) = plot_images(item)
    assert theirs.get("src") == FILEBASE + "images/plot.png"
    ours = plot_images(item_variants(export(), quiz())[0][0])[0]
    assert ours.get("src").startswith(FILEBASE + "images/")
    assert set(theirs.attrib) <= set(ours.attrib)  # src and alt; ours adds the width limit
    assert theirs.get("alt") == "Three curves & <more>"


# -- golden files ---------------------------------------------------------------------------------


def test_golden() -> None:
    files = entries(export(seed=7, count=2))
    assert_golden(GOLDEN / "imsmanifest.xml", files["imsmanifest.xml"])
    assert_golden(GOLDEN / "assessment.xml", files[assessment_name(files)])
