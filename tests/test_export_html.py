"""The self-check page (`--format html`): one offline file, checked in a real browser.

The browser is Debian's Chromium, driven by Playwright (`.ci/run` installs both): answers are
typed and checked as a student would, the whole bundled bank is answered under several seeds,
a question is operated with the keyboard alone, and hostile text is shown as text.

Golden file: tests/golden/html/fixtures.html (the Moodle fixture bank, every kind);
`UPDATE_GOLDEN=1 python -m pytest tests/test_export_html.py` rewrites it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.export.formats import SPLITTABLE, writer
from engine.export.selfcheck.mathml import mathml
from engine.export.selfcheck.samples import TABLES, samples
from engine.export.selfcheck.writer import SelfCheckWriter
from engine.generation.quiz import FormulaAnswer, Misconception, Variant, question_labels
from tests.golden import assert_golden

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "moodle"
BUNDLED = HERE.parent / "exercises" / "weight-initialization"
GOLDEN = HERE / "golden" / "html" / "fixtures.html"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def page_html(paths: list[Path], **options: Any) -> str:
    html = api.export("html", paths, **options)
    assert isinstance(html, str)
    return html


def open_page(browser: Any, tmp_path: Path, html: str, *, width: int = 1000) -> Any:
    """The page in a new tab, with the requests it makes and its script errors recorded."""
    path = tmp_path / "quiz.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.requests, page.errors, page.file = [], [], path.as_uri()
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(path.as_uri())
    return page


def verdict(page: Any, anchor: str) -> str:
    return str(page.inner_text(f"#{anchor} .verdict"))


def anchor_of(copy_index: int, variant: Variant, copy_variants: list[Variant]) -> str:
    return f"s{copy_index + 1}q{question_labels(copy_variants)[copy_variants.index(variant)]}"


# -- the format and its files --------------------------------------------------------------------


def test_the_table_names_html_and_splits_it() -> None:
    assert isinstance(writer("html"), SelfCheckWriter)
    assert "html" in SPLITTABLE


def test_golden_page() -> None:
    data = page_html([FIXTURES], seed=0, count=2).encode("utf-8")
    assert_golden(GOLDEN, data)


def test_the_same_seed_gives_the_same_bytes() -> None:
    assert page_html([BUNDLED], seed=5, count=3) == page_html([BUNDLED], seed=5, count=3)


def test_the_page_names_no_outside_resource() -> None:
    html = page_html([BUNDLED], seed=1, count=2)
    # A plot's href="#…" and url(#…) name parts of the page itself (its <symbol>s, clip paths).
    assert not re.search(r"""\s(src|href|action)\s*=\s*(?!"#)|<link|@import|url\((?!#)""", html, re.IGNORECASE)
    assert '<use href="#fig-' in html
    assert "default-src 'none'" in html  # and the page's policy would refuse one


