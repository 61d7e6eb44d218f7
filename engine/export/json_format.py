"""JSON export: the Quiz model's dump, streamed copy by copy so memory does not grow with N."""

from __future__ import annotations

import json

from engine.export.base import register
from engine.files import Sink
from engine.generation.pipeline import QuizPlan
from engine.generation.quiz import Copy


def _copy_lines(plan: QuizPlan, copies: list[Copy]) -> list[str]:
    return [json.dumps(c.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")) for c in copies]


class JsonWriter:
    name = "json"
    suffix = ".json"
    help = "the full quiz (seed, bank hash, every variant with its key), valid against `quizwright schema --quiz`"

    def write(self, plan: QuizPlan, sink: Sink, *, key: bool = True) -> None:
        out = sink.open()
        header = json.dumps(plan.header.model_dump(mode="json"), ensure_ascii=False, indent=2)
        out.write(header[:-2] + ',\n  "copies": [')
        separator = "\n    "
        for lines in plan.map_copies(_copy_lines):
            for line in lines:
                out.write(separator + line)
                separator = ",\n    "
        out.write("\n  ]\n}\n")


register(JsonWriter())
