"""MRI training data: the experiment's degradation, the split, one step per backend."""

import os

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from layerbench import models
from layerbench.confdir import CONFIG_PATH as CONF
from layerbench.data import degrade, mri
from layerbench.training import train as train_mod
from layerbench.training import trainset_mri

from .test_train import assert_step_close, one_step


def config(tmp_path, *extra):
    with initialize_config_dir(version_base="1.3", config_dir=os.path.abspath(CONF)):
        cfg = compose("train", overrides=[
            "data=mri", "model=edsr_mri_x2", "model.n_resblocks=1", "model.n_feats=4",
            "data.patch=8", "data.batch=3", "data.val_slices=[8,10]", "epoch_steps=2",
            "progress=false",
            f"out_dir={tmp_path}", *extra])
    return train_mod.to_schema(cfg)


def experiment_degrade():
    """The MRI experiment's default degradation, read from its own config."""
    with initialize_config_dir(version_base="1.3", config_dir=os.path.abspath(CONF)):
        return compose("config", overrides=["experiment=mri"]).experiment.degrade


@pytest.fixture(scope="module")
def mri_root(tmp_path_factory):
    """Two subjects of small NIfTI T1/T2 volumes (``dataset=mri_dir``)."""
    import nibabel as nib

    root = tmp_path_factory.mktemp("mri")
    rng = np.random.default_rng(3)
    for subject in ("case01", "case02"):
        (root / subject).mkdir()
        for w in ("T1", "T2"):
            vol = np.zeros((24, 28, 20), np.float32)
            vol[3:21, 4:24, 2:18] = rng.uniform(10, 200, (18, 20, 16))
            nib.save(nib.Nifti1Image(vol, np.eye(4)), root / subject / f"{subject}_{w}.nii.gz")
    return root


def test_default_degradation_is_the_mri_experiments():
    with initialize_config_dir(version_base="1.3", config_dir=os.path.abspath(CONF)):
        data = compose("train", overrides=["data=mri"]).data
    deg = experiment_degrade()
    assert (data.degrade.order, data.degrade.ksize, data.degrade.sigma) == (
        deg.order, deg.ksize, deg.sigma)


@pytest.mark.parametrize("order", ["resize_then_blur", "blur_then_resize"])
def test_patches_are_the_experiments_degradation_of_the_slice(tmp_path, mri_root, order):
    cfg = config(tmp_path, "dataset=mri_dir", f"dataset.root={mri_root}",
                 f"data.degrade.order={order}", "data.min_fg=0")
    s = trainset_mri.MRIPatchSampler(cfg.dataset, cfg.data, 2, seed=0)
    subjects = {x[0] for x in s.slices}
    assert subjects == {"case01", "case02"} and {x[2] for x in s.slices} == {0, 1}
    vol = mri.load_subject_volume("mri_dir", str(mri_root), "case02", "T2", rule="percentile",
                                  low=0.0, high=99.5)
    i = next(x[3] for x in s.slices if x[:3] == ("case02", "T2", 1))
    hr = mri.get_slice(vol.data, i, 1, 2)
    # the experiment's own call (clean protocol, angle 0), independent of the sampler
    lr = degrade.blur_resize(hr, 2, order=order, ksize=3, sigma=1.0)
    got = next(x for x in s.slices if x[:4] == ("case02", "T2", 1, i))
    np.testing.assert_array_equal(got[5], hr)
    np.testing.assert_array_equal(got[6], lr)
    # every patch of a batch is an aligned crop of one slice pair, up to rot90/flip
    lr_b, hr_b = s.batch_at(7)
    assert lr_b.shape == (3, 8, 8, 3) and hr_b.shape == (3, 16, 16, 3)
    assert (lr_b[..., 0] == lr_b[..., 2]).all()  # grey replicated to RGB
    for a, b in zip(lr_b[..., 0].astype(np.uint8), hr_b[..., 0].astype(np.uint8), strict=True):
        assert any(_crop_of(a, b, x[6], x[5], 2) for x in s.slices)
    np.testing.assert_array_equal(s.batch_at(7)[0], lr_b)  # seeded per step


