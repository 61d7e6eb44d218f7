"""Output checkers: weight-init-4 in Moodle XML and in text2qti's QTI zip, any Moodle XML, the cliff.

Each recomputes the answers from the A and B printed in the stems: a fast wrong answer must not
look good.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

WI4_KINDS = {"xavier-sum": "numerical", "xavier-limit": "numerical", "he-variance": "multichoice",
             "winit-tf": "truefalse"}
PLAIN_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
N_IN = re.compile(r"n_\{in\} = (\d+)")
N_OUT = re.compile(r"n_\{out\} = (\d+)")
HE_CORRECT = r"\frac{2}{n_{in}}"
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
QTI_KINDS = {"xavier-sum": "numerical_question", "xavier-limit": "numerical_question",
             "he-variance": "multiple_choice_question", "winit-tf": "true_false_question"}


class Problems:
    """The problems found, the first three of each kind in words, every one counted."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.failures: Counter[str] = Counter()

    def fail(self, kind: str, message: str) -> None:
        self.failures[kind] += 1
        if self.failures[kind] <= 3:
            self.problems.append(message)

    def listed(self) -> list[str]:
        """The problems in words, then how many more there were."""
        hidden = sum(self.failures.values()) - len(self.problems)
        return self.problems + ([f"... and {hidden} more"] if hidden > 0 else [])


def wi4_exercise_of(text: str) -> str | None:
    """Which weight-init-4 question a stem is (the same words in every tool's output)."""
    if "Xavier uniform limit" in text:
        return "xavier-limit"
    if "in Xavier initialization" in text:
        return "xavier-sum"
    if "In He initialization" in text:
        return "he-variance"
    if "True or false: weight initialization" in text:
        return "winit-tf"
    return None


def iter_moodle_questions(path: Path) -> Iterator[ET.Element]:
    """Every <question> of a Moodle XML file, streamed: each element is cleared once handled, so a
    file of any size is checked in little memory. Raises ET.ParseError on malformed XML."""
    depth = 0
    root: ET.Element | None = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            depth += 1
            if root is None:
                root = elem
                if elem.tag != "quiz":
                    raise ET.ParseError(f"root element <{elem.tag}>, expected <quiz>")
            continue
        depth -= 1
        if depth == 1 and elem.tag == "question":
            yield elem
            assert root is not None
            root.clear()  # drop what was handled: memory stays flat


def _ab(text: str) -> tuple[int, int] | None:
    a, b = N_IN.search(text), N_OUT.search(text)
    if not a or not b:
        return None
    return int(a.group(1)), int(b.group(1))


def _decimal(text: str | None) -> Decimal | None:
    if text is None or not PLAIN_DECIMAL.fullmatch(text.strip()):
        return None  # Moodle needs plain decimals: an exponent stops its import
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _fraction(answer: ET.Element) -> float:
    try:
        return float(answer.get("fraction", "0"))
    except ValueError:
        return float("nan")


def xavier_limit_problem(a: int, b: int, answer: Decimal, tolerance: Decimal) -> str | None:
    with localcontext() as ctx:
        ctx.prec = 40
        exact = (Decimal(6) / Decimal(a + b)).sqrt()
        if abs(answer - exact) > Decimal("1e-12") * exact:
            return f"answer {answer} is not sqrt(6/({a}+{b})) = {exact:.15f}"
        expected = Decimal("0.01") * answer
        if abs(tolerance - expected) > Decimal("1e-9") * expected:
            return f"tolerance {tolerance} is not 0.01 x {answer}"
    return None


@dataclass
class _MoodleTally:
    types: Counter[str] = field(default_factory=Counter)
    per_exercise: Counter[str] = field(default_factory=Counter)
    category_members: dict[str, Counter[str]] = field(default_factory=dict)
    current: str | None = None


