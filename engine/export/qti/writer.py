"""The Canvas QTI 1.2 writer: one zip holding the manifest, the assessment and Canvas's quiz settings.

The assessment has one question group per exercise ("pick 1", as Moodle's random question)
holding its variants in copy order. Each distinct plot is drawn once, as a PNG in `images/`,
listed in the manifest as a `webcontent` resource (as text2qti lists its images). Every XML file is checked to be well-formed before it is
zipped (Canvas imports a package with a broken file partially and says nothing), and the zip's
bytes depend only on its contents: sorted entries, fixed dates, fixed compression.
"""

from __future__ import annotations

import shutil
import tempfile
import xml.parsers.expat
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

import jinja2

from engine.export.figures import Drawings
from engine.export.html import escape_html
from engine.export.moodle.xml import single_line, xml_chars, xml_comment
from engine.export.qti.html import image_path
from engine.export.qti.items import ItemBuilder, QtiExportError, ident
from engine.files import Sink, output_environment
from engine.generation.quiz import Copy, Plot, QuizHeader, Variant

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: no clock in the bytes
ZIP_LEVEL = 9
CHUNK = 1 << 16


def well_formed(source: IO[bytes] | bytes, name: str) -> None:
    """Raises QtiExportError unless `source` is well-formed XML (expat, as strict as Canvas's parser)."""
    parser = xml.parsers.expat.ParserCreate()
    try:
        if isinstance(source, bytes):
            parser.Parse(source, True)
        else:
            source.seek(0)
            parser.ParseFile(source)
    except xml.parsers.expat.ExpatError as exc:
        raise QtiExportError(f"{name}: not well-formed XML ({exc}); nothing was written") from None


def zip_info(name: str) -> zipfile.ZipInfo:
    """An entry with a fixed date, permissions and compression."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever system writes it
    info.external_attr = 0o644 << 16
    return info


def write_zip(entries: dict[str, IO[bytes] | bytes], out: IO[bytes]) -> None:
    """The entries, by sorted name, as a deterministic zip written to a seekable `out`."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        for name in sorted(entries):
            source = entries[name]
            info = zip_info(name)
            if isinstance(source, bytes):
                archive.writestr(info, source)
                continue
            source.seek(0)
            with archive.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, CHUNK)


class QtiWriter:
    """A zip for Canvas (Course → Import existing content → QTI .zip file), Blackboard and Brightspace."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        out = sink.open_binary(what="qti writes a zip file", example="quiz.zip")
        env = output_environment()
        pins = [f"{name}={value}" for name, value in sorted(header.pinned.items())]
        builder = ItemBuilder(scope=("item", header.bank.hash, *pins))
        item_template = env.get_template("qti/item.xml.j2")
        positions = {summary.id: k for k, summary in enumerate(header.exercises)}
        # A "pick 1" group per exercise; a multi-part exercise has one per part (Canvas has no
        # group of linked questions), each of its questions showing the shared scenario.
        points: dict[tuple[int, str], int] = {}
        sheets = ["", ""]  # the first and the last copy's: --copies A-B makes another quiz
        numbers = [0, 0]  # the same, 1-based: a part of a run is named as such
        images: dict[str, bytes] = {}  # plot file name → PNG
        drawings = Drawings()
        with ExitStack() as stack:
            # Copies come copy by copy, groups go exercise by exercise: each exercise's items
            # wait in a temporary file, so memory does not grow with N.
            spools: dict[tuple[int, str], IO[str]] = {}
            for copy in copies:
                sheets[0] = sheets[0] or copy.sheet
                sheets[1] = copy.sheet
                numbers[0] = numbers[0] or copy.index + 1
                numbers[1] = copy.index + 1
                for variant in copy.variants:
                    group = positions[variant.exercise], variant.part.label if variant.part else ""
                    if group not in spools:
                        spools[group] = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
                    points[group] = variant.points
                    spools[group].write(item_template.render(item=builder.build(variant)))
                    _draw(variant, drawings, images)
            key = ident("assessment", header.bank.hash, str(header.seed), str(header.count), *pins,
                        *(s.id for s in header.exercises), *sheets)
            assessment = stack.enter_context(tempfile.TemporaryFile("w+b"))
            title = _title(header, *numbers)
            groups = _groups(header, points)
            _write_assessment(env, header, key, title, groups, spools, assessment)
            entries = _package(env, header, key, title, sum(g.points for g in groups), assessment, images)
            entries.update({image_path(file): png for file, png in images.items()})
            archive = stack.enter_context(tempfile.TemporaryFile("w+b"))
            write_zip(entries, archive)
            archive.seek(0)
            shutil.copyfileobj(archive, out, CHUNK)


def _draw(variant: Variant, drawings: Drawings, images: dict[str, bytes]) -> None:
    """The variant's plots not yet in `images` (by file name), drawn as PNG."""
    for figure in variant.figures:
        if isinstance(figure, Plot) and figure.file not in images:
            images[figure.file] = drawings.draw(figure, "png")


