"""Shared fixtures: paths of the bundled bank and of the small fixture bank."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# The same examples on every run, so that a run (CI's among them) never depends on a lucky draw.
# `pytest --hypothesis-profile=explore` draws new ones, to look for bugs the fixed ones miss.
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("fixed")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def basic_bank() -> Path:
    return FIXTURES / "basic"


@pytest.fixture
def bundled_bank() -> Path:
    return ROOT / "exercises" / "weight-initialization"


@pytest.fixture(autouse=True, scope="session")
def _drawings_shared_by_the_session() -> Iterator[None]:
    """Each plot drawn once per test session, not once per test: many tests export the same
    bundled-bank plots, and a drawing depends on nothing but the plot (the determinism tests
    compare in-process drawings with a fresh process's)."""
    import engine.export.figures as figures

    real = figures.draw
    done: dict[tuple[str, str], bytes] = {}

    def shared(plot: Any, kind: Any) -> bytes:
        key = (plot.file, kind)
        if key not in done:
            done[key] = real(plot, kind)
        return done[key]

    figures.draw = shared  # type: ignore[assignment]
    try:
        yield
    finally:
        figures.draw = real  # type: ignore[assignment]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every plot drawn from now on in this test, as (file, kind), one entry per drawing."""
    import engine.export.figures as figures

    calls: list[tuple[str, str]] = []
    real = figures.draw

    def counting(plot: Any, kind: Any) -> bytes:
        calls.append((plot.file, kind))
        return real(plot, kind)

    monkeypatch.setattr(figures, "draw", counting)
    return calls


def without_notes(stderr: str) -> str:
    """Standard error less its `Note:` lines (the basic bank's give-away pair is noted on every run)."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("Note: "))
