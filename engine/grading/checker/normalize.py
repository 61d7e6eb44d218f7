"""Normalisation of raw student answers per kind (choice, true/false, integer, numeric) and tolerance checks.

Every ``normalize_*`` function takes the raw string and returns the normalised value, or raises
``Unanswered`` (blank or whitespace-only: a distinct outcome, not a mistake) or
``NormalizeError`` (a malformed answer; ``message`` is written for the student and never echoes
more than a short, safe part of the input). Numbers are exact: ``Decimal`` or ``Fraction``,
never ``float``.

Decisions:

* Unicode: NFKC first (full-width ``１`` → ``1``, ``①`` → ``1``, ``⑴`` → ``(1)``), U+2212 minus
  → ``-``; answers longer than 200 characters are rejected before any normalisation.
* choice: ``1``, `` 1 ``, ``①``, ``(1)``, ``1.``, ``1)`` → 1. Letters (``a``, ``b``) are
  rejected: their mapping to numbers depends on how the options were printed, and ``O``/``X``
  would collide with true/false answers.
* options (select all that apply): see ``options``.
* true_false: ``1``/``①``/``true``/``t``/``yes``/``o``/``○`` → True and
  ``2``/``②``/``false``/``f``/``no``/``x``/``×``/``✕``/``✗`` → False, any case (1 and 2 follow
  the ①/② convention). ``0`` is ambiguous (false in C, "first" elsewhere) and rejected.
* integer: ``10``, ``+10``, ``−10``, ``10.0`` and ``1e1`` are accepted when the value is an
  integer (``10.5`` → "not an integer"). ``1,000`` and ``1 000`` are rejected: a comma is a
  thousands separator in some locales and a decimal mark in others.
* numeric: ``0.1095``, ``.1095``, ``-.5``, ``5.``, ``1.2e-3``, ``1.2E-3`` → ``Decimal`` and
  ``p/q`` → ``Fraction``. ``0,5`` → "use a point as decimal separator". NaN, infinities and
  ``%`` are rejected; at most 50 significant digits and a decimal exponent within ±1000, so
  converting to an exact fraction is always cheap.
* tolerance: ``|r − e| <= tol`` (absolute) or ``|r − e| <= tol·|e|`` (relative), inclusive and
  exact. A rational expected value is compared with ``Fraction`` arithmetic. An irrational one
  (``sqrt(6/10)``) is compared by evaluating ``bound − |r − e|`` with mpmath at 60, 200 and then
  1000 digits until its sign is clear of the rounding error; a value indistinguishable from the
  boundary at 1000 digits is tested for exact equality with SymPy (equal → accepted).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from engine.errors import QuizwrightError
from engine.language.tokens import DECIMAL
from engine.tolerance import Tolerance

if TYPE_CHECKING:  # imported where the worker uses it: answers settled here never load SymPy
    import sympy

__all__ = [
    "MAX_ANSWER_LENGTH",
    "NormalizeError",
    "Unanswered",
    "canonical_number",
    "prepare",
    "normalize_choice",
    "normalize_integer",
    "normalize_numeric",
    "normalize_true_false",
    "parse_tolerance",
    "to_fraction",
    "within_approximation",
    "within_tolerance",
]

MAX_ANSWER_LENGTH = 200
MAX_SIGNIFICANT_DIGITS = 50
MAX_DECIMAL_EXPONENT = 1000


class NormalizeError(QuizwrightError):
    """A malformed answer; ``message`` is the student-facing explanation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unanswered(QuizwrightError):
    """The answer is blank (kept apart from malformed answers on purpose)."""


_MINUS = {"\u2212": "-"}
_DECIMAL_RE = re.compile(r"([+-]?)" + DECIMAL)  # sign, then the grammar's decimal literal
_FRACTION_RE = re.compile(r"([+-]?)(\d+)\s*/\s*(\d+)")
_NOT_FINITE = {"nan", "inf", "infinity", "+inf", "-inf", "+infinity", "-infinity", "∞", "-∞"}


