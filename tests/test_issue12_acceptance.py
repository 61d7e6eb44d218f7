"""Acceptance of issue 12 as a teacher and an LMS administrator use it: the bugs found by writing a
bank with every new feature (text and record parameters, pools, select-all, slots, shuffling) and
running it through every command and format."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine import api
from engine.cli import cli
from engine.export.moodle.xml import stored_name_key
from tests.test_export_gift import moodle_read
from tests.test_moodle import moodle_read as moodle_xml_read

TWO_EXERCISE_SLOT = """\
title: Slotted
code: SL
slots:
  - title: One of two
    exercises: [pick, word]
"""
PICK = """\
id: pick
title: Pick
kind: choice
topic: t
params:
  n: [2, 3, 4, 5]
question: "Which is $[[ n ]]$?"
options:
  - {expr: n, correct: true}
  - {expr: n + 1, feedback: "One too many."}
  - {expr: n + 2, feedback: "Two too many."}
explanation: "It is $[[ n ]]$."
"""
WORD = """\
id: word
title: Word
kind: concept
topic: t
params:
  n: [tanh, ReLU]
question: "Which activation is [[ n ]]?"
options:
  - {text: "[[ n ]]", correct: true}
  - {text: "softmax", feedback: "One too many."}
  - {text: "linear", feedback: "No nonlinearity."}
explanation: "It is [[ n ]]."
"""


def slot_bank(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "bank.yaml").write_text(TWO_EXERCISE_SLOT, encoding="utf-8")
    (bank / "pick.yaml").write_text(PICK, encoding="utf-8")
    (bank / "word.yaml").write_text(WORD, encoding="utf-8")
    return bank


def test_a_slots_item_analysis_names_its_exercises_and_keeps_them_apart(tmp_path: Path) -> None:
    # Two exercises share a slot, a parameter name (n) and a distractor feedback: the analysis of
    # that question must neither name only the first exercise nor merge their variants or options.
    bank = slot_bank(tmp_path)
    quiz = api.quiz([bank], seed=1, count=4)
    rows = ["student,sheet,q1"]
    for k, copy in enumerate(quiz.copies):
        variant = copy.variants[0]
        wrong = next(o.number for o in variant.options if not o.correct)
        rows.append(f"S{k},{copy.sheet},{wrong}")
    submissions = tmp_path / "answers.csv"
    submissions.write_text("\n".join(rows) + "\n", encoding="utf-8")
    item = api.grade(submissions, paths=[bank]).report.analysis.items[0]
    assert {copy.variants[0].exercise for copy in quiz.copies} == {"pick", "word"}
    assert item.exercise in ("pick, word", "word, pick")
    assert set(item.title.split(" / ")) == {"Pick", "Word"}
    assert all(label.startswith(("pick: ", "word: ")) for label in (g.label for g in item.variants))
    assert sorted(p.name for p in item.params) == ["pick: n", "word: n"]
    # "One too many." is a distractor of each exercise: two rows, one per exercise.
    labels = [o.label for o in item.options if not o.correct]
    assert sum(label.startswith("pick: ") for label in labels) == 2
    assert sum(label.startswith("word: ") for label in labels) == 2


FIXED = """\
id: fixed
title: Fixed
kind: formula
topic: t
symbols: {n: positive_integer}
question: "Write twice n as a formula."
answer: 2*n
distractors:
  - {expr: n + 2, feedback: "Added two."}
explanation: "$2n$."
"""


def test_gift_never_holds_two_identical_questions_in_a_category(tmp_path: Path) -> None:
    # Moodle's GIFT importer fills the same categories as its XML importer: a formula without
    # parameters is one question (Moodle shuffles its options), written once, and the export says so.
    (tmp_path / "fixed.yaml").write_text(FIXED, encoding="utf-8")
    text = api.export("gift", [tmp_path / "fixed.yaml"], seed=1, count=5)
    assert isinstance(text, str)
    assert [r.idnumber for r in moodle_read(text)] == ["fixed.1.1"]
    result = CliRunner().invoke(cli, ["generate", str(tmp_path / "fixed.yaml"), "-f", "gift", "-n", "5", "-o",
                                      str(tmp_path / "q.gift")])
    assert result.exit_code == 0, result.output
    assert "Note: gift: fixed: 1 distinct question for 5 variants (each written once)" in result.output


HINTED = """\
id: hinted
title: Hinted
kind: concept
topic: t
question: "Pick the right one."
options:
  - {text: "Right", correct: true}
  - {text: "Wrong", feedback: "No."}
  - {text: "Other", feedback: "No."}
pool:
  draw: 1
  options:
    - {text: "Far", feedback: "Compare it with option 2."}
