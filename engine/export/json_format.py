"""JSON export: the Quiz model's dump, streamed copy by copy so memory does not grow with N."""

from __future__ import annotations

import json
from collections.abc import Iterable

from engine.export.figures import FilesBeside
from engine.files import Sink
from engine.generation.quiz import Copy, QuizHeader


class JsonWriter:
    """The full quiz (seed, bank hash, every variant with its key), valid against `quizwright schema --quiz`;
    its plots beside it, as figures/<file>.png."""

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        out = sink.open()
        start = json.dumps(header.model_dump(mode="json"), ensure_ascii=False, indent=2)
        out.write(start[:-2] + ',\n  "copies": [')
        separator = "\n    "
        for copy in FilesBeside(sink).through(copies):
            out.write(separator + json.dumps(copy.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")))
            separator = ",\n    "
        out.write("\n  ]\n}\n")
