"""The self-check page writer: one HTML file with every sheet (a selector picks one), or one file per
sheet (`--split`); the CSS and the script are inlined, so the page opens offline and requests nothing."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from engine.export.selfcheck.page import Text, question
from engine.files import Sink, output_environment
from engine.generation.quiz import Copy, QuizHeader, question_labels

if TYPE_CHECKING:
    import jinja2


class SelfCheckWriter:
    """Self-check pages: the answers travel in the page (for practice, not for graded tests), so the key
    is always written, inside it."""

    def __init__(self, *, split: bool = False) -> None:
        self.split = split

    def write(self, header: QuizHeader, copies: Iterable[Copy], sink: Sink) -> None:
        page = _Page(output_environment(), header)
        if self.split:
            for copy in copies:
                page.write(sink.open_file(sink.copy_path(copy.sheet)), [copy])
            return
        page.write(sink.open(), copies)


class _Page:
    """The templates of one page, and what its head and foot say."""

    def __init__(self, env: jinja2.Environment, header: QuizHeader) -> None:
        self.head = env.get_template("html/head.html.j2")
        self.sheet = env.get_template("html/sheet.html.j2")
        self.foot = env.get_template("html/foot.html.j2")
        self.text = Text()
        script = _source(env, "html/selfcheck.js")
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        self.context = {
            "header": header,
            "title": self.text.inline(header.bank.title),
            "css": _source(env, "html/selfcheck.css"),
            "script": script,
            "script_hash": f"sha256-{digest}",  # the one script the page's security policy lets run
        }

    def write(self, out: IO[str], copies: Iterable[Copy]) -> None:
        out.write(self.head.render(self.context))
        for shown, copy in enumerate(copies):
            sheet = copy.index + 1
            labels = question_labels(copy.variants)  # 1, 2, 5a, 5b: as the other sheets number them
            questions = [question(v, sheet, label, self.text) for label, v in zip(labels, copy.variants, strict=True)]
            # The first sheet shows without the script; the script's selector shows the others.
            out.write(self.sheet.render(self.context, copy=copy, sheet=sheet, questions=questions, hidden=shown > 0))
        # The plots these sheets show, each once, after them: a <use> finds its symbol anywhere in the page.
        out.write(self.foot.render(self.context, figures=self.text.figures.store()))


def _source(env: jinja2.Environment, name: str) -> str:
    """A template file as it is written (the script and the style sheet hold braces Jinja would read)."""
    assert env.loader is not None
    return env.loader.get_source(env, name)[0]