def prepare(raw: str) -> str:
    if not isinstance(raw, str):
        raise NormalizeError("the answer must be text")
    if len(raw) > MAX_ANSWER_LENGTH:
        raise NormalizeError(f"answer too long (at most {MAX_ANSWER_LENGTH} characters)")
    text = unicodedata.normalize("NFKC", raw)
    for minus, ascii_minus in _MINUS.items():  # str.replace: a per-character join was the hot spot
        text = text.replace(minus, ascii_minus)
    text = text.strip()
    if not text:
        raise Unanswered
    return text


# ---------------------------------------------------------------------------------------------
# choice and true/false

_CHOICE_RE = re.compile(r"\(\s*(\d+)\s*\)|(\d+)\s*[.)]?")


def normalize_choice(raw: str, options: int) -> int:
    """Option number 1..``options`` of a single-choice answer.

    Raises:
        Unanswered: blank answer.
        NormalizeError: not a single option number, or out of range.
        ValueError: ``options`` < 1 (a configuration mistake).
    """
    if options < 1:
        raise ValueError("a choice question needs at least one option")
    text = prepare(raw)
    match = _CHOICE_RE.fullmatch(text)
    if match is None:
        if text.isalpha() and len(text) == 1:
            raise NormalizeError(f"answer with the option number (1–{options}), not a letter")
        if len(re.findall(r"\d+", text)) > 1:
            raise NormalizeError("give exactly one option number")
        raise NormalizeError(f"answer with an option number (1–{options})")
    digits = match.group(1) or match.group(2)
    if len(digits) > 9 or not 1 <= int(digits) <= options:
        shown = f" {int(digits)}" if len(digits) <= 9 else ""
        raise NormalizeError(f"option{shown} does not exist (1–{options})")
    return int(digits)


_TRUE = {"1", "true", "t", "yes", "o", "○", "◯"}
_FALSE = {"2", "false", "f", "no", "x", "×", "✕", "✗"}


def normalize_true_false(raw: str) -> bool:
    """True or False from 1/2, ①/②, true/false, T/F, O/X or yes/no (any case).

    Raises:
        Unanswered: blank answer.
        NormalizeError: anything else, including the ambiguous ``0``.
    """
    text = prepare(raw).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text == "0":
        raise NormalizeError("0 is ambiguous: answer 1 (true) or 2 (false)")
    raise NormalizeError("answer true or false (or 1 = true, 2 = false)")


# ---------------------------------------------------------------------------------------------
# numbers


def _number_error(text: str) -> NormalizeError:
    low = text.casefold()
    if low in _NOT_FINITE:
        return NormalizeError("not a finite number")
    if "," in text:
        if re.fullmatch(r"[+-]?\d+,\d+", text) and not re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", text):
            return NormalizeError("use a point as decimal separator (0.5, not 0,5)")
        return NormalizeError(
            "commas are ambiguous: write numbers without thousands separators, "
            "with a point for decimals"
        )
    if "%" in text:
        return NormalizeError("write the number without %")
    if re.fullmatch(r"[+-]?[\d.]+(\s+[\d.]+)+", text) or re.fullmatch(r"[+-]\s+[\d.]+", text):
        return NormalizeError("remove the spaces inside the number")
    return NormalizeError("not a number (write digits like 0.25 or -1.5e-3)")


def _parse_decimal(text: str) -> Decimal:
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        raise _number_error(text)
    mantissa = match.group(2)
    significant = mantissa.replace(".", "").lstrip("0")
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        raise NormalizeError(f"too many digits (at most {MAX_SIGNIFICANT_DIGITS})")
    exponent = match.group(3)
    if exponent is not None and len(exponent.lstrip("+-").lstrip("0")) > 6:
        raise NormalizeError("number out of range")
    value = Decimal(text)
    if value != 0 and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise NormalizeError("number out of range")
    return value


