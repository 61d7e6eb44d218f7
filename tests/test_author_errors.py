"""Every kind of author mistake gives one TemplateError line: file:line: field: what (expected)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from engine.api import check
from engine.authoring.bank import load_bank
from engine.errors import TemplateError
from engine.generation.pipeline import plan_quiz

GOOD = """\
id: ex
title: Sum
kind: integer
topic: layer-size
params:
  n_in: {min: 2, max: 8}
  n_out: {min: 2, max: 8}
question: What is [[ n_in ]] + [[ n_out ]]?
answer: n_in + n_out
explanation: "[[ n_in ]] + [[ n_out ]] = [[ answer ]]"
"""


class Case(NamedTuple):
    name: str
    text: str
    expected: str  # the message after "ex.yaml:"


CASES = [
    Case("bad yaml", GOOD.replace("title: Sum", "title: [Sum"), r"\d+: yaml: invalid YAML"),
    Case("unknown field", GOOD + "colour: blue\n", r"11: colour: unknown field"),
    Case("wrong type", GOOD.replace("max: 8}\n  n_out", "max: eight}\n  n_out"),
         r"6: params.n_in.max: Input should be a valid integer.*'eight'"),
    Case("missing field", GOOD.replace("topic: layer-size\n", ""), r"1: topic: required field is missing"),
    Case("bad kind", GOOD.replace("kind: integer", "kind: essay"), r"3: kind: kind must be one of"),
    Case("max below min", GOOD.replace("{min: 2, max: 8}\n  n_out", "{min: 9, max: 8}\n  n_out"),
         r"6: params.n_in: .*max must be >= min \(got 8 < 9\)"),
    Case("undefined template variable", GOOD.replace("What is [[ n_in ]]", "What is [[ n_inn ]]"),
         r"8: question: undefined template variable 'n_inn' \(defined: n_in, n_out\)"),
    Case("template syntax", GOOD.replace("What is [[ n_in ]]", "What is [% if %]"),
         r"8: question: template does not parse"),
    Case("float division in text", GOOD.replace("What is [[ n_in ]]", "What is [[ n_in / 2 ]]"),
         r"8: question: '/' inside \[\[ \]\] divides in floating point"),
    Case("expression does not parse", GOOD.replace("answer: n_in + n_out", "answer: n_in +* n_out"),
         r"9: answer: 'n_in \+\* n_out' does not parse"),
    Case("unknown name in expression", GOOD.replace("answer: n_in + n_out", "answer: n_in + m"),
         r"9: answer: unknown name 'm'"),
    Case("caret power", GOOD.replace("answer: n_in + n_out", "answer: n_in ^ 2"), r"9: answer: use \*\* for powers"),
    Case("id differs from file", GOOD.replace("id: ex", "id: other"), r"1: id: id 'other' differs from the file name"),
    Case("choice without correct", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: A, feedback: wrong}
  - {text: B, feedback: wrong}
explanation: E
""", r"\d+: options: .*exactly one option must be correct \(got 0\)"),
    Case("distractor without feedback", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: A, correct: true}
  - {text: B}
explanation: E
""", r"8: options\[1\]: .*a distractor needs feedback"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_errors(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(case.text, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_bank([path])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ":") or message.startswith("ex.yaml:") or "ex.yaml:" in message
    tail = message.split("ex.yaml:", 1)[1]
    assert __import__("re").match(case.expected, tail), message


SOLVE_CASES = [
    Case("options always equal", """\
id: ex
title: T
kind: concept
topic: t
question: Q?
options:
  - {text: Same, correct: true}
  - {text: Same, feedback: wrong}
explanation: E
""", r"6: options: two options \(or misconceptions\) are always equal"),
    Case("integer answer not integral", GOOD.replace("answer: n_in + n_out", "answer: n_in / n_out"),
         r"9: answer: not an exact integer: \d+/\d+ at n_in=\d+, n_out=\d+"),
    Case("constraint never satisfied", GOOD.replace("question:", "constraints:\n  - n_in > 100\nquestion:"),
         r"\d+: constraints: no parameter values satisfy the constraints"),
    Case("division by zero in some variant", GOOD.replace("answer: n_in + n_out", "answer: 10/(n_in - n_out)"),
         r"9: answer: division by zero \(at n_in=(\d+), n_out=\1\)"),
]


@pytest.mark.parametrize("case", SOLVE_CASES, ids=[c.name for c in SOLVE_CASES])
def test_solve_errors(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(case.text, encoding="utf-8")
    report = check([path], seeds=60)
    assert report.problems, report.lines
    tail = report.problems[0].split("ex.yaml:", 1)[1]
    assert __import__("re").match(case.expected, tail), report.problems[0]
    with pytest.raises(TemplateError):
        plan = plan_quiz(load_bank([path]), seed=0, count=60)
        list(plan.copies())


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "ex.yaml").write_text(GOOD)
    (tmp_path / "b" / "ex.yaml").write_text(GOOD)
    with pytest.raises(TemplateError, match=r"id 'ex' is also used by"):
        load_bank([tmp_path])
