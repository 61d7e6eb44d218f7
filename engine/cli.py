"""The `quizwright` command line: a thin click layer over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine import api
from engine.errors import QuizwrightError
from engine.writers.base import atomic_outputs, get_writer, writers

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PATHS = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


def _fail(exc: QuizwrightError) -> click.ClickException:
    return click.ClickException(str(exc))


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint=option)
        pairs[name.strip()] = value.strip()
    return pairs


@click.group(context_settings=CONTEXT)
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
@click.option("--format", "-f", "fmt", type=click.Choice(list(writers())), default="markdown", show_default=True,
              help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (written atomically); standard output if omitted.")
@click.option("--exercise", "-e", "exercises", multiple=True, metavar="ID",
              help="Only this exercise (repeatable; keeps the given order).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Pin a drawn parameter, e.g. --param n_in=4 (repeatable).")
@click.option("--key/--no-key", default=True, show_default=True,
              help="Markdown: also write the answer key (to OUTPUT.key.md, or after the worksheets).")
@click.option("--unique", is_flag=True, help="Fail instead of repeating variants when too few exist.")
def generate(paths: tuple[Path, ...], seed: int, count: int, fmt: str, output: Path | None,
             exercises: tuple[str, ...], params: tuple[str, ...], key: bool, unique: bool) -> None:
    """Generate COUNT copies of a quiz from a bank folder or exercise files.

    PATHS default to the bundled weight-initialization bank. Copy i holds variant i of every
    selected exercise.

    Example: quizwright generate -e layer-size --param n_in=4 --param n_out=6 --format json
    """
    pins = _pairs(params, "--param")
    try:
        plan = api.plan(list(paths), seed=seed, count=count, exercises=list(exercises), params=pins,
                        unique=unique)
        for notice in plan.notices:
            click.echo(f"Note: {notice}", err=True)
        with atomic_outputs(output, sys.stdout) as sink:
            get_writer(fmt).write(plan, sink, key=key)
    except QuizwrightError as exc:
        raise _fail(exc) from None
    for path in sink.written:
        click.echo(f"Wrote {path}", err=True)


@cli.command("list", context_settings=CONTEXT)
@PATHS
@click.option("--json", "as_json", is_flag=True, help="One JSON object per exercise instead of a table.")
def list_(paths: tuple[Path, ...], as_json: bool) -> None:
    """List the exercises of a bank with kind, topic and number of distinct variants.

    Example: quizwright list exercises/weight-initialization
    """
    try:
        rows = api.list_exercises(list(paths))
    except QuizwrightError as exc:
        raise _fail(exc) from None
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    headers = ("id", "kind", "topic", "variants")
    table = [headers] + [tuple("-" if row[h] is None else str(row[h]) for h in headers) for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


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
    try:
        report = api.check(list(paths), seeds=seeds)
    except QuizwrightError as exc:
        raise _fail(exc) from None
    for line in report.lines:
        click.echo(line)
    if report.problems:
        for problem in report.problems:
            click.echo(f"Error: {problem}", err=True)
        raise SystemExit(1)


@cli.command(context_settings=CONTEXT)
@click.option("--quiz", "what", flag_value="quiz", help="The schema of the JSON export instead.")
@click.option("--exercise", "what", flag_value="exercise", default=True, help="The schema of exercise files (default).")
def schema(what: str) -> None:
    """Print the JSON Schema of exercise files (or of the JSON export).

    Example: quizwright schema > exercise.schema.json
    """
    click.echo(api.schema_json(what))


def main() -> None:
    """Console entry point: library errors are one line; nothing shows a traceback."""
    try:
        cli(standalone_mode=True)
    except QuizwrightError as exc:  # pragma: no cover - commands translate these already
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
