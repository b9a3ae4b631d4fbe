"""Example images carry their slice and angle as data, from the MRI shard to the figures.

The old store keyed them ``s{slice:03d}_a{int(angle):03d}_<name>`` and the report parsed the
key back: 22.0 and 22.5 degrees shared one key, and a figure of 22.5 looked up rows at 22.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from layerbench import schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import store
from layerbench.experiments.runner import run_experiment
from layerbench.report.build import build_report, label

TINY_EDSR = ("experiment.models=[{label: EDSR, preset: edsr_baseline_x2, weights: random, "
             "overrides: {n_resblocks: 1, n_feats: 8}}]")


def test_fractional_angles_are_distinct_examples_through_a_shard(tmp_path):
    images = {(40, a, n): np.full((4, 4), k, np.uint8)
              for k, (a, n) in enumerate([(22.0, "hr"), (22.5, "hr"), (22.5, "EDSR")])}
    images["crop"] = np.arange(3)
    # what the old key scheme made of them: one key for two angles
    assert f"s{40:03d}_a{int(22.0):03d}" == f"s{40:03d}_a{int(22.5):03d}"
    shard = store.Shard(tmp_path, "mri_part", "abc")
    shard.write(pd.DataFrame({"x": [1]}), {"git": "test"}, images)
    assert shard.verify() == []
    ex = shard.read_examples()
    assert ex.positions("hr") == [(40, 22.0), (40, 22.5)]
    assert list(ex.at(40, 22.5)) == ["hr", "EDSR"]
    assert int(ex.at(40, 22.5)["hr"][0, 0]) == 1 and int(ex.at(40, 22.0)["hr"][0, 0]) == 0
    np.testing.assert_array_equal(ex.at()["crop"], np.arange(3))
    assert label(40, 22.5) == "s040_a22.5" and label(40, 22.0) == "s040_a022"
    assert label(90, 0.0) == "s090_a000" and label(90, 18.0) == "s090_a018"  # names as before


def test_examples_of_the_old_store_are_named_not_misread(tmp_path):
    from layerbench.data.errors import DataError

    shard = store.Shard(tmp_path, "mri_part", "abc")
    shard.write(pd.DataFrame({"x": [1]}), {"git": "test"})
    np.savez_compressed(shard.path(".npz"), s090_a018_hr=np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"mri_part\.abc\.npz.*older layerbench"):
        shard.read_examples()


def test_a_run_at_22_5_degrees_gets_its_own_panels_with_its_own_scores(tmp_path):
    over = ["experiment=mri", "protocol=clean", "dataset.weights=[T1]", "experiment.scales=[2]",
            "experiment.angles=[0,22.5]", "experiment.example_angle=22.5",
            "experiment.examples=[90]", "experiment.slices.start=90",
            "experiment.slices.stop=91", "output.progress=false",
            f"output.root={tmp_path / 'runs'}", TINY_EDSR]
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = schema.validate(compose(config_name="config", overrides=over))
    rows = run_experiment(cfg)
    assert sorted(rows["angle"].unique()) == [0.0, 22.5]
    (shard,) = store.finished_shards(tmp_path / "runs")
    assert shard.read_examples().positions("hr") == [(90, 0.0), (90, 22.5)]
    written = build_report(tmp_path / "runs", tmp_path / "out", formats=("png",))
    names = {p.name for p in written}
    for tag in ("s090_a000", "s090_a22.5"):
        assert f"mri_panels_mni152_T1_x2_{tag}.png" in names
        assert f"mri_diff_mni152_T1_x2_{tag}.png" in names
    # the panel of 22.5 degrees shows the scores of 22.5, not of a truncated 22
    from layerbench.report import figures

    mri, shards = store.load_runs(tmp_path / "runs")
    fig = figures.mri_panels(shards[mri["_file"].iloc[0]].read_examples().at(90, 22.5), mri,
                             subject="mni152", weight="T1", scale=2, slice_=90, angle=22.5)
    want = mri[(mri["angle"] == 22.5) & (mri["method"] == "bicubic")
               & (mri["channel"] == "all")]["psnr"].iloc[0]
    assert f"{want:.2f}" in " ".join(ax.get_title() for ax in fig.axes)
    assert "angle 22.5" in fig.get_suptitle()
