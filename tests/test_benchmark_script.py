"""benchmarks/run.py: a tiny end-to-end run, and its output checker rejecting wrong answers."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run.py"


def _load_run():
    spec = importlib.util.spec_from_file_location("qw_bench_run", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


run = _load_run()


def test_small_run_writes_json_with_checked_wi4_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "wi4", "--sizes", "20", "--runs", "1",
         "--skip-external", "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = [r for r in data["rows"] if r["id"] == "wi4" and r["n"] == 20]
    assert len(rows) == 1
    row = rows[0]
    assert row["check"] == "ok"
    assert row["wall_s"] > 0 and row["peak_mb"] > 0 and row["output_mb"] > 0
    # the 6 option orders of he-variance and the one true/false question, each written once
    assert row["details"]["counts"]["types"] == {"category": 4, "multichoice": 6, "numerical": 40,
                                                 "truefalse": 1}
    floor = [r for r in data["rows"] if r["id"] == "floor" and r["n"] == 20]
    assert len(floor) == 1 and floor[0]["check"].startswith("ok"), floor
    assert floor[0]["details"]["ours_over_floor"] > 0
    assert data["meta"]["load_1min"]["start"] >= 0 and "load_1min" in row["runs"][0]
    repeat = [r for r in data["rows"] if r["id"] == "wi4-repeat"]
    assert repeat and repeat[0]["check"] == "ok"
    assert "| work | N | wall s (median) |" in result.stdout
    # no target is called met without a measurement of it
    for target in data["targets"]:
        if target["measured"] == "-":
            assert target["verdict"] == "not measured"


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wi4") / "wi4.xml"
    from engine import api

    api.export("moodle", [run.WI4], seed=1, count=3, output=path)
    return path


def test_checker_accepts_a_real_export(small_export: Path) -> None:
    problems, counts = run.check_wi4_moodle(small_export, 3)
    assert problems == []
    assert counts["per_exercise"] == {"he-variance": 3, "winit-tf": 1, "xavier-limit": 3, "xavier-sum": 3}


def _tampered(source: Path, target: Path, pattern: str, replace) -> Path:
    text = source.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replace, text, count=1, flags=re.S)
    assert count == 1, pattern
    target.write_text(new, encoding="utf-8")
    return target


def test_checker_rejects_a_wrong_sum(small_export: Path, tmp_path: Path) -> None:
    # the first xavier-sum answer, one more than A + B
    def bump(match: re.Match[str]) -> str:
        return f"{match.group(1)}{int(match.group(2)) + 1}{match.group(3)}"

    bad = _tampered(small_export, tmp_path / "bad.xml",
                    r"(xavier-sum\.1\.1</idnumber>\s*<answer fraction=\"100\">\s*<text>)(\d+)(</text>)", bump)
    problems, counts = run.check_wi4_moodle(bad, 3)
    assert problems and "expected" in problems[0]
    assert counts["failures"] == {"sum": 1}


def test_checker_rejects_a_wrong_limit_and_tolerance(small_export: Path, tmp_path: Path) -> None:
    # change the 12th significant digit of an xavier-limit answer: still "close", but wrong
    def nudge(match: re.Match[str]) -> str:
        digits = match.group(2)
        last = "1" if digits[13] != "1" else "2"
        return f"{match.group(1)}{digits[:13]}{last}{digits[14:]}{match.group(3)}"

    bad = _tampered(small_export, tmp_path / "limit.xml",
                    r"(xavier-limit\.1\.2</idnumber>\s*<answer fraction=\"100\">\s*<text>)(0\.\d+)(</text>)", nudge)
    problems, counts = run.check_wi4_moodle(bad, 3)
    assert counts["failures"] == {"limit": 1}, problems
    bad = _tampered(small_export, tmp_path / "tol.xml",
                    r"(xavier-limit\.1\.3</idnumber>.*?<tolerance>)(0\.0)(\d+</tolerance>)",
                    lambda m: f"{m.group(1)}0.00{m.group(3)}")
    problems, counts = run.check_wi4_moodle(bad, 3)
    assert counts["failures"] == {"limit": 1}, problems


def test_checker_rejects_wrong_options_counts_and_broken_xml(small_export: Path, tmp_path: Path) -> None:
    text = small_export.read_text(encoding="utf-8")
    flipped = tmp_path / "tf.xml"
    flipped.write_text(text.replace("<text>true</text>", "<text>maybe</text>", 1), encoding="utf-8")
    assert run.check_wi4_moodle(flipped, 3)[1]["failures"] == {"tf": 1}

    assert run.check_wi4_moodle(small_export, 4)[0]  # 3 variants each, 4 announced

    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("</questiontext>", "", 1), encoding="utf-8")
    problems, _ = run.check_wi4_moodle(broken, 3)
    assert any("not well-formed" in p for p in problems)


def test_time_v_parsing() -> None:
    text = ("\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.45\n"
            "\tMaximum resident set size (kbytes): 88216\n\tExit status: 0\n")
    assert run._parse_time_v(text) == (3723.45, 88216, 0)
    assert run._parse_time_v("\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:04.82\n")[0] == 4.82


def test_floor_script_writes_our_bytes(small_export: Path, tmp_path: Path) -> None:
    # benchmarks/floor.py does the same work: at N = 3 it must write what quizwright wrote
    out = tmp_path / "floor.xml"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(run.WI4), "--seed", "1",
                    "--count", "3", "-o", str(out)], check=True, timeout=60)
    assert out.read_bytes() == small_export.read_bytes()


def test_floor_script_past_the_six_orders(tmp_path: Path) -> None:
    # at N = 8 the He options repeat (6 orders) and the category info says so, as ours does
    from engine import api

    ours, floor = tmp_path / "ours.xml", tmp_path / "floor.xml"
    api.export("moodle", [run.WI4], seed=2, count=8, output=ours)
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(run.WI4), "--seed", "2",
                    "--count", "8", "-o", str(floor)], check=True, timeout=60)
    assert floor.read_bytes() == ours.read_bytes()


def test_cliff_checker(tmp_path: Path) -> None:
    from engine import api

    path = tmp_path / "sum.xml"
    api.export("moodle", [run.WI4], seed=1, count=4, output=path, exercises=["xavier-sum"])
    assert run.check_cliff(path, 4) == []
    assert run.check_cliff(path, 5)  # 4 questions, 5 announced
    text = path.read_text(encoding="utf-8")
    first = re.search(r"n_\{in\} = (\d+)\\\) and \\\(n_\{out\} = (\d+)", text)
    assert first
    second = re.findall(r"n_\{in\} = \d+\\\) and \\\(n_\{out\} = \d+", text)[2]
    repeated = text.replace(second, first.group(0), 1)
    (tmp_path / "dup.xml").write_text(repeated, encoding="utf-8")
    problems = run.check_cliff(tmp_path / "dup.xml", 4)
    assert any("3 distinct" in p for p in problems) and any("not A + B" in p for p in problems)


def test_the_stack_floor_imports_what_the_commands_import() -> None:
    from bench.startup_cliff import STACK_FLOORS  # run.py put benchmarks/ on the path

    for name, code in STACK_FLOORS:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (name, result.stderr)
    generate = dict(STACK_FLOORS)["generate"]
    assert all(library in generate for library in ("click", "pydantic", "yaml", "jinja2", "markdown_it"))
