"""PSNR/SSIM equal scikit-image's on known pairs; channel bookkeeping; masks and IoU."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from layerbench import metrics


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    noise = rng.integers(-12, 13, hr.shape)
    noise[..., 1] *= 2  # channels with different errors, so a swap would show
    noise[..., 2] = 0
    noise[0, 0, 2] = 5
    return hr, np.clip(hr.astype(int) + noise, 0, 255).astype(np.uint8)


def test_per_channel_scores_equal_skimage_on_that_channel(pair):
    hr, sr = pair
    rows = {r["channel"]: r for r in metrics.score_channels(hr, sr)}
    assert list(rows) == ["R", "G", "B", "all"]
    for c, name in enumerate("RGB"):
        assert rows[name]["psnr"] == peak_signal_noise_ratio(hr[..., c], sr[..., c],
                                                             data_range=255)
        assert rows[name]["ssim"] == structural_similarity(hr[..., c], sr[..., c],
                                                           data_range=255)
    assert rows["all"]["psnr"] == peak_signal_noise_ratio(hr, sr, data_range=255)
    assert rows["all"]["ssim"] == structural_similarity(hr, sr, data_range=255, channel_axis=-1)
    assert rows["R"]["psnr"] > rows["G"]["psnr"] and rows["B"]["psnr"] > rows["R"]["psnr"]


def test_psnr_of_a_known_error_is_the_formula():
    hr = np.zeros((10, 10), np.uint8)
    sr = np.full((10, 10), 5, np.uint8)  # MSE = 25
    assert metrics.psnr(hr, sr) == pytest.approx(10 * np.log10(255**2 / 25), rel=1e-12)
    assert metrics.psnr(hr, hr) == float("inf")


def test_a_grey_reference_is_compared_with_every_channel(pair):
    hr, sr = pair
    grey = hr[..., 0]
    rows = {r["channel"]: r for r in metrics.score_channels(grey, sr)}
    for c, name in enumerate("RGB"):
        assert rows[name]["psnr"] == peak_signal_noise_ratio(grey, sr[..., c], data_range=255)
    grey_rows = metrics.score_channels(grey, sr[..., 1])
    assert [r["channel"] for r in grey_rows] == ["all"]


def test_shave_and_data_range_are_applied(pair):
    hr, sr = pair
    r = metrics.score_channels(hr, sr, shave=4, data_range=255)[0]
    assert r["psnr"] == peak_signal_noise_ratio(hr[4:-4, 4:-4, 0], sr[4:-4, 4:-4, 0],
                                                data_range=255)
    with pytest.raises(ValueError, match="shave"):
        metrics.score_channels(hr, sr, shave=-1)
    with pytest.raises(ValueError, match="test"):
        metrics.score_channels(hr, sr[:-1])


def test_masked_scores_use_only_mask_pixels(pair):
    hr, sr = pair
    g_hr, g_sr = hr[..., 1], sr[..., 1]
    mask = np.zeros(g_hr.shape, bool)
    mask[10:30, 5:40] = True
    m = metrics.masked_scores(g_hr, g_sr, mask)
    mse = np.mean((g_hr[mask].astype(float) - g_sr[mask]) ** 2)
    assert m["psnr_masked"] == pytest.approx(10 * np.log10(255**2 / mse), rel=1e-12)
    _, smap = structural_similarity(g_hr, g_sr, data_range=255, full=True)
    assert m["ssim_masked"] == pytest.approx(smap[mask].mean(), rel=1e-12)
    spoiled = g_sr.copy()
    spoiled[~mask] = 0  # outside the mask: must not change the masked PSNR
    assert metrics.masked_scores(g_hr, spoiled, mask)["psnr_masked"] == m["psnr_masked"]


def test_brain_mask_finds_a_filled_disc_and_iou():
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 30) ** 2 < 20**2
    img = np.where(disc, 180, 0).astype(np.uint8)
    img[28:36, 26:34] = 0  # a dark "ventricle": filled
    img[2, 2] = 200  # a speck: not the largest component
    mask = metrics.brain_mask(img)
    assert metrics.iou(mask, disc) > 0.97
    assert not mask[2, 2] and mask[32, 30]
    assert metrics.iou(mask, mask) == 1.0
    assert metrics.iou(np.zeros_like(mask), np.zeros_like(mask)) == 1.0
    assert metrics.iou(mask, ~mask) == 0.0
    assert not metrics.brain_mask(np.zeros((8, 8), np.uint8)).any()
