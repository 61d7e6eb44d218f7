"""Slots in bank.yaml: one exercise per slot and sheet, seeded, spread evenly, no give-away pair;
selection by --exercise, --topic and --tag; grading and the LMS exports of a quiz with slots."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.authoring.bank import load_bank, read_bank
from engine.cli import cli
from engine.errors import TemplateError, UsageError
from engine.generation.pipeline import generate
from engine.generation.quiz import Quiz, Variant
from engine.generation.slots import assign

BUNDLED = Path(__file__).resolve().parent.parent / "exercises" / "weight-initialization"
# The bundled bank's exercises as they were when these tests were written (he-factor-two printing
# He's 2/n_in, the answer of the first slot's two): the bank itself has moved on (issue 12).
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "slots"
USED = ["he-variance-formula", "he-variance-options", "he-factor-two", "relu-initialization", "layer-size",
        "layer-parameter-count", "xavier-variance-numeric", "he-std-numeric", "xavier-uniform-reciprocal"]
SLOTS = """\
title: Slots
code: SL
slots:
  - title: He variance
    exercises: [he-variance-formula, he-variance-options]
  - exercises: [he-factor-two, relu-initialization]
  - tag: calculation
"""


def make_bank(folder: Path, bank_yaml: str = SLOTS, ids: list[str] = USED) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for exercise_id in ids:
        shutil.copy(FIXTURE / f"{exercise_id}.yaml", folder / f"{exercise_id}.yaml")
    (folder / "bank.yaml").write_text(bank_yaml, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bank(tmp_path_factory.mktemp("slots") / "bank")


def quiz(bank: Path, **options: object) -> Quiz:
    return api.quiz([bank], **options)


def test_each_sheet_holds_one_exercise_of_each_slot_in_slot_order(bank_dir: Path) -> None:
    made = quiz(bank_dir, seed=3, count=12)
    pools = [{"he-variance-formula", "he-variance-options"}, {"he-factor-two", "relu-initialization"},
             {"layer-size", "layer-parameter-count", "xavier-variance-numeric", "he-std-numeric",
              "xavier-uniform-reciprocal"}]
    for copy in made.copies:
        assert [v.exercise in pool for v, pool in zip(copy.variants, pools, strict=True)] == [True] * 3
    # The header lists every exercise a sheet may hold, and the slots with their pools.
    assert {e.id for e in made.exercises} == set().union(*pools)
    assert [s.title for s in made.slots] == ["He variance", "Slot 2", "Slot 3: tag calculation"]


def test_a_pool_is_used_evenly_and_an_exercise_keeps_its_variants_distinct(bank_dir: Path) -> None:
    made = quiz(bank_dir, seed=5, count=20)
    third = Counter(copy.variants[2].exercise for copy in made.copies)
    assert sorted(third.values()) == [4, 4, 4, 4, 4]  # 20 sheets over a pool of 5
    indexes: dict[str, list[int]] = {}
    for copy in made.copies:
        for variant in copy.variants:
            indexes.setdefault(variant.exercise, []).append(variant.index)
    # The k-th sheet holding an exercise gets its variant k.
    assert all(found == list(range(len(found))) for found in indexes.values())
    layer = [v for c in made.copies for v in c.variants if v.exercise == "layer-size"]
    assert len({v.question for v in layer}) == len(layer)


def test_choices_are_seeded_deterministic_and_differ_between_seeds(bank_dir: Path) -> None:
    first = quiz(bank_dir, seed=5, count=10)
    again = quiz(bank_dir, seed=5, count=10)
    other = quiz(bank_dir, seed=6, count=10)
    assert first == again
    pick = [[v.exercise for v in c.variants] for c in first.copies]
    assert pick != [[v.exercise for v in c.variants] for c in other.copies]


def test_a_slice_of_copies_equals_the_full_run(bank_dir: Path) -> None:
    full = quiz(bank_dir, seed=9, count=9)
    part = quiz(bank_dir, seed=9, count=9, copies=(4, 7))
    assert part.copies == full.copies[3:7]


def test_a_sheet_never_holds_an_exercise_with_the_one_showing_its_answer(bank_dir: Path) -> None:
    # he-factor-two prints He's variance 2/n_in: the answer of both exercises of the first slot.
    made = quiz(bank_dir, seed=1, count=10)
    assert all(copy.variants[1].exercise == "relu-initialization" for copy in made.copies)


def test_slots_that_cannot_avoid_a_give_away_are_refused(tmp_path: Path) -> None:
    bank = make_bank(tmp_path / "b", "title: T\nslots:\n  - exercises: [he-variance-formula]\n"
                                     "  - exercises: [he-factor-two]\n", ["he-variance-formula", "he-factor-two"])
    with pytest.raises(UsageError, match="give-away pairs: he-factor-two and he-variance-formula"):
        quiz(bank, count=2)


def test_without_slots_a_sheet_holds_every_exercise_and_the_json_has_no_slots(tmp_path: Path) -> None:
    bank = make_bank(tmp_path / "b", "title: T\n", ["layer-size", "relu-initialization"])
    made = api.generate([bank], seed=2, count=3)
    copies = list(made.copies)
    assert [[v.exercise for v in c.variants] for c in copies] == [["layer-size", "relu-initialization"]] * 3
    text = api.export("json", [bank], seed=2, count=3)
    assert isinstance(text, str) and '"slots"' not in text


@pytest.mark.parametrize(("yaml_slots", "message"), [
    ("  - exercises: [layer-size, nosuch]\n", "bank.yaml:4: slots[0].exercises: unknown exercise 'nosuch'"),
    ("  - topic: nosuch\n", "bank.yaml:4: slots[0].topic: no exercise has the topic 'nosuch'"),
    ("  - exercises: [layer-size]\n  - tag: calculation\n",
     "bank.yaml:5: slots[1].tag: exercise 'layer-size' is also in slot 1"),
    ("  - exercises: [layer-size]\n    topic: he\n", "give exactly one of exercises, topic or tag"),
    ("  - exercises: []\n", "slots[0].exercises"),
])
def test_broken_slots_name_bank_yaml_and_its_line(tmp_path: Path, yaml_slots: str, message: str) -> None:
    bank = make_bank(tmp_path / "b", "title: T\n\nslots:\n" + yaml_slots)
    with pytest.raises(TemplateError) as caught:
        load_bank([bank])
    assert message in str(caught.value)
    assert read_bank([bank]).problems  # check reports it too


def test_files_picked_out_of_a_bank_ignore_its_slots(bank_dir: Path) -> None:
    bank = load_bank([bank_dir / "layer-size.yaml", bank_dir / "he-factor-two.yaml"])
    assert bank.slots == []


def test_assignment_is_even_over_blocks_and_avoids_pairs() -> None:
    sheets = list(assign(4, [["a", "b", "c"], ["x", "y"]], {frozenset(("a", "x"))}, 60))
    assert all(("a", "x") != sheet for sheet in sheets)
    first = Counter(sheet[0] for sheet in sheets)
    assert max(first.values()) - min(first.values()) <= 2


# ---------------------------------------------------------------------------------------------
# Selection


def test_topic_and_tag_select_as_a_teacher_expects(bank_dir: Path) -> None:
    bank = load_bank([BUNDLED])
    he = [ex.id for ex in bank.select([], ["he"])]
    assert he and all(ex.spec.topic == "he" for ex in bank.select([], ["he"]))
    both = bank.select([], ["he"], ["calculation"])
    assert both and all(ex.spec.topic == "he" and "calculation" in ex.spec.tags for ex in both)
    either = {ex.id for ex in bank.select([], ["he", "xavier"])}
    assert either == {ex.id for ex in bank.exercises if ex.spec.topic in ("he", "xavier")}
    named = bank.select(["layer-size"], ["he"])
    assert named[0].id == "layer-size" and [ex.id for ex in named[1:]] == he
    with pytest.raises(UsageError, match="unknown topic 'nope'"):
        bank.select([], ["nope"])
    with pytest.raises(UsageError, match="unknown tag 'nope'"):
        bank.select([], [], ["nope"])


def test_cli_generate_and_list_take_topic_and_tag() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["generate", "--topic", "layer-size", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {e["topic"] for e in data["exercises"]} == {"layer-size"}
    listed = runner.invoke(cli, ["list", "--tag", "formula", "--json"])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and all("formula" in load_bank().select([row["id"]])[0].spec.tags for row in rows)
    bad = runner.invoke(cli, ["generate", "--topic", "nope"])
    assert bad.exit_code == 1 and "unknown topic 'nope'" in bad.output


def test_selection_narrows_the_pools(bank_dir: Path) -> None:
    made = quiz(bank_dir, count=4, exercises=["layer-size", "he-variance-formula"])
    assert [[v.exercise for v in c.variants] for c in made.copies] == [["he-variance-formula", "layer-size"]] * 4
    with pytest.raises(UsageError, match="in no slot"):
        generate(load_bank([make_bank(bank_dir.parent / "extra", SLOTS, [*USED, "nan-loss"])]),
                 exercise_ids=["nan-loss"])


# ---------------------------------------------------------------------------------------------
# Grading and exports


def _answer(variant: Variant) -> str:
    a = variant.answer
    return {"option": lambda: str(getattr(a, "option", "")), "boolean": lambda: "true" if getattr(a, "value", 0) else "false",
            "integer": lambda: str(getattr(a, "value", "")), "numeric": lambda: getattr(a, "display", ""),
            "formula": lambda: getattr(a, "expr", "")}[a.type]()


def test_grading_regenerates_the_sheets_of_a_bank_with_slots(bank_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "quiz.json"
    made = quiz(bank_dir, seed=4, count=6)
    key.write_text(made.model_dump_json(), encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "sheet", "q1", "q2", "q3"])
    for copy in made.copies:
        writer.writerow([f"s{copy.index}", copy.sheet, *map(_answer, copy.variants)])
    answers = tmp_path / "answers.csv"
    answers.write_text(buffer.getvalue(), encoding="utf-8")
    for extra in (["--key", str(key)], [str(bank_dir)]):
        out = tmp_path / ("key" if "--key" in extra else "regenerated")
        result = CliRunner().invoke(cli, ["grade", str(answers), *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
        assert len(rows) == 6 and {row["percent"] for row in rows} == {"100.00"}, rows


def test_moodle_and_gift_put_each_exercise_in_its_slot_category(bank_dir: Path) -> None:
    xml = api.export("moodle", [bank_dir], seed=2, count=4)
    assert isinstance(xml, str)
    assert "$course$/top/Slots/He variance/" in xml and "$course$/top/Slots/Slot 3: tag calculation/" in xml
    gift = api.export("gift", [bank_dir], seed=2, count=4)
    assert isinstance(gift, str) and "$CATEGORY: $course$/top/Slots/Slot 2/" in gift
    made = quiz(bank_dir, seed=2, count=4)
    # Each category holds the questions of its own exercise only (a variant identical to an
    # earlier one is not written: docs/moodle.md).
    for copy in made.copies:
        for variant in copy.variants:
            if f"{variant.id}<" not in xml:
                continue
            category = xml.rfind("<category>", 0, xml.index(f"{variant.id}<"))
            assert variant.title.split("<")[0][:20] in xml[category:category + 400]


def test_grading_regenerates_a_quiz_selected_by_topic_and_tag(tmp_path: Path) -> None:
    made = api.quiz(seed=3, count=3, topics=["layer-size", "he"], tags=["calculation"])
    assert {v.exercise for c in made.copies for v in c.variants} <= {"layer-size", "layer-parameter-count",
                                                                     "he-std-numeric", "he-std-integer"}
    width = len(made.copies[0].variants)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "sheet", *(f"q{i + 1}" for i in range(width))])
    for copy in made.copies:
        writer.writerow([f"s{copy.index}", copy.sheet, *map(_answer, copy.variants)])
    answers = tmp_path / "answers.csv"
    answers.write_text(buffer.getvalue(), encoding="utf-8")
    out = tmp_path / "grades"
    result = CliRunner().invoke(cli, ["grade", str(answers), "--topic", "layer-size", "--topic", "he",
                                      "--tag", "calculation", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert {row["percent"] for row in rows} == {"100.00"}
    key = tmp_path / "quiz.json"
    key.write_text(made.model_dump_json(), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["grade", str(answers), "--key", str(key), "--topic", "he"])
    assert refused.exit_code == 2 and "--topic: only used without --key" in refused.output


def test_qti_holds_one_pick_one_group_per_slot_valid_for_the_ims_grammars(bank_dir: Path) -> None:
    from tests.test_export_qti import assessment, validate_package

    data = api.export("qti", [bank_dir], seed=2, count=4)
    assert isinstance(data, bytes)
    validate_package(data)
    root = etree_of(assessment(data))
    groups = [s for s in root.iter("{*}section") if s.get("title") != root.get("title")
              and s.find("{*}selection_ordering") is not None]
    assert [g.get("title") for g in groups] == ["He variance", "Slot 2", "Slot 3: tag calculation"]
    assert [len(g.findall("{*}item")) for g in groups] == [4, 4, 4]


def etree_of(data: bytes) -> Any:
    from lxml import etree

    return etree.fromstring(data)
