"""Shared fixtures: paths of the bundled bank and of the small fixture bank."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def basic_bank() -> Path:
    return FIXTURES / "basic"


@pytest.fixture
def bundled_bank() -> Path:
    return ROOT / "exercises" / "weight-initialization"
