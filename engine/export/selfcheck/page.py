"""The page model: each variant as the page shows it (HTML with MathML) and the key its script checks
answers against (JSON in the form's ``data-check``, written once, in sorted order)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.export.html import HtmlConverter
from engine.export.markdown import detail, hint
from engine.export.selfcheck.figures import Figures, boxed_tables
from engine.export.selfcheck.mathml import math_to_mathml
from engine.export.selfcheck.samples import samples
from engine.generation.quiz import Table, Variant
from engine.language.printing import circled


class Text:
    """Exercise Markdown with TeX → HTML with MathML, for one run: one Markdown converter, the plots."""

    def __init__(self) -> None:
        self._html = HtmlConverter()
        self.figures = Figures()

    def block(self, text: str, *, full_size: bool = False) -> str:
        return math_to_mathml(boxed_tables(self._html.block(text), ()), full_size=full_size)

    def shown(self, text: str, variant: Variant) -> str:
        """A block that may show the variant's figures (its question, its explanation)."""
        captions = [self._html.inline(f.caption) for f in variant.figures if isinstance(f, Table)]
        html = self.figures.show(self._html.block(text), variant.figures) if variant.figures else self._html.block(text)
        return math_to_mathml(boxed_tables(html, captions))

    def inline(self, text: str, *, full_size: bool = False) -> str:
        return math_to_mathml(self._html.inline(text), full_size=full_size)


@dataclass(frozen=True)
class Question:
    """One question of one sheet; every ``str`` but ``anchor``, ``kind`` and ``check`` is HTML."""

    anchor: str  # the id of the question's form; its controls' ids start with it
    number: str  # 1, 2, 5a: as the sheets number it
    points: int
    kind: str  # how it is answered: "choice" (radio buttons), "options" (checkboxes) or the kind of a typed answer
    title: str
    stem: str
    options: list[tuple[str, str]]  # (circled number, HTML)
    form: str  # what form the typed answer takes: "an integer", "a formula in n, m"
    syntax: str  # how to write a formula; "" for other kinds
    answer: str
    solution: str
    feedback: list[tuple[str, str]]  # (name, HTML): the misconceptions the check may name
    check: str  # JSON: what the page's script compares the answer with


def question(variant: Variant, sheet: int, number: str, text: Text) -> Question:
    """The question that `variant` is as number `number` of sheet `sheet` (1-based)."""
    answer = variant.answer
    kind = "choice" if answer.type in ("option", "boolean") else answer.type
    picked = kind in ("choice", "options")
    feedback = [(f"o{o.number}", text.block(o.feedback, full_size=True)) for o in variant.options if o.feedback]
    feedback += [(f"m{k}", text.block(m.feedback, full_size=True)) for k, m in enumerate(variant.misconceptions)]
    return Question(
        anchor=f"s{sheet}q{number}",
        number=number,
        points=variant.points,
        kind=kind,
        title=text.inline(variant.title),
        stem=text.shown(variant.question, variant),
        options=[(circled(o.number), text.inline(o.text, full_size=True)) for o in variant.options],
        form="" if picked else text.inline(hint(variant)),
        syntax=text.inline(answer.syntax_hint) if answer.type == "formula" else "",
        answer=text.inline(variant.answer_text + detail(variant), full_size=True),
        solution=text.shown(variant.explanation, variant),
        feedback=feedback,
        check=json.dumps(key(variant), sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )


def key(variant: Variant) -> dict[str, Any]:
    """What the script needs to check an answer: the right one, the known wrong ones and their feedback's name."""
    answer = variant.answer
    wrong = [(f"m{k}", m) for k, m in enumerate(variant.misconceptions)]
    if answer.type == "option" or answer.type == "boolean":
        return {"kind": "choice", "answer": answer.option,
                "feedback": {str(o.number): f"o{o.number}" for o in variant.options if o.feedback}}
    if answer.type == "options":
        return {"kind": "options", "answer": list(answer.options), "options": len(variant.options),
                "feedback": {str(o.number): f"o{o.number}" for o in variant.options if o.feedback}}
    if answer.type == "integer":
        return {"kind": "integer", "answer": str(answer.value),
                "wrong": [{"value": m.value, "feedback": name} for name, m in wrong]}
    if answer.type == "numeric":
        return {"kind": "numeric", "answer": answer.decimal, "bound": answer.absolute_tolerance,
                "relative": answer.tolerance_kind == "relative", "tolerance": answer.tolerance,
                "wrong": [{"value": m.decimal, "feedback": name} for name, m in wrong if m.decimal is not None]}
    points = samples(answer, variant.misconceptions)
    return {"kind": "formula", "symbols": list(answer.symbols), "points": points.points, "values": points.key,
            "wrong": [{"values": values, "feedback": name}
                      for (name, _), values in zip(wrong, points.wrong, strict=True)
                      if any(v is not None for v in values)]}
