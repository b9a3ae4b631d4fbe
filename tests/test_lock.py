"""locks/py311.txt covers every requirement of ``.[all]`` at an allowed version, with hashes.

A dependency added to or changed in pyproject.toml without re-running ``nox -s lock`` fails
here, naming the requirement.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "locks" / "py311.txt"
CONSTRAINTS = ROOT / "locks" / "constraints.txt"
ENV = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
       "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def _all_requirements() -> list[Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = canonicalize_name(meta["name"])
    extras = meta.get("optional-dependencies", {})
    out, todo, seen = [Requirement(r) for r in meta.get("dependencies", [])], ["all"], set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in extras[extra]:
            req = Requirement(line)
            if canonicalize_name(req.name) == name:
                todo += sorted(req.extras)
            else:
                out.append(req)
    return [r for r in out if r.marker is None or r.marker.evaluate({**ENV, "extra": ""})]


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every pin in the lock."""
    text = LOCK.read_text()
    out = {}
    for block in re.split(r"\n(?=\S)", text):
        m = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), block.count("--hash=sha256:"))
    return out


def test_lock_exists_with_hashes():
    locked = _locked()
    assert locked, f"{LOCK} pins nothing: run `nox -s lock`"
    unhashed = sorted(n for n, (_, h) in locked.items() if h == 0)
    assert not unhashed, f"pins without --hash in {LOCK}: {unhashed}"


@pytest.mark.parametrize("req", _all_requirements(), ids=str)
def test_lock_covers_requirement(req):
    locked = _locked()
    name = canonicalize_name(req.name)
    assert name in locked, (f"{req} (pyproject.toml, .[all]) is not in {LOCK.name}: "
                            "run `nox -s lock`")
    version = locked[name][0]
    assert req.specifier.contains(version, prereleases=True), (
        f"{LOCK.name} pins {req.name}=={version}, pyproject.toml asks {req}: run `nox -s lock`")


def test_lock_respects_constraints():
    locked = _locked()
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name in locked:
            assert req.specifier.contains(locked[name][0]), (
                f"{LOCK.name} pins {name}=={locked[name][0]}, {CONSTRAINTS.name} says {req}")
