"""The slots of bank.yaml resolved into pools of exercise ids, each problem naming bank.yaml's line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.authoring.loader import CompiledExercise, SourceMap
from engine.authoring.spec import BankInfo, Slot
from engine.errors import TemplateError


@dataclass(frozen=True)
class SlotPool:
    """A slot of bank.yaml resolved: its title and the ids of its pool."""

    title: str
    ids: tuple[str, ...]


def slot_title(slot: Slot, number: int) -> str:
    """The slot's own title, or `Slot 3` (`Slot 3: topic he` for a topic or tag pool)."""
    if slot.title:
        return slot.title
    what = f"topic {slot.topic}" if slot.topic else f"tag {slot.tag}" if slot.tag else ""
    return f"Slot {number}" + (f": {what}" if what else "")


def resolve_slots(info: BankInfo, source: str, lines: SourceMap,
                  entries: list[tuple[str, CompiledExercise | TemplateError]],
                  problems: list[TemplateError]) -> list[SlotPool]:
    """Each slot's pool (ids in the bank's order for a topic or a tag); unknown ids, empty pools and
    an exercise in two slots are problems (a sheet could hold it twice), and no slot is kept then."""
    loaded = [ex for _, ex in entries if isinstance(ex, CompiledExercise)]
    rank = {exercise_id: i for i, exercise_id in enumerate(info.order)}
    loaded.sort(key=lambda ex: rank.get(ex.id, len(rank)))
    known = {ex.id if isinstance(ex, CompiledExercise) else Path(name).stem for name, ex in entries}
    found: list[TemplateError] = []
    pools: list[SlotPool] = []
    owner: dict[str, int] = {}
    for i, slot in enumerate(info.slots):
        def problem(message: str, field: str, slot_index: int = i) -> None:
            found.append(TemplateError(message, path=source, line=lines.line(["slots", slot_index, field]),
                                       field=f"slots[{slot_index}].{field}"))

        if slot.exercises is not None:
            ids = list(slot.exercises)
            for exercise_id in ids:
                if exercise_id not in known:
                    problem(f"unknown exercise {exercise_id!r} (expected one of the bank's ids)", "exercises")
        else:
            field = "topic" if slot.topic else "tag"
            ids = [ex.id for ex in loaded if ex.spec.topic == slot.topic or slot.tag in ex.spec.tags]
            if not ids:
                problem(f"no exercise has the {field} {slot.topic or slot.tag!r}: the slot's pool is empty", field)
        for exercise_id in ids:
            if exercise_id in owner:
                problem(f"exercise {exercise_id!r} is also in slot {owner[exercise_id] + 1}: a sheet could "
                        "hold it twice (put each exercise in one slot)", "exercises" if slot.exercises else field)
            owner.setdefault(exercise_id, i)
        pools.append(SlotPool(slot_title(slot, i + 1), tuple(ids)))
    problems.extend(found)
    return [] if found else pools
