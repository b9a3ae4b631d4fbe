"""The Python examples of the READMEs and of the documentation pages run as written, and
the test command line is intact.

Every ```python block of those files is executed in a fresh namespace, in order, from a
temporary working directory (examples must not depend on the checkout's location).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = ("README.md", "layerbench/models/weights/README.md", "docs/user/quickstart.md",
           "docs/models.md")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(relpath: str) -> list[str]:
    return FENCE.findall((ROOT / relpath).read_text())


@pytest.mark.parametrize("relpath", READMES)
def test_readme_has_python_examples(relpath):
    assert python_blocks(relpath), f"{relpath} has no ```python example"


@pytest.mark.parametrize(
    "relpath,index",
    [(r, i) for r in READMES for i in range(len(python_blocks(r)))],
)
def test_readme_example_runs(relpath, index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = python_blocks(relpath)[index]
    exec(compile(code, f"{relpath}[python block {index}]", "exec"), {"__name__": "readme"})


def test_readme_test_command_is_what_ci_runs():
    """``.ci/run`` runs the README's test command, verbatim, on a line of its own."""
    readme_lines = (ROOT / "README.md").read_text().splitlines()
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert "pytest -n 2" in readme_lines
    assert any(line.startswith("pytest -n 2 ") or line == "pytest -n 2" for line in ci_lines)
