"""Text with no Markdown syntax is written without markdown-it, exactly as markdown-it writes it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it.common.utils import escapeHtml

from engine.export.html import HtmlConverter, escape_html, plain_html

MARKDOWN_IT = HtmlConverter()  # its render_block and render_inline always go through markdown-it

# Pieces that make plain text, and pieces that come close to Markdown syntax: spaces around
# dollars, digits next to them, escapes, stars that open nothing, line starts that open blocks.
WORDS = st.sampled_from(["a", "He", "fan-in", "x", "ReLU", "(tanh)", "it's", "①", "é", "L", "n_in", "|a|"])
TEX = st.sampled_from([r"n_{in}", r"\sigma^2", r"\frac{2}{n_{in} + n_{out}}", "a < b", r"\$", "x\\", "a*b",
                       " x", "x ", "0", "a\nb", "", "$", r"\{1\}", "\x00"])
PLAIN = st.one_of(
    WORDS,
    TEX.map(lambda tex: f"${tex}$"),
    TEX.map(lambda tex: f"$${tex}$$"),
    WORDS.map(lambda words: f"**{words}**"),
    st.sampled_from([" ", " ", "\n", ".", ",", "0", "$", "**"]),
)
PIECES = st.one_of(
    PLAIN,
    st.sampled_from([" ", " ", "\n", ".", ",", ":", ";", "?", "!", ")", "0", "12", "$", "$$", "*", "**", "***",
                     "\\", "_", "`", "[", "]", "<", ">", "&", "\"", "#", "- ", "+ ", "1. ", "2) ", "> ", "=", "---",
                     "|", "|---|", "\t", "  ", "\n\n", "\u00a0", "    ", "~~~", "```"]),
)
TEXTS = st.one_of(
    st.lists(PLAIN, max_size=12).map("".join),
    st.lists(PIECES, max_size=12).map("".join),
    st.text(alphabet="ab 0$*\\_\n.()>-", max_size=30),
)


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_plain_text_is_written_as_markdown_it_writes_it(text: str) -> None:
    block = plain_html(text, block=True)
    if block is not None:
        assert block == MARKDOWN_IT.render_block(text)
    inline = plain_html(text.strip(), block=False)
    if inline is not None:
        assert inline == MARKDOWN_IT.render_inline(text.strip())


@pytest.mark.parametrize("text", [
    "In He initialization, $\\sigma^2$ is?",
    "That is Xavier's variance (for tanh/sigmoid); He uses the fan-in $n_{in}$ only.",
    "**① True.** Weight initialization sets the starting values of every layer's\nweights $W$ and biases $b$.",
    "$$\\sqrt{\\frac{6}{n_{in} + n_{out}}} \\approx 0.0765.$$",
    "$\\frac{2}{n_{in}}$",
    "costs $5 and $6",
    "When $n_{in} = 4$ and $n_{out} = 6$, what is $n_{in} + n_{out}$?",
])
def test_the_usual_texts_take_the_direct_path(text: str) -> None:
    assert plain_html(text, block=True) == MARKDOWN_IT.render_block(text)
    assert plain_html(text, block=False) == MARKDOWN_IT.render_inline(text)


@pytest.mark.parametrize("text", [
    "1. a list", "- a list", "# a title", "> a quote", "a *word*", "a _word_", "a `code`", "[a](b)", "a\n\nb",
    "a  \nb", "\\$x$", "a\n===", "| a |\n|---|", "$$x$$ and y", "$x$ and **y** z**",
    "$a\x00b$",  # markdown-it reads NUL as U+FFFD, inside math too
])
def test_markdown_syntax_goes_to_markdown_it(text: str) -> None:
    assert plain_html(text, block=True) is None


@given(st.text(max_size=20))
def test_escaping_is_markdown_its(text: str) -> None:
    assert escape_html(text) == escapeHtml(text)


def test_a_converter_imports_markdown_it_only_for_markdown() -> None:
    converter = HtmlConverter()
    assert converter.block("plain $x$ and **bold** text 12") == "<p>plain \\(x\\) and <strong>bold</strong> text 12</p>"
    assert converter._md is None
    assert converter.block("a *b*") == "<p>a <em>b</em></p>"
    assert converter._md is not None


@pytest.mark.parametrize("text", ["- 1. 1.", "- 1.\t1.\r\n+", "2. 1. a 3", "> 1) 1) b", "- 7. 1. 1. c 12"])
def test_nested_list_markers_keep_their_digits(text: str) -> None:
    # markdown-it writes no start="1": a nested marker read by shape as 0 would come back as start="1"
    converter = HtmlConverter()
    assert converter.block(text) == MARKDOWN_IT.render_block(text)
    assert converter.inline(text) == MARKDOWN_IT.render_inline(text.strip())


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=10).map("".join))
def test_a_converter_writes_as_markdown_it_writes(text: str) -> None:
    converter = HtmlConverter()
    assert converter.block(text) == MARKDOWN_IT.render_block(text)
    assert converter.inline(text) == MARKDOWN_IT.render_inline(text.strip())
