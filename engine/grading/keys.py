"""The key to grade against: read from a saved quiz JSON, or regenerated from the bank and a seed.

Decisions:

* A sheet id is ``<code>-<seed>-<copy number>``; it is read leniently (any case, full-width
  digits, spaces around the dashes, ``WI-7-12`` = ``WI-7-0012``) and reported canonically.
* A key is regenerated through generation's public call, ``generate``, exactly as the quiz was made.
* A key keeps only the sheets the submissions name, each as grading needs it (``Item``s): a saved
  key is read copy by copy (``keyfile``), so memory follows the class, not the key file.
* Without ``--seed``, the seed of the sheet ids is the quiz's; when they disagree, a seed on 90 %
  of them wins (the others are typos, rejected with their rows), else grading stops to ask.
* A sheet number beyond the quiz's count is a rejected row, never a longer key. The count is the
  key file's, or ``--count``; without either, a number above ``sheet_bound`` is taken for a typo
  (``WI-11-9999`` in a class of 30 would cost 10 000 copies), and its row says to pass ``--count``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.authoring.bank import Bank
from engine.errors import UsageError
from engine.generation.pipeline import generate
from engine.generation.quiz import Copy, Quiz, QuizHeader, number_parts
from engine.grading.keyfile import KeyFile
from engine.grading.models import KeyInfo, SubmissionBatch
from engine.grading.questions import Item, item_of
from engine.grading.rows import label_order

__all__ = ["Key", "Sheet", "SheetId", "Tick", "check_hash", "key_from_quiz", "parse_sheet_id", "read_key",
           "regenerate_key", "sheet_bound"]

Tick = Callable[[int, int], None]  # progress: (done, total), called as the work goes
MIN_HASH_PREFIX = 8
MIN_BOUND = 100  # sheet numbers up to this one are always regenerated without --count
MAJORITY = 0.9  # without --seed, the seed of this share of the sheet ids is the quiz's

_SHEET_RE = re.compile(r"([A-Z][A-Z0-9]{0,7})\s*-\s*(\d{1,19})\s*-\s*(\d{1,9})")


@dataclass(frozen=True)
class SheetId:
    """A parsed sheet id: bank code, quiz seed and 1-based copy number."""

    code: str
    seed: int
    number: int  # 1-based copy number

    def __str__(self) -> str:
        # The form generation prints on each sheet, so regenerated and saved keys agree.
        return f"{self.code}-{self.seed}-{self.number:04d}"


def parse_sheet_id(text: str) -> SheetId | None:
    """The sheet id in ``text`` (``WI-7-0012``, ``wi-7-12``, ``ＷＩ－７－１２``), or None."""
    clean = unicodedata.normalize("NFKC", text).replace("\u2212", "-").replace("\u2013", "-")
    match = _SHEET_RE.fullmatch(clean.strip().upper())
    if match is None or int(match.group(3)) < 1:
        return None
    return SheetId(match.group(1), int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True, slots=True)
class Sheet:
    """One copy as grading keeps it: its sheet id as the key writes it, its variants' ids and items."""

    id: str
    variants: tuple[str, ...]
    items: tuple[Item, ...]

    @property
    def labels(self) -> list[str]:
        """Its questions' labels, as the sheet prints them: 1, 2, 5a, 5b."""
        return number_parts([item.part for item in self.items])


