"""The shipped weights load on every backend and beat bicubic on a held-out image."""

import numpy as np
import pytest

from layerbench import models
from layerbench.models.presets import WEIGHTS_DIR
from layerbench.models.weights_npz import read_header
from layerbench.training import trainset
from layerbench.training.evaluate import scores

NAMES = models.pretrained_names()
# trained on brain MRI slices (trainset_mri): scored on a held-out MRI slice, not a photograph
MRI = tuple(n for n in NAMES
            if read_header(WEIGHTS_DIR / f"{n}.npz").get("training", {}).get("data", {}).get(
                "kind") == "mri")
PHOTO = tuple(n for n in NAMES if n not in MRI)


def test_shipped_weights_exist():
    assert {"edsr_small_x2", "wdsr_a_small_x4"} <= set(PHOTO)
    assert {"edsr_mri_x2", "wdsr_a_mri_x4"} <= set(MRI)


@pytest.mark.parametrize("name", PHOTO)
def test_pretrained_beats_bicubic_on_held_out_image(name):
    model = models.pretrained(name)
    assert "chelsea" in trainset.VALIDATION and "chelsea" not in trainset.TRAINING
    lr, hr = trainset.pair("chelsea", model.scale)
    psnr, ssim = scores(model.super_resolve(lr), hr, model.scale)
    psnr_b, ssim_b = scores(models.bicubic(model.scale).super_resolve(lr), hr, model.scale)
    assert psnr > psnr_b and ssim > ssim_b


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_on_every_backend(name, backend, model_close):
    ref = models.pretrained(name, dtype=np.float64)
    model = models.pretrained(name, backend=backend)
    x = np.random.default_rng(6).uniform(0, 255, (1, 12, 10, 3))
    model_close(model.predict(x), ref.predict(x), model=model, dtype=np.float32,
                against="tensorflow" if backend == "tensorflow" else "numpy")


@pytest.mark.parametrize("name", MRI)
def test_mri_models_beat_bicubic_and_the_photo_model_on_a_held_out_slice(name):
    """Axial slice 90 of the embedded T1 (the MRI models trained on sagittal and coronal
    slices only), degraded as the MRI experiment's clean protocol at angle 0."""
    from layerbench.data import degrade, mri
    from layerbench.training.trainset_mri import check_split, rgb

    model = models.pretrained(name)
    s = model.scale
    vol = mri.load_subject_volume("mni152", None, "mni152", "T1", rule="percentile", low=0.0,
                                  high=99.5)
    training = read_header(WEIGHTS_DIR / f"{name}.npz")["training"]
    check_split(name, training, kind="mni152", source=vol.source, subject="mni152",
                weight="T1", axis=2, slices=[90])
    hr = mri.get_slice(vol.data, 90, 2, 4)
    lr = degrade.blur_resize(hr, s, order="resize_then_blur", ksize=3, sigma=1.0)
    photo = models.pretrained({2: "edsr_small_x2", 4: "wdsr_a_small_x4"}[s])
    psnr, ssim = scores(model.super_resolve(rgb(lr)), rgb(hr), s)
    psnr_p, ssim_p = scores(photo.super_resolve(rgb(lr)), rgb(hr), s)
    psnr_b, ssim_b = scores(rgb(degrade.upscale(lr, s, "bicubic")), rgb(hr), s)
    assert psnr > psnr_p and psnr > psnr_b + 1 and ssim > max(ssim_b, ssim_p)
