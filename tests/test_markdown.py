"""Markdown export: golden worksheets and key, and a real CommonMark parser with the math
extension finds every formula and leaves no stray dollar sign."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from engine import api
from tests.golden import assert_golden

GOLDEN = Path(__file__).resolve().parent / "golden" / "markdown"


def _export(bank: Path, tmp_path: Path, **options: object) -> tuple[str, str]:
    out = tmp_path / "quiz.md"
    api.export("markdown", [bank], output=out, **options)
    return out.read_text(encoding="utf-8"), (tmp_path / "quiz.key.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["worksheets", "key"])
def test_golden(basic_bank: Path, tmp_path: Path, name: str) -> None:
    sheets, key = _export(basic_bank, tmp_path, seed=7, count=2)
    text = {"worksheets": sheets, "key": key}[name]
    golden = GOLDEN / f"{name}.md"
    assert_golden(golden, text.encode("utf-8"))


def _inline_texts(tokens: list) -> list[str]:
    out = []
    for token in tokens:
        if token.children:
            out.extend(child.content for child in token.children if child.type == "text")
    return out


@pytest.mark.parametrize("bank", ["basic", "bundled"])
def test_math_renders(basic_bank: Path, bundled_bank: Path, tmp_path: Path, bank: str) -> None:
    sheets, key = _export(basic_bank if bank == "basic" else bundled_bank, tmp_path, seed=3, count=3)
    md = MarkdownIt("commonmark").use(dollarmath_plugin, double_inline=True).enable("table")
    for document in (sheets, key):
        tokens = md.parse(document)
        math = [t for t in tokens if t.type == "math_block"] + [
            child for t in tokens if t.children for child in t.children if child.type in ("math_inline", "math_inline_double")]
        assert math, "no formula recognised"
        stray = [text for text in _inline_texts(tokens) if "$" in text]
        assert not stray, stray[:3]
        html = md.render(document)
        assert "Sheet" in html and "<h2>" in html


def test_worksheets_hold_no_answers(basic_bank: Path, tmp_path: Path) -> None:
    sheets, key = _export(basic_bank, tmp_path, seed=5, count=1)
    quiz = api.quiz([basic_bank], seed=5, count=1)
    for variant in quiz.copies[0].variants:
        assert variant.explanation not in sheets
        assert variant.explanation in key
        assert variant.id in key
