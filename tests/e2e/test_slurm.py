"""A real Slurm: a single-node cluster on this machine runs a small MRI multirun through
``hydra/launcher=slurm`` (submitit), and its result tables equal a local run's.

``tools/slurm_local.py start`` installs Debian's slurm-wlm and munge when they are missing
(root, apt), starts munged, slurmctld and slurmd on 127.0.0.1 with this machine's cores, and
``stop`` ends them; these are the commands docs/slurm.md shows. The scheduler's record of the
jobs is Slurm's job-completion log (``jobcomp/filetxt``): every job submitit reports must be
there as COMPLETED on this node. When Slurm cannot be started (no root, no apt, a daemon
that does not come up) the test skips with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import backends

pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                    reason="hydra-submitit-launcher is not installed")

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("numpy", "cython")
SHARDS_PER_BACKEND = 2 * 2  # weights T1, T2 x scales 2, 4
# what docs/slurm.md shows: no more than a 2-core node grants (slurm.yaml asks for 4 cores)
SLURM_LAUNCHER = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1",
                  "hydra.launcher.mem_gb=2", "hydra.launcher.timeout_min=20"]
# the one column that describes the run, not its result: the shard's wall time
RUN_COLUMNS = {"seconds"}


@pytest.fixture(scope="module")
def cluster(request):
    """``(slurm_local module, state folder)`` of a running single-node cluster
    (``slurm_cluster`` of conftest.py), once the backends are known to be here."""
    missing = [b for b in BACKENDS if b not in backends.available_backends()]
    if missing:
        pytest.skip(f"backends {missing} are not available")
    return request.getfixturevalue("slurm_cluster")


def _command(tmp: Path, launcher: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "layerbench.cli", "reproduce", "-m", *launcher,
        f"backend={','.join(BACKENDS)}", "experiment=mri_smoke", "experiment.angles=[0,18]",
        "experiment.slices.start=85", "experiment.slices.stop=96", "experiment.slices.step=5",
        "experiment.examples=[90]", f"output.root={tmp / 'runs'}", "output.progress=false",
        "report_on_end=false", f"hydra.sweep.dir={tmp / 'sweep'}",
    ]


def _env(extra: dict | None = None) -> dict[str, str]:
    env = dict(extra or os.environ, OMP_WAIT_POLICY="passive", TF_CPP_MIN_LOG_LEVEL="3")
    src = Path(backends.__file__).resolve().parent.parent  # runs from a checkout or a wheel
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def _tables(runs: Path) -> dict[str, pd.DataFrame]:
    found = sorted(p for p in runs.rglob("*.parquet") if ".tmp" not in p.name)
    return {str(p.relative_to(runs)): pd.read_parquet(p) for p in found}


def test_slurm_multirun_equals_local_run(cluster, tmp_path):
    slurm, state = cluster
    res = subprocess.run(_command(tmp_path / "slurm", SLURM_LAUNCHER), cwd=tmp_path,
                         env=_env(slurm.env(state)), capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    local = subprocess.run(_command(tmp_path / "local", []), cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=900)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]

    on_slurm, at_home = _tables(tmp_path / "slurm" / "runs"), _tables(tmp_path / "local" / "runs")
    assert len(on_slurm) == len(BACKENDS) * SHARDS_PER_BACKEND
    assert sorted(on_slurm) == sorted(at_home)
    for name, table in on_slurm.items():
        keep = [c for c in table.columns if c not in RUN_COLUMNS]
        pd.testing.assert_frame_equal(table[keep], at_home[name][keep], check_exact=True,
                                      obj=name)

    # the scheduler's record: every job submitit submitted completed on this node
    jobs = sorted(p.name for p in (tmp_path / "slurm" / "sweep" / ".submitit").iterdir()
                  if p.name[0].isdigit())
    assert jobs, "submitit left no job folders"
    records = (state / "jobcomp.log").read_text().splitlines()
    print("\n".join(records))  # the note quotes them (pytest -s)
    node = slurm.node()["name"]
    # submitit submits a sweep as one job array: a folder "<array>" for the submission and
    # one "<array>_<task>" per task
    tasks = [j for j in jobs if "_" in j] or jobs
    assert len(tasks) == len(BACKENDS), jobs
    for job in tasks:
        array, _, task = job.partition("_")
        key = f"ArrayJobId={array} ArrayTaskId={task} " if task else f"JobId={array} "
        mine = [r for r in records if key in r]
        assert len(mine) == 1, f"job {job} is not in Slurm's job-completion log:\n{records}"
        assert "JobState=COMPLETED" in mine[0] and f"NodeList={node} " in mine[0], mine


def test_docs_show_the_commands_this_test_runs():
    """docs/slurm.md's one-machine block is this test's procedure (same launcher overrides,
    same start/stop tool), so the documented commands are the tested ones."""
    docs = (ROOT / "docs" / "slurm.md").read_text()
    block = docs.split("## 0. Try it on one machine first", 1)[1].split("```")[1]
    words = set(block.replace("\\\n", " ").split())
    assert {"python", "tools/slurm_local.py", "start", "stop", "reproduce", "-m",
            f"backend={','.join(BACKENDS)}", "experiment=mri_smoke", "report_on_end=false",
            *SLURM_LAUNCHER} <= words, sorted(words)
