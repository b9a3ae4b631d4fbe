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


def _bash_lines(relpath: str) -> list[str]:
    blocks = re.findall(r"^```bash\n(.*?)^```", (ROOT / relpath).read_text(), re.S | re.M)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def test_readme_nox_sessions_exist_and_run_the_test_command():
    """The two commands of the README are nox sessions of noxfile.py, and ``tests`` runs the
    README's test command."""
    noxfile = (ROOT / "noxfile.py").read_text()
    sessions = [line.split()[2] for line in _bash_lines("README.md")
                if line.startswith("nox -s ")]
    assert {"reproduce", "tests"} <= set(sessions)
    for name in sessions:
        assert re.search(rf"^def {name}\(session", noxfile, re.M), f"no nox session {name}"
    assert 'session.run("pytest", "-n", "2"' in noxfile
    assert '"layerbench", "reproduce", "-m"' in noxfile and "experiment=div2k,mri" in noxfile


def test_readme_smoke_command_runs(tmp_path):
    """The first-taste command runs as written (from a temporary folder) and writes the
    tables and figures it promises."""
    import subprocess
    import sys

    (command,) = [line for line in _bash_lines("README.md")
                  if line.startswith("layerbench reproduce experiment=div2k_smoke")]
    args = command.split()[1:] + [f"hydra.run.dir={tmp_path / 'hydra'}",
                                  "output.progress=false"]
    proc = subprocess.run([sys.executable, "-c", "from layerbench.cli import main; main()",
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((tmp_path / "smoke" / "tables").glob("div2k_*.csv"))
    assert list((tmp_path / "smoke" / "figures").glob("*.png"))