@dataclass
class Key:
    """The sheets to grade against, by canonical sheet id, and where they came from.

    ``limit`` is the highest sheet number of the quiz (default: its count) and ``beyond`` says,
    after "beyond", why and how to change it.
    """

    info: KeyInfo
    sheets: dict[str, Sheet]
    limit: int | None = None
    beyond: str = ""

    @property
    def question_count(self) -> int:
        """Questions per sheet: one per exercise, or one per slot when the bank has slots (one per
        part of a multi-part exercise)."""
        return max((len(sheet.items) for sheet in self.sheets.values()), default=len(self.info.exercises))

    @property
    def question_labels(self) -> list[str]:
        """The labels of the sheets' questions, all sheets together: 1, 2, 5a, 5b."""
        labels = {label for sheet in self.sheets.values() for label in sheet.labels}
        return sorted(labels, key=label_order) if labels else [str(n) for n in range(1, self.question_count + 1)]

    @property
    def code(self) -> str:
        return self.info.bank.code

    def sheet_range(self) -> str:
        """The key's sheet ids as text, e.g. ``GR-1-0001 to GR-1-0004``."""
        first = SheetId(self.code, self.info.seed, 1)
        last = SheetId(self.code, self.info.seed, self.info.count)
        return f"{first}" if self.info.count == 1 else f"{first} to {last}"

    def find(self, text: str) -> Sheet | str:
        """The sheet of a written sheet id, or why there is none."""
        sheet = parse_sheet_id(text)
        shown = text.strip()[:40]
        if sheet is None:
            return f"unreadable sheet id {shown!r} (expected like {SheetId(self.code, self.info.seed, 1)})"
        found = self.sheets.get(str(sheet))
        if found is not None:
            return found
        if self.beyond and (sheet.code, sheet.seed) == (self.code, self.info.seed) \
                and sheet.number > (self.limit or self.info.count):
            return f"sheet {shown!r} is beyond {self.beyond}"
        if sheet.code == self.code and sheet.seed != self.info.seed:
            return f"unknown sheet {shown!r} (seed {sheet.seed}, not {self.info.seed}: this key has sheets " \
                   f"{self.sheet_range()})"
        return f"unknown sheet {shown!r} (this key has sheets {self.sheet_range()})"

    def items(self) -> dict[str, Item]:
        """The item of every variant on the key's sheets, by variant id."""
        return {variant: item for sheet in self.sheets.values()
                for variant, item in zip(sheet.variants, sheet.items, strict=True)}


class _Sheets:
    """Sheets by canonical id, made copy by copy; an item equal to an earlier one shares its parts."""

    def __init__(self, wanted: Collection[str] | None = None) -> None:
        self.sheets: dict[str, Sheet] = {}
        self._wanted = wanted
        self._shared: dict[Item, Item] = {}

    def add(self, copy: Copy) -> None:
        """Keep ``copy`` when it is wanted (all are, without a ``wanted``)."""
        sheet = parse_sheet_id(copy.sheet)
        canonical = str(sheet) if sheet else copy.sheet
        if self._wanted is None or canonical in self._wanted:
            self.sheets[canonical] = Sheet(copy.sheet, tuple(v.id for v in copy.variants),
                                           tuple(item_of(v, self._shared) for v in copy.variants))

    @classmethod
    def of(cls, copies: Iterable[Copy]) -> dict[str, Sheet]:
        made = cls()
        for copy in copies:
            made.add(copy)
        return made.sheets


def check_hash(actual: str, wanted: str, what: str) -> None:
    """Raise when ``wanted`` (a full hash or a prefix of >= 8 hex digits) does not match ``actual``.

    Raises:
        UsageError: the hashes differ, or ``wanted`` is too short to mean anything.
    """
    wanted = wanted.strip().lower()
    if len(wanted) < MIN_HASH_PREFIX or not re.fullmatch(r"[0-9a-f]+", wanted):
        raise UsageError(f"--bank-hash: expected at least {MIN_HASH_PREFIX} hex digits (got {wanted[:70]!r})")
    if not actual.startswith(wanted):
        raise UsageError(f"--bank-hash {wanted} does not match {what} {actual}")


def _saved_key(header: QuizHeader, sheets: dict[str, Sheet], file: str | None, bank: Bank | None) -> Key:
    if bank is not None and bank.hash != header.bank.hash:
        raise UsageError(
            f"the bank has changed since the key was made: key bank hash {header.bank.hash}, "
            f"current bank hash {bank.hash} (grade with --key alone to use the saved key)"
        )
    info = KeyInfo(source="key file", file=file, seed=header.seed, count=header.count, pinned=header.pinned,
                   bank=header.bank, exercises=[e.id for e in header.exercises])
    return Key(info=info, sheets=sheets)


def key_from_quiz(quiz: Quiz, file: str | None = None, bank: Bank | None = None) -> Key:
    """The key of a quiz in memory; with ``bank``, the bank must not have changed since.

    Raises:
        UsageError: the bank's hash differs from the key's.
    """
    return _saved_key(quiz, _Sheets.of(quiz.copies), file, bank)


def read_key(path: Path, batch: SubmissionBatch, bank: Bank | None = None, progress: Tick | None = None) -> Key:
    """The key in a saved JSON export, with the sheets the submissions name; ``bank`` as above.

    ``progress`` is told the copies read of the key's count (0 when the count comes after them).

    Raises:
        UsageError: the file cannot be read, is not a key (naming where), or the bank has changed.
    """
    named = (parse_sheet_id(submission.sheet) for submission in batch.submissions)
    sheets = _Sheets({str(sheet) for sheet in named if sheet})
    header = KeyFile(path).read(sheets.add, progress)
    return _saved_key(header, sheets.sheets, str(path), bank)


