"""The import graph of the apps: no cycle between modules, and every arrow points the way DESIGN.md says.

Every module under opsportal, monitoring, backups and maintenance (migrations aside) is read with
``ast``; every import counts, module level or inside a function, absolute or relative. Rules:

- ``opsportal`` imports no domain app; ``monitoring`` never imports ``backups`` or ``maintenance``;
- ``backups`` and ``maintenance`` import only monitoring's public module and not each other;
- inside ``monitoring``: services <- alerts <- metrics <- agents (a part imports only parts below
  it); the dashboard may read every part and no part imports it; the app-level modules
  (``monitoring.models``, ``urls``, ``admin``, ``apps``, ``public``, ``management``) sit above the
  parts, so no part imports them.
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("opsportal", "monitoring", "backups", "maintenance")
PARTS = ["monitoring.services", "monitoring.alerts", "monitoring.metrics", "monitoring.agents"]
PUBLIC = {"monitoring.public", "monitoring.alerts.public"}


def find_modules(root: Path, apps: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the apps (migrations and caches aside)."""
    out: dict[str, Path] = {}
    for app in apps:
        for folder, dirs, files in os.walk(root / app):
            dirs[:] = [d for d in dirs if d not in ("migrations", "__pycache__")]
            for name in files:
                if name.endswith(".py"):
                    path = Path(folder) / name
                    parts = list(path.relative_to(root).with_suffix("").parts)
                    if parts[-1] == "__init__":
                        parts.pop()
                    out[".".join(parts)] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (the longest dotted prefix that is a module)."""
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            candidate = ".".join(parts[:i])
            if candidate in modules:
                return candidate
        return None

    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in modules.items():
        package = mod if mod in packages else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    if node.level > 1:
                        base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                found = resolve(target)
                if found and found != mod:
                    graph[mod].add(found)
    return graph


def cycles(graph: dict[str, set[str]], packages: set[str]) -> list[frozenset[str]]:
    """Strongly connected groups of two or more modules (Tarjan); a package re-exporting its own
    submodules from ``__init__`` is not counted."""
    edges = {m: {t for t in ts if not (m in packages and t.startswith(m + "."))} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def part_of(module: str) -> str:
    """'monitoring.alerts.views' -> 'monitoring.alerts'; app-level monitoring modules -> 'monitoring'."""
    parts = module.split(".")
    if parts[0] == "monitoring" and len(parts) > 1:
        sub = ".".join(parts[:2])
        if sub in PARTS or sub == "monitoring.dashboard":
            return sub
        return "monitoring"
    return parts[0]


def broken_rules(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for mod, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = mod.split(".")[0], target.split(".")[0]
            pa, pb = part_of(mod), part_of(target)
            if a == "opsportal" and b != "opsportal":
                problems.append(f"{mod} imports {target}: opsportal knows no domain app")
            elif a == "monitoring" and b in ("backups", "maintenance"):
                problems.append(f"{mod} imports {target}: monitoring never imports {b}")
            elif a in ("backups", "maintenance") and b == "monitoring" and target not in PUBLIC:
                problems.append(f"{mod} imports {target}: other apps use monitoring.alerts.public only")
            elif {a, b} == {"backups", "maintenance"}:
                problems.append(f"{mod} imports {target}: backups and maintenance do not import each other")
            elif pa in PARTS and pb in PARTS and PARTS.index(pb) > PARTS.index(pa):
                problems.append(f"{mod} imports {target}: {pa} sits below {pb}")
            elif pa in PARTS and pb in ("monitoring", "monitoring.dashboard"):
                problems.append(f"{mod} imports {target}: a part never imports the app level or the dashboard")
    return problems


@pytest.fixture(scope="module")
def project() -> tuple[dict[str, Path], dict[str, set[str]]]:
    modules = find_modules(ROOT, APPS)
    return modules, import_graph(modules)


def test_no_import_cycle_between_modules(project: tuple[dict[str, Path], dict[str, set[str]]]) -> None:
    modules, graph = project
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    found = cycles(graph, packages)
    assert [" <-> ".join(sorted(c)) for c in found] == []


def test_every_import_points_the_way_design_md_says(project: tuple[dict[str, Path], dict[str, set[str]]]) -> None:
    _modules, graph = project
    assert broken_rules(graph) == []


def test_the_walk_sees_imports_inside_functions_and_relative_ones(
    project: tuple[dict[str, Path], dict[str, set[str]]], tmp_path: Path
) -> None:
    """The checker itself: a cycle closed only by a function-level relative import is found, and
    an upward arrow inside monitoring is reported."""
    services = tmp_path / "monitoring" / "services"
    alerts = tmp_path / "monitoring" / "alerts"
    for folder in (services, alerts):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
    (tmp_path / "monitoring" / "__init__.py").write_text("")
    (services / "a.py").write_text("from . import b\n")
    (services / "b.py").write_text("def f():\n    from .a import x\n    from monitoring.alerts import c\n")
    (alerts / "c.py").write_text("from monitoring.services.a import x\n")
    modules = find_modules(tmp_path, ["monitoring"])
    graph = import_graph(modules)
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    assert frozenset({"monitoring.services.a", "monitoring.services.b", "monitoring.alerts.c"}) in cycles(
        graph, packages
    )
    assert broken_rules(graph) == [
        "monitoring.services.b imports monitoring.alerts: monitoring.services sits below monitoring.alerts",
        "monitoring.services.b imports monitoring.alerts.c: monitoring.services sits below monitoring.alerts",
    ]
    # the real project has every part in place
    real_modules, _graph = project
    assert set(PARTS) | {"monitoring.dashboard"} <= set(real_modules)
