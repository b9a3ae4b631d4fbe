"""A report that cannot be written fails its command with one line, whether it runs at the
end of ``layerbench reproduce`` (Hydra's callback, one run or ``-m``) or as
``layerbench report``. Hydra turns a callback's exception into a warning, so this exited 0.
"""

from __future__ import annotations

import subprocess
import sys

SMOKE = ["experiment=mri_smoke", "experiment.angles=[0]", "experiment.scales=[2]",
         "dataset.weights=[T1]", "experiment.slices.start=90",
         "experiment.slices.stop=91", "experiment.examples=[90]", "output.progress=false"]


def _one_line_failure(returncode: int, stderr: str, command: str, path) -> None:
    assert returncode == 2, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"layerbench {command}: error: the report under ")
    assert str(path) in lines[0] and "Warning" not in stderr


def test_a_failed_report_fails_the_command(cli_env, tmp_path):
    """``echo x > <report>/figures``, then ``reproduce``, ``report`` and ``reproduce -m`` (as
    ``nox -s reproduce`` runs it; it finds the shards finished and goes straight to its
    report), each in its own process: Hydra configures the logging of the process it runs in,
    which would outlive the test inside pytest's."""
    runs, out = tmp_path / "runs", tmp_path / "report"
    out.mkdir()
    (out / "figures").write_text("x\n")
    paths = [f"output.root={runs}", f"report.out={out}"]
    for args in (["reproduce", *SMOKE, *paths, f"hydra.run.dir={tmp_path / 'h1'}"],
                 ["report", f"runs={runs}", f"out={out}", f"hydra.run.dir={tmp_path / 'h2'}"],
                 ["reproduce", "-m", *SMOKE, *paths]):
        proc = subprocess.run([sys.executable, "-m", "layerbench.cli", *args], cwd=tmp_path,
                              env=cli_env, capture_output=True, text=True, timeout=600)
        _one_line_failure(proc.returncode, proc.stderr, args[0], out / "figures")
