"""The committed JSON Schema matches the models, and real exercise files validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
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
