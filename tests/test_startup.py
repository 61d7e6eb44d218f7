"""What each command imports: the command line loads a command's library when it runs, and the
answer checker's own process needs no SymPy unless it starts the sandbox worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.grading.checker.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
WEIGHT_INIT_4 = ROOT / "benchmarks" / "weight-init-4"
HEAVY = ("sympy", "mpmath", "jinja2", "markdown_it", "yaml")


def _loaded_after(code: str) -> set[str]:
    """The modules loaded once `code` has run in a fresh interpreter, on this tree's engine."""
    script = f"import sys\n{code}\nprint(' '.join(sys.modules))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def _command(args: list[str]) -> str:
    return ("from engine.cli import cli\n"
            f"try:\n    cli({args!r})\nexcept SystemExit as exit:\n    assert not exit.code, exit.code")


def test_importing_the_command_line_loads_no_library() -> None:
    loaded = _loaded_after("import engine.cli")
    assert loaded.isdisjoint({*HEAVY, "pydantic"})
    assert loaded.isdisjoint({"engine.authoring", "engine.generation", "engine.grading", "engine.api"})


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"check", "compare", "generate", "grade", "list", "schema"} == set(cli.commands)
    for name in listed:
        assert CliRunner().invoke(cli, [name, "-h"]).exit_code == 0, name


@pytest.mark.parametrize("args", [
    ["compare", "2*n", "n+n"],
    ["compare", "(x+1)^2", "x^2+2*x+1", "--vars", "x:real"],
    ["compare", "-k", "numeric", "0.5", "1/2", "-t", "relative:0.01"],
    ["compare", "-k", "integer", "3", "3"],
    ["compare", "-k", "choice", "--options", "4", "2", "2"],
    ["compare", "-k", "true_false", "true", "yes"],
])
def test_a_compare_decided_without_the_worker_loads_no_sympy(args: list[str]) -> None:
    code = _command(args) + (
        "\nfrom engine.grading.checker.sandbox import default_sandbox"
        "\nassert default_sandbox().pid is None, 'a worker was started'"
    )
    assert _loaded_after(code).isdisjoint({"sympy", "mpmath", "jinja2", "markdown_it", "multiprocessing"})


def test_list_and_markdown_of_a_sympy_free_bank_load_neither_sympy_nor_markdown_it(tmp_path: Path) -> None:
    out = tmp_path / "quiz.md"
    code = "\n".join([_command(["list", str(WEIGHT_INIT_4)]),
                      _command(["generate", str(WEIGHT_INIT_4), "-f", "markdown", "-o", str(out)])])
    loaded = _loaded_after(code)
    assert loaded.isdisjoint({"sympy", "mpmath", "markdown_it", "engine.grading"})
    assert out.exists()


def test_moodle_of_a_bank_without_markdown_syntax_loads_no_markdown_it(tmp_path: Path) -> None:
    # Its texts are words, digits, TeX and **strong** words: written without markdown-it.
    out = tmp_path / "quiz.xml"
    loaded = _loaded_after(_command(["generate", str(WEIGHT_INIT_4), "-f", "moodle", "--count", "3", "-o", str(out)]))
    assert loaded.isdisjoint({"sympy", "mpmath", "markdown_it", "mdit_py_plugins", "engine.grading"})
    assert out.exists()


def test_list_of_a_bank_whose_texts_only_print_names_loads_no_jinja() -> None:
    # Text made of literal text and `[[ name | filter(n) ]]` is read without Jinja.
    loaded = _loaded_after(_command(["list", str(WEIGHT_INIT_4)]))
    assert loaded.isdisjoint({"jinja2", "sympy", "markdown_it", "engine.grading"})


def test_list_of_the_bundled_bank_loads_no_sympy() -> None:
    # Its formulas are sums of symbols, integers over them and square roots of those. Its texts use
    # conditional text ([% if %], issue 12), so Jinja is loaded: weight-init-4 keeps that light path.
    loaded = _loaded_after(_command(["list"]))
    assert loaded.isdisjoint({"sympy", "mpmath", "markdown_it", "engine.grading"})


def test_list_loads_neither_the_checker_of_templates_nor_the_writers() -> None:
    loaded = _loaded_after(_command(["list", str(WEIGHT_INIT_4)]))
    assert loaded.isdisjoint({"engine.check", "engine.files", "engine.export.moodle", "engine.export.html"})


def test_generating_the_bundled_bank_loads_no_sympy(tmp_path: Path) -> None:
    # Its formulas are sums of symbols, integers over them and square roots of those.
    code = "\n".join(_command(["generate", "-f", fmt, "--count", "3", "-o", str(tmp_path / f"quiz.{fmt}")])
                     for fmt in ("moodle", "markdown", "json"))
    assert _loaded_after(code).isdisjoint({"sympy", "mpmath", "engine.grading"})


def _loaded(name: str) -> bool:
    return name in sys.modules


def test_the_worker_starts_with_its_modules_loaded() -> None:
    # A module this process has not loaded: the worker has it before its first call, so that no
    # call's time limit pays for importing it.
    name = next(m for m in ("wave", "tabnanny", "mailbox", "nntplib") if m not in sys.modules)
    box = Sandbox(preload=(name,))
    try:
        assert box.run(_loaded, name).value is True
    finally:
        box.close()


_WARMED: list[bool] = []


def _warm() -> None:
    _WARMED.append(True)


def _warmed() -> bool:
    return bool(_WARMED)


def test_a_preload_function_runs_before_the_fork() -> None:
    # The worker inherits what the function set up: its first call pays nothing for it.
    box = Sandbox(preload=(f"{__name__}:_warm",))
    try:
        assert box.run(_warmed).value is True
    finally:
        box.close()


def test_the_default_worker_has_sympy() -> None:
    box = Sandbox()
    try:
        assert box.run(_loaded, "sympy").value is True
    finally:
        box.close()
