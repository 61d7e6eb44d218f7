"""Hostile bank files: only regular files are read, within limits, and every command that loads a
bank (check, generate, list, grade) accepts and refuses the same banks, with one line per problem."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from engine.authoring.bank import load_bank
from engine.authoring.sources import BANK_LIMIT, FILE_LIMIT, FILES_LIMIT, NODES_LIMIT
from engine.cli import cli
from engine.errors import MAX_PROBLEMS, TemplateError
from tests.test_author_errors import GOOD

ROOT = Path(__file__).resolve().parents[1]


def _bank(tmp_path: Path, info: bytes | None = b"title: T\ncode: TB\n") -> Path:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "ex.yaml").write_text(GOOD, encoding="utf-8")
    if info is not None:
        (bank / "bank.yaml").write_bytes(info)
    return bank


def _limit_memory() -> None:
    # A regression reads /dev/zero until memory runs out: fail at 2 GB instead of swapping.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in its own process: a hang or a flood of memory is the failure here."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limit_memory)


COMMANDS = [["check", "--seeds", "2"], ["generate"], ["list"]]


# --- files that are not regular files ----------------------------------------------------------


class Special(NamedTuple):
    name: str
    make: str  # how the file x.yaml is made in the bank
    message: str


SPECIALS = [
    Special("fifo", "fifo", "x.yaml: not a regular file (a FIFO)"),
    Special("symlink to /dev/zero", "zero", "x.yaml: not a regular file (a character device)"),
    Special("symlink loop", "loop", "x.yaml: cannot read: a symlink loop"),
    Special("dangling symlink", "dangling", "x.yaml: cannot read: a symlink to a missing file (missing.yaml)"),
    Special("folder named x.yaml", "folder", "x.yaml: not a regular file (a folder)"),
]


def _make(bank: Path, how: str) -> None:
    target = bank / "x.yaml"
    if how == "fifo":
        os.mkfifo(target)
    elif how == "zero":
        target.symlink_to("/dev/zero")
    elif how == "loop":
        target.symlink_to("x.yaml")
    elif how == "dangling":
        target.symlink_to("missing.yaml")
    else:
        target.mkdir()


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
@pytest.mark.parametrize("case", SPECIALS, ids=[s.name for s in SPECIALS])
def test_a_special_file_in_a_bank_is_one_error_naming_it(tmp_path: Path, case: Special, command: list[str]) -> None:
    _make(_bank(tmp_path), case.make)
    result = _run(command[0], "bank", *command[1:], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"Error: bank/{case.message}\n" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_fifo_named_on_the_command_line_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.yaml")
    result = _run("check", "x.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "Error: x.yaml: not a regular file (a FIFO)" in result.stderr


def test_check_reports_the_special_file_and_checks_the_others(tmp_path: Path) -> None:
    _make(_bank(tmp_path), "fifo")
    result = _run("check", "bank", "--seeds", "2", cwd=tmp_path)
    assert "ok    ex " in result.stdout and "FAIL  bank/x.yaml" in result.stdout


def test_an_unreadable_file_and_folder_are_named(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (bank / "secret.yaml").write_text(GOOD.replace("id: ex", "id: secret"))
    (bank / "secret.yaml").chmod(0)
    (bank / "closed").mkdir(mode=0)
    command = [sys.executable, "-m", "engine", "list", str(bank)]
    if os.geteuid() == 0:  # root reads anything, unless it gives up the capability to
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to give up CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE")
        command = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                   "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        result = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                                text=True, timeout=120)
    finally:
        (bank / "closed").chmod(0o755)
    assert result.returncode == 1
    assert "secret.yaml: cannot read (Permission denied)" in result.stderr
    assert "closed: cannot read folder (Permission denied)" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc")
def test_a_file_that_fails_to_read_is_named(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (bank / "mem.yaml").symlink_to("/proc/self/mem")  # a regular file whose first page cannot be read
    with pytest.raises(TemplateError, match=r"/mem: cannot read \(Input/output error\)$"):
        load_bank([bank])


def test_a_symlink_to_a_regular_file_outside_the_bank_is_read(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "other.yaml").write_text(GOOD.replace("id: ex", "id: other"))
    bank = _bank(tmp_path)
    (bank / "other.yaml").symlink_to(shared / "other.yaml")
    assert sorted(ex.id for ex in load_bank([bank]).exercises) == ["ex", "other"]


# --- sizes -------------------------------------------------------------------------------------


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    with (bank / "big.yaml").open("wb") as handle:
        handle.truncate(50 << 20)  # 50 MB of NULs, sparse: reading it would be the bug
    result = _run("generate", "bank", cwd=tmp_path)
    assert result.returncode == 1
    assert f"Error: bank/big.yaml: too large ({50 << 20:,} bytes; a bank file may hold at most 1 MB)" in result.stderr


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    text = GOOD.replace("question: What", "# " + "x" * 100 + "\n" + "question: What")
    padding = "#" * (FILE_LIMIT - len(text.encode()) - 1) + "\n"
    (bank / "ex.yaml").write_text(padding + text)
    assert (bank / "ex.yaml").stat().st_size == FILE_LIMIT
    assert [ex.id for ex in load_bank([bank]).exercises] == ["ex"]
    (bank / "ex.yaml").write_text("#" + padding + text)
    with pytest.raises(TemplateError, match=r"ex.yaml: too large \(1,048,577 bytes"):
        load_bank([bank])


def test_a_bank_over_its_total_cap_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    for i in range(BANK_LIMIT // FILE_LIMIT + 1):
        with (bank / f"big-{i}.yaml").open("wb") as handle:
            handle.truncate(FILE_LIMIT)
    with pytest.raises(TemplateError) as info:
        load_bank([bank])
    assert str(info.value) == f"{bank}: the bank's files hold 21 MB; a bank may hold at most 20 MB"


def test_a_bank_with_too_many_files_is_refused(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    for i in range(FILES_LIMIT):
        (bank / f"e{i}.yml").touch()
    with pytest.raises(TemplateError, match=f"more than {FILES_LIMIT} exercise files"):
        load_bank([bank])


# --- YAML that is small but costly -------------------------------------------------------------


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return GOOD + "\n".join(lines) + f"\ntags: *a{levels - 1}\n"


class Costly(NamedTuple):
    name: str
    text: str
    message: str


COSTLY = [
    Costly("billion laughs", _laughs(9), "yaml: too big: more than 100,000 values (an alias counts as often as "
                                         "it is used), the limit per bank file"),
    Costly("many tags", GOOD + "tags: [" + ",".join(["a"] * (NODES_LIMIT + 1)) + "]\n", "yaml: too big: more than "
           "100,000 values"),
    Costly("long string repeated", GOOD + f"a: &s {'x' * 200_000}\ntags: [{', '.join(['*s'] * 6)}]\n",
           "yaml: too big: more than 1 MB of text"),
    Costly("deep nesting", GOOD + "tags: " + "[" * 60 + "]" * 60 + "\n", "yaml: nested deeper than 50 levels"),
    Costly("deep block nesting", GOOD + "".join(" " * i + "k:\n" for i in range(60)),
           "yaml: nested deeper than 50 levels"),
    Costly("recursive alias", GOOD + "tags: &t [a, *t]\n", "yaml: the alias *t refers to a node that contains it"),
]


@pytest.mark.parametrize("case", COSTLY, ids=[c.name for c in COSTLY])
def test_yaml_that_would_cost_minutes_is_refused(tmp_path: Path, case: Costly) -> None:
    bank = _bank(tmp_path)
    (bank / "ex.yaml").write_text(case.text)
    with pytest.raises(TemplateError) as info:
        load_bank([bank])
    assert case.message in str(info.value) and str(info.value).count("\n") == 0, str(info.value)


def test_a_big_file_with_bad_yaml_at_its_end_names_the_line(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (bank / "ex.yaml").write_text(GOOD + "tags: [" + ",".join(["a"] * 50_000) + "]\nx: [\n")
    result = _run("check", "bank", cwd=tmp_path)
    assert result.returncode == 1 and "Error: bank/ex.yaml:13: yaml: invalid YAML" in result.stderr


def test_every_problem_is_listed_up_to_a_hundred(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (bank / "ex.yaml").write_text(GOOD + "tags: [" + ", ".join(["[1]"] * (MAX_PROBLEMS + 50)) + "]\n")
    with pytest.raises(TemplateError) as info:
        load_bank([bank])
    lines = str(info.value).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0].endswith("ex.yaml:11: tags[0]: Input should be a valid string")
    assert lines[-1] == f"{bank / 'ex.yaml'}: 50 more problems, not listed: fix the 100 above first"


# --- bank.yaml: the same verdict from every command ---------------------------------------------


class BankFile(NamedTuple):
    name: str
    text: bytes
    message: str


BANK_FILES = [
    BankFile("misspelt key", b"title: T\ncdoe: XX\n", "bank/bank.yaml:2: cdoe: unknown field 'cdoe' "
                                                       "(did you mean 'code'?)"),
    BankFile("bad code", b"title: T\ncode: qw-1\n", "bank/bank.yaml:2: code: String should match pattern"),
    BankFile("latin-1", "title: Übungen\ndescription: für José\n".encode("latin-1"),
             "bank/bank.yaml:1: encoding: not valid UTF-8 (byte 0xDC at column 8); save the file as UTF-8"),
    BankFile("not a mapping", b"- title\n", "bank/bank.yaml:1: bank: Input should be a valid dictionary"),
    BankFile("unknown order", b"title: T\norder: [ex, nope]\n",
             "bank/bank.yaml:2: order: unknown exercise 'nope' (expected one of the bank's ids)"),
]
GRADE = ["grade", "answers.csv", "bank", "--seed", "1"]


@pytest.mark.parametrize("command", [*COMMANDS, GRADE], ids=[c[0] for c in [*COMMANDS, GRADE]])
@pytest.mark.parametrize("case", BANK_FILES, ids=[b.name for b in BANK_FILES])
def test_a_broken_bank_file_is_refused_by_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        case: BankFile, command: list[str]) -> None:
    _bank(tmp_path, case.text)
    (tmp_path / "answers.csv").write_text("student,sheet,q1\nAda,TB-1-1,4\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, command if command[0] == "grade" else [command[0], "bank", *command[1:]])
    assert result.exit_code == (2 if command[0] == "grade" else 1), result.output
    assert f"Error: {case.message}" in result.stderr, result.stderr


def test_a_folder_without_bank_file_is_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _bank(tmp_path, None)
    monkeypatch.chdir(tmp_path)
    note = ("Note: bank: no bank.yaml, so the quiz is titled 'bank' and its sheet ids start with the default code "
            "QW (a bank.yaml chooses them)\n")
    generated = CliRunner().invoke(cli, ["generate", "bank", "-f", "json"])
    assert generated.exit_code == 0 and note in generated.stderr and '"code": "QW"' in generated.stdout
    checked = CliRunner().invoke(cli, ["check", "bank", "--seeds", "2"])
    assert checked.exit_code == 0 and note in checked.stderr


def test_a_key_given_twice_is_kept_as_yaml_reads_it_and_told(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    bank = _bank(tmp_path, b"title: First\ncode: TB\ntitle: Second\n")
    (bank / "ex.yaml").write_text(GOOD.replace("params:\n  n_in: {min: 2, max: 8}",
                                               "params:\n  n_in: {min: 2, max: 8, max: 3}"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    notes = ["Note: bank/ex.yaml:6: max: given twice in one mapping (also on line 6); the last one is used",
             "Note: bank/bank.yaml:3: title: given twice in one mapping (also on line 1); the last one is used"]
    generated = CliRunner().invoke(cli, ["generate", "bank", "-f", "json", "-n", "9"])
    assert generated.exit_code == 0 and generated.stderr.splitlines()[:2] == notes
    document = json.loads(generated.stdout)
    assert document["bank"]["title"] == "Second"  # the last one wins, as before: banks that load keep loading
    assert {copy["variants"][0]["params"]["n_in"] for copy in document["copies"]} == {"2", "3"}
    checked = CliRunner().invoke(cli, ["check", "bank", "--seeds", "2"])
    assert checked.exit_code == 0 and checked.stderr.splitlines()[:2] == notes


def test_the_current_folder_is_titled_by_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_bank(tmp_path, None))
    assert load_bank([Path(".")]).info.title == "bank"


def test_files_picked_from_a_bank_with_an_order_load(tmp_path: Path) -> None:
    bank = _bank(tmp_path, b"title: T\ncode: TB\norder: [other, ex]\n")
    (bank / "other.yaml").write_text(GOOD.replace("id: ex", "id: other"))
    loaded = load_bank([bank / "ex.yaml"])
    assert [ex.id for ex in loaded.exercises] == ["ex"] and loaded.info.code == "TB"
    assert [ex.id for ex in load_bank([bank]).exercises] == ["other", "ex"]


def test_a_non_utf8_exercise_names_its_line(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (bank / "ex.yaml").write_bytes(GOOD.replace("title: Sum", "title: Übung").encode("cp1252"))
    with pytest.raises(TemplateError) as info:
        load_bank([bank])
    assert str(info.value).endswith("ex.yaml:2: encoding: not valid UTF-8 (byte 0xDC at column 8); save the "
                                    "file as UTF-8")


def test_check_and_load_agree_on_duplicate_ids(tmp_path: Path) -> None:
    from engine.api import check

    bank = _bank(tmp_path)
    (bank / "sub").mkdir()
    (bank / "sub" / "ex.yaml").write_text(GOOD)
    with pytest.raises(TemplateError, match=r"sub/ex.yaml:1: id: id 'ex' is also used by"):
        load_bank([bank])
    report = check([bank], seeds=2)
    assert report.lines[1].startswith("FAIL") and "sub/ex.yaml:1: id: id 'ex' is also used by" in report.problems[0]
