"""Moodle's reading of a Cloze (multianswer) question text, ported from question/type/multianswer/
questiontype.php (Moodle 4.x): `qtype_multianswer_extract_question` and
`qtype_multianswer_validate_question`, with PCRE's patterns as Python's `re` reads them (a
look-behind of alternatives of different widths written as one look-behind per alternative)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = f"({FRACTION})?({ANSWER})(#({FEEDBACK}))?"
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = re.compile(f"^({NUMBER})(:{NUMBER})?$", re.S)
TYPES = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|"
         "(SHORTANSWER|SA|MW)|(SHORTANSWER_C|SAC|MWC)|"
         "(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
         "(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
SUBQUESTION = re.compile(r"\{([0-9]*):(" + TYPES + "):(" + ALTERNATIVE + "(~" + ALTERNATIVE + r")*)\}", re.S)
ALTERNATIVES_GROUP = 16
# Type groups: 3 numerical, 4..6 and 9..11 multichoice (one answer), 7..8 short answer, 12..15 multiresponse.
_NUMERICAL, _SHORT, _MULTI, _RESPONSE = {3}, {7, 8}, {4, 5, 6, 9, 10, 11}, {12, 13, 14, 15}
_ALTERNATIVE = re.compile("~?" + ALTERNATIVE, re.S)


@dataclass
class SubAnswer:
    text: str
    fraction: float
    feedback: str
    tolerance: str | None = None


@dataclass
class SubQuestion:
    qtype: str  # numerical, multichoice, shortanswer
    mark: str
    answers: list[SubAnswer] = field(default_factory=list)
    layout: int = 0  # the type group that matched
    single: bool = True


def _decode(text: str) -> str:
    return html.unescape(text).replace("\\}", "}").replace("\\#", "#")


def extract(text: str) -> tuple[str, list[SubQuestion]]:
    """The question text with `{#n}` placeholders and its sub-questions, as Moodle stores them."""
    subs: list[SubQuestion] = []
    while (match := SUBQUESTION.search(text)) is not None:
        group = next(i for i in range(3, 16) if match.group(i))
        qtype = "numerical" if group in _NUMERICAL else "shortanswer" if group in _SHORT else "multichoice"
        sub = SubQuestion(qtype, match.group(1) or "1", layout=group, single=group not in _RESPONSE)
        remaining = match.group(ALTERNATIVES_GROUP)
        while (alt := _ALTERNATIVE.search(remaining)) is not None:
            fraction = 1.0 if alt.group(1) == "=" else 0.01 * float(alt.group(2).replace(",", ".")) if alt.group(2) \
                else 0.0
            feedback = _decode(alt.group(5)) if alt.group(4) is not None else ""
            number = NUMERICAL_ALTERNATIVE.search(alt.group(3)) if qtype == "numerical" else None
            if number is not None:
                sub.answers.append(SubAnswer(number.group(1), fraction, feedback, number.group(6) or "0"))
            else:
                sub.answers.append(SubAnswer(_decode(alt.group(3)), fraction, feedback))
            remaining = remaining.split(alt.group(0), 1)[1]
        subs.append(sub)
        text = text.replace(match.group(0), f"{{#{len(subs)}}}", 1)
    return text, subs


def validate(subs: list[SubQuestion]) -> list[str]:
    """qtype_multianswer_validate_question's errors."""
    if not subs:
        return ["questionsmissing"]
    errors = []
    for n, sub in enumerate(subs, start=1):
        answered = [a for a in sub.answers if a.text.strip()]
        for a in answered:
            if sub.qtype == "numerical" and not (NUMERICAL_ALTERNATIVE.match(a.text.strip()) or a.text.strip() == "*"):
                errors.append(f"sub_{n}: answermustbenumberorstar")
        full = any(a.fraction == 1 for a in answered) or (not sub.single and any(a.fraction > 0 for a in answered))
        if sub.qtype == "multichoice" and len(answered) < 2:
            errors.append(f"sub_{n}: notenoughanswers")
        elif not answered:
            errors.append(f"sub_{n}: notenoughanswers")
        elif not full:
            errors.append(f"sub_{n}: fractionsnomax")
    return errors
