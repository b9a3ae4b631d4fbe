"""The registry's backend table is the one list of backends: what cannot read it is checked
against it here (pyproject extras, the Hydra ``backend`` group), what reads it is compared
with it; and the registry <-> layers import circle is gone (``KernelBackend`` lives in
``backends.backend``, which neither imports)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import backends
from backends import registry
from backends.registry import BACKEND_NAMES, BACKEND_TABLE, PEER_TABLE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(backends.__file__).resolve().parent


def test_table_rows_are_consistent():
    names = [row.name for row in BACKEND_TABLE]
    peers = [p.name for p in PEER_TABLE]
    assert len(set(names + peers)) == len(names) + len(peers), "a name is listed twice"
    assert list(registry.BACKEND_PACKAGES) == names
    assert [row.role for row in BACKEND_TABLE].count("reference") == 1
    assert [row.role for row in BACKEND_TABLE].count("oracle") == 1
    assert {row.role for row in BACKEND_TABLE} <= {"reference", "kernels", "oracle"}
    assert registry.display_order() == (*names, *peers)
    assert list(registry.colours()) == list(registry.labels()) == [*names, *peers]
    for row in BACKEND_TABLE:
        assert row.package.startswith("backends."), row  # in-tree packages only
        assert (PACKAGE / row.package.split(".", 1)[1] / "__init__.py").is_file(), row


def test_pyproject_extras_install_every_backend():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    everything = extras["all"][0]  # "layerbench[numba,tf,...]"
    listed = everything[everything.index("[") + 1:everything.index("]")].split(",")
    for row in BACKEND_TABLE:
        if row.extra is not None:
            assert row.extra in extras, f"{row.name}: extra {row.extra!r} not in pyproject"
            assert row.extra in listed, f"{row.name}: extra {row.extra!r} not in [all]"


def test_hydra_backend_group_matches_the_table():
    from layerbench.confdir import conf_dir

    yaml = pytest.importorskip("yaml")
    files = sorted((conf_dir() / "backend").glob("*.yaml"))
    assert sorted(p.stem for p in files) == sorted(BACKEND_NAMES)
    for path in files:
        assert yaml.safe_load(path.read_text())["name"] == path.stem, path


def test_listings_read_the_table(pytestconfig):
    pytest.importorskip("hydra")
    from layerbench import schema
    from layerbench.models import peer_compare

    assert schema.BACKENDS == BACKEND_NAMES
    assert peer_compare.DEFAULT_BACKENDS == tuple(
        row.name for row in BACKEND_TABLE if row.role != "oracle")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    assert importlib.import_module("bench._common").BACKENDS == BACKEND_NAMES
    markers = {line.split(":", 1)[0] for line in pytestconfig.getini("markers")}
    assert {row.marker for row in BACKEND_TABLE if row.marker} <= markers


def _module_imports(path: Path, name: str) -> set[str]:
    """``backends.*`` modules that ``name`` imports anywhere (a function-level import closes
    a circle as surely as a module-level one; it only postpones it)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "backends"}


def _graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        modules[".".join(parts)] = path
    return {name: _module_imports(path, name) & set(modules) - {name}
            for name, path in modules.items()}


def _cycle_through(graph, start, goal) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, trail = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == goal:
                return [*trail, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


# importing a module imports its parent package first: that edge is not a circle
GRAPH = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in _graph().items()}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_circle_through(module):
    """No chain of imports leads from a module of ``backends`` back to itself (the old one:
    layers.base -> registry -> layers -> layers.base)."""
    assert _cycle_through(GRAPH, module, module) is None


@pytest.mark.parametrize("module", ["backends.layers.base", "backends.registry"])
def test_module_imports_alone_in_a_fresh_interpreter(module):
    code = f"import {module} as m; print(m.__name__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == module, proc.stderr
