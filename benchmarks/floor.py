"""The floor: weight-init-4 → Moodle XML as a plain stdlib script, for run.py to pair with quizwright.

``python benchmarks/floor.py BANK --seed 1 --count N -o FILE`` does the work of
``quizwright generate BANK --seed 1 --count N -f moodle -o FILE``: the same per-variant SHA-256
seeds and draws, distinct (A, B) pairs (then repeated in seeded rounds), exact surds in LaTeX,
20-digit decimals, He options in balanced orders (each order once, the correct one's place balanced
per block of 3) and the same XML. Its texts are written in, not read from the YAML; the bank is read for its hash.
"""

import argparse
import hashlib
import itertools
import math
import random
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from pathlib import Path

SIZES = tuple(range(2, 513))
BANK = "Weight init 4"
HE = [r"\frac{2}{n_{in}}", r"\frac{2}{n_{in} + n_{out}}", r"\frac{1}{n_{in}}"]
HE_FEEDBACK = ["", "<p>That is Xavier's variance (for tanh/sigmoid); He uses the fan-in \\(n_{in}\\) only.</p>",
               "<p>That is LeCun's variance \\(1/n_{in}\\): it lacks the factor 2 that compensates ReLU zeroing "
               "half of its inputs.</p>"]
CHOICE = ("multichoice, one answer, options in the variant's order (not shuffled: the order is part of the exercise, "
          "or its texts name an option by its number), numbered 1, 2, 3, with misconception feedback on every "
          "distractor; one hint, so that interactive mode gives two tries.")
HINTS = {  # one per question, by type, as quizwright's default
    "multichoice": "Not yet. Read the feedback on your choice, then check each remaining option against every detail "
                   "of the question.",
    "truefalse": "Not yet. Read the statement again: is every part of it true?",
    "numerical": "Not yet. Check which formula applies here, then redo the arithmetic step by step.",
}
NUMERIC = "misconceptions are extra 0% answers with their feedback."
LIMIT = (r"When \(n_{in} = %d\) and \(n_{out} = %d\), what is the Xavier uniform limit "
         r"\(\sqrt{6/(n_{in}+n_{out})}\)?")
EXERCISES = {  # id: title, kind, topic, Moodle question type, the last tags
    "he-variance": ("He initialization variance", "choice", "he", CHOICE, "he"),
    "winit-tf": ("Definition of weight initialization", "true_false", "definition",
                 "truefalse, with misconception feedback on the wrong answer.", "definition"),
    "xavier-limit": ("Xavier uniform limit", "numeric", "xavier-uniform", "numerical with an absolute tolerance (a "
                     "relative tolerance is multiplied by |answer|); the answer is written to 20 significant digits; "
                     + NUMERIC, "xavier</text></tag>\n      <tag><text>uniform"),
    "xavier-sum": ("Xavier fan-in plus fan-out", "integer", "layer-size",
                   "numerical, exact (tolerance 0); " + NUMERIC, "xavier</text></tag>\n      <tag><text>layer-size"),
}


def cdata(text):
    return f"<![CDATA[{text.replace(']]>', ']]]]><![CDATA[>')}]]>" if text else ""


def stream_seed(seed, stream, index):
    """The seed quizwright derives for (quiz seed, stream, index) with SHA-256."""
    return int.from_bytes(hashlib.sha256(f"quizwright:{seed}:{stream}:{index}".encode()).digest()[:8], "big")


def draws(seed, exercise, count):
    """Variant i's (A, B) from Random(SHA-256 of seed, exercise, i), distinct while unseen ones remain,
    then every pair again in rounds, each a seeded permutation of them all."""
    seen, every, rounds = set(), list(itertools.product(SIZES, SIZES)), {}
    for i in range(count):
        if len(seen) == len(every):
            turn, at = divmod(i - len(every), len(every))
            if turn not in rounds:
                rounds = {turn: list(range(len(every)))}
                random.Random(stream_seed(seed, f"{exercise}/repeats", turn)).shuffle(rounds[turn])
            yield i + 1, every[rounds[turn][at]]
            continue
        rng = random.Random(stream_seed(seed, exercise, i))
        for _ in range(100):
            pick = rng.choice(SIZES), rng.choice(SIZES)
            if pick not in seen:
                break
        else:  # 100 repeats in a row: choose among the unseen draws
            pick = rng.choice([c for c in every if c not in seen])
        seen.add(pick)
        yield i + 1, pick


