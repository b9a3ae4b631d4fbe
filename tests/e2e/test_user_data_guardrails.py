"""Guardrails on the user's data: a run that would produce no rows stops before any work
with one line naming the setting and the valid range (exit status 2), T1-only data is told
``dataset.weights=[T1]``, and Hydra's run directory follows ``output.root`` with a suffix
unique per process.

Each case is a real ``python -m layerbench.cli`` process, all started at once.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from layerbench import confdir, logs, schema
from layerbench.confdir import CONFIG_PATH

nib = pytest.importorskip("nibabel", reason="NIfTI volumes need nibabel (the [mri] extra)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli_env):
    """``{case: (returncode, stderr, output root)}``; the volumes: one subject with a T1
    20x20x20 volume whose slices 0..9 (along axis 2) are blank, and no T2."""
    tmp = tmp_path_factory.mktemp("guard")
    data = tmp / "t1only"
    data.mkdir()
    vol = np.zeros((20, 20, 20), np.float32)
    vol[4:16, 4:16, 10:] = np.random.default_rng(0).random((12, 12, 10)) + 0.5
    nib.save(nib.Nifti1Image(vol, np.eye(4)), data / "s1_T1.nii.gz")
    own = ["experiment=mri_smoke", "dataset=mri_dir", f"dataset.root={data}"]
    cases = {
        "outside": ["experiment=mri_smoke", "experiment.slices.start=500",
                    "experiment.slices.stop=600"],
        "outside_again": ["experiment=mri_smoke", "experiment.slices.start=300"],
        "t1_only": own,
        "t1_small_volume": [*own, "dataset.weights=[T1]"],
        "blank": [*own, "dataset.weights=[T1]", "experiment.slices.start=0",
                  "experiment.slices.stop=5", "experiment.slices.step=1"],
        "empty_plan": ["experiment=div2k_smoke", "dataset.images=[]"],
    }
    procs = {}
    for name, args in cases.items():
        root = tmp / name
        procs[name] = (root, subprocess.Popen(
            [sys.executable, "-m", "layerbench.cli", "reproduce", *args, f"output.root={root}",
             "report_on_end=false", "output.progress=false"],
            cwd=tmp, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out = {}
    for name, (root, p) in procs.items():
        _, err = p.communicate(timeout=600)
        out[name] = (p.returncode, err, root)
    return out


@pytest.mark.parametrize("case, names", [
    ("outside", ["experiment.slices {start: 500, stop: 600, step: 10}", "selects none",
                 "valid indices 0..188", "dataset.axis=2"]),
    ("t1_only", ["missing ['T2']", "dataset.weights=[T1]"]),
    ("t1_small_volume", ["experiment.slices", "s1 T1 (20 slices", "valid indices 0..19"]),
    ("blank", ["experiment.slices {start: 0, stop: 5, step: 1}", "non-blank",
               "slices 0, 1, 2, 3, 4)"]),
    ("empty_plan", ["expected at least one shard", "dataset.images=[]"]),
])
def test_a_run_without_rows_stops_with_one_line_and_status_2(runs, case, names):
    status, err, root = runs[case]
    assert status == 2, err[-600:]
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("layerbench reproduce: error: "), err[-600:]
    for name in names:
        assert name in lines[0]
    # nothing computed: no shard table under the output root
    assert not [p for p in root.rglob("*") if p.suffix in (".parquet", ".csv")]


def test_hydra_directories_follow_output_root_and_are_unique(runs):
    dirs = []
    for case in ("outside", "outside_again"):
        root = runs[case][2]
        found = [p for p in (root / "hydra").glob("*/*") if p.is_dir()]
        assert len(found) == 1, found
        assert re.fullmatch(r"\d\d-\d\d-\d\d_mri_\d+-[0-9a-f]{6}", found[0].name), found
        dirs.append(found[0].name.split("_mri_")[1])
    assert dirs[0] != dirs[1]
    assert not (Path(runs["outside"][2]).parent / "results").exists()


def test_the_report_hydra_directory_follows_out(tmp_path):
    schema.register()
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = compose(config_name="report", overrides=[f"out={tmp_path}"],
                      return_hydra_config=True)
    assert Path(cfg.hydra.run.dir).parent == tmp_path / "runs" / "hydra" / "report"


def test_run_id_is_resolved_once_per_config():
    cfg = OmegaConf.create({"a": "${run_id:}", "b": "${run_id:}"})
    assert cfg.a == cfg.b and cfg.a.startswith(f"{os.getpid()}-")
    assert confdir.run_id() != confdir.run_id()


def test_other_libraries_info_logs_are_quiet():
    logging.getLogger("matplotlib").setLevel(logging.NOTSET)
    logs.quiet_libraries()
    assert not logging.getLogger("matplotlib.font_manager").isEnabledFor(logging.INFO)
    assert logging.getLogger("layerbench").getEffectiveLevel() <= logging.WARNING


def test_nested_bars_only_outside_a_multirun():
    assert not logs.in_multirun()
    assert not logs.parallel_jobs()
    assert logs.show_bar(True, nested=True) and logs.show_bar(True)
    assert not logs.show_bar(False) and not logs.show_bar(False, nested=True)


def test_verify_reports_zero_row_shards_as_empty_not_whole(tmp_path, capsys):
    import pandas as pd

    from layerbench.experiments.store import Shard
    from layerbench.experiments.verify import verify

    Shard(tmp_path / "mri" / "numpy", "s1-T1-x2", "abc").write(
        pd.DataFrame({"psnr": []}), {}, None)
    Shard(tmp_path / "mri" / "numpy", "s1-T1-x4", "abc").write(
        pd.DataFrame({"psnr": [30.0]}), {}, None)
    assert verify(tmp_path) == 1
    out = capsys.readouterr().out
    assert "EMPTY" in out and "s1-T1-x2" in out and "s1-T1-x4" not in out.split("EMPTY")[1]
    assert out.strip().endswith("2 shards, 1 finished and whole, 1 empty, 0 problems")


@pytest.mark.parametrize("args, prefix", [
    (["reproduce", "output.root=/data/elsewhere"], "/data/elsewhere/hydra/"),
    (["train", "out_dir=/data/elsewhere/train"], "/data/elsewhere/train/hydra/"),
])
def test_hydra_run_dir_follows_the_output_setting(cli_env, tmp_path, args, prefix):
    out = subprocess.run([sys.executable, "-m", "layerbench.cli", *args, "--cfg", "all",
                          "--resolve", "--package", "hydra.run"], cwd=tmp_path, env=cli_env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-500:]
    run_dir = out.stdout.split("dir: ", 1)[1].strip()
    assert run_dir.startswith(prefix) and re.search(r"_\d+-[0-9a-f]{6}$", run_dir), run_dir
