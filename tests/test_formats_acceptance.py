"""GIFT, the self-check page and Canvas QTI used as a teacher, a student and an LMS administrator would.

Each test replays one use end to end with the real readers (gift-pegjs and the port of Moodle's
GIFT importer, Debian's Chromium, the IMS grammars) and pins what an acceptance run found.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from engine import api
from engine.cli import cli
from engine.export.selfcheck.samples import samples
from engine.generation.quiz import FormulaAnswer, Misconception, Variant, question_labels
from engine.grading.questions import Checker, question_of
from tests.test_export_gift import check, gift_pegjs, moodle_read, pegjs_read
from tests.test_export_html import browser, open_page  # noqa: F401 - browser is a fixture
from tests.test_export_qti import validate_package
from tests.test_hostile_outputs import read_terminal

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "moodle"
QTI_NS = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"

# A bank a teacher writes by hand, with what trips GIFT, HTML and XML: `{ }` and `\\` in TeX, `::`
# and tags in titles, options that start with `=`, `~` or `#`, Unicode, a very long stem.
NASTY = {
    "bank.yaml": 'title: "Nasty :: bank <a href=x>link</a> — ünï ∑"\ncode: NA\ndescription: hand-written\n',
    "braces.yaml": r"""id: braces
title: "Braces :: in {TeX} <a>"
kind: concept
topic: "t::x"
tags: ["::", "ü"]
question: |
  Which is $\left\{ x \in \mathbb{R} : x^{2} = 1 \right\}$? Also $\mathbf{A}_{\{i\}}$, $a \\ b$, `{code}`.
options:
  - text: '= starts with equals $\{-1, 1\}$'
    correct: true
  - text: "~ starts with tilde"
    feedback: "~# hash and ::colons:: and }{ reversed"
  - text: '# hash first, ends with a backslash \'
    feedback: 'Ünïcödé — “quotes” ½ ∞ 𝔸 😀 and \n, \neq, \nabla'
explanation: |
  Answer: [[ answer_text ]]. $\{1\}$ :: {} = ~ #
""",
    "long.yaml": "id: long\ntitle: Very long stem\nkind: true_false\ntopic: long\nquestion: |\n  "
                 + "Lorem $x_{i}$ ipsum: {a} = ~ # " * 400
                 + '\nanswer: "1 < 2"\nwrong_feedback: "It is {true}."\nexplanation: |\n  Because = ~.\n',
    "num.yaml": r"""id: num
title: "Numeric <b>bold</b> :: = ~"
kind: numeric
topic: n
params:
  n: {min: 2, max: 9}
question: |
  What is $\frac{1}{[[ n ]]}$? \{literal braces\} and 100% sure?
answer: 1/n
tolerance: {absolute: "0.0005"}
precision: 3
distractors:
  - {expr: "n", feedback: "Not $n$: {1}/n"}
  - {expr: "-1/n", feedback: "Sign: −"}
explanation: |
  $\frac{1}{[[ n ]]} \approx [[ answer | num(3) ]]$
""",
    "int.yaml": r"""id: int
title: "Integer: negative"
kind: integer
topic: n
params:
  n: {min: 2, max: 9}
question: |
  What is $-[[ n ]] \cdot 3$?
answer: -3*n
distractors:
  - {expr: "3*n", feedback: "sign = wrong"}
explanation: |
  $-3 \cdot [[ n ]] = [[ answer ]]$
""",
    "formula.yaml": r"""id: formula
title: "Formula {a}"
kind: formula
topic: f
symbols: {n_in: positive_integer, n_out: positive_integer}
question: |
  Write $\sqrt{\frac{6}{n_{in}+n_{out}}}$ differently: ~ = # { }.
answer: sqrt(6/(n_in + n_out))
distractors:
  - {expr: "sqrt(2/(n_in + n_out))", feedback: "That's the std {dev}."}
  - {expr: "6/(n_in + n_out)", feedback: "Squared = wrong."}
explanation: |
  $L = [[ answer | latex ]]$