def permuted(position, size, key):
    """Entry `position` of a seeded permutation of range(size): a 4-round Feistel network, cycle-walked."""
    half = ((size - 1).bit_length() + 1) // 2 or 1
    mask, value = (1 << half) - 1, position
    while True:
        left, right = value >> half, value & mask
        for round_ in range(4):
            digest = hashlib.sha256(key + bytes([round_]) + right.to_bytes(8, "big")).digest()
            left, right = right, left ^ (int.from_bytes(digest[:8], "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


def he_orders(seed, exercise, count):
    """Variant i's order of the three He options (the correct one, 0, first in the file): in each block
    of 3 a seeded permutation of the places says where 0 stands; the j-th use of a place takes the
    j-th order of the other two in a seeded permutation of both (then again, in a new one)."""
    for i in range(count):
        block, at = divmod(i, 3)
        places = [0, 1, 2]
        random.Random(stream_seed(seed, f"{exercise}/places", block)).shuffle(places)
        target = places[at]
        turn, position = divmod(block, 2)
        rank = permuted(position, 2, stream_seed(seed, f"{exercise}/at{target}", turn).to_bytes(8, "big"))
        others = iter([1, 2] if rank == 0 else [2, 1])
        yield i + 1, tuple(0 if place == target else next(others) for place in range(3))


def limit(a, b):
    """√(6/(A+B)) as LaTeX (c·√m, m squarefree) and its decimal at 40 digits."""
    ratio = Fraction(6, a + b)
    p, q = ratio.numerator, ratio.denominator
    square = next(k for k in range(math.isqrt(p * q), 0, -1) if p * q % (k * k) == 0)
    coeff, radicand = Fraction(square, q), p * q // (square * square)
    if radicand == 1:
        tex = str(coeff) if coeff.denominator == 1 else rf"\frac{{{coeff.numerator}}}{{{coeff.denominator}}}"
    else:
        tex = ("" if coeff.numerator == 1 else f"{coeff.numerator} ") + rf"\sqrt{{{radicand}}}"
        tex = tex if coeff.denominator == 1 else rf"\frac{{{tex}}}{{{coeff.denominator}}}"
    ctx = Context(prec=40)
    return tex, ctx.multiply(ctx.divide(coeff.numerator, coeff.denominator), ctx.sqrt(Decimal(radicand)))


def question(qtype, name, ident, stem, feedback, penalty, extra, answers, tags):
    out = [f'  <question type="{qtype}">\n    <name>\n      <text>{name} (variant {ident[1]}, {ident[0]}.{ident[1]})'
           f'</text>\n    </name>\n    <questiontext format="html">\n      <text>{cdata("<p>" + stem + "</p>")}</text>\n'
           f'    </questiontext>\n    <generalfeedback format="html">\n      <text>{cdata("<p>" + feedback + "</p>")}'
           f'</text>\n    </generalfeedback>\n    <defaultgrade>1</defaultgrade>\n    <penalty>{penalty}</penalty>\n'
           f'    <idnumber>{ident[0]}.{ident[1]}</idnumber>\n{extra}']
    for fraction, attrs, text, tolerance, answer_feedback in answers:
        tol = "" if tolerance is None else f"      <tolerance>{tolerance}</tolerance>\n"
        out.append(f'    <answer fraction="{fraction}"{attrs}>\n      <text>{text}</text>\n{tol}'
                   f'      <feedback format="html">\n        <text>{cdata(answer_feedback)}</text>\n      </feedback>\n'
                   '    </answer>\n')
    if qtype == "numerical":
        out.append("    <unitgradingtype>0</unitgradingtype>\n    <unitpenalty>0.1000000</unitpenalty>\n"
                   "    <showunits>3</showunits>\n    <unitsleft>0</unitsleft>\n")
    out.append(f'    <hint format="html">\n      <text>{cdata("<p>" + HINTS[qtype] + "</p>")}</text>\n    </hint>\n'
               f"    <tags>\n{tags}    </tags>\n  </question>\n")
    return "".join(out)


def questions(exercise, seed, count):
    """Every question of one exercise, as text."""
    title, kind, topic, _, tags = EXERCISES[exercise]
    tags = "".join(f"      <tag><text>{t}</text></tag>\n" for t in
                   ["quizwright", "bank:WI4", "topic:" + topic, "kind:" + kind, "benchmark", tags])
    if exercise == "winit-tf":
        answers = [("100", "", "true", None, ""), ("0", "", "false", None, "<p>Weight initialization is exactly the "
                   "choice of the starting values of \\(W\\) and \\(b\\), made before the first training step.</p>")]
        for i in range(1, min(count, 1) + 1):  # its one question, written once
            yield question("truefalse", title, (f"{exercise}.{seed}", i), "True or false: weight initialization is the process "
                           r"of setting \(W\) and \(b\) before training.", r"<strong>① True.</strong> Weight "
                           r"initialization sets the starting values of every layer's weights \(W\) and biases \(b\) "
                           "before training begins.", "1", "", answers, tags)
    elif exercise == "he-variance":
        extra = ("    <single>true</single>\n    <shuffleanswers>false</shuffleanswers>\n"
                 "    <answernumbering>123</answernumbering>\n    <showstandardinstruction>1</showstandardinstruction>\n")
        written = set()
        for i, order in he_orders(seed, exercise, count):
            if order in written:  # an identical question is written once
                continue
            written.add(order)
            answers = [("0" if k else "100", ' format="html"', cdata(rf"\({HE[k]}\)"), None, HE_FEEDBACK[k])
                       for k in order]
            yield question("multichoice", title, (f"{exercise}.{seed}", i), r"In He initialization, \(\sigma^2\) is?",
                           f"Answer: {chr(0x2460 + order.index(0))}, " r"\(\sigma^2 = \frac{2}{n_{in}}\): ReLU zeroes"
                           " about half of its inputs, and the factor 2 over the fan-in compensates for it.",
                           "0.5", extra, answers, tags)
    else:
        for i, (a, b) in draws(seed, exercise, count):
            stem = LIMIT % (a, b) if exercise == "xavier-limit" else (
                rf"When \(n_{{in}} = {a}\) and \(n_{{out}} = {b}\), what is \(n_{{in}} + n_{{out}}\) in Xavier "
                "initialization?")
            if exercise == "xavier-sum":
                text, tolerance, feedback = str(a + b), "0", rf"\[n_{{in}} + n_{{out}} = {a} + {b} = {a + b}.\]"
            else:
                tex, value = limit(a, b)
                shown = value.quantize(Decimal("1e-6"), rounding=ROUND_HALF_UP)
                answer = Context(prec=20).plus(value).normalize()
                text, tolerance = f"{answer:f}", f"{answer.scaleb(-2):f}"
                feedback = (rf"\[\sqrt{{\frac{{6}}{{n_{{in}} + n_{{out}}}}}} = \sqrt{{\frac{{6}}{{{a} + {b}}}}} = {tex}"
                            rf" \approx {shown}.\]")
            yield question("numerical", title, (f"{exercise}.{seed}", i), stem, feedback, "0.3333333", "",
                           [("100", "", text, tolerance, "")], tags)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bank", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    digest = hashlib.sha256()  # the bank's content hash, as quizwright computes it
    for path in sorted(args.bank.glob("*.yaml"), key=lambda p: p.name + str(p)):
        data = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    bank_hash, n = digest.hexdigest(), args.count
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n<!-- quizwright Moodle XML export, format 1: bank '
                  f"WI4 sha256 {bank_hash}, seed {args.seed}, {n} variant(s) per exercise, one category per exercise -->\n")
        for exercise, (title, kind, topic, mapping, _) in EXERCISES.items():
            distinct = {"he-variance": 6, "winit-tf": 1}.get(exercise, len(SIZES) ** 2)
            repeat = (f" (only {distinct} distinct variant{'s exist' if distinct != 1 else ' exists'})"
                      if n > distinct else "")
            info = (f"<p>quizwright exercise <code>{exercise}</code>: {title} ({exercise}.yaml).</p> <p>{n} variant"
                    f"{'s' if n != 1 else ''} from quiz seed {args.seed}{repeat}, one question each; a question identical "
                    "to one before it is left out, so no two questions here are the same. Add a <em>random "
                    "question</em> from this category to a quiz to give every student a different variant.</p> "
                    f"<p>Kind <code>{kind}</code>, topic <code>{topic}</code>; Moodle question type: {mapping}</p> "
                    f"<p>Bank: {BANK} (WI4), sha256 <code>{bank_hash}</code>.</p>")
            out.write(f'\n  <!-- exercise {exercise} -->\n  <question type="category">\n    <category>\n      <text>'
                      f"$course$/top/{BANK}/{title}</text>\n    </category>\n    <info format=\"html\">\n      <text>"
                      f"{cdata(info)}</text>\n    </info>\n  </question>\n")
            out.writelines(questions(exercise, args.seed, n))
        out.write("\n</quiz>\n")


if __name__ == "__main__":
    main()
