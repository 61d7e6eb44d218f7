"""The restructured engine writes the same bytes as the engine before it, on the bundled bank.

`golden/bundled-bank.sha256` holds the SHA-256 of every file that `quizwright generate` wrote
before the restructure (seeds 1-5, counts 1 and 30, each format, the Markdown key included).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli

GOLDEN = Path(__file__).parent / "golden" / "bundled-bank.sha256"
SUFFIX = {"json": "json", "markdown": "md", "moodle": "xml"}


def _expected() -> dict[str, str]:
    pairs = (line.split() for line in GOLDEN.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_same_bytes_as_before(seed: int, count: int, fmt: str, tmp_path: Path) -> None:
    stem = f"s{seed}-c{count}"
    result = CliRunner().invoke(
        cli, ["generate", "--seed", str(seed), "--count", str(count), "-f", fmt, "-o", str(tmp_path / f"{stem}.{SUFFIX[fmt]}")]
    )
    assert result.exit_code == 0, result.output
    written = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    expected = {name: digest for name, digest in _expected().items() if name in written or
                name.startswith(f"{stem}.") and name.endswith(SUFFIX[fmt])}
    assert written == expected
