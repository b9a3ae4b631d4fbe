"""Tiled and banded inference equal the plain run; super_resolve's uint8 contract."""

import numpy as np
import pytest

from layerbench import models
from layerbench.models import inference

BUILDERS = {
    "edsr_x2": lambda **kw: models.edsr(2, 3, 8, 0.5, **kw),
    "wdsr_a_x4_symmetric": lambda **kw: models.wdsr_a(4, 2, 6, 3, border="symmetric", **kw),
    "wdsr_b_x3": lambda **kw: models.wdsr_b(3, 2, 10, 3, **kw),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_tiled_equals_untiled(name, backend, dtype, model_close):
    model = BUILDERS[name](backend=backend, dtype=dtype)
    x = np.random.default_rng(2).uniform(0, 255, (1, 23, 31, 3))
    plain = model.net.predict(model.normalise(x))  # the Network's own forward, no tiling
    want = model.denormalise(plain)
    # tiles much smaller than the image, default overlap (the receptive radius)
    tiled = model.predict(x, tile=7)
    banded = model.predict(x, band_bytes=1)  # one row per convolution band
    # the same sums in the same order up to the GEMM's blocking: the model's budget
    model_close(tiled, want, model=model, dtype=dtype, what="tiled")
    model_close(banded, want, model=model, dtype=dtype, what="banded")


def test_small_overlap_is_not_exact():
    """The default overlap matters: with none, tile borders differ from the plain run."""
    model = BUILDERS["edsr_x2"](dtype=np.float64)
    x = np.random.default_rng(3).uniform(0, 255, (1, 20, 20, 3))
    assert np.max(np.abs(model.predict(x, tile=5, overlap=0) - model.predict(x))) > 1e-3


def test_receptive_radius():
    # EDSR x2, 3 blocks: head + 6 block convs + body_conv + up0_conv at LR, tail at HR (1/2)
    assert models.edsr(2, 3, 8, 1.0).receptive_radius() == 10
    assert inference.tiles(10, 4) == [(0, 4), (4, 8), (8, 10)]


def test_super_resolve_uint8_and_grey():
    model = models.edsr(2, 1, 4, 1.0)
    grey = np.random.default_rng(4).integers(0, 256, (9, 7), dtype=np.uint8)
    out = model.super_resolve(grey, tile=4)
    assert out.dtype == np.uint8 and out.shape == (18, 14, 3)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    want = np.clip(np.rint(model.predict(rgb[None].astype(np.float64))[0]), 0, 255)
    # tiled vs plain float32 runs agree within the model budget, so rounding to uint8 can
    # differ by one step only where a value sits at a half
    assert np.max(np.abs(out.astype(int) - want.astype(int))) <= 1
    np.testing.assert_array_equal(model.super_resolve(rgb, tile=4), out)
    with pytest.raises(TypeError, match="uint8"):
        model.super_resolve(grey.astype(np.float32))


def test_bicubic_interface():
    bic = models.bicubic(3)
    flat = np.full((5, 6, 3), 77, np.uint8)
    np.testing.assert_array_equal(bic.super_resolve(flat), np.full((15, 18, 3), 77, np.uint8))
    ramp = np.tile(np.arange(0, 60, 10, dtype=np.uint8), (4, 1))
    up = bic.super_resolve(ramp)[:, 3:-3, 0].astype(float)  # away from the edges
    assert np.all(np.diff(up, axis=1) > 0)  # a ramp stays monotonic
