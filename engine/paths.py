"""Where the bundled output templates and exercise banks live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _resource(name: str) -> Path:
    # A wheel ships them inside the package; a checkout (or editable install) keeps them beside it.
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def templates_dir() -> Path:
    return _resource("templates")


def exercises_dir() -> Path:
    return _resource("exercises")


def bundled_bank() -> Path:
    return exercises_dir() / "weight-initialization"
