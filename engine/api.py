"""The small Python API: load a bank, plan and export quizzes, list and check exercises.

Example:
    >>> from engine import api
    >>> quiz = api.quiz(seed=7, count=2)
    >>> len(quiz.copies)
    2
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import BytesIO, TextIOWrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from engine.authoring.bank import Bank, load_bank
from engine.authoring.spec import Exercise
from engine.errors import OutputError, QuizwrightError, UsageError
from engine.export.formats import BINARY, writer
from engine.generation import pipeline
from engine.generation.parts import make_maker
from engine.generation.pipeline import Generated
from engine.generation.quiz import Plot, Quiz
from engine.generation.variety import variety

if TYPE_CHECKING:
    from engine.check import CheckReport
    from engine.export.figures import FigureError
    from engine.grading.models import GradeReport


def bank(paths: list[Path] | None = None) -> Bank:
    """Load a bank folder or exercise files (default: the bundled weight-initialization bank)."""
    return load_bank([Path(p) for p in paths] if paths else None)


def generate(paths: list[Path] | None = None, *, seed: int = 0, count: int = 1, exercises: list[str] | None = None,
             params: Mapping[str, str] | None = None, unique: bool = False, copies: tuple[int, int] | None = None,
             topics: list[str] | None = None, tags: list[str] | None = None, shuffle: bool = True) -> Generated:
    """A generated quiz: its header, notices and the stream of its copies (`copies=(A, B)`: A..B only).

    `exercises`, `topics` and `tags` select: the named exercises, then those of any of the topics
    that carry any of the tags (each filter only when given); with slots, they narrow the pools.
    `shuffle=False` keeps every option in its authored order.
    """
    the_bank = bank(paths)
    generated = pipeline.generate(the_bank, seed=seed, count=count, exercise_ids=exercises, params=params,
                                  unique=unique, copies=copies, topics=topics, tags=tags, shuffle=shuffle)
    generated.notices[:0] = the_bank.notices  # the bank's defaults, such as the sheet-id code, first
    return generated


def figure_error(error: FigureError, paths: list[Path] | None = None, *, exercises: list[str] | None = None,
                 **options: Any) -> QuizwrightError:
    """`error` pointing at the file, line and field of the exercise whose plot it names, found by
    generating the quiz again (an error's cost, not every run's); `options` as for `generate`."""
    the_bank = bank(paths)
    for copy in pipeline.generate(the_bank, exercise_ids=exercises, **options).copies:
        for variant in copy.variants:
            plot = next((f for f in variant.figures if isinstance(f, Plot) and f.file == error.file), None)
            if plot is not None:
                ex = next(e for e in the_bank.exercises if e.id == variant.exercise)
                return ex.error(["figures", plot.name, *error.field], f"{error} (in {variant.id})")
    return error


def quiz(paths: list[Path] | None = None, **options: Any) -> Quiz:
    """The whole quiz in memory, as the JSON export holds it."""
    generated = generate(paths, **options)
    return Quiz(**generated.header.model_dump(), copies=list(generated.copies))


def export(fmt: str, paths: list[Path] | None = None, *, output: Path | None = None, key: bool = True,
           split: bool = False, **options: Any) -> str | bytes:
    """Write a quiz in format `fmt` to `output` (atomically), or return it: as text, or as bytes
    for the formats written as bytes (`formats.BINARY`: pdf, qti)."""
    from engine.files import atomic_outputs  # writing only: listing and checking write nothing

    outside_bank(output, paths)
    the_writer = writer(fmt, key=key, split=split)
    generated = generate(paths, **options)
    raw = BytesIO()
    buffer = TextIOWrapper(raw, encoding="utf-8", newline="\n")
    with atomic_outputs(output, buffer) as sink:
        the_writer.write(generated.header, generated.copies, sink)
    buffer.flush()
    return raw.getvalue() if fmt in BINARY else raw.getvalue().decode("utf-8")


def outside_bank(output: Path | None, paths: list[Path] | None) -> None:
    """Refuse an output that is one of the bank's files, or would be read as one next time.

    Raises:
        OutputError: naming the output and the bank.
    """
    from engine.paths import bundled_bank

    if output is None or output.suffix not in (".yaml", ".yml"):
        return
    try:
        target = output.resolve()
        for path in paths or [bundled_bank()]:
            folder = path.resolve() if path.is_dir() else None
            if target == path.resolve() or (folder is not None and folder in target.parents):
                raise OutputError(output, f"it is a file of the bank in {path}; write the output elsewhere")
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): the writer names it
        return


def list_exercises(paths: list[Path] | None = None, *, exercises: list[str] | None = None,
                   topics: list[str] | None = None, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per selected exercise (all by default; selected as `generate` selects): id, kind,
    topic, title, its exact number of distinct variants, and its distinct stems and answers
    (option order left out) over every variant or a sample of them."""
    rows = []
    for ex in bank(paths).select(exercises or [], topics, tags):
        maker = make_maker(ex, 0)
        distinct = maker.distinct_count(force=True)
        found = variety(maker)
        rows.append({"id": ex.id, "kind": ex.kind, "topic": ex.spec.topic, "title": ex.spec.title,
                     "variants": distinct, "stems": found.stems, "answers": found.answers,
                     "counted": "all" if found.exact else "sample", "file": ex.source})
    return rows


def check(paths: list[Path] | None = None, *, seeds: int = 200) -> CheckReport:
    """Load every template on its own, solve it under `seeds` seeds and try its formula keys on the grader."""
    from engine.check import check as run_check  # `check` alone tries keys on the grader

    return run_check(paths, seeds=seeds)


