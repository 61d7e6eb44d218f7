"""The restructured engine writes the same bytes as the engine before it, on the bundled bank.

`golden/bundled-bank.sha256` holds the SHA-256 of every file that `quizwright generate` wrote
before the restructure (seeds 1-5, counts 1 and 30, each format, the Markdown key included).
The plots' bytes depend on the image library, so they are left out (and not drawn: a stand-in
is quicker): a Moodle file's embedded PNGs are hashed as their names, and the figures/ folder
beside an output must hold exactly the plots the output links (their names say what they draw).
A change of outputs made on purpose rewrites the capture with `UPDATE_GOLDEN=1`, in a commit of its own.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.export import figures
from engine.export.figures import FilesBeside, linked
from tests.test_figures_moodle import without_png

GOLDEN = Path(__file__).parent / "golden" / "bundled-bank.sha256"
SUFFIX = {"json": "json", "markdown": "md", "moodle": "xml"}


def _expected() -> dict[str, str]:
    pairs = (line.split() for line in GOLDEN.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_same_bytes_as_before(seed: int, count: int, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figures, "draw", lambda plot, kind: f"{kind} of {plot.file}".encode())
    stem = f"s{seed}-c{count}"
    result = CliRunner().invoke(
        cli, ["generate", "--seed", str(seed), "--count", str(count), "-f", fmt, "-o", str(tmp_path / f"{stem}.{SUFFIX[fmt]}")]
    )
    assert result.exit_code == 0, result.output
    outputs = [p for p in tmp_path.iterdir() if p.is_file()]
    written = {p.name: hashlib.sha256(_without_plots(p.read_bytes())).hexdigest() for p in outputs}
    shown = {file for p in outputs for file in linked(p.read_text(encoding="utf-8"))}
    beside = tmp_path / "figures"
    if fmt != "moodle" and shown:
        assert {p.name for p in beside.iterdir()} == {f"{file}.{kind}" for file in shown for kind in FilesBeside.KINDS}
    else:
        assert not beside.exists()
    mine = {name for name in _expected() if name in written or name.startswith(f"{stem}.") and name.endswith(SUFFIX[fmt])}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        _update({name: digest for name, digest in _expected().items() if name not in mine} | written)
    expected = {name: digest for name, digest in _expected().items() if name in mine or name in written}
    assert written == expected


def _update(digests: dict[str, str]) -> None:
    """Rewrite the capture (UPDATE_GOLDEN=1), after a change of outputs made on purpose."""
    GOLDEN.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items())))


def _without_plots(data: bytes) -> bytes:
    """An output's bytes, each PNG a Moodle file embeds replaced by its name."""
    return without_png(data.decode("utf-8")).encode("utf-8") if b'encoding="base64"' in data else data
