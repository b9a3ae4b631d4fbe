"""The shipped weights load on every backend and beat bicubic on a held-out image."""

import numpy as np
import pytest

from layerbench import models
from layerbench.models import trainset
from layerbench.models.evaluate import scores

NAMES = models.pretrained_names()


def test_shipped_weights_exist():
    assert {"edsr_small_x2", "wdsr_a_small_x4"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
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
