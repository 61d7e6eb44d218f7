"""JSON export: the Quiz model's dump, streamed copy by copy so memory does not grow with N."""

from __future__ import annotations

import json

from engine.generate import QuizPlan
from engine.writers.base import Sink, register


class JsonWriter:
    name = "json"
    suffix = ".json"
    help = "the full quiz (seed, bank hash, every variant with its key), valid against `quizwright schema --quiz`"

    def write(self, plan: QuizPlan, sink: Sink, *, key: bool = True) -> None:
        out = sink.open()
        header = json.dumps(plan.header.model_dump(mode="json"), ensure_ascii=False, indent=2)
        out.write(header[:-2] + ',\n  "copies": [')
        for i, copy in enumerate(plan.copies()):
            out.write(("," if i else "") + "\n    ")
            out.write(json.dumps(copy.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")))
        out.write("\n  ]\n}\n")


register(JsonWriter())
