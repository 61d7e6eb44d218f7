"""The grading report and its three outputs as text: grades.csv, report.json and report.md."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Any

import jinja2

from engine.files import output_environment
from engine.grading.analysis import analyse
from engine.grading.keys import Key
from engine.grading.models import AnswerResult, GradeReport
from engine.grading.sheets import GradeOutcome

__all__ = ["grades_csv", "make_report", "md", "md_bank", "report_json", "report_markdown"]


def make_report(key: Key, outcome: GradeOutcome, submissions: str, unit: str) -> GradeReport:
    """The report of one grading run, with the item analysis of its graded sheets."""
    return GradeReport(
        key=key.info, submissions=submissions, unit=unit, questions=key.question_count,
        graded=len(outcome.sheets), rejected=outcome.rejected, notices=outcome.notices,
        flagged=outcome.flagged, analysis=analyse(outcome.sheets, key.variants()), sheets=outcome.sheets,
    )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    # A cell starting like a formula runs in a spreadsheet (CSV injection); a leading ' shows it as text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def grades_csv(report: GradeReport) -> str:
    """student,sheet,q1..qN (points),total,max,percent: one row per graded sheet, in input order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "sheet", *(f"q{n}" for n in range(1, report.questions + 1)),
                     "total", "max", "percent"])
    for sheet in report.sheets:
        points = [str(a.points) for a in sheet.answers]
        points += [""] * (report.questions - len(points))
        writer.writerow([_safe_cell(sheet.student), _safe_cell(sheet.sheet), *points,
                         sheet.total, sheet.max, f"{sheet.percent:.2f}"])
    return out.getvalue()


def report_json(report: GradeReport) -> str:
    """The report's dump: everything but the sheets indented, then one graded sheet per line.

    One line per sheet (its answers last) keeps a class of 10 000 greppable and a third smaller
    than indenting.
    """
    head = report.model_dump_json(indent=1, exclude={"sheets"})
    dumped: dict[int, str] = {}  # sheets of one copy share answer objects: dump each one once

    def answer(a: AnswerResult) -> str:
        text = dumped.get(id(a))
        if text is None:
            text = dumped[id(a)] = a.model_dump_json()
        return text

    sheets = ",\n  ".join(
        sheet.model_dump_json(exclude={"answers"})[:-1] + ',"answers":[' + ",".join(map(answer, sheet.answers)) + "]}"
        for sheet in report.sheets
    )
    return head[:-2] + ',\n "sheets": [' + (f"\n  {sheets}\n ]" if sheets else "]") + "\n}\n"


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
    return template.render(report=report, analysis=report.analysis)
