"""TeX math → Typst math, every snippet of a run in one pandoc process.

pandoc is the one bundled in the `pypandoc-binary` wheel (its version is pinned with Typst's:
see docs/pdf.md). The snippets go in as a pandoc JSON document, one paragraph each between
separator paragraphs, so that no snippet is ever read as Markdown; TeX that pandoc cannot read
comes back as its TeX source, escaped, which Typst prints as text.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from engine.errors import QuizwrightError
from engine.export.pdf.markup import Math

PANDOC_API = [1, 23, 1]  # pandoc-types of pandoc 3.9, the version pypandoc-binary 1.17 ships
_SEPARATOR = "QWSNIPPETBREAK"
_DISPLAY_STYLE = re.compile(r"\\(dfrac|displaystyle)(?![a-zA-Z])")


class TypesetterMissing(QuizwrightError):
    """A package the PDF export needs is not installed."""


def pandoc_path() -> Path:
    """The pandoc of the `pypandoc-binary` wheel (not one on PATH, whose version may differ).

    Raises:
        TypesetterMissing: the wheel is not installed.
    """
    try:
        import pypandoc  # type: ignore[import-untyped]
    except ImportError:
        raise TypesetterMissing("the PDF export needs pandoc: pip install pypandoc-binary") from None
    path = Path(pypandoc.__file__).parent / "files" / "pandoc"
    if not path.is_file():
        raise TypesetterMissing("the PDF export needs the pandoc binary of pypandoc-binary "
                                "(pypandoc alone has none): pip install pypandoc-binary")
    return path


def _paragraph(inlines: list[object]) -> dict[str, object]:
    return {"t": "Para", "c": inlines}


def convert(snippets: Sequence[Math]) -> dict[Math, str]:
    """Each snippet as Typst math (`$x$`, or `$ x $` for display), converted in one pandoc run.

    Raises:
        QuizwrightError: pandoc failed or answered with the wrong number of snippets.
    """
    if not snippets:
        return {}
    blocks: list[dict[str, object]] = []
    for snippet in snippets:
        if blocks:
            blocks.append(_paragraph([{"t": "Str", "c": _SEPARATOR}]))
        kind = "DisplayMath" if snippet.display else "InlineMath"
        blocks.append(_paragraph([{"t": "Math", "c": [{"t": kind}, snippet.tex]}]))
    document = json.dumps({"pandoc-api-version": PANDOC_API, "meta": {}, "blocks": blocks})
    done = subprocess.run([str(pandoc_path()), "--from=json", "--to=typst", "--wrap=none"], input=document,
                          capture_output=True, text=True, encoding="utf-8", check=False)
    if done.returncode != 0:
        raise QuizwrightError(f"pandoc could not convert the math: {done.stderr.strip()}")
    typst = done.stdout.strip().split(f"\n\n{_SEPARATOR}\n\n")
    if len(typst) != len(snippets):
        raise QuizwrightError(f"pandoc returned {len(typst)} math snippets for {len(snippets)}")
    return {snippet: _styled(snippet, text.strip()) for snippet, text in zip(snippets, typst, strict=True)}


def _styled(snippet: Math, typst: str) -> str:
    """pandoc drops `\\dfrac`'s display style: inline math that asks for it is set in display style."""
    if snippet.display or not _DISPLAY_STYLE.search(snippet.tex) or not typst.startswith("$"):
        return typst
    return f"$#math.display[{typst}]$"