def check_wi4_moodle(path: Path, n: int, categories: int = 4) -> tuple[list[str], dict[str, Any]]:
    """Checks a weight-init-4 Moodle XML export; returns (problems, counts): no problem means ok.

    Strict XML parse (streamed); `categories` categories (4: one per question, each holding only
    that question's variants); n of each question, or of the two with few distinct variants at
    least one per distinct variant (identical ones may be written once); every numerical
    answer and tolerance recomputed from the A and B printed in its stem (xavier-sum: A + B,
    tolerance 0; xavier-limit: sqrt(6/(A+B)) at 40 digits within 1e-12 relative, tolerance 0.01 x
    answer within 1e-9 relative); he-variance: one 100 % answer, 2/n_in; winit-tf: true.
    """
    found = Problems()
    tally = _MoodleTally()
    try:
        for q in iter_moodle_questions(path):
            _moodle_question(q, tally, found)
    except ET.ParseError as exc:
        found.problems.append(f"not well-formed XML: {exc}")
        found.failures["xml"] += 1
    _moodle_counts(tally, n, categories, found)
    counts = {"types": dict(tally.types), "per_exercise": dict(tally.per_exercise),
              "categories": len(tally.category_members), "failures": dict(found.failures)}
    return found.listed(), counts


def _moodle_question(q: ET.Element, tally: _MoodleTally, found: Problems) -> None:
    qtype = q.get("type") or "?"
    tally.types[qtype] += 1
    if qtype == "category":
        tally.current = q.findtext("category/text") or ""
        if tally.current in tally.category_members:
            found.fail("category", f"category {tally.current!r} appears twice")
        tally.category_members.setdefault(tally.current, Counter())
        return
    name = q.findtext("name/text") or "?"
    text = q.findtext("questiontext/text") or ""
    exercise = wi4_exercise_of(text)
    if exercise is None:
        found.fail("unknown", f"{name}: not one of the four questions")
        return
    idnumber = (q.findtext("idnumber") or "").strip()
    if idnumber and idnumber.split(".")[0] != exercise:
        found.fail("idnumber", f"{name}: idnumber {idnumber} but the stem of {exercise}")
    tally.per_exercise[exercise] += 1
    if tally.current is None:
        found.fail("category", f"{name}: question before any category")
    else:
        tally.category_members[tally.current][exercise] += 1
    if qtype != WI4_KINDS[exercise]:
        found.fail("type", f"{name}: {exercise} as {qtype}, expected {WI4_KINDS[exercise]}")
        return
    answers = q.findall("answer")
    right = [a for a in answers if _fraction(a) == 100]
    if len(right) != 1:
        found.fail("right", f"{name}: {len(right)} answers at 100 %, expected 1")
        return
    answer_text = right[0].findtext("text") or ""
    if exercise in ("xavier-sum", "xavier-limit"):
        _moodle_xavier(name, exercise, text, right[0], found)
    elif exercise == "he-variance":
        if len(answers) != 3 or HE_CORRECT not in answer_text:
            found.fail("he", f"{name}: {len(answers)} options, the 100 % one is {answer_text!r}")
    elif answer_text.strip().lower() != "true" or len(answers) != 2:
        found.fail("tf", f"{name}: the 100 % answer is {answer_text!r}, expected true")


def _moodle_xavier(name: str, exercise: str, text: str, right: ET.Element, found: Problems) -> None:
    """A numerical answer and its tolerance against the A and B of the stem."""
    ab = _ab(text)
    if ab is None:
        found.fail("stem", f"{name}: no n_in = A and n_out = B in the stem")
        return
    a, b = ab
    if not (2 <= a <= 512 and 2 <= b <= 512):
        found.fail("range", f"{name}: A = {a}, B = {b} outside [2, 512]")
    answer_text = right.findtext("text") or ""
    value = _decimal(answer_text)
    tolerance = _decimal(right.findtext("tolerance"))
    if value is None or tolerance is None:
        found.fail("number", f"{name}: answer {answer_text!r} or its tolerance is not a plain decimal")
    elif exercise == "xavier-sum":
        if value != a + b or tolerance != 0:
            found.fail("sum", f"{name}: answer {value} tolerance {tolerance}, expected {a + b} exactly")
    else:
        problem = xavier_limit_problem(a, b, value, tolerance)
        if problem:
            found.fail("limit", f"{name}: {problem}")


# Distinct questions of the exercises with few (he-variance: 6 option orders; winit-tf: 1): an
# export may write each once (quizwright does), or once per variant.
WI4_DISTINCT = {"he-variance": 6, "winit-tf": 1}


