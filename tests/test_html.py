"""Markdown+TeX → HTML (engine.export.html): math survives untouched, raw HTML is escaped, output is stable."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.export.html import (
    HtmlConverter,
    markdown_to_html,
    markdown_to_html_inline,
    one_line,
    tex_html,
)


class Case(NamedTuple):
    markdown: str
    html: str


BLOCK = [
    Case(r"$n_{in} * n_{out}$", r"<p>\(n_{in} * n_{out}\)</p>"),
    Case(r"$\sigma^2$", r"<p>\(\sigma^2\)</p>"),
    Case(r"$a < b$", r"<p>\(a &lt; b\)</p>"),
    Case(r"$a_1 * b_2 * c_3$ and _x_", r"<p>\(a_1 * b_2 * c_3\) and <em>x</em></p>"),
    Case(r"$\frac{2}{n_{in} + n_{out}}$", r"<p>\(\frac{2}{n_{in} + n_{out}}\)</p>"),
    Case(r"$\{a\} \\ b$", r"<p>\(\{a\} \\ b\)</p>"),
    Case(r"$x$ & $y$", r"<p>\(x\) &amp; \(y\)</p>"),
    Case("**bold** and *em*", "<p><strong>bold</strong> and <em>em</em></p>"),
    Case("<b>raw</b> & ]]>", "<p>&lt;b&gt;raw&lt;/b&gt; &amp; ]]&gt;</p>"),
    Case("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    Case("costs $5 and $6", "<p>costs $5 and $6</p>"),
    Case("$5 and $x$", r"<p>$5 and \(x\)</p>"),
    Case(r"escaped \$x\$", "<p>escaped $x$</p>"),
    Case("$$x^2$$", r"<p>\[x^2\]</p>"),
    Case("see\n$$\\sigma = \\sqrt{2}$$\nabove", "<p>see\n\\[\\sigma = \\sqrt{2}\\]\nabove</p>"),
    Case("$$\na % comment\n+ b\n$$", "<p>\\[a % comment&#10;+ b\\]</p>"),
    Case("`a_b * c`", "<p><code>a_b * c</code></p>"),
    Case("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
    Case(
        "| a | b |\n|---|---|\n| $x_1$ | 2 |",
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
        "<td>\\(x_1\\)</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>",
    ),
    Case("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
]


@pytest.mark.parametrize("case", BLOCK, ids=[c.markdown for c in BLOCK])
def test_markdown_to_html(case: Case) -> None:
    assert markdown_to_html(case.markdown) == case.html


INLINE = [
    Case(r"$\frac{2}{n_{in}}$", r"\(\frac{2}{n_{in}}\)"),
    Case(
        "He (Kaiming): $\\sigma^2 = \\dfrac{2}{n_{in}}$",
        r"He (Kaiming): \(\sigma^2 = \dfrac{2}{n_{in}}\)",
    ),
    Case("*normal* <i>x</i>", "<em>normal</em> &lt;i&gt;x&lt;/i&gt;"),
    Case("  padded  ", "padded"),
    Case("# not a heading", "# not a heading"),
]


@pytest.mark.parametrize("case", INLINE, ids=[c.markdown for c in INLINE])
def test_markdown_to_html_inline(case: Case) -> None:
    assert markdown_to_html_inline(case.markdown) == case.html


ONE_LINE = [
    Case("<p>a\nb</p>\n<p>c</p>", "<p>a b</p> <p>c</p>"),
    Case(
        "<pre><code>x\n  y\n</code></pre>\n<p>z</p>",
        "<pre><code>x&#10;  y&#10;</code></pre> <p>z</p>",
    ),
    Case("<p>a  \n   b</p>", "<p>a b</p>"),
    Case("<p>x</p>\r\n", "<p>x</p>"),
]


@pytest.mark.parametrize("case", ONE_LINE, ids=[c.markdown for c in ONE_LINE])
def test_one_line(case: Case) -> None:
    assert one_line(case.markdown) == case.html
    assert "\n" not in one_line(case.markdown)


def test_tex_html() -> None:
    assert tex_html(" a < b ", display=False) == r"\(a &lt; b\)"
    assert tex_html("x\ny", display=True) == r"\[x&#10;y\]"


def test_deterministic_and_math_untouched() -> None:
    text = "Let $n_{in} * n_{out}$ be *big*:\n\n$$\\sum_{i} w_i^2 \\le 1$$\n\n| k | v |\n|---|---|\n| $a_b$ | 1 |"
    first = markdown_to_html(text)
    assert all(markdown_to_html(text) == first for _ in range(3))
    for tex in (r"n_{in} * n_{out}", r"\sum_{i} w_i^2 \le 1", "a_b"):
        assert tex in first


def test_one_line_handles_every_line_end() -> None:
    assert (
        one_line("<p>a\rb\r\nc</p><pre>x\ry\r\nz</pre>") == "<p>a b c</p><pre>x&#10;y&#10;z</pre>"
    )


# The shape cache must give exactly what a direct conversion gives, whatever the text (one
# converter for all examples, so that shapes are reused across texts as in an export).
CONVERTER = HtmlConverter()
_ALPHABET = "ab x_^{}\\$*_`#>-+.|:()[]!&<\n0123456789 "


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_shape_cache_agrees_with_direct_conversion(text: str) -> None:
    assert CONVERTER.block(text) == CONVERTER.render_block(text)
    assert CONVERTER.inline(text) == CONVERTER.render_inline(text.strip())


@pytest.mark.parametrize(
    "text",
    [
        "1. first\n2. second 12",
        "10. starts at ten 5",
        "> 3. quoted list 4",
        "- 2. nested 7",
        "see [link 1](http://x/2) and 3",
        "[a][r] 5\n\n[r]: http://x/7",
        "<http://x.org/1> 2",
        "&#65; 9",
        "$5 and $6",
        "$x_0 = 10$ and h2 and 0 and 007",
        "| a | 1 |\n|---|---:|\n| 2 | 3 |",
        "`code 1` 2 ```3```",
        "# Title 1\n\ntext 2",
    ],
)
def test_shape_cache_edge_cases(text: str) -> None:
    assert markdown_to_html(text) == HtmlConverter().render_block(text)