""",
}


@pytest.fixture(scope="module")
def nasty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nasty")
    for name, text in NASTY.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _quizwright(*args: str, **options: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update(options.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, check=False, **options)


# -- GIFT: a teacher's hand-written bank and hand edits ---------------------------------------------------------


@pytest.mark.parametrize(("seed", "count"), [(5, 3), (1, 1)])
def test_gift_of_a_hand_written_nasty_bank_reads_back_as_the_key(nasty: Path, seed: int, count: int) -> None:
    document = str(api.export("gift", [nasty], seed=seed, count=count))
    quiz = api.quiz([nasty], seed=seed, count=count)
    [parsed] = gift_pegjs([document])
    check(pegjs_read(parsed), quiz)
    check(moodle_read(document), quiz)


def test_gift_edited_by_hand_still_reads(nasty: Path) -> None:
    """A teacher swaps two questions, deletes one and a whole category, in an editor that writes CRLF."""
    document = str(api.export("gift", [nasty], seed=5, count=3))
    blocks = document.split("\n\n")
    questions = [k for k, block in enumerate(blocks) if block.startswith("// [id:")]
    edited = list(blocks)
    edited[questions[0]], edited[questions[1]] = edited[questions[1]], edited[questions[0]]
    del edited[questions[-1]], edited[questions[2]]
    variants = ["\n\n".join(edited), "\n\n".join(edited).replace("\n", "\r\n")]
    original = {read.idnumber: read for read in moodle_read(document)}
    for text, parsed in zip(variants, gift_pegjs(variants), strict=True):
        by_pegjs, by_moodle = pegjs_read(parsed), moodle_read(text)
        assert [r.idnumber for r in by_moodle] == [r.idnumber for r in by_pegjs]
        assert len(by_moodle) == len(original) - 2
        for read in by_moodle:
            assert read == original[read.idnumber]


# -- the self-check page, as a student uses it -------------------------------------------------------------------


def test_html_a_mangled_address_shows_the_first_sheet(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """A link whose `#sheet` was cut in the middle of a `%`-escape: no script error, the first sheet shows."""
    page = open_page(browser, tmp_path, str(api.export("html", [FIXTURES], seed=0, count=3)))
    page.goto(page.file + "#%E0%A4%A")
    page.reload()
    assert page.errors == []
    assert page.is_visible("#sheet-1") and not page.is_visible("#sheet-2")
    page.select_option("#sheet-select", "FX-0-0002")
    assert page.is_visible("#sheet-2") and page.url.endswith("#FX-0-0002")


def test_html_only_the_sheet_shown_is_forms(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """Chromium scans every form of a page for autofill in a time that grows with the square of their number
    (60 sheets: 7 s frozen, 200: over 30 s), so the other sheets wait in templates until first shown."""
    quiz = api.quiz([FIXTURES], seed=0, count=40)
    per_sheet = len(quiz.exercises)
    page = open_page(browser, tmp_path, str(api.export("html", [FIXTURES], seed=0, count=40)))
    assert page.evaluate("document.querySelectorAll('form').length") == per_sheet
    assert page.evaluate("document.querySelectorAll('template.sheet').length") == 39
    page.check("#s1q1-o1")
    page.select_option("#sheet-select", "FX-0-0037")
    assert page.evaluate("document.querySelectorAll('form').length") == 2 * per_sheet
    assert page.is_visible("#sheet-37") and not page.is_visible("#sheet-1")
    page.check("#s37q1-o1")
    page.click("#s37q1 button")
    assert page.inner_text("#s37q1 .verdict").startswith(("✓", "✗"))
    page.select_option("#sheet-select", "FX-0-0001")  # back: the answer is still there
    assert page.is_checked("#s1q1-o1") and page.is_visible("#sheet-1")
    page.goto(page.file + "#FX-0-0040")
    page.reload()  # a link to a sheet in a template
    assert page.is_visible("#sheet-40") and page.errors == []


ODD = ["2/0", "0/0", "1e999", "-1e999", "1e-400", "sqrt(-1)", "log(0)", "n_in^1000000", "n_in^n_in^n_in^n_in",
       "factorial(1000000000)", "9" * 10000, "1+" * 5000 + "1", "(" * 300 + "1" + ")" * 300, "−0.5", "0,5", "1 000",
       " 1 ", "½", "Infinity", "NaN", "__proto__", "constructor", "ｎ_ｉｎ", "√", "", "   "]


def test_html_odd_answers_get_a_reply_and_no_error(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = open_page(browser, tmp_path, str(api.export("html", [FIXTURES], seed=0)))
    replies = page.evaluate("""texts => [...document.querySelectorAll("form.question")]
        .filter(form => form.querySelector("input[type=text]"))
        .flatMap(form => texts.map(text => {
            form.querySelector("input[type=text]").value = text;
            form.requestSubmit();
            return form.querySelector(".verdict .says").textContent;
        }))""", ODD)
    assert len(replies) == 5 * len(ODD)  # integer, two numerics, two formulas
    assert all(reply.startswith(("✗ Not correct.", "⚠ Cannot read your answer: ", "⚠ Type an answer first."))
               for reply in replies), replies
    assert page.errors == []


def _typed(variant: Variant) -> list[str]:
    """Right answers in the forms a student types them, the tolerance's edges, and the known wrong ones."""
    answer = variant.answer
    texts = [variant.answer_text]
    if answer.type == "integer":
        texts += [f"+{answer.value}", f"{answer.value}.0", f" {answer.value}e0 ", str(answer.value + 1)]
    elif answer.type == "numeric":
        from decimal import Decimal

        exact, bound = Decimal(answer.decimal), Decimal(answer.absolute_tolerance)
        texts += [answer.decimal, answer.display, answer.decimal.replace("-", "−")]
        texts += [str(exact + bound * Decimal(f)) for f in ("0.999", "-0.999", "1.01", "-1.01")]
    elif answer.type == "formula":
        texts += [answer.expr, answer.expr.replace("*", "·"), f"2*({answer.expr})/2", f"({answer.expr})+0.000001"]
    return texts + [m.value for m in variant.misconceptions]


