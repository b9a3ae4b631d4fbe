"""End to end: a tiny MRI multirun over two backends through submitit's local launcher is
killed, resumed without loss, and the report builds every figure from the merged tables.

Backends agree on the uint8 outputs to within one grey level: every backend's float32
output lies within the reduction budget of ``backends/testing/tolerances.py`` of the
reference, far below half a grey level, so rounding to uint8 can flip a value by at most one
level, and only for values that sit on a .5 boundary within that budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import backends

pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                    reason="hydra-submitit-launcher is not installed")

SLICES, ANGLES = (85, 90, 95), (0, 18)
# per shard: slices x angles x (bicubic: 1 row + one SR model: R, G, B, all)
ROWS_PER_SHARD = len(SLICES) * len(ANGLES) * (1 + 4)
SHARDS_PER_BACKEND = 2 * 2  # weights T1, T2 x scales 2, 4


def _two_backends() -> list[str]:
    names = [b for b in backends.available_backends() if b != "tensorflow"]
    preferred = [b for b in ("numpy", "cython", "numba") if b in names]
    if len(preferred) < 2:
        pytest.skip(f"needs two non-TensorFlow backends, found {names}")
    return preferred[:2]


def _command(tmp: Path, pair: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "layerbench.cli", "reproduce", "-m",
        "hydra/launcher=local_submitit", f"backend={','.join(pair)}", "experiment=mri_smoke",
        f"experiment.angles=[{','.join(map(str, ANGLES))}]",
        f"experiment.slices.start={SLICES[0]}", f"experiment.slices.stop={SLICES[-1] + 1}",
        f"experiment.slices.step={SLICES[1] - SLICES[0]}", f"experiment.examples=[{SLICES[1]}]",
        f"output.root={tmp / 'runs'}", f"report.out={tmp / 'report'}", "output.progress=false",
        f"hydra.sweep.dir={tmp / 'sweep'}",
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_WAIT_POLICY="passive", TF_CPP_MIN_LOG_LEVEL="3")
    src = Path(backends.__file__).resolve().parent.parent  # runs from a checkout or a wheel
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def _finished(runs: Path) -> list[Path]:
    """Tables of the shards that pass verification (sidecar written last and matching)."""
    from layerbench.experiments.store import finished_shards

    return sorted(s.path(".parquet") for s in finished_shards(runs)) if runs.is_dir() else []


def test_killed_multirun_resumes_without_loss_and_reports(tmp_path):
    pair = _two_backends()
    cmd, env, runs = _command(tmp_path, pair), _env(), tmp_path / "runs"
    total = 2 * SHARDS_PER_BACKEND

    # 1. start, wait for the first finished shard, kill the whole process group (SIGKILL)
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while not _finished(runs) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0].decode(errors="replace")
    done = _finished(runs)
    assert 0 < len(done) < total, f"expected an interrupted run, got {len(done)} shards\n{out}"
    for p in done:  # what was finished is whole
        assert len(pd.read_parquet(p)) == ROWS_PER_SHARD
        assert p.with_suffix(".json").is_file() and p.with_suffix(".csv").is_file()
    before = {p: p.stat().st_mtime_ns for p in done}

    # 2. the same command again: finishes the rest, leaves finished shards alone
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    done = _finished(runs)
    assert len(done) == total
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert not [p for p in runs.rglob("*") if ".tmp" in p.name]
    table = pd.concat([pd.read_parquet(p) for p in done], ignore_index=True)
    assert len(table) == total * ROWS_PER_SHARD
    keys = ["backend", "weight", "scale", "slice", "angle", "method", "channel"]
    assert not table.duplicated(keys).any()
    assert set(table["backend"]) == set(pair)
    assert set(table["slice"]) == set(SLICES) and set(table["angle"]) == set(map(float, ANGLES))
    assert (table.loc[table.weight == "T2", "synthetic"]).all()

    # 3. backends agree: uint8 outputs within one grey level (see the module docstring)
    from layerbench.experiments.store import Shard

    examples = {(p.parent.name, p.name.split(".")[0]):
                dict(Shard.from_base(p.with_suffix("")).read_examples().items())
                for p in runs.rglob("*.npz")}
    for (b, shard), ex in examples.items():
        if b != pair[0]:
            continue
        other = examples[(pair[1], shard)]
        assert ex and set(ex) == set(other)
        for k in ex:
            diff = np.abs(ex[k].astype(int) - other[k].astype(int))
            assert diff.max() <= 1, f"{shard} {k}: backends differ by {diff.max()} levels"

    # 4. the report (built by the Hydra callback at the end of the multirun) has every figure
    figs = {p.name for p in (tmp_path / "report" / "figures").glob("*.png")}
    expected = {f"mri_scores_vs_slice_{m}_{w}.png" for m in ("EDSR", "WDSR") for w in ("T1", "T2")}
    expected |= {"mri_scores_vs_angle_x2.png", "mri_scores_vs_angle_x4.png",
                 "mri_t1_t2_boxplots.png", "mri_mask_iou_vs_slice.png",
                 "mri_masked_vs_unmasked.png"}
    tag = f"s{SLICES[1]:03d}_a000"
    for kind in ("panels", "diff", "diff_hist"):
        expected |= {f"mri_{kind}_mni152_{w}_x{s}_{tag}.png" for w in ("T1", "T2")
                     for s in (2, 4)}
    assert expected <= figs, sorted(expected - figs)
    assert {p.stem for p in (tmp_path / "report" / "figures").glob("*.pdf")} == {
        Path(f).stem for f in figs}
    tables = {p.name for p in (tmp_path / "report" / "tables").iterdir()}
    assert {"mri_means.csv", "mri_means.md", "mri_vs_thesis.md",
            "backend_agreement.csv"} <= tables