def _moodle_counts(tally: _MoodleTally, n: int, categories: int, found: Problems) -> None:
    types = tally.types
    if types["category"] != categories:
        found.fail("count", f"{types['category']} category questions, expected {categories}")
    for qtype in sorted(set(types) - {"category", *WI4_KINDS.values()}):
        found.fail("count", f"{types[qtype]} {qtype} questions, expected 0")
    for exercise in WI4_KINDS:
        low = min(n, WI4_DISTINCT.get(exercise, n))
        if not low <= tally.per_exercise[exercise] <= n:
            expected = n if low == n else f"{low} to {n}"
            found.fail("count", f"{tally.per_exercise[exercise]} variants of {exercise}, expected {expected}")
    if categories == len(WI4_KINDS):
        for name, members in tally.category_members.items():
            if len(members) != 1:
                found.fail("category", f"category {name!r} holds {dict(members)}, expected one question")


@dataclass
class _QtiTally:
    types: Counter[str] = field(default_factory=Counter)
    groups: int = 0
    max_rel: float = 0.0
    max_accepted: float = 0.0


def check_wi4_qti(path: Path, n: int) -> tuple[list[str], dict[str, Any]]:
    """Checks text2qti's QTI zip of the weight-init-4 work: strict XML parse, 4 question groups
    (pick 1) of n items each, one question per group, types, numerical answers against A and B
    (xavier-sum exact; xavier-limit: each end of the accepted range is sqrt(6/(A+B)) ± 1 % as
    text2qti writes it, with 4 decimals), the correct option of he-variance and winit-tf."""
    found = Problems()
    tally = _QtiTally()
    try:
        with zipfile.ZipFile(path) as archive:
            names = [x for x in archive.namelist() if x.endswith(".xml") and "/" in x
                     and not x.endswith("assessment_meta.xml")]
            if len(names) != 1:
                return [f"expected one assessment file in the zip, found {names}"], {}
            with archive.open(names[0]) as fh:
                root = ET.parse(fh).getroot()
    except (zipfile.BadZipFile, ET.ParseError, OSError) as exc:
        return [f"unreadable QTI zip: {exc}"], {}
    for section in root.iter(f"{QTI}section"):
        selection = section.find(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number")
        if selection is not None:
            _qti_group(section, selection.text, n, tally, found)
    if tally.groups != 4:
        found.fail("group", f"{tally.groups} question groups, expected 4")
    expected = Counter({"numerical_question": 2 * n, "multiple_choice_question": n, "true_false_question": n})
    if tally.types != expected:
        found.fail("count", f"question types {dict(tally.types)}, expected {dict(expected)}")
    return found.listed(), {"types": dict(tally.types), "groups": tally.groups,
                            "limit_max_relative_error": tally.max_rel,
                            "limit_max_accepted_relative": tally.max_accepted, "failures": dict(found.failures)}


def _qti_group(section: ET.Element, pick: str | None, n: int, tally: _QtiTally, found: Problems) -> None:
    tally.groups += 1
    items = section.findall(f"{QTI}item")
    if pick != "1" or len(items) != n:
        found.fail("group", f"group {tally.groups}: pick {pick}, {len(items)} items, expected pick 1 of {n}")
    exercises: Counter[str] = Counter()
    for item in items:
        exercise = _qti_item(item, tally, found)
        if exercise is not None:
            exercises[exercise] += 1
    if len(exercises) != 1:
        found.fail("group", f"group {tally.groups} holds {dict(exercises)}, expected one question")


def _qti_item(item: ET.Element, tally: _QtiTally, found: Problems) -> str | None:
    """Checks one item; returns which of the four questions it is (None: none of them)."""
    title = item.get("title", "?")
    qtype = next((f.findtext(f"{QTI}fieldentry") for f in item.iter(f"{QTI}qtimetadatafield")
                  if f.findtext(f"{QTI}fieldlabel") == "question_type"), "?")
    tally.types[qtype or "?"] += 1
    text = item.findtext(f"{QTI}presentation/{QTI}material/{QTI}mattext") or ""
    exercise = wi4_exercise_of(text)
    if exercise is None:
        found.fail("unknown", f"{title}: not one of the four questions")
        return None
    if qtype != QTI_KINDS[exercise]:
        found.fail("type", f"{title}: {qtype}, expected {QTI_KINDS[exercise]}")
        return exercise
    scoring = [c for c in item.iter(f"{QTI}respcondition") if (c.findtext(f"{QTI}setvar") or "").strip() == "100"]
    if len(scoring) != 1:
        found.fail("right", f"{title}: {len(scoring)} conditions scoring 100")
        return exercise
    condition = scoring[0]
    if exercise in ("xavier-sum", "xavier-limit"):
        _qti_xavier(title, exercise, text, condition, tally, found)
        return exercise
    chosen = condition.findtext(f".//{QTI}varequal")
    label = next((lab for lab in item.iter(f"{QTI}response_label") if lab.get("ident") == chosen), None)
    shown = label.findtext(f".//{QTI}mattext") if label is not None else None
    if exercise == "he-variance":
        if shown is None or HE_CORRECT not in shown:
            found.fail("he", f"{title}: the correct option is {shown!r}")
    elif shown is None or "True" not in shown:
        found.fail("tf", f"{title}: the correct option is {shown!r}")
    return exercise


def _qti_xavier(title: str, exercise: str, text: str, condition: ET.Element, tally: _QtiTally,
                found: Problems) -> None:
    ab = _ab(text)
    low = condition.findtext(f".//{QTI}vargte")
    high = condition.findtext(f".//{QTI}varlte")
    equal = condition.findtext(f".//{QTI}varequal")
    if ab is None or low is None or high is None or equal is None:
        found.fail("number", f"{title}: no A, B or no accepted range")
        return
    a, b = ab
    lo, hi, eq = Decimal(low), Decimal(high), Decimal(equal)
    if exercise == "xavier-sum":
        if not lo == hi == eq == a + b:
            found.fail("sum", f"{title}: accepts [{lo}, {hi}], expected exactly {a + b}")
        return
    # text2qti writes the answer and the range with 4 decimals ({:.4f}): each end must be the 1 %
    # bound rounded so
    with localcontext() as ctx:
        ctx.prec = 40
        exact = (Decimal(6) / Decimal(a + b)).sqrt()
        tally.max_rel = max(tally.max_rel, float(abs(eq - exact) / exact))
        accepted = max(exact - lo, hi - exact) / exact
        tally.max_accepted = max(tally.max_accepted, float(accepted))
        half = Decimal("0.00005") + Decimal("1e-12")
        if not (lo <= exact <= hi and abs(lo - Decimal("0.99") * exact) <= half
                and abs(hi - Decimal("1.01") * exact) <= half):
            found.fail("limit", f"{title}: accepts [{lo}, {hi}] for sqrt(6/({a}+{b})) = {exact:.6f}")


def count_moodle(path: Path) -> tuple[list[str], Counter[str], dict[str, int]]:
    """Question types and questions per category of any Moodle XML file (streamed)."""
    types: Counter[str] = Counter()
    per_category: dict[str, int] = {}
    current = None
    try:
        for q in iter_moodle_questions(path):
            qtype = q.get("type") or "?"
            types[qtype] += 1
            if qtype == "category":
                current = q.findtext("category/text") or ""
                per_category.setdefault(current, 0)
            elif current is not None:
                per_category[current] += 1
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"], types, per_category
    return [], types, per_category


def check_cliff(path: Path, n: int) -> list[str]:
    """n xavier-sum questions of n distinct (A, B) pairs, each answer A + B (scanned line by line)."""
    pairs: set[tuple[int, int]] = set()
    questions = wrong = 0
    ab: tuple[int, int] | None = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if '<question type="numerical">' in line:
                questions += 1
            elif "<questiontext" in line:
                ab = None
            elif ab is None and "n_{out} = " in line:
                ab = _ab(line)
                if ab:
                    pairs.add(ab)
            elif "<answer fraction=\"100\">" in line:
                answer = next(fh).strip()
                wrong += ab is None or answer != f"<text>{sum(ab)}</text>"
    problems = [f"{questions} questions, expected {n}"] if questions != n else []
    if len(pairs) != n:
        problems.append(f"{len(pairs)} distinct (A, B) pairs, expected {n}")
    if wrong:
        problems.append(f"{wrong} answers are not A + B")
    return problems
