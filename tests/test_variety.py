"""Variety: `list` counts distinct stems and answers (option order left out), and `check` notes
a drawn parameter that, varied alone, changes neither the question nor the answer (or only the
question)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from engine import api
from engine.authoring.bank import load_bank
from engine.cli import cli
from engine.generation.variants import VariantMaker
from engine.generation.variety import COUNT_LIMIT, effects, face, made, variety

HERE = Path(__file__).parent
INTEGER = """\
id: {id}
title: Sum
kind: integer
topic: t
params:
  a: {{values: [1, 2, 3]}}
  b: {{values: [10, 20]}}
  c: {{values: [5, 6, 7]}}
question: "{question}"
answer: "{answer}"
explanation: It is [[ answer ]].
"""
CHOICE = """\
id: pick
title: Pick
kind: choice
topic: t
params:
  n: {values: [2, 3, 4]}
question: Which is twice [[ n ]]?
options:
  - {expr: "2*n", correct: true}
  - {expr: "2*n + 1", feedback: "One too many."}
  - {expr: "2*n - 1", feedback: "One too few."}
explanation: "Twice [[ n ]]."
"""


def bank(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "bank.yaml").write_text("title: Variety\ncode: VA\n", encoding="utf-8")
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def integer(id_: str, question: str, answer: str) -> str:
    return INTEGER.format(id=id_, question=question, answer=answer)


def maker(path: Path, exercise: str) -> VariantMaker:
    (ex,) = [e for e in load_bank([path]).exercises if e.id == exercise]
    return VariantMaker(ex, 0)


def test_stems_and_answers_are_counted_over_every_variant(tmp_path: Path) -> None:
    # b shows in the question but not in the answer; c shows nowhere: 18 variants, 6 stems, 3 answers.
    path = bank(tmp_path, s=integer("s", "What is [[ a ]] + 0 times [[ b ]]?", "a"))
    found = variety(maker(path, "s"))
    assert (found.stems, found.answers, found.exact) == (6, 3, True)


def test_option_order_does_not_count(tmp_path: Path) -> None:
    path = bank(tmp_path, pick=CHOICE)
    m = maker(path, "pick")
    plans = list(m.plans(12))  # 3 draws x 6 orders
    faces = {face(m.materialize(plan)) for plan in plans}
    assert len({p.order for p in plans}) > 1 and len(faces) == 3
    assert variety(m) == variety(m, limit=COUNT_LIMIT) and variety(m).stems == 3


def test_large_spaces_are_sampled_and_shown_as_lower_bounds(tmp_path: Path) -> None:
    big = integer("big", "What is [[ a ]] + [[ n ]]?", "a + n").replace(
        "  c: {values: [5, 6, 7]}\n", "  n: {min: 1, max: 500}\n")
    path = bank(tmp_path, big=big, pick=CHOICE)
    result = CliRunner().invoke(cli, ["list", str(path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["big"][3:5] == ["3000", f"≥{COUNT_LIMIT}"] and rows["big"][5].startswith("≥")
    assert rows["pick"][3:] == ["3", "3", "3"]
    (pick,) = [json.loads(line) for line in CliRunner().invoke(cli, ["list", "--json", str(path)]).stdout.splitlines()
               if json.loads(line)["id"] == "pick"]
    assert (pick["variants"], pick["stems"], pick["answers"], pick["counted"]) == (3, 3, 3, "all")


def test_check_notes_a_decorative_parameter_and_a_wording_only_one(tmp_path: Path) -> None:
    path = bank(tmp_path, s=integer("s", "What is [[ a ]] + 0 times [[ b ]]?", "a"))
    notices = api.check([path], seeds=5).notices
    (b,) = [n for n in notices if "params.b" in n]
    (c,) = [n for n in notices if "params.c" in n]
    assert "s.yaml:7: params.b: changes the question but never the answer" in b
    assert "s.yaml:8: params.c: decorative: varied alone over" in c and "changed neither the question nor" in c
    assert not [n for n in notices if "params.a" in n]


def test_a_parameter_used_by_the_answer_is_not_noted(tmp_path: Path) -> None:
    path = bank(tmp_path, s=integer("s", "What is [[ a ]] + [[ b ]] + [[ c ]]?", "a + b + c"))
    assert not [n for n in api.check([path], seeds=5).notices if "params." in n]
    assert [(e.name, e.stem, e.answer) for e in effects(maker(path, "s"))] == [
        ("a", True, True), ("b", True, True), ("c", True, True)]


def test_a_made_variant_reads_as_the_generated_one_with_a_distractor_pool() -> None:
    # Counting makes each draw in the authored order: the same stem (options as a set, the pool's
    # drawn distractors included) and answer as the variant generate makes of that draw.
    path = HERE / "fixtures" / "textparams" / "bank"
    m = maker(path, "he-variance")
    for plan in m.plans(8):
        made_one = made(m, plan.values)
        assert made_one is not None and face(made_one[0]) == face(m.materialize(plan))  # one variant: no parts
    assert not [n for n in api.check([path / "he-variance.yaml"], seeds=3).notices if "pool" in n]