hints: ["Not ③."]
explanation: "Because."
"""


def test_a_hint_or_a_pools_feedback_that_names_an_option_by_number_is_warned_and_kept_in_order(
        tmp_path: Path) -> None:
    # Moodle shows the hints after a wrong try: shuffled per attempt, "Not ③" would point at
    # another option. check warns of it (and of a pool's feedback), and the export keeps the order.
    (tmp_path / "hinted.yaml").write_text(HINTED, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "hinted.yaml")])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning: ")]
    assert any(":14: hints[0]: '③' names an option by a fixed number" in line
               and "describe the option by its content" in line for line in warned), warned
    assert any(":13: pool.options[0].feedback: 'option 2' names an option" in line for line in warned), warned
    xml = api.export("moodle", [tmp_path / "hinted.yaml"], seed=1, count=2)
    assert isinstance(xml, str)
    assert "<shuffleanswers>true</shuffleanswers>" not in xml and "<shuffleanswers>false</shuffleanswers>" in xml


def test_compare_words_a_missing_option_count_for_select_all() -> None:
    result = CliRunner().invoke(cli, ["compare", "--kind", "options", "1,3", "1"])
    assert result.exit_code == 2
    assert "options: an options (select all) question needs the number of options" in result.output
    result = CliRunner().invoke(cli, ["compare", "--kind", "formula", "--options", "3", "x", "x"])
    assert "only used with kind choice or options, not formula" in result.output


DECIMAL_CONDITION = """\
id: rate
title: Rate
kind: integer
topic: t
params:
  lr: [0.05, 0.1, 0.5]
  c:
    values:
      - {p: 0.05, label: twentieth}
      - {p: 0.5, label: half}
question: "Steps at [[ lr ]] and [[ c.label ]].[% if lr == 0.05 %] Small.[% endif %][% if 0.05 == c.p %] Tiny.[% endif %]"
answer: 1
explanation: "One."
"""


def test_conditional_text_compares_decimal_literals_exactly(tmp_path: Path) -> None:
    # docs/parameters.md: "Numbers compare exactly (1/2, 0.05 ... are exact, not floats)". As a
    # float, the literal 0.05 never equalled the exact value 1/20 that lr holds.
    (tmp_path / "rate.yaml").write_text(DECIMAL_CONDITION, encoding="utf-8")
    quiz = api.quiz([tmp_path / "rate.yaml"], seed=1, count=6)
    for copy in quiz.copies:
        variant = copy.variants[0]
        assert ("Small." in variant.question) == (variant.params["lr"] == "1/20"), variant.question
        assert ("Tiny." in variant.question) == (variant.params["c.p"] == "1/20"), variant.question
    assert any("Small." in copy.variants[0].question for copy in quiz.copies)


RECORD_COMPARED = """\
id: rq
title: RQ
kind: integer
topic: t
params:
  act:
    values:
      - {name: tanh, gain: 1}
      - {name: ReLU, gain: 2}
question: "[[ act ]][% if act == 'ReLU' %] is never negative.[% endif %]"
answer: act.gain
explanation: "x"
"""


def test_a_record_compared_whole_is_an_error_naming_a_field_to_compare(tmp_path: Path) -> None:
    # [[ act ]] prints the first field, but the record itself never equals 'ReLU': the condition
    # was silently false on every sheet.
    (tmp_path / "rq.yaml").write_text(RECORD_COMPARED, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "rq.yaml")])
    assert result.exit_code == 1
    assert ("rq.yaml:10: question: act is a record: compare one of its fields, as in "
            "[% if act.name == ... %]") in result.output


COLLIDING_SLOTS = """\
title: Collide
code: CO
slots:
  - title: Part <1>
    exercises: [pick]
  - title: part <1>
    exercises: [word]
"""


def test_slot_titles_that_moodle_would_store_as_one_category_are_told_apart(tmp_path: Path) -> None:
    # Moodle finds a category by name as MySQL compares it (case aside): "Part <1>" and
    # "part <1>" would be one slot category, and its random question would draw from both pools.
    bank = slot_bank(tmp_path)
    (bank / "bank.yaml").write_text(COLLIDING_SLOTS, encoding="utf-8")
    xml = api.export("moodle", [bank], seed=1, count=2)
    questions, errors = moodle_xml_read(xml.encode() if isinstance(xml, str) else xml)
    assert errors == []
    slots = {q.stored_category[3] for q in questions}
    assert len({stored_name_key(name) for name in slots}) == 2, slots
    gift = api.export("gift", [bank], seed=1, count=2)
    assert isinstance(gift, str)
    assert {r.category.split("/")[3] for r in moodle_read(gift)} == {"Part &lt;1&gt; (slot 1)", "part &lt;1&gt; (slot 2)"}
