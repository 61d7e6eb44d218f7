"""Symbolic equivalence of two SymPy expressions: proofs first, then a seeded exact-ish numeric check.

Decision rules (what each verdict rests on):

* **correct, proved**: the expressions are structurally equal, or their difference
  ``d = expected - response`` becomes 0 under SymPy's evaluation, ``expand``, ``cancel`` (rational
  functions), ``expand(trig=True)`` / ``trigsimp`` (only when trigonometric or hyperbolic
  functions occur) or finally ``simplify``, all using the symbols' assumptions. The numeric
  check runs *before* these steps, so a wrong answer never pays for ``simplify``.
* **incorrect, proved**: at a sample point of the declared domain where both sides are defined,
  either the expected value is real and the response is not, or ``d`` evaluates to a nonzero
  (real or complex) value that is *stable* under increasing precision (60 → 120 → 240 digits
  with mpmath), i.e. not rounding noise. Where the expected value is complex (``sqrt(x)`` at a
  negative real ``x``) both sides are compared as complex numbers, on the principal branches
  SymPy uses (``sqrt``, ``log``, ``x^(1/3)``, ``(a^b)^c``), so a real variable keeps its whole
  domain: ``sqrt(x)`` and ``sqrt(Abs(x))`` differ, and agree when ``x`` is declared positive.
  A simplification of ``d`` to a nonzero rational number is also a proof (it catches
  differences below 10^-200 that look like noise). These steps are
  skipped when a symbolic base is raised beyond the 256th power (``(x-a)^6000``): every one of
  them would expand it, and the numeric check decides alone.
* **correct, numeric**: no proof either way, but at least ``MIN_POINTS`` (8) valid points agree
  (``d`` is exactly 0 or shrinks with precision like rounding noise, which implies agreement to
  far more than 40 digits), and at most a quarter as many points had a value on one side only
  (``Max(sqrt(x), 0)`` has none at a negative real ``x``, ``Max(sqrt(Abs(x)), 0)`` has one).
  This is evidence, not proof: two functions that agree on the whole
  sample box but differ outside it would be accepted. It is only claimed when every attempted
  simplification was inconclusive (nonzero symbolic residue, or out of time budget).
* **undecided**: fewer than 8 valid points and no proof (e.g. the response is undefined on most
  of the domain), more points with a value on one side only than a quarter of the valid ones
  (the agreement covers only part of the domain), or an expression mpmath cannot evaluate.

Sample domains, per symbol assumption: positive integer → integers in [1, 50]; integer →
[-20, 20]; positive → rationals in (0, 10]; nonnegative → [0, 10]; real or none → [-10, 10].
If fewer than 8 points are valid after 40 attempts, 40 more are drawn from a box ten times
smaller (non-integer symbols only). Points come from ``random.Random(seed)``, never the global
RNG. Points where either side is undefined (pole, log(0), overflow beyond 2^(2^20), ``Max`` or
``Min`` of a complex value) are skipped, and counted when only one side is. Without symbols there
is a single value; agreement there to 240 digits, without a proof, counts as numeric evidence.

Expensive SymPy steps run under an optional soft time budget (a ``SIGALRM`` timer, only in the
main thread); the hard stop is the caller's job (``engine.grading.checker.sandbox``).
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import mpmath
import sympy
from sympy.functions.elementary.hyperbolic import HyperbolicFunction
from sympy.functions.elementary.trigonometric import TrigonometricFunction

__all__ = ["MIN_POINTS", "Equivalence", "equivalent", "evaluate_mp", "sample_value"]

MIN_POINTS = 8
_TARGET_POINTS = 12
_MAX_ATTEMPTS = 40
_PRECISIONS = (60, 120, 240)
_STABLE = mpmath.mpf(10) ** -45  # relative change allowed between two precisions
_SHRINK = mpmath.mpf(10) ** -40  # a noisy zero loses at least this factor when digits double
_MAX_MAG = 2**20  # values beyond 2^(2^20) count as overflow (undefined)
_PROOF_DEGREE = 256  # expanding (x-a)^256 - (a-x)^256 takes about 0.2 s; higher powers are not proved

Status = Literal["correct", "incorrect", "undecided"]


@dataclass(frozen=True)
class Equivalence:
    """Outcome of ``equivalent``: the status and what it rests on."""

    status: Status
    reason: str  # identical | simplified | numeric | numeric-mismatch | not-real | few-points | one-sided
    points: int = 0  # valid sample points used
    one_sided: int = 0  # sample points where only one side has a value


class Undefined(Exception):
    """The expression has no finite value at this point."""


class _Budget(Exception):
    """The soft time budget of a SymPy step ran out."""


_local = threading.local()


def _ctx() -> Any:
    """This thread's own mpmath context: precision changes never touch ``mpmath.mp``."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _local.ctx = mpmath.MPContext()
    return ctx


