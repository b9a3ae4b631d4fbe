"""Every config composes and validates; unknown keys and bad values are rejected by name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from layerbench import schema
from layerbench.confdir import CONFIG_PATH, RESULTS, RUNS, TABLES

EXPERIMENTS = sorted(p.stem for p in (Path(CONFIG_PATH) / "experiment").glob("*.yaml"))
BACKENDS = sorted(p.stem for p in (Path(CONFIG_PATH) / "backend").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (Path(CONFIG_PATH) / "hydra" / "launcher").glob("*.yaml"))
PLUGIN = {"local_parallel": "hydra_plugins.hydra_joblib_launcher",
          "local_submitit": "hydra_plugins.hydra_submitit_launcher",
          "slurm": "hydra_plugins.hydra_submitit_launcher"}


def _compose(overrides, name="config", hydra_cfg=False):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return compose(config_name=name, overrides=overrides, return_hydra_config=hydra_cfg)


def test_the_config_tree_is_not_empty():
    assert {"div2k", "mri"} <= set(EXPERIMENTS)
    assert "numpy" in BACKENDS and len(LAUNCHERS) == 3


# the full-size experiments run on real data: they need a dataset root
FULL_SIZE = {"div2k_thesis": "div2k", "mri_thesis": "mri_dir"}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_experiment_and_backend_composes_and_validates(experiment, backend):
    root = ["dataset.root=/data/x"] if experiment in FULL_SIZE else []
    c = schema.validate(_compose([f"experiment={experiment}", f"backend={backend}", *root]))
    assert c.backend.name == backend
    assert c.experiment.name in ("div2k", "mri")
    assert c.dataset.kind == FULL_SIZE.get(
        experiment, "skimage" if c.experiment.name == "div2k" else "mni152")


def test_the_mri_experiment_is_the_thesis_grid():
    c = schema.validate(_compose(["experiment=mri"]))
    assert c.experiment.angles == [float(a) for a in range(0, 360, 18)]
    assert c.experiment.scales == [2, 4] and c.dataset.weights == ["T1", "T2"]
    assert (c.experiment.degrade.ksize, c.experiment.degrade.sigma) == (3, 1.0)


@pytest.mark.parametrize("dataset", ["div2k", "mri_dir"])
def test_datasets_needing_a_root_say_so(dataset, tmp_path):
    exp = "div2k" if dataset == "div2k" else "mri"
    with pytest.raises(Exception, match="root"):
        schema.validate(_compose([f"experiment={exp}", f"dataset={dataset}"]))
    c = schema.validate(_compose([f"experiment={exp}", f"dataset={dataset}",
                                  f"dataset.root={tmp_path}"]))
    assert c.dataset.root == str(tmp_path)


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_launcher_configs_compose(launcher):
    if importlib.util.find_spec(PLUGIN[launcher]) is None:
        pytest.skip(f"{PLUGIN[launcher]} is not installed (optional launcher)")
    cfg = _compose([f"hydra/launcher={launcher}"], hydra_cfg=True)
    assert "_target_" in cfg.hydra.launcher


def test_report_config_composes():
    cfg = _compose([], name="report")
    assert list(cfg.formats) == ["png", "pdf"]


def test_every_results_path_derives_from_the_one_root():
    run = _compose([], hydra_cfg=True)
    assert (run.output.root, run.report.runs, run.report.out) == (RUNS, RUNS, RESULTS)
    assert run.hydra.run.dir.startswith(RUNS + "/hydra/")
    assert run.hydra.sweep.dir.startswith(RUNS + "/hydra/multirun/")
    moved = _compose(["output.root=/elsewhere"])
    assert moved.report.runs == "/elsewhere"  # the report reads where the run wrote
    report = _compose([], name="report")
    assert (report.runs, report.out) == (RUNS, RESULTS)
    import layerbench.crosscheck  # noqa: F401  registers crosscheck_schema

    assert _compose([], name="crosscheck").output_dir == TABLES
    assert (schema.OutputConfig().root, schema.ReportConfig().out) == (RUNS, RESULTS)
    assert TABLES == RESULTS + "/tables" and RUNS == RESULTS + "/runs"


@pytest.mark.parametrize("override, key", [
    ("report.formats=[png,gif]", "report.formats[1]"),
    ("report.workers=0", "report.workers"),
    ("+report.colour=red", "colour"),
])
def test_the_report_callback_validates_through_the_schema(override, key):
    """What the Hydra callback builds the report from: ``schema.report_of``, which checks
    the node through ``schema.validate``; a multirun's base config may lack the swept
    values, so the rest of it is not checked there."""
    cfg = _compose([override])
    with pytest.raises(schema.ConfigError, match=key.replace("[", r"\[")):
        schema.report_of(cfg)


def test_the_report_callback_ignores_what_a_sweep_left_out():
    # `-m experiment=mri dataset=mri_dir,mni152`: the base config has the mri experiment with
    # the default (photo) dataset, which no job runs
    cfg = _compose(["experiment=mri", "dataset=skimage"], hydra_cfg=True)
    with pytest.raises(schema.ConfigError, match="dataset.kind"):
        schema.validate(_compose(["experiment=mri", "dataset=skimage"]))
    r = schema.report_of(cfg)
    assert (r.runs, r.out, r.formats, r.workers) == (RUNS, RESULTS, ["png", "pdf"], 2)


@pytest.mark.parametrize("override, key", [
    ("+experiment.colour=red", "colour"),
    ("+dataset.foo=1", "foo"),
    ("+backend.cores=2", "cores"),
    ("+nonsense=1", "nonsense"),
    ("+experiment.models.0.colour=red", "colour"),
])
def test_added_unknown_keys_are_rejected_by_name(override, key):
    with pytest.raises(schema.ConfigError, match=f"unknown key '{key}'"):
        schema.validate(_compose([override]))


@pytest.mark.parametrize("override, key", [
    ("experiment.colour=red", "colour"),
    ("dataset.intensity.gamma=2", "gamma"),
    ("backend.cores=2", "cores"),
])
def test_unknown_keys_in_overrides_fail_composition_by_name(override, key):
    with pytest.raises(ConfigCompositionException, match=key):
        _compose([override])


@pytest.mark.parametrize("override, key", [
    ("backend.threads=two", "threads"),
    ("experiment.scales=[x]", "scales"),
    ("experiment.mask=maybe", "mask"),
])
def test_values_of_the_wrong_type_are_rejected_by_name(override, key):
    with pytest.raises((ConfigCompositionException, ValidationError),
                       match=key):
        _compose([override])


@pytest.mark.parametrize("overrides, key", [
    (["backend.name=torch"], "backend.name"),
    (["backend.threads=0"], "backend.threads"),
    (["output.workers=0"], "output.workers"),
    (["report.workers=0"], "report.workers"),
    (["experiment.scales=[5]"], r"experiment.scales\[0\]"),
    (["experiment.baselines=[cubic]"], r"experiment.baselines\[0\]"),
    (["experiment=mri", "experiment.angles=[0,360]"], r"experiment.angles\[1\]"),
    (["experiment=mri", "experiment.slices.step=0"], "experiment.slices.step"),
    (["experiment=mri", "experiment.degrade.ksize=4"], "experiment.degrade.ksize"),
    (["experiment=mri", "experiment.degrade.order=sideways"], "experiment.degrade.order"),
    (["experiment=mri", "experiment.rotation.border=wrap"], "experiment.rotation.border"),
    (["experiment=mri", "dataset.weights=[T3]"], r"dataset.weights\[0\]"),
    (["experiment=mri", "dataset=skimage"], "dataset.kind"),
    (["experiment=mri", "dataset.intensity.high=120"], "dataset.intensity"),
    (["experiment.models.0.weights=imagenet"], r"experiment.models\[0\].weights"),
])
def test_bad_values_are_rejected_naming_the_key(overrides, key):
    with pytest.raises(schema.ConfigError, match=key):
        schema.validate(_compose(overrides))


def test_the_mri_experiment_runs_both_protocols_and_both_orders():
    from layerbench.experiments import protocol

    c = schema.validate(_compose(["experiment=mri"]))
    vs = {v.label: v for v in protocol.variants(c.experiment)}
    assert vs["clean"].conventions == protocol.defaults("clean", c.experiment)
    assert vs["thesis"].conventions.order == "resize_then_blur"  # the seeds' order
    assert vs["thesis_blur_first"].conventions.order == "blur_then_resize"
    t = vs["thesis"].conventions
    assert (t.intensity, t.psnr_range, t.ssim_range, t.rotation, t.post_bet, t.slices) == (
        "float", 1.0, 2.0, "back", True, "nonblank")
    assert c.experiment.example_angle == 18.0


def test_the_protocol_group_selects_one_protocol_alone():
    c = schema.validate(_compose(["experiment=mri", "protocol=thesis"]))
    assert c.experiment.protocol == "thesis" and c.experiment.variants == []
    assert c.experiment.slices.step == 1  # every non-blank slice, as the thesis
    c = schema.validate(_compose(["experiment=mri", "experiment.protocol=thesis",
                                  "experiment.variants=[]"]))
    assert c.experiment.protocol == "thesis"


@pytest.mark.parametrize("overrides, key", [
    (["experiment=mri", "experiment.protocol=paper"], "experiment.protocol"),
    (["experiment=mri", "experiment.conventions.intensity=uint16"],
     "experiment.conventions.intensity"),
    (["experiment=mri", "experiment.conventions.ssim_range=0"],
     "experiment.conventions.ssim_range"),
    (["experiment=mri", "experiment.variants=[{label: clean, protocol: thesis}]"],
     r"experiment.variants\[\*\].label"),
    (["experiment=mri", "experiment.variants=[{label: t, protocol: thesis, weights: [T3]}]"],
     r"experiment.variants\[0\].weights\[0\]"),
    (["experiment=mri", "experiment.variants=[{label: t, conventions: {rotation: sideways}}]"],
     r"experiment.variants\[0\].conventions.rotation"),
    (["experiment=mri", "experiment.example_angle=400"], "experiment.example_angle"),
])
def test_bad_protocol_settings_are_rejected_by_name(overrides, key):
    with pytest.raises(schema.ConfigError, match=key):
        schema.validate(_compose(overrides))