@pytest.fixture(scope="module", autouse=True)
def graded(nasty: Path) -> list[tuple[str, list[dict[str, str]]]]:
    """Pages and typed answers with the grader's verdicts, made before any browser starts: the grader's
    sandbox forks, and a fork beside Playwright's threads can hang."""
    checker, runs = Checker(), []
    for paths, seed in [(None, 3), ([FIXTURES], 5), ([nasty], 5)]:
        quiz = api.quiz(paths, seed=seed, count=2)
        # Typed answers only (a select-all question is ticked: tests/test_select_all.py); parts are 5a, 5b.
        cases = [{"q": f"s{copy.index + 1}q{label}", "text": text, "id": v.id,
                  "want": checker.check(question_of(v), text).status}
                 for copy in quiz.copies for label, v in zip(question_labels(copy.variants), copy.variants, strict=True)
                 if v.answer.type not in ("option", "boolean", "options") for text in _typed(v)]
        runs.append((str(api.export("html", paths, seed=seed, count=2)), cases))
    return runs


def test_html_agrees_with_the_grader_on_typed_answers(browser: Any, tmp_path: Path,  # noqa: F811
                                                      graded: list[tuple[str, list[dict[str, str]]]]) -> None:
    """The page never calls an answer the grader accepts wrong, nor the other way round."""
    for html, cases in graded:
        page = open_page(browser, tmp_path, html)
        for sheet in page.evaluate("[...document.querySelectorAll('#sheet-select option')].map(o => o.value)"):
            page.select_option("#sheet-select", sheet)  # a sheet becomes forms when first shown
        got = page.evaluate("""cases => cases.map(c => {
            const form = document.getElementById(c.q);
            form.querySelector("input[type=text]").value = c.text;
            form.requestSubmit();
            return form.querySelector(".verdict .says").className.split(" ")[1];
        })""", [{"q": c["q"], "text": c["text"]} for c in cases])
        verdicts = [(c["id"], c["text"], g) for c, g in zip(cases, got, strict=True)]
        assert verdicts == [(c["id"], c["text"], c["want"]) for c in cases]
        assert page.errors == []
        page.close()


