"""The MRI experiment refuses to score an MRI-trained model on slices its weights header says
it trained on, and keeps a model to the protocol variants and angles it lists."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from layerbench import models, schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import mri as mri_exp
from layerbench.experiments.methods import SRMethod


def _config(*extra: str):
    over = ["experiment=mri_smoke", "dataset.weights=[T1]", "experiment.scales=[2]",
            "experiment.angles=[0,18]", "experiment.models=[{label: EDSR, preset: edsr_small_x2}]",
            "output.progress=false", *extra]
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return schema.validate(compose(config_name="config", overrides=over))


def _model(trained_axis: int, variants=None, angles=None) -> SRMethod:
    """A tiny model whose header says: trained on slices 80 and 90 of mni152 T1 ``axis``."""
    training = {"data": {"kind": "mri"}, "init": None, "split": {
        "kind": "mni152", "sources": {"mni152/T1": "nilearn:mni152_t1"},
        "subjects": {"mni152": {"T1": {str(trained_axis): [80, 90]}}}}}
    return SRMethod("EDSR_MRI", "edsr_mri_x2", 2, "pretrained", "x", models.edsr(2, 1, 4, 1.0),
                    None, training, variants, angles)


def test_scoring_trained_slices_is_refused_naming_model_and_slices():
    cfg = _config()  # axial slices 80, 90, 100
    (task,) = mri_exp.plan(cfg)
    with pytest.raises(ValueError, match=r"EDSR_MRI.*trained on.*axis 2 slices \[80, 90\]"):
        mri_exp.run_shard(cfg, task, [_model(2)])


def test_held_out_slices_are_scored_and_variants_respected():
    cfg = _config()
    (task,) = mri_exp.plan(cfg)
    table, _ = mri_exp.run_shard(cfg, task, [_model(0)])  # trained on sagittal slices only
    sr = table[table["kind"] == "sr"]
    assert set(sr["method"]) == {"EDSR_MRI"} and set(sr["model_training"]) == {"mri_scratch"}
    assert set(sr["slice"]) == {80, 90, 100} and set(sr["angle"]) == {0.0, 18.0}
    table, _ = mri_exp.run_shard(cfg, task, [_model(0, angles=[18.0])])
    sr = table[table["kind"] == "sr"]
    assert set(sr["angle"]) == {18.0} and set(sr["slice"]) == {80, 90, 100}
    assert set(table.loc[table["method"] == "bicubic", "angle"]) == {0.0, 18.0}
    table, _ = mri_exp.run_shard(cfg, task, [_model(0, variants=["thesis"])])
    assert not (table["kind"] == "sr").any()  # listed for the thesis variant only


def test_a_model_angle_out_of_range_is_a_config_error():
    with pytest.raises(schema.ConfigError, match=r"experiment.models\[0\].angles\[0\]"):
        _config("experiment.models=[{label: EDSR, preset: edsr_small_x2, angles: [360]}]")
