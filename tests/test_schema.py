"""The committed JSON Schema matches the models, and real exercise files validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine import api

ROOT = Path(__file__).resolve().parent.parent


def test_committed_exercise_schema_is_current() -> None:
    committed = (ROOT / "exercises" / "exercise.schema.json").read_text(encoding="utf-8")
    assert committed == api.schema_json("exercise") + "\n", "run: quizwright schema > exercises/exercise.schema.json"


def test_every_bundled_exercise_validates_against_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(api.schema_json("exercise")))
    files = [p for p in (ROOT / "exercises").rglob("*.yaml") if p.name != "bank.yaml"]
    assert files
    for path in files:
        validator.validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_schema_rejects_unknown_fields() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(api.schema_json("exercise")))
    document = {"id": "x", "title": "t", "kind": "true_false", "topic": "t", "question": "q",
                "explanation": "e", "answer": True, "wrong_feedback": "w"}
    validator.validate(document)
    assert list(validator.iter_errors({**document, "colour": "blue"}))


def test_exercise_kinds_are_the_vocabulary_kinds() -> None:
    from engine.vocabulary import KINDS

    document = api.schema("exercise")
    kinds = set()
    for definition in document["$defs"].values():
        kind = definition.get("properties", {}).get("kind", {})
        kinds.update(kind.get("enum", [kind["const"]] if "const" in kind else []))
    assert kinds == set(KINDS)


TOLERANCES = [  # (input, accepted as text or the error's words)
    ({"relative": 0.01}, "0.01"),
    ({"absolute": "0.005"}, "0.005"),
    ({"absolute": 1}, "1"),
    ({"relative": " 1e-3 "}, "1e-3"),
    ({"absolute": "-1"}, "must not be negative"),
    ({"absolute": True}, "not true/false"),
    ({"absolute": "nan"}, "decimal number"),
    ({"absolute": "1", "relative": "1"}, "exactly one"),
    ({}, "exactly one"),
    ({"percent": 1}, "percent"),
]


@pytest.mark.parametrize(("tolerance", "outcome"), TOLERANCES, ids=[str(t) for t, _ in TOLERANCES])
def test_one_tolerance_model_for_exercises_and_the_checker(tolerance: dict[str, object], outcome: str) -> None:
    from pydantic import ValidationError

    from engine.authoring.spec import NumericExercise
    from engine.grading.checker.verdict import CompareRequest

    exercise = {"id": "x", "title": "t", "kind": "numeric", "topic": "t", "question": "q", "explanation": "e",
                "answer": "1", "tolerance": tolerance}
    request = {"kind": "numeric", "expected": 1, "response": "1", "tolerance": tolerance}
    if outcome[0].isdigit():
        assert NumericExercise.model_validate(exercise).tolerance.text == outcome
        assert CompareRequest.model_validate(request).tolerance_mapping() == {next(iter(tolerance)): outcome}
    else:
        for model, data in ((NumericExercise, exercise), (CompareRequest, request)):
            with pytest.raises(ValidationError, match=outcome):
                model.model_validate(data)
