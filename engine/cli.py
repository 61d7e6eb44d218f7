"""The `quizwright` command line: a thin click layer over the library.

Each command imports the library it uses when it runs, so that `--help`, `list` or `compare`
do not pay for loading the rest of the engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.errors import QuizwrightError
from engine.export.formats import FORMATS
from engine.vocabulary import ASSUMPTIONS, CHECK_KINDS

if TYPE_CHECKING:
    from engine.export.formats import Writer
    from engine.files import Sink
    from engine.generation.pipeline import Generated

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


class _Failure(click.ClickException):
    """An error of the library or of the files: `Error: ...` on each line of its message."""

    def show(self, file: Any = None) -> None:
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"Error: {line}", err=True)


class _GradeFailure(_Failure):
    """A grading run that produced nothing: exit 2, so that 1 always means "rows were rejected"."""

    exit_code = 2


# Above this estimate, generate refuses unless told --no-size-limit: a slip of --count (10 000 000
# copies of the bundled bank are about 260 GB) should not fill the disk.
SIZE_LIMIT = 10 * 10**9
_FAILURES: dict[str, type[_Failure]] = {"grade": _GradeFailure}
# Options that name files a command writes (engine.files names them in its errors); a command
# without one writes standard output.
_OUTPUT_OPTIONS = ("output", "output_dir", "grades_file", "report_file", "markdown_file")


def _os_problem(exc: OSError, writes_files: bool) -> str:
    """One line naming the user's path: the file the error names, or standard output."""
    reason = exc.strerror or str(exc)
    name = exc.filename2 or exc.filename
    if name:
        return f"{os.fsdecode(name)}: {reason}"
    return reason if writes_files else f"cannot write standard output: {reason}"


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class _Command(click.Command):
    """A command whose errors are translated here, in this one place, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        failure = _FAILURES.get(self.name or "", _Failure)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader of our output left (`| head`): stop quietly, as a shell tool killed by SIGPIPE.
            _discard_stdout()
            raise click.exceptions.Exit(141) from None
        except KeyboardInterrupt:
            # Ctrl-C: the outputs were removed on the way here; 128 + SIGINT, as a shell reports it.
            # A SIGINT still pending (held while a file was moved into place) is ignored from now on:
            # at exit Python gives SIGINT back to the default action, which would kill the process.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            click.echo("Interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except QuizwrightError as exc:
            raise failure(str(exc)) from None
        except OSError as exc:
            writes_files = any(ctx.params.get(name) is not None for name in _OUTPUT_OPTIONS)
            raise failure(_os_problem(exc, writes_files)) from None
        except Exception as exc:  # a bug of ours: say so in one line instead of a traceback
            if os.environ.get("QUIZWRIGHT_DEBUG"):
                raise
            raise _Failure(f"internal error ({type(exc).__name__}: {exc}); set QUIZWRIGHT_DEBUG=1 for the "
                           "traceback and please report it") from None


class _Commands(click.Group):
    command_class = _Command


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
        if pairs.get(name.strip(), value.strip()) != value.strip():
            # The last one winning would silently make a quiz other than the one asked for.
            raise click.BadParameter(f"{name.strip()} is given twice, as {pairs[name.strip()]} and {value.strip()}",
                                     param_hint=option)
        pairs[name.strip()] = value.strip()
    return pairs


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(package_name="quizwright", prog_name="quizwright")
def cli() -> None:
    """Parameterized exercise templates with exact answers: worksheets, LMS exports, grading.

    Example: quizwright generate --seed 7 --count 30 --format markdown -o quiz.md
    """


@cli.command(context_settings=CONTEXT)
@PATHS
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Quiz seed; the same seed gives the same files.")
@click.option("--count", "-n", type=click.IntRange(min=1), default=1, show_default=True,
              help="Copies of the quiz = variants per exercise.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True,
              help="markdown or pdf: worksheets and their key; html: a self-check page; moodle, qti "
                   "(Canvas), gift: to import into an LMS; json: the whole quiz as data.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Output file (written atomically); standard output if omitted or -.")
@click.option("--exercise", "-e", "exercises", multiple=True, metavar="ID",
              help="Only this exercise (repeatable; keeps the given order).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC",
              help="Only the exercises of this topic (repeatable: any of them); with --tag, those that "
                   "match both; --exercise adds to them.")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Only the exercises carrying this tag (repeatable: any of them).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Pin a drawn parameter, e.g. --param n_in=4 (repeatable).")
@click.option("--key/--no-key", default=True, show_default=True,
              help="Markdown and PDF: also write the answer key (to OUTPUT.key.md or OUTPUT.key.pdf, or "
                   "after the worksheets on standard output).")
@click.option("--unique", is_flag=True, help="Fail instead of repeating variants when too few exist.")
@click.option("--copies", "copy_range", metavar="A-B",
              help="Only copies A to B (1-based, as on the sheet ids), the same as in the full run: "
                   "to split a big generation over machines.")
@click.option("--no-size-limit", "unlimited", is_flag=True,
              help=f"Write the output even when it is estimated at over {SIZE_LIMIT // 10**9} GB (PDF: "
                   "typeset it even when it would need over 4 GB of memory).")
@click.option("--split", is_flag=True,
              help="One file per copy, named after OUTPUT and the sheet id (quiz.pdf: quiz-WI-7-1.pdf, ...).")
@click.option("--no-shuffle", "keep_order", is_flag=True,
              help="Every option in its authored order, as the exercise file lists it (grade such a quiz "
                   "with --no-shuffle too, or with --key).")
def generate(paths: tuple[Path, ...], seed: int, count: int, fmt: str, output: Path | None,
             exercises: tuple[str, ...], topics: tuple[str, ...], tags: tuple[str, ...],
             params: tuple[str, ...], key: bool, unique: bool,
             copy_range: str | None, unlimited: bool, split: bool, keep_order: bool) -> None:
    """Generate COUNT copies of a quiz from a bank folder or exercise files.

    PATHS default to the bundled weight-initialization bank. Copy i holds variant i of every
    selected exercise, or, when the bank's bank.yaml has slots, one exercise of each slot's pool. A regular file is written atomically; a device, a FIFO or a symlink
    (-o /dev/stdout) is written through, as a shell redirect would.

    Example: quizwright generate -e layer-size --param n_in=4 --param n_out=6 --format json
    """
    from engine import api
    from engine.export.figures import FigureError
    from engine.export.formats import writer

    if output == Path("-"):
        output = None  # `-o -` is standard output, as for most Unix tools
    pins = _pairs(params, "--param")
    copies = _copy_range(copy_range)
    the_writer = writer(fmt, key=key, split=split)
    if split and output is None:
        raise click.UsageError("--split writes one file per copy, named after the output file: give it "
                               "with -o (quiz.pdf: quiz-WI-7-1.pdf, ...)")
    api.outside_bank(output, list(paths))
    selection = {"exercises": list(exercises), "topics": list(topics), "tags": list(tags)}
    generated = api.generate(list(paths), seed=seed, count=count, params=pins, unique=unique, copies=copies,
                             shuffle=not keep_order, **selection)
    total = count if copies is None else copies[1] - copies[0] + 1
    try:
        sink = _write(the_writer, generated, fmt, output, total, key=key, split=split, unlimited=unlimited)
    except FigureError as exc:  # name the exercise's file and field, as `check` does
        raise api.figure_error(exc, list(paths), seed=seed, count=count, params=pins, copies=copies,
                               shuffle=not keep_order, **selection) from None
    for notice in sink.notices:
        click.echo(f"Note: {notice}", err=True)
    figures = [path for path in sink.written if path.parent.name == "figures" and path.name.startswith("fig-")]
    for path in sink.written:
        if path not in figures:
            click.echo(f"Wrote {path}", err=True)
    if figures:  # one line for them: a class's plots are many files
        click.echo(f"Wrote {len(figures)} figure files in {figures[0].parent}", err=True)


def _write(the_writer: Writer, generated: Generated, fmt: str, output: Path | None, total: int, *, key: bool,
           split: bool, unlimited: bool) -> Sink:
    """Write the generated quiz through `the_writer`, all or nothing; the sink that holds what was written."""
    from engine.export.figures import one_run
    from engine.export.formats import within_size
    from engine.files import Progress, atomic_outputs

    with one_run():
        stream = within_size(fmt, generated.header, generated.copies, total, key=key, split=split,
                             limit=None if unlimited else SIZE_LIMIT)
        for notice in generated.notices:
            click.echo(f"Note: {notice}", err=True)
        # No bar on a terminal that also shows the quiz itself: the two would mix.
        progress = Progress(total, sys.stderr,
                            show=sys.stderr.isatty() and not (output is None and sys.stdout.isatty()))
        try:
            with atomic_outputs(output, sys.stdout) as sink:
                the_writer.write(generated.header, progress.wrap(stream), sink)
        finally:
            progress.close()
    return sink


def _copy_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, last = text.partition("-")
    if not (sep and first.strip().isdecimal() and last.strip().isdecimal()):
        raise click.BadParameter(f"expected A-B, two copy numbers such as 1-500, got {text!r}",
                                 param_hint="--copies")
    return int(first), int(last)


@cli.command("list", context_settings=CONTEXT)
@PATHS
@click.option("--json", "as_json", is_flag=True, help="One JSON object per exercise instead of a table.")
@click.option("--exercise", "-e", "exercises", multiple=True, metavar="ID", help="Only this exercise (repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC", help="Only this topic (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only exercises carrying this tag (repeatable).")
def list_(paths: tuple[Path, ...], as_json: bool, exercises: tuple[str, ...], topics: tuple[str, ...],
          tags: tuple[str, ...]) -> None:
    """List the exercises of a bank with kind, topic and number of distinct variants.

    Beside it, the distinct stems and distinct answers (option order does not count): over every
    variant when there are at most 48, else over 48 drawn ones (shown as "≥").

    Example: quizwright list exercises/weight-initialization
    """
    from engine import api

    rows = api.list_exercises(list(paths), exercises=list(exercises), topics=list(topics), tags=list(tags))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    headers = ("id", "kind", "topic", "variants", "stems", "answers")
    table = [headers] + [(row["id"], row["kind"], row["topic"], "-" if row["variants"] is None else str(row["variants"]),
                          *(("" if row["counted"] == "all" else "≥") + str(row[h]) for h in ("stems", "answers")))
                         for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for cells in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())


@cli.command(context_settings=CONTEXT)
@PATHS
@click.option("--seeds", type=click.IntRange(min=1), default=200, show_default=True,
              help="Seeds to render and solve each exercise under.")
def check(paths: tuple[Path, ...], seeds: int) -> None:
    """Load every template and render and solve it under many seeds; exit 1 on any problem.

    Checks parameters, constraints, exact integer answers, distinct options over the whole
    domain where it can be enumerated, and the variant key.

    Example: quizwright check --seeds 1000
    """
    from engine import api

    report = api.check(list(paths), seeds=seeds)
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    for line in report.lines:
        click.echo(line)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if report.problems:
        for problem in report.problems:
            for line in problem.splitlines():
                click.echo(f"Error: {line}", err=True)
        raise SystemExit(1)


@cli.command(context_settings=CONTEXT)
@click.option("--quiz", "what", flag_value="quiz", help="The schema of the JSON export instead.")
@click.option("--exercise", "what", flag_value="exercise", default=True, help="The schema of exercise files (default).")
def schema(what: str) -> None:
    """Print the JSON Schema of exercise files (or of the JSON export).

    Example: quizwright schema > exercise.schema.json
    """
    from engine import api

    click.echo(api.schema_json(what))


def _vars_option(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    variables: dict[str, str] = {}
    for item in text.split(","):
        name, _, assumption = item.partition(":")
        if not name.strip():
            raise click.BadParameter(f"expected NAME[:ASSUMPTION],..., got {text!r}", param_hint="--vars")
        variables[name.strip()] = assumption.strip() or "real"
    return variables


def _tolerance_option(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    kind, sep, value = text.partition(":")
    if not sep or kind.strip() not in ("relative", "absolute") or not value.strip():
        raise click.BadParameter(f"expected relative:X or absolute:X, got {text!r}", param_hint="--tolerance")
    return {kind.strip(): value.strip()}


@cli.command(context_settings=CONTEXT)
@click.argument("expected", required=False)
@click.argument("response", required=False)
@click.option("--kind", "-k", type=click.Choice(CHECK_KINDS),
              default="formula", show_default=True, help="How to read and compare the answers.")
@click.option("--vars", "variables", metavar="NAME:ASSUMPTION,...",
              help=f"Formula variables, e.g. n_in:positive_integer,x (assumptions: {', '.join(ASSUMPTIONS)}; "
                   "default real).")
@click.option("--tolerance", "-t", metavar="relative:X|absolute:X",
              help="Numeric answers: accepted distance, e.g. relative:0.01 (default: exact).")
@click.option("--options", type=int, metavar="N", help="Choice and options answers: the number of options.")
@click.option("--batch", "-b", type=click.File("rb"), metavar="FILE",
              help="Read one JSON request per line from FILE ('-' for standard input) and write one "
                   "verdict per line, in order.")
def compare(expected: str | None, response: str | None, kind: str, variables: str | None,
            tolerance: str | None, options: int | None, batch: Any) -> None:
    """Check one answer against the expected one and print the verdict as one JSON line.

    The status is correct, incorrect, partial (kind options: some credit, given as "credit"),
    invalid (the answer cannot be read; the message says why), unanswered or undecided (no decision in time; a person should look). A batch line is
    {"kind": ..., "expected": ..., "response": ..., "vars": {...}, "tolerance": {...}, "options": N};
    a malformed line, or one over 1 MB, gets an "invalid" verdict and the batch goes on. An
    expected answer that is broken or too costly to evaluate gives "undecided" with "key_fault".
    Exit 0 once verdicts are printed, 2 for usage errors.

    Example: quizwright compare "sqrt(6/(n_in+n_out))" "sqrt(6)/sqrt(n_out+n_in)" --vars n_in:positive,n_out:positive
    """
    from pydantic import ValidationError

    from engine.errors import validation_problems
    from engine.grading.checker.batch import compare_stream
    from engine.grading.checker.compare import compare as compare_answer
    from engine.grading.checker.verdict import CompareRequest

    if batch is not None:
        if expected is not None or response is not None or variables or tolerance or options is not None:
            raise click.UsageError("--batch takes its requests from the file: no EXPECTED, RESPONSE, "
                                   "--vars, --tolerance or --options")
        for verdict in compare_stream(batch):
            click.echo(verdict)
        return
    if expected is None or response is None:
        raise click.UsageError("give EXPECTED and RESPONSE, or --batch FILE")
    data = {"kind": kind, "expected": expected, "response": response, "vars": _vars_option(variables),
            "tolerance": _tolerance_option(tolerance), "options": options}
    try:
        request = CompareRequest.model_validate(data)
    except ValidationError as err:
        raise click.UsageError("; ".join(p.render() for p in validation_problems(err, data))) from None
    click.echo(compare_answer(request).to_json())


@cli.command(context_settings=CONTEXT)
@click.argument("submissions", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@PATHS
@click.option("--key", "-k", "key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The quiz's JSON export (quizwright generate -f json): the saved key. With PATHS "
                   "too, the bank must not have changed since.")
@click.option("--seed", "-s", type=int, help="Quiz seed (default: read from the sheet ids).")
@click.option("--count", "-n", type=click.IntRange(min=1),
              help="Sheets in the quiz (its generate --count): a higher sheet number is rejected. Without "
                   "it, numbers above twice the class size or its median sheet (at least 100) are.")
@click.option("--exercise", "-e", "exercises", multiple=True, metavar="ID",
              help="The exercises the quiz was generated with (repeatable, same order).")
@click.option("--topic", "topics", multiple=True, metavar="TOPIC",
              help="The --topic the quiz was generated with (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="The --tag the quiz was generated with (repeatable).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter the quiz was generated with pinned (repeatable).")
@click.option("--bank-hash", metavar="HASH",
              help="The bank hash printed on the answer key (at least 8 hex digits); grading stops "
                   "if the bank differs.")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("grades"),
              show_default=True, help="Folder for grades.csv, report.json and report.md.")
@click.option("--grades", "grades_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the grades CSV here instead.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON report here instead.")
@click.option("--markdown", "markdown_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Markdown report here instead.")
@click.option("--part", "part_text", metavar="K/N",
              help="Only part K of the rows cut into N equal runs (row numbers stay the file's): to "
                   "split a big class over processes or machines; the parts' grades.csv, in order, "
                   "make the whole one.")
@click.option("--encoding", metavar="NAME",
              help="The submissions' encoding when it is not UTF-8, e.g. cp1252 (Excel's \"CSV\" on "
                   "Windows); a UTF-8 or UTF-16 byte-order mark is always followed.")
@click.option("--no-shuffle", "keep_order", is_flag=True,
              help="The quiz was generated with --no-shuffle: regenerate its key with every option in its "
                   "authored order.")
def grade(submissions: Path, paths: tuple[Path, ...], key: Path | None, seed: int | None, count: int | None,
          exercises: tuple[str, ...], topics: tuple[str, ...], tags: tuple[str, ...], params: tuple[str, ...],
          bank_hash: str | None, output_dir: Path,
          grades_file: Path | None, report_file: Path | None, markdown_file: Path | None,
          part_text: str | None, encoding: str | None, keep_order: bool) -> None:
    """Grade SUBMISSIONS (CSV or JSON, '-' for standard input) and write grades and reports.

    The key is the saved JSON export (--key), or is regenerated from the bank at PATHS (default:
    the bundled bank) and the seed on the sheet ids. The CSV has a header student,sheet,q1,q2,...;
    the JSON is a list of {"student": ..., "sheet": ..., "answers": {"q1": ...}}. Other columns
    (an e-mail) are carried into grades.csv. Writes
    grades.csv (for a gradebook), report.json (every answer) and report.md (score distribution
    and item analysis), all or none. Exit 0 when every row was graded, 1 when rows were rejected
    (they are listed; the outputs are still written), 2 when nothing could be graded.

    Example: quizwright grade answers.csv --key quiz.json -o grades/
    """
    from engine import api
    from engine.files import Progress
    from engine.grading.submissions import read_bytes

    pins = _pairs(params, "--param")
    data = None
    if str(submissions) == "-":
        with click.open_file("-", "rb") as stream:
            data = read_bytes(stream, "standard input")
    elif not (submissions.exists() or submissions.is_symlink()):
        # A FIFO or a device is read as standard input is (`grade <(iconv ...)` names a pipe); a
        # symlink loop is left for the read to name.
        raise click.BadParameter(f"no such file: {submissions}", param_hint="SUBMISSIONS")
    part = _part(part_text)
    progress = Progress(0, sys.stderr, show=sys.stderr.isatty())
    try:
        run = api.grade(submissions, data=data, key=key, paths=list(paths), seed=seed, count=count,
                        exercises=list(exercises), topics=list(topics), tags=list(tags), params=pins,
                        bank_hash=bank_hash, output_dir=output_dir,
                        grades_file=grades_file, report_file=report_file, markdown_file=markdown_file,
                        part=part, encoding=encoding, progress=progress.update, shuffle=not keep_order)
    finally:
        progress.close()
    report = run.report
    for rejected in report.rejected:
        click.echo(f"{report.unit} {rejected.row}: {rejected.reason}", err=True)
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    if report.flagged:
        click.echo(f"Note: {len(report.flagged)} answer{'s' if len(report.flagged) > 1 else ''} could not "
                   "be decided and scored 0: a person should check them (see the report)", err=True)
    for path in run.written:
        click.echo(f"Wrote {path}", err=True)
    mean = report.analysis.distribution.mean
    click.echo(f"Graded {report.graded} sheet{'s' if report.graded != 1 else ''}"
               + (f", mean {mean:.2f} %" if mean is not None else "")
               + (f"; {len(report.rejected)} {report.unit}{'s' if len(report.rejected) > 1 else ''} rejected"
                  if report.rejected else ""))
    if report.rejected:
        raise SystemExit(1)


def _part(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    number, sep, parts = text.partition("/")
    if not (sep and number.strip().isdecimal() and parts.strip().isdecimal() and 1 <= int(number) <= int(parts)):
        raise click.BadParameter(f"expected K/N with 1 <= K <= N, such as 3/10, got {text!r}", param_hint="--part")
    return int(number), int(parts)


def main() -> None:
    """Console entry point: every error is one line on stderr, never a traceback.

    Set QUIZWRIGHT_DEBUG=1 to see the traceback of an unexpected error.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # `kill` gets the cleanup Ctrl-C gets (temporary files removed), and 128 + 15 as its status.
        signal.signal(signal.SIGTERM, _terminate)
    cli(standalone_mode=True)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