def normalize_integer(raw: str) -> int:
    """An integer answer; ``10.0`` and ``1e1`` count when their value is an integer.

    Raises:
        Unanswered: blank answer.
        NormalizeError: not a number, not an integer, or an ambiguous separator.
    """
    text = prepare(raw)
    value = _parse_decimal(text)
    if value != value.to_integral_value():
        raise NormalizeError("not an integer")
    if value.adjusted() > MAX_SIGNIFICANT_DIGITS:
        raise NormalizeError("number out of range")
    return int(value)


def normalize_numeric(raw: str) -> Decimal | Fraction:
    """An exact number: ``Decimal`` for decimal notation, ``Fraction`` for ``p/q``.

    Raises:
        Unanswered: blank answer.
        NormalizeError: not a finite number in decimal or fraction notation.
    """
    text = prepare(raw)
    match = _FRACTION_RE.fullmatch(text)
    if match is not None:
        sign, num, den = match.groups()
        if max(len(num), len(den)) > MAX_SIGNIFICANT_DIGITS:
            raise NormalizeError(f"too many digits (at most {MAX_SIGNIFICANT_DIGITS})")
        if int(den) == 0:
            raise NormalizeError("division by zero")
        return Fraction(int(sign + num), int(den))
    return _parse_decimal(text)


def canonical_number(value: int | Decimal | Fraction) -> str:
    """Short canonical text of an exact number (``1.2e-3`` → ``0.0012``, ``-0`` → ``0``)."""
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    normal = value.normalize()
    if -30 <= normal.adjusted() <= 30:
        return format(normal, "f")
    return str(normal)


# ---------------------------------------------------------------------------------------------
# tolerance


def to_fraction(value: Any) -> Fraction:
    """Exact Fraction of an int, Decimal, Fraction, decimal string or SymPy rational.

    Floats are converted through their shortest ``repr`` (the decimal a JSON number was written
    as), never through binary arithmetic.

    Raises:
        ValueError: not a finite rational value.
    """
    if isinstance(value, bool):
        raise ValueError("a truth value is not a number")
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value[:40]!r}") from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        if value != 0 and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise ValueError("number out of range")
        return Fraction(value)
    import sympy  # only a SymPy value gets this far (anything else is refused)

    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, sympy.Float):
        return to_fraction(sympy.Rational(value))
    raise ValueError(f"not a rational number: {type(value).__name__}")


def parse_tolerance(tolerance: Mapping[str, Any] | None) -> tuple[str, Fraction] | None:
    """``("absolute" | "relative", tol)`` from ``{"absolute": "0.005"}`` / ``{"relative": 0.01}``.

    Raises:
        ValueError: not exactly one of the two keys, or a negative/non-finite value.
    """
    if tolerance is None:
        return None
    model = Tolerance.model_validate(tolerance)  # a ValidationError is a ValueError
    return model.kind, to_fraction(model.text)


def within_tolerance(
    response: Fraction | Decimal | int,
    expected: Any,
    tolerance: Mapping[str, Any] | tuple[str, Fraction] | None,
) -> bool:
    """Whether ``response`` is within ``tolerance`` of ``expected`` (exact, boundary included).

    ``expected`` may be a rational (int, Decimal, Fraction, SymPy rational) or any real SymPy
    number such as ``sqrt(6/10)``; ``tolerance`` None means exact equality, a tuple is one
    ``parse_tolerance`` already read.
    """
    r = to_fraction(response)
    tol = tolerance if isinstance(tolerance, tuple) else parse_tolerance(tolerance)
    try:
        e = to_fraction(expected)
    except ValueError:
        import sympy

        if not isinstance(expected, sympy.Expr) or not expected.is_number:
            raise
        return _within_irrational(r, expected, tol)
    if tol is None:
        return r == e
    kind, t = tol
    bound = t if kind == "absolute" else t * abs(e)
    return abs(r - e) <= bound