def _crop_of(a, b, lr, hr, scale):
    for k in range(4):
        for flip in (False, True):
            aa, bb = np.rot90(a[:, ::-1] if flip else a, -k), np.rot90(b[:, ::-1] if flip else b,
                                                                         -k)
            p = aa.shape[0]
            for i in range(lr.shape[0] - p + 1):
                for j in range(lr.shape[1] - p + 1):
                    if (lr[i:i + p, j:j + p] == aa).all() and (
                            hr[i * scale:(i + p) * scale, j * scale:(j + p) * scale] == bb).all():
                        return True
    return False


def test_split_is_recorded_and_the_experiment_refuses_trained_slices(tmp_path, mri_root):
    cfg = config(tmp_path, "dataset=mri_dir", f"dataset.root={mri_root}", "steps=2",
                 "data.val_slices=[8,10]")
    summary = train_mod.train(cfg)
    split = summary["split"]
    assert split["kind"] == "mri_dir" and set(split["subjects"]) == {"case01", "case02"}
    assert set(split["subjects"]["case01"]["T1"]) == {"0", "1"}  # sagittal, coronal only
    assert all(v.startswith(("case01/", "case02/")) and "axis2" in v
               for v in summary["data"]["val"])
    src = split["sources"]["case01/T1"]
    kw = {"kind": "mri_dir", "source": src, "subject": "case01", "weight": "T1"}
    trainset_mri.check_split("EDSR_MRI", summary, axis=2, slices=range(20), **kw)  # held out
    with pytest.raises(ValueError, match=r"EDSR_MRI.*trained on.*case01.*axis 1 slices \[5"):
        trainset_mri.check_split("EDSR_MRI", summary, axis=1, slices=[5, 6], **kw)
    # another volume (another source) was never seen
    trainset_mri.check_split("EDSR_MRI", summary, axis=1, slices=[5],
                             **{**kw, "source": "elsewhere.nii.gz"})
    # the header of the written weights carries the split
    from layerbench.models.weights_npz import read_header

    header = read_header(tmp_path / "edsr_mri_x2.npz")
    assert header["training"]["split"] == split


def test_validation_axis_must_be_held_out(tmp_path, mri_root):
    cfg = config(tmp_path, "dataset=mri_dir", f"dataset.root={mri_root}", "data.val_axis=1")
    with pytest.raises(ValueError, match="data.val_axis"):
        train_mod.train(cfg)


def test_one_mri_training_step_same_on_every_backend(backend, tmp_path, mri_root):
    cfg = config(tmp_path, "dataset=mri_dir", f"dataset.root={mri_root}")
    lr_img, hr_img = trainset_mri.MRIPatchSampler(cfg.dataset, cfg.data, 2, seed=0).batch_at(0)
    ref = models.edsr(2, 1, 4, 1.0, dtype=np.float64)
    model = models.edsr(2, 1, 4, 1.0, backend=backend, dtype=np.float64)
    model.load_params(ref.params())
    before = {k: v.copy() for k, v in ref.params().items()}
    grads = one_step(ref, lr_img, hr_img)
    one_step(model, lr_img, hr_img)
    assert any(np.any(v != before[k]) for k, v in ref.params().items()), "the step changed nothing"
    assert_step_close(model.params(), ref.params(), grads, ref, np.float64,
                      "tensorflow" if backend == "tensorflow" else "numpy")


def test_fine_tuning_starts_from_the_shipped_weights(tmp_path, mri_root):
    cfg = config(tmp_path, "dataset=mri_dir", f"dataset.root={mri_root}", "steps=0",
                 "model.n_resblocks=6", "model.n_feats=32", "init=edsr_small_x2")
    summary = train_mod.train(cfg)
    assert summary["init"].startswith("edsr_small_x2 (sha256 ")
    a = models.pretrained("edsr_small_x2")
    b = models.preset("edsr_mri_x2")
    b.load_weights(tmp_path / "edsr_mri_x2.npz")
    for k, v in a.params().items():
        np.testing.assert_array_equal(b.params()[k], v)
    with pytest.raises(ValueError, match="init"):
        train_mod.train(config(tmp_path / "x", "dataset=mri_dir", f"dataset.root={mri_root}",
                               "init=no_such_model"))
