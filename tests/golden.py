"""Golden files: an export compared byte for byte with its saved copy; `UPDATE_GOLDEN=1` rewrites them."""

from __future__ import annotations

import os
from pathlib import Path


def assert_golden(path: Path, data: bytes) -> None:
    """`data` equals the golden file `path` (written instead, under UPDATE_GOLDEN=1)."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.is_file(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"{path} differs; if intended, rerun with UPDATE_GOLDEN=1"