ZERO_AT_A_POINT = {
    "bank.yaml": "title: Zeros\ncode: ZE\ndescription: keys that vanish at a sample point\n",
    "count.yaml": """id: count
title: Count
kind: formula
topic: z
symbols: {n: positive_integer}
question: |
  Write a tenth of $n - 3$.
answer: (n - 3)/10
explanation: |
  $\\frac{n - 3}{10}$
""",
}


def test_html_samples_skip_the_zeros_of_the_key_and_of_misconceptions() -> None:
    key = FormulaAnswer(expr="(n - 3)/10", latex="x", symbols={"n": "positive_integer"})
    found = samples(key, [Misconception(value="n - 7", latex="", feedback="f")])
    assert ["3"] not in found.points and "0" not in found.key and len(found.points) == 4
    assert found.wrong[0][found.points.index(["7"])] is None


def test_html_a_right_formula_is_right_where_the_key_is_zero(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """`0.1n - 0.3` is 5.6e-17 at n = 3 in floating point, where the key is 0: the page must accept it."""
    bank = tmp_path / "bank"
    bank.mkdir()
    for name, text in ZERO_AT_A_POINT.items():
        (bank / name).write_text(text, encoding="utf-8")
    page = open_page(browser, tmp_path, str(api.export("html", [bank], seed=0)))
    replies = page.evaluate("""texts => texts.map(text => {
        const form = document.getElementById("s1q1");
        form.querySelector("input").value = text;
        form.requestSubmit();
        return form.querySelector(".verdict .says").textContent;
    })""", ["0.1n - 0.3", "0.1*(n - 3)", "n/10 - 3/10", "0.1n + 0.3"])
    assert replies == ["✓ Correct."] * 3 + ["✗ Not correct."]


# -- Canvas QTI: terminals, parts of a run, a nasty bank -----------------------------------------------------------


def stdout_on_a_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """`python -m engine ARGS` with standard output on a real terminal: status, what the terminal got, stderr."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=ROOT, stdout=secondary,
                               stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(secondary)
    seen = read_terminal(primary)
    assert process.stderr is not None
    error = process.stderr.read()
    return process.wait(timeout=120), seen, error


@pytest.mark.parametrize("output", [[], ["-o", "/dev/stdout"]])
def test_qti_refuses_to_dump_a_zip_on_a_terminal(output: list[str]) -> None:
    status, seen, error = stdout_on_a_terminal("generate", "-f", "qti", "-e", "layer-size", *output)
    assert status == 1 and seen == b""
    assert b"Error: qti writes a zip file, which a terminal cannot show" in error


def test_qti_to_a_pipe_is_the_zip() -> None:
    run = _quizwright("generate", "-f", "qti", "-e", "layer-size", capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == api.export("qti", None, exercises=["layer-size"])
    assert zipfile.ZipFile(io.BytesIO(run.stdout)).testzip() is None


def _assessment(data: bytes) -> etree._Element:
    files = zipfile.ZipFile(io.BytesIO(data))
    [name] = [n for n in files.namelist() if n.endswith(".xml") and "/" in n and not n.endswith("meta.xml")]
    return etree.fromstring(files.read(name))


def test_qti_parts_of_a_run_are_quizzes_of_their_own() -> None:
    """--copies A-B: imported side by side, two parts never merge (Canvas merges by identifier) and say which they are."""
    whole = _assessment(api.export("qti", [FIXTURES], seed=3, count=4))  # type: ignore[arg-type]
    parts = [_assessment(api.export("qti", [FIXTURES], seed=3, count=4, copies=c))  # type: ignore[arg-type]
             for c in [(1, 2), (3, 4)]]
    items = [{i.get("ident") for i in part.iter(f"{QTI_NS}item")} for part in parts]
    assert not items[0] & items[1] and items[0] | items[1] == {i.get("ident") for i in whole.iter(f"{QTI_NS}item")}
    sections = [{s.get("ident") for s in part.iter(f"{QTI_NS}section")} - {"root_section"} for part in parts]
    assert not sections[0] & sections[1]
    tests = [part.find(f"{QTI_NS}assessment") for part in [whole, *parts]]
    assert len({t.get("ident") for t in tests}) == 3  # type: ignore[union-attr]
    assert [t.get("title") for t in tests] == [  # type: ignore[union-attr]
        "Fixtures / Moodle & XML (seed 3)", "Fixtures / Moodle & XML (seed 3, copies 1-2 of 4)",
        "Fixtures / Moodle & XML (seed 3, copies 3-4 of 4)"]


def _item_idents(data: str | bytes) -> set[str]:
    assert isinstance(data, bytes)
    return {str(item.get("ident")) for item in _assessment(data).iter(f"{QTI_NS}item")}


def test_qti_items_of_other_banks_or_pins_never_share_an_ident(tmp_path: Path) -> None:
    """Canvas overwrites a course's question that has an imported item's ident, from whichever quiz: two
    banks with an exercise id in common, or other pinned parameters, must not replace each other's."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "bank.yaml").write_text("title: Another chapter\ncode: FX\n", encoding="utf-8")
    (other / "integer.yaml").write_bytes((FIXTURES / "integer.yaml").read_bytes().replace(b"weights", b"links"))
    ours = _item_idents(api.export("qti", [FIXTURES], seed=0, count=2, exercises=["integer"]))
    assert not ours & _item_idents(api.export("qti", [other], seed=0, count=2))
    assert not ours & _item_idents(api.export("qti", [FIXTURES], seed=0, count=2, exercises=["integer"],
                                              params={"n_in": "7"}))
    # The same bank, seed and pins: the same items, so a re-import updates them (more copies: more items).
    assert ours < _item_idents(api.export("qti", [FIXTURES], seed=0, count=3, exercises=["integer"]))


def test_qti_of_a_hand_written_nasty_bank_is_valid(nasty: Path) -> None:
    files = validate_package(api.export("qti", [nasty], seed=5, count=3))  # type: ignore[arg-type]
    assert len(files) == 3


# -- all three ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["gift", "html", "qti"])
def test_the_same_bytes_whatever_the_hash_seed_and_the_key_option(fmt: str, tmp_path: Path) -> None:
    outputs = []
    for hash_seed, key in [("0", "--key"), ("1", "--key"), ("2", "--no-key")]:
        target = tmp_path / f"{hash_seed}.{fmt}"
        run = _quizwright("generate", "-f", fmt, "-s", "11", "-n", "3", key, "-o", str(target),
                          env={"PYTHONHASHSEED": hash_seed}, capture_output=True)
        assert run.returncode == 0, run.stderr
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0." + fmt, "1." + fmt, "2." + fmt]  # no key file


@pytest.mark.parametrize(("fmt", "kind"), [("gift", str), ("html", str), ("qti", bytes)])
def test_api_export_returns_text_or_bytes_and_writes_over_a_file(fmt: str, kind: type, tmp_path: Path) -> None:
    data = api.export(fmt, [FIXTURES], seed=2, count=2)
    assert isinstance(data, kind)
    target = tmp_path / f"quiz.{fmt}"
    target.write_text("an older export")
    result = CliRunner().invoke(cli, ["generate", str(FIXTURES), "-f", fmt, "-s", "2", "-n", "2", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == (data if isinstance(data, bytes) else data.encode("utf-8"))


@pytest.mark.parametrize("fmt", ["gift", "qti"])
def test_split_is_refused_where_a_format_is_one_file(fmt: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", "-f", fmt, "-n", "2", "--split", "-o", str(tmp_path / "q")])
    assert result.exit_code != 0 and f"--split: {fmt} is written as one file" in result.output
    assert list(tmp_path.iterdir()) == []