def schema(what: str = "exercise") -> dict[str, Any]:
    """JSON Schema of exercise files ("exercise") or of the JSON export ("quiz")."""
    if what == "quiz":
        return Quiz.model_json_schema()
    document = TypeAdapter(Exercise).json_schema()
    document["title"] = "quizwright exercise"
    return document


def schema_json(what: str = "exercise") -> str:
    return json.dumps(schema(what), indent=2, ensure_ascii=False, sort_keys=True)


@dataclass
class GradeRun:
    """What `grade` produced: the report (also when nothing was written) and the files written."""

    report: GradeReport
    written: list[Path] = field(default_factory=list)


def _read_bytes(path: Path) -> bytes:
    from engine.grading.submissions import read_bytes

    try:
        with path.open("rb") as stream:
            return read_bytes(stream, str(path))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _spare_inputs(outputs: list[Path | None], inputs: list[tuple[str, Path | None]]) -> None:
    """Refuse an output that is one of the run's own inputs: writing it would destroy what it grades."""
    for output in filter(None, outputs):
        with contextlib.suppress(OSError):  # an output not there yet is nobody's file
            if not stat.S_ISREG(os.stat(output).st_mode):
                continue  # a device or a FIFO is written through, replacing nothing
            for role, given in inputs:
                if given is not None and os.path.samefile(output, given):
                    raise OutputError(output, f"it is the {role}; write the output elsewhere")


def grade(
    submissions: Path,
    *,
    data: bytes | None = None,
    key: Path | None = None,
    paths: list[Path] | None = None,
    seed: int | None = None,
    count: int | None = None,
    exercises: list[str] | None = None,
    topics: list[str] | None = None,
    tags: list[str] | None = None,
    params: Mapping[str, str] | None = None,
    bank_hash: str | None = None,
    output_dir: Path | None = None,
    grades_file: Path | None = None,
    report_file: Path | None = None,
    markdown_file: Path | None = None,
    part: tuple[int, int] | None = None,
    encoding: str | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
    shuffle: bool = True,
) -> GradeRun:
    """Grade a submissions file (CSV or JSON) against a saved key or a key regenerated from a bank.

    With ``key`` (a JSON export), that file is the key; ``paths`` then only serve to check that the
    bank has not changed since. Without it, the key is regenerated from the bank at ``paths``
    (default: the bundled bank) and ``seed`` (default: read from the sheet ids), with the same
    ``exercises`` and ``params`` the quiz was generated with. ``data`` replaces reading the file
    (standard input). Outputs go to ``output_dir`` as grades.csv, report.json and report.md (or to
    the individual files given), all written atomically; with none given, nothing is written.
    ``part=(k, n)`` grades only the k-th of n equal runs of the rows. ``encoding`` (a codec name such
    as ``cp1252``) replaces UTF-8 for a file without a byte-order mark. ``progress(phase, done,
    total, unit)`` is told how far the run is: ("key", sheets, ...), ("grading", rows, ...), then
    ("writing the reports", 0, 0, ""). ``shuffle=False`` regenerates a quiz made with ``--no-shuffle``.

    Raises:
        UsageError: unreadable input, no usable header, bank hash mismatch, no seed, ...
    """
    source = str(submissions)
    # Grading needs the answer checker (SymPy, the worker sandbox); generating does not.
    from engine.grading import keys
    from engine.grading import report as reports
    from engine.grading.encoding import check_encoding
    from engine.grading.sheets import grade_batch
    from engine.grading.submissions import read_submissions

    def phase(label: str, unit: str) -> Callable[[int, int], None] | None:
        return None if progress is None else lambda done, total: progress(label, done, total, unit)

    if encoding is not None:
        check_encoding(encoding)  # before reading: a misspelt name is a usage error, not a bad file
    outputs = [given or (output_dir / name if output_dir else None) for given, name in
               ((grades_file, "grades.csv"), (report_file, "report.json"), (markdown_file, "report.md"))]
    _spare_inputs(outputs, [("submissions file", None if data is not None else submissions), ("key file", key)])
    batch = read_submissions(data if data is not None else _read_bytes(submissions), source, part, encoding)
    if key is not None:
        regenerating = [name for name, value in (("--seed", seed), ("--count", count),
                                                 ("--exercise", exercises), ("--topic", topics), ("--tag", tags),
                                                 ("--param", params), ("--no-shuffle", not shuffle)) if value]
        if regenerating:
            raise UsageError(f"{', '.join(regenerating)}: only used without --key (the key file holds "
                             "the quiz's seed, sheets, exercises, pinned parameters and option order)")
        the_key = keys.read_key(key, batch, bank=bank(paths) if paths else None, progress=phase("key", "sheets"))
        if bank_hash:
            keys.check_hash(the_key.info.bank.hash, bank_hash, "the key's bank hash")
    else:
        the_bank = bank(paths)
        if bank_hash:
            keys.check_hash(the_bank.hash, bank_hash, "the bank's hash")
        the_key = keys.regenerate_key(the_bank, batch, seed=seed, count=count, exercise_ids=exercises,
                                      topics=topics, tags=tags, params=params, shuffle=shuffle,
                                      progress=phase("key", "sheets"))
    outcome = grade_batch(the_key, batch, phase("grading", "entries" if batch.unit == "entry" else "rows"))
    if progress is not None:
        progress("writing the reports", 0, 0, "")
    report = reports.make_report(the_key, outcome, source, batch.unit)
    return GradeRun(report=report, written=reports.write_outputs(report, *outputs))