@dataclass(frozen=True)
class _Group:
    """A "pick 1" group: an exercise's items, or with slots a slot's (its exercises' items)."""

    name: str
    title: str
    points: int
    members: list[tuple[int, str]]  # (position in header.exercises, part letter or "")


def _groups(header: QuizHeader, points: dict[tuple[int, str], int]) -> list[_Group]:
    """One group per exercise (per part of a multi-part one: Canvas has no group of linked
    questions); with slots one per slot, worth its exercises' highest points."""
    if not header.slots:
        return [_Group(f"{header.exercises[k].id}.{part}" if part else header.exercises[k].id,
                       header.exercises[k].title + (f" ({part})" if part else ""), points[k, part], [(k, part)])
                for k, part in sorted(points)]
    position = {summary.id: k for k, summary in enumerate(header.exercises)}
    groups = []
    for number, slot in enumerate(header.slots, start=1):
        ks = {position[e] for e in slot.exercises}
        members = [m for m in sorted(points) if m[0] in ks]
        groups.append(_Group(f"slot-{number}", slot.title, max((points[m] for m in members), default=0), members))
    return groups


def _write_assessment(env: jinja2.Environment, header: QuizHeader, key: str, title: str, groups: list[_Group],
                      spools: dict[tuple[int, str], IO[str]], out: IO[bytes]) -> None:
    """The QTI file: a root section holding one "pick 1" group per exercise (per slot with slots)."""
    def put(text: str) -> None:
        out.write(text.encode("utf-8"))

    per = "slot" if header.slots else "exercise"
    put(env.get_template("qti/assessment_start.xml.j2").render(
        ident=key, title=title, comment=xml_comment(
            f"quizwright QTI export, format 1: bank {header.bank.code} sha256 {header.bank.hash}, "
            f"seed {header.seed}, {header.count} variant(s) per {per}, one question group per {per}")))
    section = env.get_template("qti/section_start.xml.j2")
    for group in groups:
        put(section.render(ident=ident(key, group.name), title=xml_chars(single_line(group.title)),
                           points=group.points))
        for member in group.members:
            spool = spools[member]
            spool.flush()
            spool.seek(0)
            while chunk := spool.read(CHUNK):
                put(chunk)
        put("    </section>\n")
    put("    </section>\n  </assessment>\n</questestinterop>\n")
    well_formed(out, "the assessment")


def _package(env: jinja2.Environment, header: QuizHeader, key: str, title: str, points: int,
             assessment: IO[bytes], images: Iterable[str]) -> dict[str, IO[bytes] | bytes]:
    """The zip's XML entries, named as Canvas names them in its own QTI exports; the manifest lists the images too."""
    manifest = env.get_template("qti/imsmanifest.xml.j2").render(
        ident=key, images=[(file, image_path(file)) for file in sorted(images)]).encode("utf-8")
    description = (
        f"<p>Generated by quizwright from the bank {escape_html(xml_chars(header.bank.title))} (sha256 {header.bank.hash}), "
        f"seed {header.seed}: {header.count} variant(s) per exercise. Each question group gives every "
        "student one of its exercise's variants.</p>"
    )
    meta = env.get_template("qti/assessment_meta.xml.j2").render(
        ident=key, title=title, description=description, points=f"{points}.0").encode("utf-8")
    well_formed(manifest, "imsmanifest.xml")
    well_formed(meta, "assessment_meta.xml")
    return {"imsmanifest.xml": manifest, f"{key}/{key}.xml": assessment, f"{key}/assessment_meta.xml": meta}


def _title(header: QuizHeader, first: int, last: int) -> str:
    """`<bank> (seed S)`; a part of a run (--copies A-B), a quiz of its own, says which copies it holds."""
    part = "" if (first, last) in ((1, header.count), (0, 0)) else f", copies {first}-{last} of {header.count}"
    return xml_chars(single_line(f"{header.bank.title} (seed {header.seed}{part})"))