def test_split_writes_one_page_per_sheet(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "--format", "html", "--count", "2", "--split",
                                      "-o", str(tmp_path / "quiz.html")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["quiz-FX-0-0001.html", "quiz-FX-0-0002.html"]
    for name in written:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.count('<section class="sheet"') == 1 and name[5:-5] in text


# -- MathML and the sample points --------------------------------------------------------------


def test_tex_text_never_becomes_markup() -> None:
    out = mathml(r"\text{<script>x</script> & ]]>} a<b", display=False)
    assert "<script" not in out and "&lt;script&gt;" in out and "&amp;" in out and "<mo>&lt;</mo>" in out


def test_tex_latex2mathml_cannot_read_stays_source() -> None:
    assert mathml(r"\frac{1}{", display=True) == r'<code class="tex">\frac{1}{</code>'


def formula(expr: str, **symbols: Any) -> FormulaAnswer:
    return FormulaAnswer(expr=expr, latex="x", symbols=symbols)


@pytest.mark.parametrize("assumption", list(TABLES))
def test_sample_points_respect_the_assumptions(assumption: Any) -> None:
    found = samples(formula("a + b", a=assumption, b=assumption), [])
    assert len(found.points) == 4
    for a, b in found.points:
        assert a != b  # symbols that only agree when equal are told apart
        for value in (Fraction(a), Fraction(b)):
            assert value.denominator == 1 if "integer" in assumption else True
            assert value > 0 if assumption in ("positive", "positive_integer", "nonnegative") else True


def test_sample_points_skip_where_the_key_is_undefined_and_are_exact() -> None:
    found = samples(formula("sqrt(2)/(x - 3)", x="positive_integer"),
                    [Misconception(value="1/(x - 2)", latex="", feedback="f")])
    assert ["3"] not in found.points
    assert found.points[0] == ["7"] and found.key[0] == "0.35355339059327376"  # sqrt(2)/4 to 17 digits
    assert found.wrong[0][found.points.index(["2"])] is None  # undefined there: never a match


# -- in the browser -----------------------------------------------------------------------------


def test_typed_answers_get_their_feedback(browser: Any, tmp_path: Path) -> None:
    quiz = api.quiz([FIXTURES], seed=0)
    variants = quiz.copies[0].variants
    page = open_page(browser, tmp_path, page_html([FIXTURES], seed=0))
    by_id = {v.exercise: anchor_of(0, v, variants) for v in variants}

    choice = next(v for v in variants if v.exercise == "choice")
    q = by_id["choice"]
    wrong = next(o for o in choice.options if o.feedback)
    page.check(f"#{q}-o{wrong.number}")
    page.click(f"#{q} button")
    assert verdict(page, q).startswith("✗ Not correct.")
    assert wrong.feedback.split("$")[0].strip() in verdict(page, q)
    page.check(f"#{q}-o{choice.answer.option}")  # type: ignore[union-attr]
    page.click(f"#{q} button")
    assert verdict(page, q) == "✓ Correct."

    numeric = next(v for v in variants if v.exercise == "numeric")
    q = by_id["numeric"]
    for typed, expected in [("0,5", "⚠ Cannot read your answer: use a point as decimal separator (0.5, not 0,5)."),
                            (numeric.answer.display, "✓ Correct."),  # type: ignore[union-attr]
                            (numeric.misconceptions[0].decimal, numeric.misconceptions[0].feedback.split("$")[0])]:
        page.fill(f"#{q}-answer", "")
        page.type(f"#{q}-answer", typed)
        page.press(f"#{q}-answer", "Enter")
        assert expected.strip() in verdict(page, q)

    q = by_id["formula"]
    for typed, expected in [("2/n_in", "✓ Correct."), ("2n_in^(-1)", "✓ Correct."),
                            ("2/(n_in + n_out)", "That is Xavier's variance."),
                            ("n_in n_out", "⚠ Cannot read your answer: missing operator between n_in and n_out at position 6."),
                            ("2/x", "⚠ Cannot read your answer: unknown symbol x at position 3."),
                            ("", "⚠ Type an answer first."),
                            ("3/n_in", "✗ Not correct.\n\nTry again, or open the worked solution.")]:
        page.fill(f"#{q}-answer", typed)
        page.click(f"#{q} button")
        assert expected in verdict(page, q), (typed, verdict(page, q))
    assert page.get_attribute(f"#{q}-answer", "aria-invalid") == "false"
    assert page.errors == []


def whole_sheet(copy_index: int, variants: list[Variant]) -> list[dict[str, Any]]:
    """For each question: an answer, the verdict it must get and the feedback it must show."""
    cases: list[dict[str, Any]] = []
    for label, v in zip(question_labels(variants), variants, strict=True):
        q, answer = f"s{copy_index + 1}q{label}", v.answer
        if answer.type == "options":  # select all that apply: its checkboxes are tests/test_select_all.py's
            continue
        if answer.type in ("option", "boolean"):
            cases.append({"q": q, "option": answer.option, "status": "correct"})
            cases += [{"q": q, "option": o.number, "status": "incorrect", "feedback": f"o{o.number}" if o.feedback else None}
                      for o in v.options if not o.correct]
            continue
        right = str(answer.value) if answer.type == "integer" else (
            answer.display if answer.type == "numeric" else answer.expr)
        cases.append({"q": q, "text": right, "status": "correct"})
        cases.append({"q": q, "text": "1,5" if answer.type != "formula" else "1 +", "status": "invalid"})
        for k, m in enumerate(v.misconceptions):
            typed = m.decimal if answer.type == "numeric" else m.value
            cases.append({"q": q, "text": typed, "status": "incorrect", "feedback": f"m{k}"})
    return cases


ANSWER_ALL = """cases => cases.map(c => {
  const form = document.getElementById(c.q);
  if (c.option) form.querySelector(`input[value="${c.option}"]`).checked = true;
  else form.querySelector("input[type=text]").value = c.text;
  form.requestSubmit();
  const says = form.querySelector(".verdict .says");
  const note = form.querySelector(".verdict .misconception");
  const template = c.feedback ? form.querySelector(`template[data-feedback="${c.feedback}"]`) : null;
  return {q: c.q, typed: c.text || c.option, status: says.className.split(" ")[1],
          feedback: note ? note.textContent : null, wanted: template ? template.content.textContent : null};
})"""


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_the_whole_bank_is_answered_in_the_browser(browser: Any, tmp_path: Path, seed: int) -> None:
    quiz = api.quiz([BUNDLED], seed=seed, count=2)
    page = open_page(browser, tmp_path, page_html([BUNDLED], seed=seed, count=2))
    for copy in quiz.copies:
        page.select_option("#sheet-select", copy.sheet)
        assert page.is_visible(f"#sheet-{copy.index + 1}") and not page.is_visible(f"#sheet-{2 - copy.index}")
        results = page.evaluate(ANSWER_ALL, whole_sheet(copy.index, copy.variants))
        for wanted, got in zip(whole_sheet(copy.index, copy.variants), results, strict=True):
            assert got["status"] == wanted["status"], got
            assert got["feedback"] == got["wanted"], got
    assert page.errors == [] and page.requests == [page.file]


def test_the_address_names_the_sheet_shown(browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, tmp_path, page_html([FIXTURES], seed=0, count=3))
    assert page.is_visible("#sheet-1") and not page.is_visible("#sheet-3")
    page.goto(page.file + "#FX-0-0003")
    page.reload()
    assert page.is_visible("#sheet-3") and not page.is_visible("#sheet-1")
    assert page.input_value("#sheet-select") == "FX-0-0003"


def test_a_question_answered_with_the_keyboard_alone(browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, tmp_path, page_html([FIXTURES / "choice.yaml", FIXTURES / "formula.yaml"], seed=0))
    choice = api.quiz([FIXTURES / "choice.yaml"], seed=0).copies[0].variants[0]
    right = choice.answer.option  # type: ignore[union-attr]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "s1q1-o1"  # the first control: question 1's options
    assert page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle") != "none"
    for _ in range(right - 1):
        page.keyboard.press("ArrowDown")  # moves to the next option and selects it
    page.keyboard.press("Space")  # selects the focused option (the first one is not, by a Tab)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert verdict(page, "s1q1") == "✓ Correct."
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the worked solution opens
    assert page.is_visible("#s1q1 .solution .answer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "s1q2-answer"
    page.keyboard.type("2/n_in")
    page.keyboard.press("Enter")
    assert verdict(page, "s1q2") == "✓ Correct."


def test_every_control_is_labelled_and_the_page_fits_a_phone(browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, tmp_path, page_html([BUNDLED], seed=2, count=2), width=360)
    unlabelled = page.evaluate("""[...document.querySelectorAll("input, select")]
        .filter(e => !e.labels.length || !e.labels[0].textContent.trim()).map(e => e.id)""")
    assert unlabelled == []
    assert page.evaluate("[...document.querySelectorAll('fieldset')].every(f => f.querySelector('legend'))")
    assert page.evaluate("[...document.querySelectorAll('.verdict')].every(v => v.getAttribute('aria-live'))")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


HOSTILE = """id: hostile
title: "Title <script>window.pwned = 1</script> \\"q\\" ]]> </textarea>"
kind: concept
topic: "x"
question: |
  </textarea><script>window.pwned = 2</script><img src="x" onerror="window.pwned = 3"> "quotes" ]]>
  and $\\text{<script>window.pwned = 4</script>}$.
options:
  - text: "Right <script>window.pwned = 5</script>"
    correct: true
  - text: "Wrong ]]> </textarea>"
    feedback: "Feedback <img src=x onerror='window.pwned = 6'> and <script>window.pwned = 7</script>"
explanation: |
  Solution <script>window.pwned = 8</script> ]]>
"""


def test_hostile_text_stays_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    variant = api.quiz([bank], seed=0).copies[0].variants[0]
    wrong = next(o for o in variant.options if o.feedback)
    page = open_page(browser, tmp_path, page_html([bank], seed=0))
    page.check(f"#s1q1-o{wrong.number}")
    page.click("#s1q1 button")
    page.click("#s1q1 summary")
    text = page.inner_text("body").replace("\xa0", " ")  # latex2mathml keeps \text's spaces unbreakable
    for shown in ["<script>window.pwned = 1</script>", "</textarea><script>window.pwned = 2</script>",
                  "<script>window.pwned = 4</script>", "Feedback <img src=x onerror='window.pwned = 6'>",
                  "Solution <script>window.pwned = 8</script> ]]>", '"quotes" ]]>']:
        assert shown in text
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelectorAll('img, body script').length") == 1  # the page's own script
    assert page.requests == [page.file] and page.errors == []


FORMULAS = ["2/n_in", "2 n_in", "2(n_in + 1)", "n_in(n_out + 1)", "(n_in)(n_out)", "n_in n_out", "2/n_in^2",
            "2/n_in**2", "-n_in^2", "2^-1", "sqrt(2/n_in)", "√n_in", "√(n_in)", "n_in²", "2·n_in", "2×n_in",
            "2 − n_in", "ln(n_in)", "log(n_in, 2)", "pi n_in", "e^n_in", "pi(2)", "1/2n_in", "2/(n_in", "2/n_in)",
            "2/", "*2", "()", "f(n_in)", "x", "sqrt n_in", "sqrt^2(n_in)", "sin()", "log(1, 2, 3)", "2,5",
            "n_in = 2", "[n_in]", "3!", "2..5", "5.", "n_in.x", "Abs(-n_in)", "factorial(n_in)", "binomial(n_in, 2)",
            "2 3", "sqrt(n_in)(n_out)", "'a'", "2 ; 3", "Max(n_in, n_out, 1)", "floor(n_in/2)", "arcsin(1/n_in)",
            "1e3 n_in", ".5n_in", "n_in^", "2**-n_in", "sin^2(n_in)", "-", "+n_in", "n_in/0", "2n_in n_out",
            "((n_in)", "n_in))", "exp", "E^2", "2(3)(n_in)", "n_in(2)(3)", "x(2)", "abs(n_in)", "1/2/n_in",
            "n_in % 2", "n_in & 2", "¹", "n_in⁻¹", "√", "√2", "n_in_", "_n", "2 .5"]


def test_the_page_reads_formulas_as_the_grader_does(browser: Any, tmp_path: Path) -> None:
    from engine.language import grammar
    from engine.language.allow import STUDENT
    from engine.language.tokens import DEFAULT_LIMITS, GrammarError

    page = open_page(browser, tmp_path, page_html([FIXTURES / "formula.yaml"], seed=0))
    replies = page.evaluate("""texts => texts.map(text => {
        const form = document.getElementById("s1q1");
        form.querySelector("input").value = text;
        form.requestSubmit();
        return form.querySelector(".verdict .says").textContent;
    })""", FORMULAS)
    differ = []
    for text, reply in zip(FORMULAS, replies, strict=True):
        try:
            grammar.parse(text, STUDENT, {"n_in", "n_out"}, DEFAULT_LIMITS)
            wanted: tuple[str, ...] = ("✓ Correct.", "✗ Not correct.")
        except GrammarError as error:
            wanted = (f"⚠ Cannot read your answer: {error}.",)
        if reply not in wanted:
            differ.append((text, reply, wanted))
    assert differ == [], "\n".join(map(str, differ))


# -- a conformance checker ------------------------------------------------------------------------------------

VNU = HERE / "html" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def nu_checker_errors(pages: list[Path]) -> list[dict[str, Any]]:
    """What the Nu Html Checker (W3C's validator, `vnu.jar`) calls an error in `pages`."""
    if not VNU.is_file() or shutil.which("java") is None:
        pytest.fail("the Nu Html Checker is missing: npm ci --prefix tests/html --ignore-scripts, and a Java "
                    "runtime (apt-get install default-jre-headless), as .ci/run does")
    done = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, pages)],
                          capture_output=True, text=True, timeout=300, check=False)
    return [m for m in json.loads(done.stderr)["messages"] if m.get("type") == "error"]


def test_the_pages_are_valid_html_for_the_nu_checker(tmp_path: Path) -> None:
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    pages = []
    for name, paths, seed in (("bundled-7", [BUNDLED], 7), ("bundled-11", [BUNDLED], 11),
                              ("fixtures", [FIXTURES], 0), ("hostile", [tmp_path / "bank"], 0)):
        page = tmp_path / f"{name}.html"
        page.write_text(page_html(paths, seed=seed, count=3), encoding="utf-8")
        pages.append(page)
    assert nu_checker_errors(pages) == []
    broken = tmp_path / "broken.html"
    broken.write_text(pages[0].read_text(encoding="utf-8").replace("<body>", "<body><li>stray</li>", 1), encoding="utf-8")
    assert nu_checker_errors([broken]), "the checker must see an error in a broken page"
