"""The shapes that formula options usually take, kept out of SymPy: a sum of distinct declared
symbols (`n_in`, `n_in + n_out`), a positive integer over one (`2/n_in`, `2/(n_in + n_out)`) and
the square root of that when the sum is nonnegative (`sqrt(6)/sqrt(n_in + n_out)`).

A bank whose formulas stay in these shapes never imports SymPy, whose import alone costs more
than generating a thousand such variants. Both shapes print exactly as SymPy prints them (`str`
and LaTeX), and equal shapes are equal functions, so equality is structural. Any other
arithmetic on them goes to SymPy (`engine.language.values.to_sympy`), where anything else (a
symbol named `alpha`, `n_in*n_out`, `sqrt(n_in)`) is computed.
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
# The assumptions that make a symbol, and so a sum of such symbols, nonnegative for SymPy.
_NONNEGATIVE = frozenset({"positive", "nonnegative", "positive_integer"})


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

    @property
    def nonnegative(self) -> bool:
        """Whether SymPy knows the sum is nonnegative (and so takes square roots factor by factor)."""
        return all(assumption in _NONNEGATIVE for _, assumption in self.symbols)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.symbols)

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

    @property
    def names(self) -> frozenset[str]:
        return self.denominator.names


@dataclass(frozen=True, slots=True)
class RootReciprocal:
    """coeff·√radicand / √denominator, the square root of a `Reciprocal` over a nonnegative sum:
    `sqrt(6)/sqrt(n_in + n_out)`, `2/sqrt(n_in)`; coeff a positive integer, radicand squarefree (1 for none)."""

    coeff: int
    radicand: int
    denominator: SymbolSum

    def _numerator(self, times: str, root: str) -> str:
        parts = ([str(self.coeff)] if self.coeff != 1 or self.radicand == 1 else []) + (
            [root.format(self.radicand)] if self.radicand != 1 else [])
        return times.join(parts)

    def __str__(self) -> str:
        return f"{self._numerator('*', 'sqrt({})')}/sqrt({self.denominator})"

    def latex(self) -> str:
        numerator = self._numerator(" ", r"\sqrt{{{}}}")
        return rf"\frac{{{numerator}}}{{\sqrt{{{self.denominator.latex()}}}}}"

    @property
    def names(self) -> frozenset[str]:
        return self.denominator.names


SymForm = SymbolSum | Reciprocal | RootReciprocal  # for isinstance: any value of this module
