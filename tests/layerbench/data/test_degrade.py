"""Degradations: MATLAB-style bicubic, the thesis blur+resize, rotation, baselines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from layerbench.data import degrade


def test_matlab_bicubic_keeps_constants_and_averages_a_ramp_inside():
    flat = np.full((24, 20), 77, np.uint8)
    assert (degrade.matlab_bicubic(flat, 4) == 77).all()
    ramp = np.tile((np.arange(32) * 8).astype(np.uint8), (8, 1))
    out = degrade.matlab_bicubic(ramp, 2)
    # a linear signal: interior output pixels are the mean of the two input pixels they cover
    np.testing.assert_array_equal(out[0, 3:-3], (np.arange(32) * 8).reshape(-1, 2).mean(1)[3:-3])


def test_matlab_bicubic_antialiases():
    stripes = np.tile(np.array([0, 255], np.uint8), (32, 16))  # Nyquist pattern
    out = degrade.matlab_bicubic(stripes, 2)
    assert abs(float(out[4:-4, 4:-4].mean()) - 127.5) < 1 and out[4:-4, 4:-4].std() < 1


def test_blur_resize_follows_the_configured_order():
    img = np.random.default_rng(0).integers(0, 256, (32, 40), dtype=np.uint8)
    small = cv2.resize(img, (20, 16), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(degrade.blur_resize(img, 2),
                                  cv2.GaussianBlur(small, (3, 3), 1.0))
    np.testing.assert_array_equal(
        degrade.blur_resize(img, 2, order="blur_then_resize"),
        cv2.resize(cv2.GaussianBlur(img, (3, 3), 1.0), (20, 16), interpolation=cv2.INTER_CUBIC))
    with pytest.raises(ValueError, match="degrade.order"):
        degrade.blur_resize(img, 2, order="sideways")


def test_rotation_by_90_about_the_centre_is_exact_on_a_square():
    img = np.random.default_rng(1).integers(0, 256, (15, 15), dtype=np.uint8)
    np.testing.assert_array_equal(degrade.rotate(img, 90, interpolation="nearest"),
                                  np.rot90(img))
    np.testing.assert_array_equal(degrade.rotate(img, 0), img)
    r = degrade.rotate(img, 45)
    assert r.shape == img.shape and r[0, 0] == 0  # constant zero border
    with pytest.raises(ValueError, match="rotation.border"):
        degrade.rotate(img, 18, border="wrap")


@pytest.mark.parametrize("method", ["nearest", "bicubic", "lanczos"])
def test_upscale_baselines(method):
    img = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    out = degrade.upscale(img, 4, method)
    assert out.shape == (36, 28, 3) and out.dtype == np.uint8
    if method == "nearest":
        np.testing.assert_array_equal(out[::4, ::4], img)
    grey = degrade.upscale(img[..., 0], 2, method)
    assert grey.shape == (18, 14)
