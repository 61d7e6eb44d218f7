"""Markdown export: one printable worksheet per copy (no answers) and the matching answer key."""

from __future__ import annotations

from engine.export.base import register
from engine.files import Sink, output_environment
from engine.generation.pipeline import QuizPlan
from engine.generation.quiz import Copy, Variant
from engine.language.printing import circled, latex
from engine.language.symbolic import sympy


def hint(variant: Variant) -> str:
    """What form the answer takes, printed next to the answer line."""
    answer = variant.answer
    if answer.type == "option":
        return f"option number, {circled(1)}–{circled(len(variant.options))}"
    if answer.type == "boolean":
        return f"{circled(1)} True or {circled(2)} False"
    if answer.type == "integer":
        return "an integer"
    if answer.type == "numeric":
        places = len(answer.display.partition(".")[2])
        return f"a decimal number to {places} decimal place{'s' if places != 1 else ''}" if places else "a number"
    names = ", ".join(f"${_symbol_latex(name)}$" for name in answer.symbols)
    return f"a formula in {names}"


def _symbol_latex(name: str) -> str:
    return latex(sympy().Symbol(name))


def detail(variant: Variant) -> str:
    """Extra key information after the answer: the option's text, the exact value, the tolerance."""
    answer = variant.answer
    if answer.type == "option":
        return f" {variant.options[answer.option - 1].text}"
    if answer.type == "numeric":
        return f" (exact ${answer.latex}$, accepted ±{answer.absolute_tolerance})"
    return ""


def _render_copies(plan: QuizPlan, copies: list[Copy]) -> tuple[str, str]:
    """Worksheets and answer keys of a run of copies."""
    env = output_environment()
    sheet = env.get_template("markdown/worksheet.md.j2")
    answers = env.get_template("markdown/key.md.j2")
    context = {"bank": plan.header.bank, "header": plan.header, "hint": hint, "detail": detail}
    sheets = "".join(sheet.render(context, copy=c, first=c.index == 0) for c in copies)
    keys = "".join(answers.render(context, copy=c, first=c.index == 0) for c in copies)
    return sheets, keys


class MarkdownWriter:
    name = "markdown"
    suffix = ".md"
    help = "printable worksheets, one per copy, and an answer key with worked solutions"

    def write(self, plan: QuizPlan, sink: Sink, *, key: bool = True) -> None:
        worksheets = sink.open()
        key_out = sink.open("key") if key and sink.path is not None else None
        keys: list[str] = []
        for sheets, answers in plan.map_copies(_render_copies):
            worksheets.write(sheets)
            if key_out is not None:
                key_out.write(answers)
            elif key:
                keys.append(answers)
        if keys:
            # On standard output the key follows the worksheets, on a page of its own.
            worksheets.write('\n<div style="page-break-before: always;"></div>\n\n' + "".join(keys))


register(MarkdownWriter())
