"""``layerbench plan`` of an MRI cohort: the shards ``reproduce`` would run, the slices each
scores, every volume read once, and quick.

The cohort is made here in the real format (NIfTI files named ``<subject>_T1.nii.gz`` /
``_T2.nii``, int16, Fortran-ordered as NIfTI stores them) with blank slices at both ends of
the slicing axis and, in one volume, inside it, so the non-blank rule and the blank-slice skip
of the run both matter. The expected slice counts are computed here slice by slice from the
loaded volume, as :func:`layerbench.experiments.mri.run_shard` walks it.
"""

from __future__ import annotations

import json
import time

import nibabel as nib
import numpy as np
import pytest

from layerbench import cli
from layerbench.data import mri as mri_data
from layerbench.experiments import mri as mri_exp
from layerbench.experiments import plan, protocol, runner

from .test_plan import COSTS

SHAPE = (72, 64, 48)  # the slicing axis (dataset.axis=2) last, as in the thesis' volumes
BLANK_INSIDE = ("case01", "T1", 21)  # a volume with an all-zero slice inside the head

CASES = {
    "mri_thesis": ["experiment=mri_thesis"],
    # the main job's protocols on a cohort: range slices (blank ones inside the range are
    # skipped by the run), uint8 and float intensities, variants of one weighting only
    "mri": ["experiment=mri", "dataset=mri_dir", "experiment.slices.start=0",
            "experiment.slices.stop=null", "experiment.slices.step=7"],
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, n) for n in SHAPE), indexing="ij")
    r = (x / 0.9) ** 2 + (y / 0.9) ** 2 + (z / 0.8) ** 2  # the first/last slices: blank
    rng = np.random.default_rng(3)
    for s in ("case00", "case01", "case02"):
        for w, ext in (("T1", ".nii.gz"), ("T2", ".nii")):
            v = np.where(r < 1, 500 + 300 * np.cos(5 * r) + rng.normal(0, 10, SHAPE), 0)
            v = np.clip(v, 0, None).astype(np.int16)
            if (s, w) == BLANK_INSIDE[:2]:
                v[:, :, BLANK_INSIDE[2]] = 0
            nib.save(nib.Nifti1Image(v, np.eye(4)), str(root / f"{s}_{w}{ext}"))
    return root


def _scored(cfg, task) -> tuple[list[int], tuple[int, int]]:
    """The slices run_shard scores for ``task`` (selected by the variant's rule, not blank),
    found one slice at a time, and the HR size of a slice."""
    d, e = cfg.dataset, cfg.experiment
    v = task.variant or protocol.variants(e)[0]
    vol = mri_data.load_subject_volume(d.kind, d.root, task.subject, task.weight,
                                       rule=d.intensity.rule, low=d.intensity.low,
                                       high=d.intensity.high,
                                       intensity=v.conventions.intensity).data
    start, stop, step = v.slices
    depth = vol.shape[d.axis]
    if v.conventions.slices == "nonblank":
        start, stop = 0, depth
    modulo = int(np.lcm.reduce(e.scales))
    cut = [mri_data.get_slice(vol, i, d.axis, modulo) for i in
           range(start, depth if stop is None else min(stop, depth), step)]
    picked = range(start, depth if stop is None else min(stop, depth), step)
    return [i for i, c in zip(picked, cut, strict=True) if c.any()], cut[0].shape


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_plan_lists_what_reproduce_runs_reading_each_volume_once(
        case, cohort, tmp_path, monkeypatch, capsys):
    overrides = [*CASES[case], f"dataset.root={cohort}", "backend=numpy",
                 f"output.root={tmp_path / 'runs'}"]
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(COSTS))
    reads = []
    real = mri_data.load_volume
    monkeypatch.setattr(mri_data, "load_volume", lambda p: reads.append(p) or real(p))
    mri_exp.volume_profile.cache_clear()
    mri_exp._volume.cache_clear()

    t0 = time.perf_counter()
    cli.main(["plan", *overrides, "--costs", str(costs), "--json"])
    seconds = time.perf_counter() - t0
    listed = json.loads(capsys.readouterr().out)
    monkeypatch.undo()

    cfg = plan.compose(overrides)
    shards = runner.plan_shards(cfg)
    assert [s["key"] for s in listed] == [shard.key for _, shard in shards]
    # every file read once per intensity mapping of the variants that use it, although
    # several variants, both scales and the run's own check need its slices
    variants = protocol.variants(cfg.experiment)
    want = []
    for path in cohort.iterdir():
        w = "T1" if "_T1" in path.name else "T2"
        want += [str(path)] * len({v.conventions.intensity for v in variants
                                   if v.weights is None or w in v.weights})
    assert sorted(map(str, reads)) == sorted(want)
    for est, (task, _) in zip(listed, shards, strict=True):
        slices, hr = _scored(cfg, task)
        v = task.variant or protocol.variants(cfg.experiment)[0]
        assert est["inputs"] == len(slices) * len(v.angles), est["key"]
        assert tuple(est["lr_size"]) == (hr[0] // task.scale, hr[1] // task.scale)
    if case == "mri_thesis":  # the run keeps its last volumes ([0, 1] floats) in memory
        held = min(mri_exp._volume.cache_info().maxsize, 6) * int(np.prod(SHAPE)) * 8
        assert all(s["peak_bytes"] > held for s in listed)
    # the first shard's grid holds slice 21: the volume blank there runs one slice less
    by = {s["key"]: s["inputs"] for s in listed}
    first = shards[0][0]
    v = first.variant or protocol.variants(cfg.experiment)[0]
    assert BLANK_INSIDE[2] in _scored(cfg, first)[0]
    assert by[first.key.replace("case00-T1", "-".join(BLANK_INSIDE[:2]))] == \
        by[first.key] - len(v.angles)
    # a 72x64x48 cohort of 6 volumes: reading each once takes well under a second; taking the
    # slices one by one copied each Fortran-ordered volume per slice and per shard
    assert seconds < 20, f"plan took {seconds:.1f} s"


def test_the_plan_names_a_missing_cohort_in_one_line(tmp_path, capsys):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(COSTS))
    with pytest.raises(SystemExit) as done:
        cli.main(["plan", "experiment=mri_thesis", f"dataset.root={tmp_path / 'nowhere'}",
                  "backend=numpy", "--costs", str(costs)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and "dataset.root" in err[0]
