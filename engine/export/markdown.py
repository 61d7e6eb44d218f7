"""Markdown export: one printable worksheet per copy (no answers) and the matching answer key."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from contextlib import ExitStack

from engine.export.figures import FilesBeside
from engine.files import Sink, output_environment
from engine.generation.quiz import SELECT_ALL, Copy, QuizHeader, Variant, question_labels
from engine.language.printing import circled, latex
from engine.language.symbolic import sympy
from engine.language.symforms import symbol_latex


def hint(variant: Variant) -> str:
    """What form the answer takes, printed next to the answer line."""
    answer = variant.answer
    if answer.type == "option":
        return f"option number, {circled(1)}–{circled(len(variant.options))}"
    if answer.type == "options":
        return f"{SELECT_ALL[:-1].lower()}: option numbers, {circled(1)}–{circled(len(variant.options))}"
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
    return symbol_latex(name) or latex(sympy().Symbol(name))


def detail(variant: Variant) -> str:
    """Extra key information after the answer: the option's text, the exact value, the tolerance."""
    answer = variant.answer
    if answer.type == "option":
        return f" {variant.options[answer.option - 1].text}"
    if answer.type == "options":
        return " " + "; ".join(variant.options[number - 1].text for number in answer.options)
    if answer.type == "numeric":
        return f" (exact ${answer.latex}$, accepted ±{answer.absolute_tolerance})"
    return ""


class MarkdownWriter:
    """Printable worksheets, one per copy, and an answer key with worked solutions."""

    def __init__(self, *, key: bool = True) -> None:
        self.key = key

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        env = output_environment()
        sheet = env.get_template("markdown/worksheet.md.j2")
        answers = env.get_template("markdown/key.md.j2")
        context = {"bank": header.bank, "header": header, "hint": hint, "detail": detail,
                   "question_labels": question_labels}
        worksheets = sink.open()
        with ExitStack() as stack:
            if not self.key:
                key_out = None
            elif sink.separate_parts:
                key_out = sink.open("key")
            else:
                # On standard output (or a device, a FIFO) the key follows the worksheets, on a page
                # of its own.
                key_out = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
            for copy in FilesBeside(sink).through(copies):
                first = copy.index == 0
                worksheets.write(sheet.render(context, copy=copy, first=first))
                if key_out is not None:
                    key_out.write(answers.render(context, copy=copy, first=first))
            if key_out is not None and not sink.separate_parts:
                worksheets.write('\n<div style="page-break-before: always;"></div>\n\n')
                key_out.seek(0)
                shutil.copyfileobj(key_out, worksheets)
