"""Times 2 000 formula checks (correct rewrites, distractors, invalid and hostile answers) in a run without the verdict cache.

Run: ``python benchmarks/formula_check.py [--n 2000] [--seed 0]``. Prints the median, p99 and
maximum milliseconds per check and the count per status. Target: median < 20 ms, p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sympy.core.cache import clear_cache  # noqa: E402

from engine.grading.checker import expected as expected_module  # noqa: E402
from engine.grading.checker.compare import Comparer  # noqa: E402
from engine.grading.checker.sandbox import default_sandbox  # noqa: E402
from engine.grading.checker.verdict import CompareRequest  # noqa: E402

POS = {"n_in": "positive_integer", "n_out": "positive_integer"}
REAL = {"x": "real", "y": "real"}


def _he_init(rng: random.Random) -> tuple[str, list[str], list[str], dict[str, str]]:
    k = rng.randint(1, 12)
    expected = f"sqrt({k}/(n_in+n_out))"
    correct = [
        f"sqrt({k})/sqrt(n_in+n_out)",
        f"({k}/(n_in+n_out))^(1/2)",
        f"sqrt({k}/(n_out+n_in))",
        f"({k}/(n_in+n_out))**0.5",
        f"1/sqrt((n_in+n_out)/{k})",
        f"sqrt({2 * k}/(2n_in+2n_out))",
    ]
    wrong = [
        f"sqrt({k}/(n_in*n_out))",
        f"{k}/(n_in+n_out)",
        f"sqrt({k + 1}/(n_in+n_out))",
        f"sqrt({k}/n_in)",
        f"sqrt({k})/(n_in+n_out)",
    ]
    return expected, correct, wrong, POS


def _rational(rng: random.Random) -> tuple[str, list[str], list[str], dict[str, str]]:
    a = rng.randint(1, 9)
    b = a + rng.randint(1, 5)  # a != b, or swapping them would not be wrong
    expected = f"{a}/n_in + {b}/n_out"
    correct = [
        f"({a}n_out + {b}n_in)/(n_in n_out)".replace("n_in n_out", "n_in*n_out"),
        f"{a}*n_in^-1 + {b}*n_out^-1",
        f"{b}/n_out + {a}/n_in",
    ]
    wrong = [f"{a + b}/(n_in+n_out)", f"{a}/n_out + {b}/n_in", f"({a}+{b})/(n_in*n_out)"]
    return expected, correct, wrong, POS


def _polynomial(rng: random.Random) -> tuple[str, list[str], list[str], dict[str, str]]:
    a = rng.randint(1, 9)
    expected = f"(x+{a})^2"
    correct = [f"x^2+{2 * a}x+{a * a}", f"(x+{a})(x+{a})", f"({a}+x)^2"]
    wrong = [f"x^2+{a * a}", f"x^2+{a}x+{a * a}", f"(x-{a})^2"]
    return expected, correct, wrong, REAL


def _trig(rng: random.Random) -> tuple[str, list[str], list[str], dict[str, str]]:
    a = rng.randint(2, 7)
    expected = f"{a}*sin(x)*cos(x)"
    correct = [f"{a}/2*sin(2x)", f"{a}cos(x)sin(x)"]
    wrong = [f"{a}sin(2x)", f"{a}*sin(x)^2"]
    return expected, correct, wrong, REAL


def _exp_log(rng: random.Random) -> tuple[str, list[str], list[str], dict[str, str]]:
    a = rng.randint(2, 9)
    expected = f"exp({a}x)"
    correct = [f"exp(x)^{a}", f"e^({a}x)", f"E^({a}*x)"]
    wrong = [f"{a}exp(x)", f"exp(x+{a})", f"exp(x)^{a + 1}"]
    return expected, correct, wrong, REAL


INVALID = [
    "2*m",
    "n_in n_out",
    "sqrt(6/(n_in+n_out)",
    "sin x",
    "x(1+x)",
    "1,5/n_in",
    "[n_in]",
    "2 3",
    "n_in+",
    "y = 2x",
    "\u03b1 + 1",
    "",
]
HOSTILE = [
    "__import__('os').system('echo hi')",
    "().__class__",
    "lambda: 1",
    "9**9**9**9",
    "factorial(10**9)",
    "10**100**100",
    "(" * 10_000 + "x" + ")" * 10_000,
    "x" * 1_000_000,
    "n_\u0456n",
    "1/0",
    "zoo",
    "sqrt(-1)",
    "(n_in+1)^1000",
    "factorial(n_in^20)",
    "10^(10^n_in)",
]
FAMILIES = [_he_init, _rational, _polynomial, _trig, _exp_log]


def build_requests(n: int, seed: int) -> list[tuple[str, CompareRequest, set[str]]]:
    """A deterministic mix: 40% correct rewrites, 35% wrong/distractor, 15% invalid, 10% hostile.

    Each request comes with the statuses it may rightly get, so the run also checks verdicts.
    """
    rng = random.Random(seed)
    requests = []
    for _ in range(n):
        family = rng.choice(FAMILIES)
        expected, correct, wrong, variables = family(rng)
        roll = rng.random()
        if roll < 0.40:
            category, response, allowed = "rewrite", rng.choice(correct), {"correct"}
        elif roll < 0.75:
            category, response, allowed = "wrong", rng.choice(wrong), {"incorrect"}
        elif roll < 0.90:
            category, response = "invalid", rng.choice(INVALID)
            allowed = {"invalid", "unanswered"}
        else:
            category, response = "hostile", rng.choice(HOSTILE)
            allowed = {"invalid", "incorrect", "undecided"}
        request = CompareRequest(
            kind="formula", expected=expected, response=response, vars=variables
        )
        requests.append((category, request, allowed))
    return requests


def _clear_expected_cache() -> None:
    expected_module.expected_expr.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of checks (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the request mix (default 0)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="clear SymPy's internal cache in the worker before every check (not timed)",
    )
    args = parser.parse_args()

    requests = build_requests(args.n, args.seed)
    default_sandbox().run(int, 0)  # start the worker outside the measurement
    times: list[float] = []
    statuses: Counter[str] = Counter()
    wrong_verdicts = []
    per_category: dict[str, list[float]] = {}
    sandbox = default_sandbox()
    run = Comparer(sandbox, cache_size=0)  # keys prepared once, as in grading; no verdict is reused
    for category, request, allowed in requests:
        if args.cold:
            sandbox.run(clear_cache)
            sandbox.run(_clear_expected_cache)
        start = time.perf_counter()
        verdict = run.compare(request)
        times.append((time.perf_counter() - start) * 1000)
        per_category.setdefault(category, []).append(times[-1])
        statuses[verdict.status] += 1
        if verdict.status not in allowed:
            wrong_verdicts.append((request.expected, request.response[:60], verdict.status))
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"checks: {len(times)}  total: {sum(times) / 1000:.1f} s")
    print(f"median: {statistics.median(times):.2f} ms  p99: {p99:.2f} ms  max: {times[-1]:.2f} ms")
    for category, values in per_category.items():
        values.sort()
        print(
            f"  {category:8} n={len(values):4}  median {statistics.median(values):6.2f} ms"
            f"  max {values[-1]:7.2f} ms"
        )
    print("statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    print(f"unexpected verdicts: {len(wrong_verdicts)}")
    for expected, response, status in wrong_verdicts[:10]:
        print(f"  {expected} vs {response}: {status}")


if __name__ == "__main__":
    main()
