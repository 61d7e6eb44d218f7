"""The allow-lists of the expression grammar: which functions (with arities), constants and syntax
authors and students may use. The students' list is a declared subset of the authors'.

Authors (templates) get relations, logic, ``%`` and conditionals for constraints; students get
``^``, implicit multiplication and Unicode operators. Everything a student may write, an author
may write too, with the same meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Arity = tuple[int, int | None]  # (fewest, most) arguments; None: no upper bound


@dataclass(frozen=True, slots=True)
class Function:
    """A callable name: its canonical name, arity and whether students may call it."""

    canonical: str
    arity: Arity
    student: bool


_ONE: Arity = (1, 1)
_TWO: Arity = (2, 2)
_MANY: Arity = (0, None)

_STUDENT_TABLE: dict[str, Arity] = {
    "sqrt": _ONE, "exp": _ONE, "log": (1, 2),
    "sin": _ONE, "cos": _ONE, "tan": _ONE, "sec": _ONE, "csc": _ONE, "cot": _ONE,
    "asin": _ONE, "acos": _ONE, "atan": _ONE, "asec": _ONE, "acsc": _ONE, "acot": _ONE,
    "sinh": _ONE, "cosh": _ONE, "tanh": _ONE, "asinh": _ONE, "acosh": _ONE, "atanh": _ONE,
    "Abs": _ONE, "sign": _ONE, "factorial": _ONE, "binomial": _TWO,
    "floor": _ONE, "ceiling": _ONE, "Max": (1, None), "Min": (1, None),
}  # fmt: skip
# Author-only: exact-arithmetic helpers and the relations and logic of constraints.
_AUTHOR_TABLE: dict[str, Arity] = {
    "Rational": (1, 2), "Mod": _TWO, "gcd": _MANY, "lcm": _MANY,
    "Eq": _TWO, "Ne": _TWO, "Lt": _TWO, "Le": _TWO, "Gt": _TWO, "Ge": _TWO,
    "And": _MANY, "Or": _MANY, "Not": _ONE,
}  # fmt: skip
_ALIASES: dict[str, str] = {
    "ln": "log",
    "abs": "Abs",
    **{f"arc{name[1:]}": name for name in _STUDENT_TABLE if name.startswith("a") and name != "Abs"},
}

FUNCTIONS: dict[str, Function] = {
    **{name: Function(name, arity, True) for name, arity in _STUDENT_TABLE.items()},
    **{name: Function(name, arity, False) for name, arity in _AUTHOR_TABLE.items()},
}
FUNCTIONS.update({alias: FUNCTIONS[name] for alias, name in _ALIASES.items()})

RELATIONS = frozenset({"Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not"})

# Constant name as written -> canonical constant. A declared name shadows a constant.
STUDENT_CONSTANTS: dict[str, str] = {"pi": "pi", "E": "E", "e": "E"}
AUTHOR_CONSTANTS: dict[str, str] = {**STUDENT_CONSTANTS, "True": "True", "False": "False"}


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one side may write: functions (name as written -> entry), constants, extra syntax."""

    name: str
    functions: dict[str, Function]
    constants: dict[str, str]
    author: bool  # relations, logic, %, conditionals, `**` only; no implicit multiplication

    def allowed_functions(self) -> str:
        """The canonical names, sorted (aliases such as ``ln`` and ``abs`` left out)."""
        return ", ".join(sorted({f.canonical for f in self.functions.values()}))


AUTHOR = Dialect("author", FUNCTIONS, AUTHOR_CONSTANTS, author=True)
STUDENT = Dialect(
    "student", {name: f for name, f in FUNCTIONS.items() if f.student}, STUDENT_CONSTANTS, author=False
)
STUDENT_OPERATORS = "+ - * / ^ (or **)"


def arity_text(name: str, arity: Arity, got: int) -> str:
    """``sin takes 1 argument (got 2)``, ``log takes 1 or 2 arguments (got 3)``."""
    low, high = arity
    if high is None:
        wanted = f"at least {low}"
    elif high == low:
        wanted = str(low)
    else:
        wanted = " or ".join(str(n) for n in range(low, high + 1))
    plural = "" if (low, high) == (1, 1) else "s"
    return f"{name} takes {wanted} argument{plural} (got {got})"


def formula_hint(symbols: Sequence[str]) -> str:
    """The one-line formula syntax hint shown with a formula question (Markdown), its example in
    the question's own symbols: ``a(b+1)`` is a product, the rule students most often guess wrong."""
    hint = "Write the formula in plain text: `*` to multiply, `/` to divide, `^` for powers, `sqrt(...)`, `exp(...)`, `log(...)`"
    if not symbols:
        return hint + "."
    a, b = symbols[0], symbols[1] if len(symbols) > 1 else symbols[0]
    return f"{hint}; `{a}({b}+1)` means `{a}*({b}+1)`."
