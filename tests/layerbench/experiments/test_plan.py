"""``layerbench plan``: the thesis configs compose, and the plan of a small DIV2K-layout tree
lists its shards with estimates computed from the given per-pixel costs."""

from __future__ import annotations

import json

import pytest

from layerbench import cli
from layerbench.data.div2k_tree import make_tree
from layerbench.experiments import plan

# made-up costs, so the estimates can be checked by hand
COSTS = {
    "provenance": {"host": "testhost", "cpu": "test cpu", "cores": 2, "date": "2026-01-01"},
    "backends": {"numpy": {"threads": 1, "models": {
        "edsr_x2": {"core_seconds_per_lr_pixel": 1e-3, "base_bytes": 10 * 2**20,
                    "activation_bytes_per_lr_pixel": 1000.0, "lr_size": [16, 16],
                    "num_params": 40729603},
        "wdsr_a_x4": {"core_seconds_per_lr_pixel": 2e-4, "base_bytes": 5 * 2**20,
                      "activation_bytes_per_lr_pixel": 500.0, "lr_size": [16, 16],
                      "num_params": 3564528}}}},
    "interpolation_and_scoring": {"core_seconds_per_hr_pixel": {
        "baseline_x2": 0.0, "baseline_x4": 0.0, "score": 0.0}},
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("div2k"), ["0801", "0828", "0845"],
                     size=(48, 64))


def _overrides(tree, tmp_path):
    return ["experiment=div2k_thesis", f"dataset.root={tree}", "backend=numpy",
            f"output.root={tmp_path / 'runs'}"]


@pytest.mark.parametrize("name", ["div2k_thesis", "mri_thesis"])
def test_the_thesis_configs_compose(name):
    c = plan.compose([f"experiment={name}", "dataset.root=/data/x"])
    assert [(m.preset, m.weights) for m in c.experiment.models] == [
        ("edsr_x2", "published"), ("wdsr_a_x4", "published")]
    assert list(c.experiment.scales) == [2, 4]
    if name == "div2k_thesis":
        assert c.dataset.kind == "div2k" and c.dataset.split == "valid"
        assert list(c.experiment.baselines) == ["nearest", "bicubic", "lanczos"]
        assert list(c.experiment.crop_images) == ["0828", "0845", "0861"]
    else:
        assert c.dataset.kind == "mri_dir" and c.experiment.protocol == "thesis"
        assert len(c.experiment.angles) == 20


def test_plan_of_a_div2k_tree(tree, tmp_path):
    cfg = plan.compose(_overrides(tree, tmp_path))
    est = plan.estimate(cfg, COSTS)
    assert [s.key for s in est] == ["0801-x2", "0801-x4", "0828-x2", "0828-x4", "0845-x2",
                                    "0845-x4"]
    by = {s.key: s for s in est}
    assert by["0801-x2"].models == ["EDSR"] and by["0801-x4"].models == ["WDSR"]
    assert by["0801-x2"].lr_size == (24, 32) and by["0801-x4"].lr_size == (12, 16)
    # small inputs run untiled: LR pixels x the per-pixel cost, no recompute
    assert by["0801-x2"].core_hours == pytest.approx(24 * 32 * 1e-3 / 3600)
    assert by["0801-x4"].core_hours == pytest.approx(12 * 16 * 2e-4 / 3600)
    assert by["0801-x2"].peak_bytes > 10 * 2**20 > by["0801-x4"].peak_bytes > 5 * 2**20
    assert not any(s.done or s.approximate for s in est)


def test_plan_command_prints_shards_and_totals(tree, tmp_path, capsys):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(COSTS))
    cli.main(["plan", *_overrides(tree, tmp_path), "--costs", str(costs)])
    out = capsys.readouterr().out
    assert "costs measured on testhost (test cpu, 2 cores) on 2026-01-01" in out
    assert "0845-x4" in out and "to run: 6 shards" in out
    total = 3 * (24 * 32 * 1e-3 + 12 * 16 * 2e-4) / 3600
    assert f"{total:.2f} core-hours" in out


def test_a_backend_without_measured_costs_is_one_line_status_2(tree, tmp_path, capsys):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(COSTS))
    with pytest.raises(SystemExit) as done:
        cli.main(["plan", *_overrides(tree, tmp_path), "backend=cython", "--costs",
                  str(costs)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "backend.name: expected a backend with measured costs" in err[0]


def test_the_committed_costs_name_their_machine():
    costs = plan.load_costs()
    assert {"host", "cpu", "cores", "date"} <= set(costs["provenance"])
    for models in (b["models"] for b in costs["backends"].values()):
        assert {"edsr_x2", "wdsr_a_x4"} <= set(models)
        assert all(m["core_seconds_per_lr_pixel"] > 0 for m in models.values())


def test_crop_images_keep_panels_of_those_images_only(tree, tmp_path):
    from layerbench.experiments.runner import plan_shards, run_experiment

    cfg = plan.compose(["experiment=div2k_smoke", "dataset=div2k", f"dataset.root={tree}",
                        "dataset.images=null", "experiment.scales=[2]",
                        "experiment.crop_images=['0828']", f"output.root={tmp_path}",
                        "output.progress=false", "report_on_end=false"])
    run_experiment(cfg)
    kept = {s.key: len(s.read_examples()) > 0 for _, s in plan_shards(cfg)}
    assert kept == {"0801-x2": False, "0828-x2": True, "0845-x2": False}


def test_plan_of_an_mri_cohort(tmp_path):
    """One subject, T1 and T2 of 6 non-blank 24x32 slices: per shard, 6 slices x 20 angles
    of one model (mri_thesis: 2 variants x 2 weightings x 2 scales = 8 shards)."""
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    for w in ("T1", "T2"):
        nib.save(nib.Nifti1Image((rng.random((24, 32, 6)) * 1000 + 1).astype(np.float32),
                                 np.eye(4)), str(tmp_path / f"case01_{w}.nii.gz"))
    cfg = plan.compose(["experiment=mri_thesis", f"dataset.root={tmp_path}", "backend=numpy",
                        f"output.root={tmp_path / 'runs'}"])
    est = plan.estimate(cfg, COSTS)
    assert len(est) == 8 and len({s.key for s in est}) == 8
    by = {s.key: s for s in est}
    x2, x4 = by["thesis-case01-T1-x2"], by["thesis_blur_first-case01-T2-x4"]
    assert x2.inputs == x4.inputs == 6 * 20
    assert x2.models == ["EDSR"] and x4.models == ["WDSR"]
    # a slice is rot90 of the volume's 24 x 32 plane: 32 x 24 HR
    assert x2.lr_size == (16, 12) and x4.lr_size == (8, 6)
    assert x2.core_hours == pytest.approx(120 * 12 * 16 * 1e-3 / 3600)
    assert x4.core_hours == pytest.approx(120 * 6 * 8 * 2e-4 / 3600)
