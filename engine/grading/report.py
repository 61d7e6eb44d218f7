"""The grading report and its three outputs: grades.csv, report.json and report.md."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2

from engine.files import atomic_outputs, output_environment
from engine.grading.analysis import analyse
from engine.grading.keys import Key
from engine.grading.models import AnswerResult, GradeReport
from engine.grading.sheets import GradeOutcome

__all__ = ["grades_csv", "make_report", "md", "md_bank", "report_json", "report_json_parts", "report_markdown",
           "write_outputs"]


def make_report(key: Key, outcome: GradeOutcome, submissions: str, unit: str) -> GradeReport:
    """The report of one grading run, with the item analysis of its graded sheets."""
    return GradeReport(
        key=key.info, submissions=submissions, unit=unit, questions=key.question_count, carried=outcome.carried,
        graded=len(outcome.sheets), rejected=outcome.rejected, notices=outcome.notices,
        flagged=outcome.flagged, analysis=analyse(outcome.sheets, key.items()), sheets=outcome.sheets,
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    # A cell starting like a formula runs in a spreadsheet (CSV injection); a leading ' shows it as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def grades_csv(report: GradeReport) -> str:
    """student,[carried columns],sheet,q1..qN (points),total,max,percent: one row per graded sheet,
    in input order. The carried columns (an e-mail a gradebook matches on) stay beside the student."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # The questions as the sheets name them (q5a, q5b for a multi-part one), from the longest sheet.
    longest = max(report.sheets, key=lambda sheet: len(sheet.answers), default=None)
    names = [a.question for a in longest.answers] if longest is not None else []
    names += [f"q{n}" for n in range(len(names) + 1, report.questions + 1)]
    writer.writerow(["student", *map(_safe_cell, report.carried), "sheet", *names, "total", "max", "percent"])
    for sheet in report.sheets:
        points = [str(a.points) for a in sheet.answers]
        points += [""] * (report.questions - len(points))
        carried = [_safe_cell(sheet.carried.get(name, "")) for name in report.carried]
        writer.writerow([_safe_cell(sheet.student), *carried, _safe_cell(sheet.sheet), *points,
                         sheet.total, sheet.max, f"{sheet.percent:.2f}"])
    return out.getvalue()


def report_json(report: GradeReport) -> str:
    """The report's dump: everything but the sheets indented, then one graded sheet per line.

    One line per sheet (its answers last) keeps a class of 10 000 greppable and a third smaller
    than indenting.
    """
    return "".join(report_json_parts(report))


def report_json_parts(report: GradeReport) -> Iterator[str]:
    """``report_json`` in pieces, a sheet at a time, so the text of a big class is never whole."""
    head = report.model_dump_json(indent=1, exclude={"sheets"})
    dumped: dict[int, str] = {}  # sheets of one copy share answer objects: dump each one once

    def answer(a: AnswerResult) -> str:
        text = dumped.get(id(a))
        if text is None:
            text = dumped[id(a)] = a.model_dump_json()
        return text

    yield head[:-2] + ',\n "sheets": ['
    separator = "\n  "
    for sheet in report.sheets:
        yield (separator + sheet.model_dump_json(exclude={"answers"})[:-1] + ',"answers":['
               + ",".join(map(answer, sheet.answers)) + "]}")
        separator = ",\n  "
    yield ("\n ]" if report.sheets else "]") + "\n}\n"


def write_outputs(report: GradeReport, grades: Path | None, json_file: Path | None,
                  markdown: Path | None) -> list[Path]:
    """Write each output that has a path, all or none (atomically); the paths written.

    Raises:
        OutputError: an output cannot be written.
    """
    outputs: list[tuple[Path | None, Callable[[], Iterable[str]]]] = [
        (grades, lambda: [grades_csv(report)]),
        (json_file, lambda: report_json_parts(report)),
        (markdown, lambda: [report_markdown(report)]),
    ]
    with atomic_outputs(None) as sink:
        for path, parts in outputs:
            if path:
                sink.open_file(path).writelines(parts())
    return sink.written

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])")
_MD_BLOCK_START = re.compile(r"([#+=>-]|\d{1,9}[.)])")


def md(value: Any) -> str:
    """Text made inert in Markdown: one line, inline syntax and a leading block marker escaped.

    CommonMark allows a backslash before any ASCII punctuation, so the result is always valid;
    it keeps ``|`` from splitting a table cell, ``<`` from opening HTML, ``[`` from making a link
    and ``#``/``-``/``1.`` at the start from making a heading or a list.
    """
    text = "" if value is None else str(value)
    text = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) and ch != " " else ch
                   for ch in text)
    text = _MD_INLINE.sub(r"\\\1", text.strip())
    match = _MD_BLOCK_START.match(text)
    if match:
        end = match.end()
        text = text[: end - 1] + "\\" + text[end - 1:]
    return text


def md_bank(value: Any) -> str:
    """Bank-authored text (titles, option texts) in a table cell: TeX and Markdown kept working.

    Only what would break the table is escaped: ``|`` and line breaks. Student text always goes
    through ``md`` instead.
    """
    return " ".join(str(value).split()).replace("|", "\\|")


def _fmt(value: float | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:.{places}f}"


def _report_environment() -> jinja2.Environment:
    env = output_environment().overlay()
    env.filters["md"] = md
    env.filters["md_bank"] = md_bank
    env.filters["fmt"] = _fmt
    return env


def report_markdown(report: GradeReport) -> str:
    """The Markdown report: summary, score distribution, item analysis, flags and rejected rows."""
    template = _report_environment().get_template("report/report.md.j2")
    partial = any("partial" in item.counts for item in report.analysis.items)
    return template.render(report=report, analysis=report.analysis, partial=partial)