def _seed_from_sheets(code: str, sheets: Iterable[str]) -> int:
    seeds: Counter[int] = Counter()
    other: Counter[str] = Counter()
    for text in sheets:
        sheet = parse_sheet_id(text)
        if sheet is None:
            continue
        if sheet.code == code:
            seeds[sheet.seed] += 1
        else:
            other[sheet.code] += 1
    if not seeds:
        hint = f" (found codes {', '.join(sorted(other))})" if other else ""
        raise UsageError(f"no sheet id of bank code {code} in the submissions{hint}; pass --seed "
                         "or --key")
    seed, rows = seeds.most_common(1)[0]
    if rows >= MAJORITY * seeds.total():
        return seed  # a few others are typos: their rows are rejected, the class is graded
    found = ", ".join(f"{seed} ({n} row{'s' if n > 1 else ''})" for seed, n in seeds.most_common())
    raise UsageError(f"the sheet ids carry different seeds: {found}; pass --seed to choose one")


def sheet_bound(numbers: list[int]) -> int:
    """The highest sheet number believed without ``--count``: twice the class or its median sheet.

    A class hands in about as many sheets as were printed, numbered from 1 (so the median is about
    half the count); a second group may hold only high numbers (so the median, not the class
    size); and a small class gets at least ``MIN_BOUND``, which costs well under a second.
    """
    ordered = sorted(numbers)
    median = ordered[(len(ordered) - 1) // 2] if ordered else 0
    return max(MIN_BOUND, 2 * len(ordered), 2 * median)


def regenerate_key(
    bank: Bank,
    batch: SubmissionBatch,
    *,
    seed: int | None = None,
    count: int | None = None,
    exercise_ids: list[str] | None = None,
    params: Mapping[str, str] | None = None,
    progress: Tick | None = None,
    topics: list[str] | None = None,
    tags: list[str] | None = None,
    shuffle: bool = True,
) -> Key:
    """The key rebuilt from bank + seed; the seed comes from the sheet ids when not given.

    Copy i depends on the earlier variants of each exercise (they are kept distinct), so the copies
    up to the largest sheet number in use are generated once and only the sheets in use are kept.
    Sheet numbers beyond ``count`` (or, without it, ``sheet_bound``) are left to be rejected.
    ``progress`` is told the copies made of those needed; ``shuffle=False`` rebuilds a ``--no-shuffle`` quiz.

    Raises:
        UsageError: no seed can be inferred, or the sheets disagree on it; plus ``generate``'s errors.
    """
    code = bank.info.code
    if seed is None:
        seed = _seed_from_sheets(code, (s.sheet for s in batch.submissions))
    numbers = [sheet.number for sheet in map(parse_sheet_id, (s.sheet for s in batch.submissions))
               if sheet is not None and (sheet.code, sheet.seed) == (code, seed)]
    if count is not None:
        limit = count
        beyond = (f"the quiz's {count} sheet{'s' if count != 1 else ''} (--count {count}); if the quiz was "
                  "generated with more, grade again with --count N (the count it was generated with)")
    else:
        limit = sheet_bound(numbers)
        beyond = (f"{SheetId(code, seed, limit)}, the highest sheet believed without --count (twice the "
                  f"class size or its median sheet number, at least {MIN_BOUND}): a typo? If the quiz has that "
                  "many sheets, grade again with --count N (the count it was generated with)")
    wanted = {number for number in numbers if number <= limit}
    last = max(wanted, default=1)
    generated = generate(bank, seed=seed, count=count or last, exercise_ids=exercise_ids, params=params,
                         copies=(1, last), topics=topics, tags=tags, shuffle=shuffle)

    def kept() -> Iterator[Copy]:
        for copy in generated.copies:
            if progress is not None:
                progress(copy.index + 1, last)
            if copy.index + 1 in wanted:
                yield copy

    sheets = _Sheets.of(kept())
    header = generated.header
    info = KeyInfo(source="regenerated", seed=seed, count=count or last, pinned=header.pinned,
                   bank=header.bank, exercises=[e.id for e in header.exercises])
    return Key(info=info, sheets=sheets, limit=limit, beyond=beyond)
