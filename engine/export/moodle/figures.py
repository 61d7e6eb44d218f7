"""Plots in Moodle questions: each plot a text links is stored as a PNG file of that text.

Moodle's importer (``qformat_xml::import_text_with_files``) stores the ``<file>`` elements of a
text element with that text alone, and the text links them as ``@@PLUGINFILE@@/<name>``; a plot
shown by the question and by the worked solution is therefore embedded in both, though drawn
once per run (:class:`Drawings`). The alt text stays on the ``<img>``.
"""

from __future__ import annotations

import base64

from engine.export.figures import Drawings, linked, relink
from engine.export.moodle.questions import MoodleFile, MoodleQuestion
from engine.export.moodle.xml import MoodleExportError
from engine.generation.quiz import Plot, Variant

PLUGINFILE = "@@PLUGINFILE@@/{file}.png"


def shows_plots(variant: Variant) -> bool:
    """Whether the variant's question or worked solution links a plot."""
    return bool(variant.figures) and bool(linked(variant.question) or linked(variant.explanation))


class Embedder:
    """Puts the plots a question's texts link into those texts, as PNG files."""

    def __init__(self, drawings: Drawings) -> None:
        self.drawings = drawings

    def embed(self, q: MoodleQuestion, variant: Variant) -> None:
        """Relink `q`'s texts to their files and attach them.

        Raises:
            MoodleExportError: a text links a plot the variant does not have, or an answer links one.
            FigureError: a plot matplotlib cannot draw.
        """
        plots = {figure.file: figure for figure in variant.figures if isinstance(figure, Plot)}
        q.questiontext, q.questiontext_files = self._text(variant, q.questiontext, plots)
        q.generalfeedback, q.generalfeedback_files = self._text(variant, q.generalfeedback, plots)
        q.graderinfo, q.graderinfo_files = self._text(variant, q.graderinfo, plots)
        for answer in q.answers:
            if linked(answer.text) or linked(answer.feedback):
                raise MoodleExportError(f"{variant.id}: an answer or its feedback shows a plot, "
                                        "which only the question and the explanation may show")

    def _text(self, variant: Variant, html: str, plots: dict[str, Plot]) -> tuple[str, tuple[MoodleFile, ...]]:
        files = list(dict.fromkeys(linked(html)))  # each once, in the order the text shows them
        if not files:
            return html, ()
        for file in files:
            if file not in plots:
                raise MoodleExportError(f"{variant.id}: the text links figures/{file}.png, "
                                        "which is not one of the variant's plots")
        embedded = tuple(
            MoodleFile(f"{file}.png", base64.b64encode(self.drawings.draw(plots[file], "png")).decode("ascii"))
            for file in files
        )
        return relink(html, PLUGINFILE), embedded