def _within_irrational(r: Fraction, e: sympy.Expr, tol: tuple[str, Fraction] | None) -> bool:
    import sympy

    fast = _fast_within(r, e, tol)
    if fast is not None:
        return fast
    r_sym = sympy.Rational(r.numerator, r.denominator)
    if tol is None:
        gap = sympy.Add(e, -r_sym)  # within tolerance 0 <=> the gap is exactly zero
        return _is_zero(gap)
    kind, t = tol
    t_sym = sympy.Rational(t.numerator, t.denominator)
    bound = t_sym if kind == "absolute" else t_sym * sympy.Abs(e)
    margin = bound - sympy.Abs(r_sym - e)
    sign = _sign(margin, scale=max(abs(r), Fraction(1), t))
    if sign is None:
        return _is_zero(margin) or _last_sign(margin) >= 0
    return sign >= 0


def _approximation(e: sympy.Expr) -> Fraction:
    """``e`` to 60 digits as a Fraction (the real part: rounding can leave an imaginary one)."""
    from mpmath.libmp import to_rational

    from engine.grading.checker.equivalence import evaluate_mp

    v = evaluate_mp(e, {}, 60)
    p, q = to_rational(v.context.re(v)._mpf_)
    return Fraction(p, q)


def _fast_within(r: Fraction, e: sympy.Expr, tol: tuple[str, Fraction] | None) -> bool | None:
    """The first rung of the ladder without building ``bound − |r − e|`` in SymPy (that costs ms)."""
    from engine.grading.checker.equivalence import Undefined

    try:
        v = _approximation(e)
    except Undefined:
        raise ValueError("the expected value is not a finite real number") from None
    return within_approximation(r, v, Fraction(0), tol)


def within_approximation(
    response: Fraction, approx: Fraction, error: Fraction, tolerance: tuple[str, Fraction] | None
) -> bool | None:
    """``within_tolerance`` from a 60-digit (or better) ``approx`` with |approx − exact| <= ``error``;
    None when the margin is within the rounding noise (the exact ladder must decide)."""
    t = tolerance[1] if tolerance else Fraction(0)
    # 60 digits leave about 45 trustworthy ones; the margin moves by at most (1 + t) · error.
    slack = (1 + max(abs(response), Fraction(1), t)) / 10**45 + 4 * (1 + t) * error
    if tolerance is None:
        return False if abs(response - approx) > slack else None
    bound = t if tolerance[0] == "absolute" else t * abs(approx)
    margin = bound - abs(response - approx)
    if abs(margin) > slack:
        return margin > 0
    return None


def _sign(value: sympy.Expr, *, scale: Fraction) -> int | None:
    """Sign of a constant when it clears the rounding error at some precision in the ladder."""
    import mpmath

    from engine.grading.checker.equivalence import Undefined, evaluate_mp

    for dps in (60, 200, 1000):
        try:
            v = evaluate_mp(value, {}, dps)
        except Undefined:
            raise ValueError("the expected value is not a finite real number") from None
        v = v.real  # rounding can leave a tiny imaginary part; the sign is about the real one
        # Not float(scale): a response near 10^1000 would overflow it.
        noise = mpmath.mpf(10) ** (15 - dps) * (1 + mpmath.mpf(scale.numerator) / scale.denominator)
        if abs(v) > noise:
            return 1 if v > 0 else -1
    return None


def _last_sign(value: sympy.Expr) -> int:
    from engine.grading.checker.equivalence import evaluate_mp

    v = evaluate_mp(value, {}, 1000)
    return 1 if v > 0 else (-1 if v < 0 else 0)


def _is_zero(value: sympy.Expr) -> bool:
    import sympy

    if value == 0:
        return True
    if _sign(value, scale=Fraction(1)) is not None:
        return False
    return bool(sympy.simplify(value) == 0)