def _unary(name: str) -> Callable[[Any, Any], Any]:
    return lambda ctx, v: getattr(ctx, name)(v)


_FUNCTIONS: dict[Any, Callable[[Any, Any], Any]] = {
    sympy.exp: _unary("exp"),
    sympy.log: _unary("ln"),
    **{
        getattr(sympy, name): _unary(name)
        for name in (
            "sin cos tan sec csc cot asin acos atan asec acsc acot sinh cosh tanh asinh acosh atanh"
        ).split()
    },
    sympy.Abs: lambda ctx, v: abs(v),
    sympy.sign: lambda ctx, v: ctx.sign(v) if not isinstance(v, ctx.mpc) else v / abs(v),
    sympy.factorial: _unary("factorial"),
}


def evaluate_mp(expr: sympy.Expr, env: Mapping[sympy.Symbol, Fraction], dps: int) -> Any:
    """Value of ``expr`` (mpf, or mpc when not real) at ``env`` with ``dps`` digits.

    Walks the SymPy tree itself instead of substituting: substitution would make SymPy evaluate
    exactly (``10**(10**n)`` at n = 50 never finishes), while mpmath keeps magnitudes cheap.

    Raises:
        Undefined: a pole, log(0), an overflow or a node mpmath cannot evaluate.
    """
    ctx = _ctx()
    ctx.dps = dps
    values = {sym: ctx.mpf(q.numerator) / q.denominator for sym, q in env.items()}
    try:
        value = _walk(expr, values, ctx)
    except (ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
        raise Undefined from None
    if not ctx.isfinite(value):
        raise Undefined
    return value


def _walk(expr: sympy.Basic, values: Mapping[sympy.Symbol, Any], ctx: Any) -> Any:
    if expr.is_Symbol:
        if expr not in values:
            raise Undefined
        return values[expr]
    if expr.is_Rational:
        return ctx.mpf(int(expr.p)) / int(expr.q) if expr.q != 1 else ctx.mpf(int(expr.p))
    if expr.is_Float:
        return ctx.mpf(expr._mpf_)
    if expr is sympy.pi:
        return +ctx.pi
    if expr is sympy.E:
        return +ctx.e
    if expr is sympy.I:
        return ctx.mpc(0, 1)
    if expr.is_Add:
        total = ctx.mpf(0)
        for arg in expr.args:
            total += _walk(arg, values, ctx)
        return _checked(total, ctx)
    if expr.is_Mul:
        product = ctx.mpf(1)
        for arg in expr.args:
            product *= _walk(arg, values, ctx)
        return _checked(product, ctx)
    if expr.is_Pow:
        base = _walk(expr.base, values, ctx)
        exponent = expr.exp
        if exponent is sympy.S.Half:
            return ctx.sqrt(base)
        if exponent.is_Integer:
            if base == 0 and exponent < 0:
                raise Undefined
            return _checked(ctx.power(base, int(exponent)), ctx)
        return _checked(ctx.power(base, _walk(exponent, values, ctx)), ctx)
    func = expr.func
    if func is sympy.binomial:
        n, k = (_walk(arg, values, ctx) for arg in expr.args)
        return _checked(ctx.binomial(n, k), ctx)
    if func is sympy.Max or func is sympy.Min:
        args = [_real(_walk(arg, values, ctx), ctx) for arg in expr.args]
        return max(args) if func is sympy.Max else min(args)
    if func is sympy.floor or func is sympy.ceiling:
        value = _walk(expr.args[0], values, ctx)
        if isinstance(value, ctx.mpc):  # SymPy rounds each part: floor(x + iy) = floor(x) + i floor(y)
            down = func is sympy.floor
            return ctx.mpc(_rounded(value.real, down, ctx), _rounded(value.imag, down, ctx))
        return _rounded(value, func is sympy.floor, ctx)
    handler = _FUNCTIONS.get(func)
    if handler is None or len(expr.args) != 1:
        raise Undefined  # not a node our parser produces; refuse rather than guess
    return _checked(handler(ctx, _walk(expr.args[0], values, ctx)), ctx)


def _real(value: Any, ctx: Any) -> Any:
    if isinstance(value, ctx.mpc):
        raise Undefined  # Max and Min are defined on real numbers only
    return value


def _rounded(value: Any, down: bool, ctx: Any) -> Any:
    """floor or ceiling of an approximation; a point whose value lies too near an integer, but
    not on it, cannot be rounded with confidence and is skipped."""
    nearest = ctx.nint(value)
    if value != nearest and abs(value - nearest) <= ctx.mpf(10) ** (-(ctx.dps // 2)):
        raise Undefined
    return ctx.floor(value) if down else ctx.ceil(value)


def _checked(value: Any, ctx: Any) -> Any:
    if not ctx.isfinite(value):
        raise Undefined
    if value != 0 and ctx.mag(value) > _MAX_MAG:
        raise Undefined  # keeps the next operation from needing astronomically many bits
    return value


def sample_value(symbol: sympy.Symbol, rng: random.Random, scale: int = 1) -> Fraction:
    """A random point of the symbol's declared domain, shrunk by ``scale`` (see module docstring)."""
    if symbol.is_integer:
        return Fraction(rng.randint(1, 50) if symbol.is_positive else rng.randint(-20, 20))
    top = 1_000_000 // scale
    if symbol.is_positive:
        return Fraction(rng.randint(1, top), 100_000)
    if symbol.is_nonnegative:
        return Fraction(rng.randint(0, top), 100_000)
    return Fraction(rng.randint(-top, top), 100_000)


def _is_real(value: Any, ctx: Any) -> bool:
    if not isinstance(value, ctx.mpc):
        return True
    return bool(abs(value.imag) <= _STABLE * abs(value))


def _settle(
    expr: sympy.Expr, env: Mapping[sympy.Symbol, Fraction]
) -> Literal["zero", "nonzero", "unstable"]:
    """Whether ``expr`` is 0 at ``env``, telling rounding noise from a true (even tiny) value."""
    previous = evaluate_mp(expr, env, _PRECISIONS[0])
    if previous == 0:
        return "zero"
    for dps in _PRECISIONS[1:]:
        current = evaluate_mp(expr, env, dps)
        if current == 0:
            return "zero"
        size = abs(current)
        if abs(current - previous) <= _STABLE * size:
            return "nonzero"
        if size <= _SHRINK * abs(previous):
            return "zero"
        previous = current
    return "unstable"


@contextmanager
def _budget(seconds: float | None) -> Iterator[None]:
    """Raise ``_Budget`` inside the block after ``seconds`` (main thread, no other timer)."""
    usable = (
        seconds is not None
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )
    if not usable:
        yield
        return

    armed = [True]

    def _expire(signum: int, frame: Any) -> None:
        if armed[0]:  # a late signal during clean-up must not escape as _Budget
            raise _Budget

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds or 0.0, 0.001))
    try:
        yield
    finally:
        try:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def _numeric(
    expected: sympy.Expr,
    response: sympy.Expr,
    diff: sympy.Expr,
    symbols: list[sympy.Symbol],
    seed: int,
) -> Equivalence:
    rng = random.Random(seed)
    ctx = _ctx()
    valid = one_sided = 0
    # A second pass in a box ten times smaller rescues expressions that are only defined near 0
    # (floor or Max of sqrt(1 - x^2) for real x).
    schedule = [1] if not symbols else [1] * _MAX_ATTEMPTS + [10] * _MAX_ATTEMPTS
    for attempt, scale in enumerate(schedule):
        if attempt == _MAX_ATTEMPTS and valid >= MIN_POINTS:
            break
        env = {sym: sample_value(sym, rng, scale) for sym in symbols}
        a, b = _value_or_none(expected, env), _value_or_none(response, env)
        if a is None or b is None:
            one_sided += (a is None) != (b is None)
            continue
        # Where the key is not real, the complex values are compared (principal branches):
        # skipping those points would narrow a real variable's domain (sqrt(x) vs sqrt(Abs(x))).
        if _is_real(a, ctx) and not _is_real(b, ctx):
            # Rule out imaginary rounding noise before calling it a mismatch.
            try:
                b_hi = evaluate_mp(response, env, _PRECISIONS[-1])
            except Undefined:
                continue
            if not _is_real(b_hi, ctx):
                return Equivalence("incorrect", "not-real", valid, one_sided)
        try:
            state = _settle(diff, env)
        except Undefined:
            continue
        if state == "nonzero":
            return Equivalence("incorrect", "numeric-mismatch", valid, one_sided)
        if state == "unstable":
            continue
        valid += 1
        if valid >= _TARGET_POINTS:
            break
    if not symbols and valid:
        valid = MIN_POINTS  # a constant has one value; 240 agreeing digits stand for the points
    return Equivalence("undecided", "numeric", valid, one_sided)


def _value_or_none(expr: sympy.Expr, env: Mapping[sympy.Symbol, Fraction]) -> Any:
    try:
        return evaluate_mp(expr, env, _PRECISIONS[0])
    except Undefined:
        return None


def _expand_trig(expr: sympy.Expr) -> sympy.Expr:
    return sympy.expand(expr, trig=True)


def _proof_steps(diff: sympy.Expr) -> list[Callable[[sympy.Expr], sympy.Expr]]:
    """Cheap rewrites first; ``simplify`` (often 50-300 ms) only when they did not settle it."""
    steps: list[Callable[[sympy.Expr], sympy.Expr]] = [sympy.expand, sympy.cancel]
    if diff.has(TrigonometricFunction, HyperbolicFunction):
        steps += [_expand_trig, sympy.trigsimp]
    return [*steps, sympy.simplify]


def _high_degree(expr: sympy.Expr) -> bool:
    """Whether ``expr`` raises a symbolic base beyond ``_PROOF_DEGREE``."""
    return any(
        p.exp.is_Integer and abs(int(p.exp)) > _PROOF_DEGREE and not p.base.is_number
        for p in expr.atoms(sympy.Pow)
    )


def _prove(diff: sympy.Expr, budget: float | None) -> Status | None:
    """'correct' / 'incorrect' when a simplification settles ``diff``, else None."""
    if _high_degree(diff):  # each step would expand it: quadratic in the degree, 2 s at 6000
        return None
    deadline = None if budget is None else time.monotonic() + budget
    for step in _proof_steps(diff):
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return None
        try:
            with _budget(remaining):
                reduced = step(diff)
        except _Budget:
            return None
        except (RecursionError, ValueError, TypeError, ArithmeticError, NotImplementedError,
                sympy.PolynomialError, AttributeError):  # fmt: skip
            continue  # ArithmeticError: ZeroDivisionError, and OverflowError on huge constants
        if reduced == 0:
            return "correct"
        if reduced.is_Rational:
            return "incorrect"
    return None


def equivalent(
    expected: sympy.Expr,
    response: sympy.Expr,
    symbols: Mapping[str, sympy.Symbol] | None = None,
    *,
    seed: int = 0,
    budget: float | None = 1.0,
    prove: bool = True,
) -> Equivalence:
    """Decide whether ``response`` equals ``expected`` on the declared domain.

    ``symbols`` fixes the sampling order (free symbols not listed are sampled too, from their own
    assumptions). ``budget`` is the soft time limit, in seconds, for the simplification steps;
    ``prove=False`` skips them (enough to recognise a known distractor).
    """
    if expected == response:
        return Equivalence("correct", "identical")
    diff = sympy.Add(expected, sympy.Mul(sympy.S.NegativeOne, response))
    if diff == 0:
        return Equivalence("correct", "simplified")
    declared = list((symbols or {}).values())
    extra = sorted(
        (expected.free_symbols | response.free_symbols) - set(declared), key=lambda s: s.name
    )
    free = expected.free_symbols | response.free_symbols
    ordered = [s for s in declared if s in free] + extra
    numeric = _numeric(expected, response, diff, ordered, seed)
    if numeric.status == "incorrect":
        return numeric
    if prove:
        proof = _prove(diff, budget)
        if proof is not None:
            return Equivalence(proof, "simplified", numeric.points)
    if numeric.points >= MIN_POINTS and numeric.one_sided * 4 <= numeric.points:
        return Equivalence("correct", "numeric", numeric.points)
    if numeric.points >= MIN_POINTS:
        return Equivalence("undecided", "one-sided", numeric.points, numeric.one_sided)
    return Equivalence("undecided", "few-points", numeric.points)
