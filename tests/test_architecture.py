"""The package structure holds: no import cycles (lazy imports included), and each package
imports only what its place in the flow allows (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every engine module `path` imports, at top level or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            # `from engine.x import y` may import the module engine.x.y.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {imported for imported in found if imported == "engine" or imported.startswith("engine.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    return {name: {i for i in _imports(path, name) if i in modules and i != name} for name, path in modules.items()}


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_was_read() -> None:
    assert "engine.generation.pipeline" in GRAPH["engine.api"] or "engine.generation.pipeline" in GRAPH["engine.cli"]
    assert "engine.language.exact" in GRAPH["engine.authoring.loader"]


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_a_cycle_would_be_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


# Which engine modules each package may import (besides its own modules).
ALLOWED: list[tuple[str, tuple[str, ...]]] = [
    ("engine.errors", ()),
    ("engine.paths", ()),
    ("engine.vocabulary", ()),
    ("engine.tolerance", ("engine.language.tokens", "engine.vocabulary")),
    ("engine.language", ("engine.errors", "engine.vocabulary")),
    ("engine.authoring", ("engine.language", "engine.errors", "engine.vocabulary", "engine.tolerance",
                          "engine.paths")),
    ("engine.generation", ("engine.authoring", "engine.language", "engine.errors", "engine.vocabulary")),
    ("engine.files", ("engine.language.printing", "engine.paths", "engine.errors")),
    ("engine.export", ("engine.generation.quiz", "engine.files", "engine.language", "engine.errors",
                       "engine.vocabulary")),
    # The untrusted-input side: nothing of authoring, generation or export.
    ("engine.grading.checker", ("engine.language", "engine.errors", "engine.vocabulary", "engine.tolerance")),
    ("engine.grading", ("engine.grading.checker", "engine.generation.pipeline", "engine.generation.quiz",
                        "engine.authoring.bank", "engine.files", "engine.language", "engine.errors",
                        "engine.vocabulary")),
]


def _rule(module: str) -> tuple[str, tuple[str, ...]] | None:
    matching = [rule for rule in ALLOWED if _in(module, rule[0])]
    return max(matching, key=lambda rule: len(rule[0])) if matching else None


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_follow_the_flow(module: str) -> None:
    rule = _rule(module)
    if rule is None:
        return  # the top: engine.api, engine.cli, engine.check, engine.__main__
    package, allowed = rule
    wrong = sorted(i for i in GRAPH[module] if not _in(i, package, *allowed))
    assert wrong == [], f"{module} imports {wrong}"


def test_only_the_cli_imports_click() -> None:
    users = sorted(_module_name(p) for p in ENGINE.rglob("*.py")
                   if any(isinstance(n, ast.Import | ast.ImportFrom) and "click" in (
                       [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""])
                          for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    assert users == ["engine.cli"]
