"""`quizwright check`: load every template on its own, solve it under many seeds, and confirm that
the grader can read every formula key and distractor it would be given."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from engine.authoring.bank import BANK_FILE, ReadBank, read_bank
from engine.authoring.loader import CompiledExercise
from engine.errors import TemplateError
from engine.generation.giveaways import giveaway_pairs
from engine.generation.parts import make_maker
from engine.generation.quiz import Plot, Variant
from engine.generation.variants import Stats
from engine.generation.variety import effects

# Sheets of variant 0 of every exercise under seeds 0, 1, ...: where `check` looks for give-aways.
GIVEAWAY_SHEETS = 20


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth a look, not errors: the exit status stays 0


# An option named by a fixed number: ③, "option 3", "choice (3)", "answer #3", [[ 3 | circled ]].
_FIXED_NUMBER = re.compile(r"([\u2460-\u2469])|\b(?:options?|choices?|answers?)\s*(?:#|no\.?\s*)?\(?([1-9][0-9]?)\b"
                           r"|\[\[\s*([1-9][0-9]?)\s*\|\s*circled\s*\]\]", re.IGNORECASE)


def fixed_option_numbers(ex: CompiledExercise) -> list[str]:
    """Warnings for a shuffled choice exercise whose explanation, feedback (a pool's too) or hints
    name a moving option by a fixed number: on most sheets that number shows another option."""
    options = ex.spec.options if ex.options and getattr(ex.spec, "shuffle", False) else []
    moving = {i + 1 for i, option in enumerate(options) if not option.pinned}
    if len(moving) < 2:
        return []
    texts: list[tuple[list[str | int], str]] = [(["explanation"], ex.spec.explanation)]
    texts += [(["options", i, "feedback"], option.feedback) for i, option in enumerate(options) if option.feedback]
    pool = getattr(ex.spec, "pool", None)
    texts += [(["pool", "options", i, "feedback"], option.feedback) for i, option in enumerate(pool.options if pool else [])]
    texts += [(["hints", i], hint) for i, hint in enumerate(ex.spec.hints)]
    warnings = []
    for loc, text in texts:
        for match in _FIXED_NUMBER.finditer(text):
            circled, written, filtered = match.groups()
            number = ord(circled) - 0x245F if circled else int(written or filtered)
            if number in moving:
                # A hint is rendered without the options: it can only describe one by its content.
                instead = ("describe the option by its content (a hint cannot print options)" if loc[0] == "hints"
                           else "name it instead, [[ options.NAME ]] (its number on the sheet and its text, with "
                                "name: NAME on the option) or [[ answer_text ]] (the correct one)")
                warnings.append(str(ex.error(loc, f"{match.group(0)!r} names an option by a fixed number, but the "
                                                  f"options are shuffled: on most sheets it is another option; {instead}")))
                break
    return warnings


def _variant_problems(variant: Variant) -> list[str]:
    problems = []
    if variant.options:
        correct = sum(o.correct for o in variant.options)
        if variant.answer.type == "options" and correct < 1:
            problems.append("no correct option")
        elif variant.answer.type != "options" and correct != 1:
            problems.append("not exactly one correct option")
        if len({o.text for o in variant.options}) != len(variant.options):
            problems.append("two options display alike")
    return [f"{variant.id}: {p}" for p in problems]


@dataclass
class _FormulaKeys:
    """The printed SymPy keys and distractor values of a formula exercise's solved variants."""

    answers: set[str] = field(default_factory=set)
    distractors: set[tuple[int, str]] = field(default_factory=set)  # (index in the file, value)

    def add(self, variant: Variant) -> None:
        if variant.answer.type == "formula":
            self.answers.add(variant.answer.expr)
            self.distractors.update(enumerate(m.value for m in variant.misconceptions))


def _ungradable(ex: CompiledExercise, keys: _FormulaKeys) -> TemplateError | None:
    """Grade each key against itself and parse each distractor, exactly as grading will."""
    # Imported here: the checker needs SymPy and a worker process, which banks without formula
    # exercises never pay for.
    from engine.grading.checker.compare import compare
    from engine.grading.checker.formula import (
        FormulaError,
        allowance_for,
        describe,
        parse_formula,
        parse_syntax,
    )
    from engine.grading.checker.verdict import CompareRequest

    symbols = dict(ex.spec.symbols)
    for key in sorted(keys.answers):
        shown = key if len(key) <= 60 else key[:57] + "..."
        verdict = compare(CompareRequest(kind="formula", expected=key, response=key, vars=symbols))
        if verdict.status != "correct":
            return ex.error(["answer"], f"the grader cannot use the key {shown!r}: {verdict.message}")
        try:  # the limits a student's answer to this key is read under
            parse_syntax(key, symbols, allowance=allowance_for(key, symbols))
        except FormulaError as err:
            return ex.error(["answer"], f"students cannot write the key {shown!r} under the grader's limits "
                            f"({describe(err)}): only its own text would be accepted")
    for index, value in sorted(keys.distractors):
        try:
            parse_formula(value, symbols, key=True)  # distractors are trusted, as grading reads them
        except FormulaError as err:
            return ex.error(["distractors", index, "expr"],
                            f"the grader cannot read the distractor {value!r}: {describe(err)}")
    return None


class _Labels:
    """Each plot's texts as matplotlib will draw them, so that TeX its mathtext cannot read is found
    now, not in an export: every distinct set of texts is read, and one plot per exercise drawn."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, ...]] = set()

    def check(self, ex: CompiledExercise, variant: Variant) -> None:
        # matplotlib: only for banks with plots.
        from engine.export.figures import FigureError, draw, read_texts

        for plot in variant.figures:
            if not isinstance(plot, Plot):
                continue
            texts = (plot.name, plot.title, plot.xlabel, plot.ylabel, *(s.label for s in plot.series))
            if texts in self.seen:
                continue
            try:
                read_texts(plot)
                if not self.seen:
                    draw(plot, "svg")
            except FigureError as exc:
                raise ex.error(["figures", plot.name, *exc.field], f"{exc} (in {variant.id})") from None
            self.seen.add(texts)


# -- Moodle's stored precision, decorative parameters ------------------------------------------------


@dataclass
class _Tolerances:
    """The tolerance each numeric variant needs so that Moodle, which stores the answer and the
    tolerance with 14 significant digits, still accepts the exact answer."""

    needed: Decimal = Decimal(0)  # absolute, or relative for a relative tolerance
    finer: bool = False

    def add(self, variant: Variant) -> None:
        answer = variant.answer
        if answer.type != "numeric" or Decimal(answer.decimal) == 0:
            return
        value = abs(Decimal(answer.decimal))
        # One unit of the 13th significant digit: twenty times the most that rounding to 14 moves it.
        safe = Decimal(1).scaleb(value.adjusted() - 12)
        if answer.tolerance_kind == "relative":
            safe = Decimal(f"{safe / value:.1e}") * 10  # rounded up, one significant digit
        self.needed = max(self.needed, safe)
        self.finer = self.finer or Decimal(answer.absolute_tolerance) < Decimal(1).scaleb(value.adjusted() - 12)

    def note(self, ex: CompiledExercise) -> str | None:
        if not self.finer:
            return None
        return str(ex.error(["tolerance"], f"finer than Moodle stores (14 significant digits of the answer and "
                                           f"the tolerance): Moodle could mark the exact answer wrong; the smallest "
                                           f"safe tolerance is {self.needed.normalize():f}"))


def _variety_notes(ex: CompiledExercise) -> list[str]:
    """A drawn parameter that, varied alone, changed neither the question nor the answer (or only
    the question) over the draws tried."""
    notes = []
    for effect in effects(make_maker(ex, 0)):
        if effect.tried == 0 or effect.answer:
            continue
        if effect.stem:
            message = (f"changes the question but never the answer (over {effect.tried} draws varying it "
                       "alone): its variants differ in wording only")
        else:
            message = (f"decorative: varied alone over {effect.tried} draws, it changed neither the question "
                       "nor the answer; use it or remove it")
        notes.append(str(ex.error(["params", effect.name], message)))
    return notes


def _check_one(ex: CompiledExercise, seeds: int, report: CheckReport,
               sheets: list[list[Variant]]) -> tuple[Stats, int | None]:
    # A multi-part exercise's keys are checked part by part: each has its own answer and symbols.
    parts = ex.parts or [ex]
    stats, keys, labels, tolerances = Stats(), [_FormulaKeys() for _ in parts], _Labels(), _Tolerances()
    report.warnings.extend(w for part in parts for w in fixed_option_numbers(part))
    for seed in range(seeds):
        maker = make_maker(ex, seed)
        for part_keys, variant in zip(keys, maker.stream(1), strict=True):
            if seed < GIVEAWAY_SHEETS:
                sheets[seed].append(variant)
            report.problems.extend(_variant_problems(variant))
            part_keys.add(variant)
            labels.check(ex, variant)
            tolerances.add(variant)
        stats.add(maker.stats)
    note = tolerances.note(ex)
    report.notices.extend([note] if note else [])
    report.notices.extend(_variety_notes(ex))
    distinct = make_maker(ex, 0).distinct_count(force=True)
    if distinct == 0:
        raise ex.error(["constraints"], "no parameter values give a usable variant")
    for part, part_keys in zip(parts, keys, strict=True):
        problem = _ungradable(part, part_keys) if part_keys.answers else None
        if problem is not None:
            raise problem
    return stats, distinct


def _giveaway_lines(bank: ReadBank, sheets: list[list[Variant]]) -> list[str]:
    """A line per pair of exercises where one shows the other's answer on a sheet, saying whether
    generation keeps them apart (different slots), or a sheet holds both (no slots)."""
    loaded = {ex.id: ex for ex in bank.exercises()}
    drawn = {e: {d.name for d in ex.space.drawn} for e, ex in loaded.items()}
    slot_of = {e: i for i, pool in enumerate(bank.slots) for e in pool.ids}
    lines = []
    for give in giveaway_pairs(sheets, drawn):
        shows, answer_of = loaded[give.shows], loaded[give.answer_of]
        if not bank.slots:
            fate = f"every sheet holds both: put both in one slot of {BANK_FILE}, or leave one out"
        elif give.shows not in slot_of or give.answer_of not in slot_of:
            fate = "not both on a sheet (one is in no slot)"
        elif slot_of[give.shows] == slot_of[give.answer_of]:
            fate = "never on one sheet (one slot)"
        else:
            fate = "generate keeps them off one sheet when its first draw of each shows it"
        lines.append(f"give-away: {give.shows} ({shows.source}) shows the answer to {give.answer_of} "
                     f"({answer_of.source}): {give.example}; {fate}")
    return lines


def _title_notes(exercises: list[CompiledExercise], report: CheckReport) -> None:
    """Titles that are one name as Moodle stores it: a note, since the Moodle export adds the
    exercise id to them; a problem where even that would not tell them apart."""
    from engine.export.moodle.xml import MoodleExportError, category_titles, stored_title
    from engine.generation.quiz import ExerciseSummary

    first: dict[str, CompiledExercise] = {}
    for ex in exercises:
        other = first.setdefault(stored_title(ex.spec.title), ex)
        if other is not ex:
            report.notices.append(f"{other.source} and {ex.source}: the titles {other.spec.title!r} and "
                                  f"{ex.spec.title!r} are one name as Moodle stores it (case and accents "
                                  "ignored): the Moodle export adds the exercise id to their categories")
    try:
        category_titles([ExerciseSummary(id=ex.id, title=ex.spec.title, kind=ex.kind, topic=ex.spec.topic,
                                         source=ex.source, distinct_variants=None, repeats=False)
                         for ex in exercises])
    except MoodleExportError as exc:
        report.problems.append(str(exc))


def check(paths: Iterable[Path] | None = None, *, seeds: int = 200) -> CheckReport:
    """Read the bank as `generate` does, solve each template under `seeds` seeds; collect every problem."""
    report = CheckReport()
    bank = read_bank([Path(p) for p in paths] if paths else None)
    sheets: list[list[Variant]] = [[] for _ in range(min(seeds, GIVEAWAY_SHEETS))]
    report.notices.extend(bank.notices)
    report.problems.extend(str(problem) for problem in bank.problems)
    for source, ex in bank.entries:
        try:
            if isinstance(ex, TemplateError):
                raise ex
            stats, distinct = _check_one(ex, seeds, report, sheets)
        except TemplateError as exc:
            report.problems.append(str(exc))
            report.lines.append(f"FAIL  {source}")
            continue
        redrawn = f"redrawn {stats.constraint_rejects} for constraints, {stats.clashes} for equal options"
        report.lines.append(f"ok    {ex.id:<28} {ex.kind:<10} distinct={'-' if distinct is None else distinct:<7} "
                            f"{seeds} seeds, {stats.draws} draws, {redrawn}")
    report.lines.extend(_giveaway_lines(bank, sheets))
    _title_notes([ex for _, ex in bank.entries if not isinstance(ex, TemplateError)], report)
    # An error lists every problem of its file, one per line: the count is the lines `check` prints.
    problems = sum(len(problem.splitlines()) for problem in report.problems)
    report.lines.append(f"{len(bank.entries)} exercises, {problems} problems")
    return report
