"""The two shapes that formula options usually take, kept out of SymPy: a sum of distinct declared
symbols (`n_in`, `n_in + n_out`) and a positive integer over one (`2/n_in`, `2/(n_in + n_out)`).

A bank whose formulas stay in these shapes never imports SymPy, whose import alone costs more
than generating a thousand such variants. Both shapes print exactly as SymPy prints them (`str`
and LaTeX), and equal shapes are equal functions, so equality is structural. Any other
arithmetic on them goes to SymPy (`engine.language.values.to_sympy`), where anything else (a
symbol named `alpha`, `n_in*n_out`, `sqrt(2/n_in)`) is computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# SymPy's LaTeX printer turns these words, in any part of a symbol name, into commands
# (`alpha` -> \alpha, `xhat` -> \hat{x}); a name with one of them is left to SymPy.
_GREEK = frozenset("""alpha beta gamma delta epsilon zeta eta theta iota kappa lambda lamda mu nu xi
    omicron pi rho sigma tau upsilon phi chi khi psi omega""".split())
_OTHER = frozenset("aleph beth daleth gimel ell eth hbar hslash mho wp".split())
_MODIFIERS = ("mathring", "ddddot", "dddot", "ddot", "dot", "check", "breve", "acute", "grave", "tilde",
              "hat", "bar", "vec", "prime", "prm", "bold", "bm", "cal", "scr", "frak", "norm", "avg",
              "abs", "mag")
# Letters, then optional digits (SymPy makes trailing digits a subscript), then `_part`s.
_NAME = re.compile(r"([A-Za-z]+)([0-9]*)((?:_[A-Za-z0-9]+)*)")


def _plain(part: str) -> bool:
    lower = part.lower()
    if lower in _GREEK or lower in _OTHER or lower.startswith("var"):
        return False
    return not any(lower.endswith(key) and len(lower) > len(key) for key in _MODIFIERS)


def symbol_latex(name: str) -> str | None:
    """SymPy's LaTeX of the symbol `name`, or None when SymPy would translate part of it.

    Example: ``symbol_latex("n_in")`` is ``"n_{in}"``; ``symbol_latex("alpha")`` is None.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    main, digits, rest = match.groups()
    subs = ([digits] if digits else []) + [part for part in rest.split("_") if part]
    if not all(_plain(part) for part in (main, *subs)):
        return None
    return f"{main}_{{{' '.join(subs)}}}" if subs else main


@dataclass(frozen=True, slots=True)
class SymbolSum:
    """s1 + s2 + ...: one or more distinct symbols, each with coefficient 1, sorted by name (as
    SymPy orders them). `symbols` pairs each name with its declared assumption."""

    symbols: tuple[tuple[str, str], ...]

    @classmethod
    def symbol(cls, name: str, assumption: str) -> SymbolSum | None:
        """The symbol itself, or None when SymPy's LaTeX of its name is not plain."""
        return cls(((name, assumption),)) if symbol_latex(name) is not None else None

    def plus(self, other: SymbolSum) -> SymbolSum | None:
        """The sum, or None when a symbol occurs in both (2*n_in is not this shape)."""
        names = {name for name, _ in self.symbols}
        if any(name in names for name, _ in other.symbols):
            return None
        return SymbolSum(tuple(sorted(self.symbols + other.symbols)))

    @property
    def single(self) -> bool:
        return len(self.symbols) == 1

    def __str__(self) -> str:
        return " + ".join(name for name, _ in self.symbols)

    def latex(self) -> str:
        return " + ".join(symbol_latex(name) or name for name, _ in self.symbols)


@dataclass(frozen=True, slots=True)
class Reciprocal:
    """coeff / denominator, coeff a positive integer: `2/n_in`, `2/(n_in + n_out)`."""

    coeff: int
    denominator: SymbolSum

    def __str__(self) -> str:
        below = str(self.denominator)
        return f"{self.coeff}/{below}" if self.denominator.single else f"{self.coeff}/({below})"

    def latex(self) -> str:
        return rf"\frac{{{self.coeff}}}{{{self.denominator.latex()}}}"


SymForm = SymbolSum | Reciprocal  # for isinstance: any value of this module
