"""The weight-init-4 work written the way a teacher must write it for a tool without randomization.

Standard library only: `benchmarks/run.py` imports it to write pymoodef's CSV (before the timed
process), and pastes this whole file into the executable Python code block of the text2qti quiz
(run by text2qti inside the timed process), followed by one call of `print_text2qti(N, SEED)`.

The draws follow shared/benchmarks/weight-init-4.md: A and B independent uniform integers in
[2, 512], drawn separately for xavier_sum and xavier_limit, distinct (A, B) pairs within an
exercise as quizwright makes them (and as text2qti demands: it rejects duplicate questions),
the three he_variance options shuffled per variant, winit_tf always True. The answers are
computed with Python floats, as a teacher's script would: the xavier_limit answer is
`math.sqrt(6 / (A + B))` and its tolerance `0.01 * answer` (Moodle's absolute tolerance).
"""

import csv
import math
import random

LOW, HIGH = 2, 512
SUM_STEM = "When $n_{in} = %d$ and $n_{out} = %d$, what is $n_{in} + n_{out}$ in Xavier initialization?"
LIMIT_STEM = (
    "When $n_{in} = %d$ and $n_{out} = %d$, what is the Xavier uniform limit "
    "$\\sqrt{6/(n_{in}+n_{out})}$?"
)
HE_STEM = "In He initialization, $\\sigma^2$ is?"
HE_OPTIONS = [
    ("$\\frac{2}{n_{in}}$", True, ""),
    ("$\\frac{2}{n_{in} + n_{out}}$", False,
     "That is Xavier's variance (for tanh/sigmoid); He uses the fan-in $n_{in}$ only."),
    ("$\\frac{1}{n_{in}}$", False,
     "That is LeCun's variance $1/n_{in}$: it lacks the factor 2 that compensates ReLU zeroing half "
     "of its inputs."),
]
TF_STEM = "True or false: weight initialization is the process of setting $W$ and $b$ before training."
TF_WRONG = ("Weight initialization is exactly the choice of the starting values of $W$ and $b$, made "
            "before the first training step.")


def _pairs(rng, n):
    """n distinct (A, B) pairs (with repeats only when n exceeds the 511 x 511 possible pairs)."""
    span = HIGH - LOW + 1
    if n <= span * span:
        codes = rng.sample(range(span * span), n)
    else:
        codes = [rng.randrange(span * span) for _ in range(n)]
    return [(LOW + c // span, LOW + c % span) for c in codes]


def draw(n, seed):
    """The parameters of n variants of each question: sums, limits, he orders."""
    rng = random.Random(seed)
    sums = _pairs(rng, n)
    limits = _pairs(rng, n)
    orders = [rng.sample(range(3), 3) for _ in range(n)]
    return sums, limits, orders


def _limit(a, b):
    value = math.sqrt(6 / (a + b))
    return value, 0.01 * value


def csv_rows(n, seed):
    """pymoodef's CSV rows (header first): a numeric answer is `value<|>tolerance`; the correct
    option goes in `answer`, the distractors in `a_1`, `a_2` (pymoodef shuffles them in Moodle)."""
    sums, limits, _ = draw(n, seed)
    header = ["type", "question", "image", "image_alt", "answer", "a_1", "a_2"]
    rows = [header]
    # pymoodef's question text is HTML for MathJax: \( \) instead of $ $
    def tex(text):
        parts = text.split("$")
        return "".join(p if i % 2 == 0 else "\\(" + p + "\\)" for i, p in enumerate(parts))
    for a, b in sums:
        rows.append(["", tex(SUM_STEM % (a, b)), "", "", f"{a + b}<|>0", "", ""])
    for a, b in limits:
        value, tolerance = _limit(a, b)
        rows.append(["", tex(LIMIT_STEM % (a, b)), "", "", f"{value!r}<|>{tolerance!r}", "", ""])
    options = [tex(text) for text, _, _ in HE_OPTIONS]
    for _ in range(n):
        rows.append(["", tex(HE_STEM), "", "", options[0], options[1], options[2]])
    for _ in range(n):
        rows.append(["", tex(TF_STEM), "", "", "True", "", ""])
    return rows


def write_csv(path, n, seed):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(csv_rows(n, seed))


def text2qti_quiz(n, seed):
    """The text2qti quiz: one GROUP (pick 1) per question holding its n variants."""
    sums, limits, orders = draw(n, seed)
    out = []

    group = "GROUP\npick: 1\npoints per question: 1\n\n"
    out.append(group)
    for i, (a, b) in enumerate(sums, 1):
        out.append(f"Title: xavier_sum {i}\n1.  {SUM_STEM % (a, b)}\n"
                   f"... $n_{{in}} + n_{{out}} = {a} + {b} = {a + b}$.\n=   {a + b}\n\n")
    out.append("END_GROUP\n\n")
    out.append(group)
    for i, (a, b) in enumerate(limits, 1):
        value, tolerance = _limit(a, b)
        out.append(f"Title: xavier_limit {i}\n1.  {LIMIT_STEM % (a, b)}\n"
                   f"... $\\sqrt{{6/({a} + {b})}} \\approx {value:.6f}$.\n"
                   f"=   {value!r} +- {tolerance!r}\n\n")
    out.append("END_GROUP\n\n")
    out.append(group)
    for i, order in enumerate(orders, 1):
        # text2qti rejects identical questions (even inside a group), so each variant's stem ends
        # with an empty <span> naming the variant: invisible, and kept by text2qti (a comment is not)
        out.append(f"Title: he_variance {i}\n1.  {HE_STEM} <span data-variant=\"{i}\"></span>\n"
                   "... $\\sigma^2 = \\frac{2}{n_{in}}$: ReLU zeroes about half of its inputs.\n")
        for letter, k in zip("abc", order, strict=True):
            text, correct, feedback = HE_OPTIONS[k]
            out.append(f"{'*' if correct else ''}{letter}){' ' if correct else '  '}{text}\n")
            if feedback:
                out.append(f"... {feedback}\n")
        out.append("\n")
    out.append("END_GROUP\n\n")
    out.append(group)
    for i in range(1, n + 1):
        out.append(f"Title: winit_tf {i}\n1.  {TF_STEM} <span data-variant=\"{i}\"></span>\n"
                   f"*a) True\nb)  False\n... {TF_WRONG}\n\n")
    out.append("END_GROUP\n")
    return "".join(out)


def print_text2qti(n, seed):
    print(text2qti_quiz(n, seed))
