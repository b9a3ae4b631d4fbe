"""The thesis' MRI protocol against scores computed by hand.

Each expected number is computed here directly with nibabel / OpenCV / scikit-image / NumPy
(not through ``layerbench.data`` or ``layerbench.metrics``) and compared with the row the
pipeline wrote. The operations are the same ones in the same order, so the numbers must be
equal to the last bit: the comparisons are exact.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from layerbench import metrics, schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import mri as mri_exp
from layerbench.experiments.methods import load_model

SLICE, ANGLE = 90, 18.0
TINY_EDSR = ("experiment.models=[{label: EDSR, preset: edsr_baseline_x2, weights: random, "
             "overrides: {n_resblocks: 1, n_feats: 8}}]")


def _config(*extra: str):
    over = ["experiment=mri", "protocol=thesis", "dataset.weights=[T1]", "experiment.scales=[2]",
            f"experiment.angles=[0,{ANGLE:g}]", "experiment.slices.step=90",
            "output.progress=false", *extra]
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return schema.validate(compose(config_name="config", overrides=over))


def _rows(cfg, models=()):
    (task,) = mri_exp.plan(cfg)
    table, _ = mri_exp.run_shard(cfg, task, list(models))
    return table


def _hand_hr() -> np.ndarray:
    """Slice 90 of the MNI152 T1 min-max scaled over the volume, rot90, cropped to even."""
    import nilearn

    path = (Path(nilearn.__file__).parent / "datasets" / "data"
            / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    vol = np.asarray(nib.load(str(path)).dataobj).astype(np.float64)
    vol = (vol - vol.min()) / (vol.max() - vol.min())
    s = np.rot90(vol[:, :, SLICE])
    return np.ascontiguousarray(s[: s.shape[0] // 2 * 2, : s.shape[1] // 2 * 2])


def _hand_lr(hr: np.ndarray) -> np.ndarray:  # the seeds' order: resize, then blur
    h, w = hr.shape
    small = cv2.resize(hr, (w // 2, h // 2), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(small, (3, 3), sigmaX=1.0, sigmaY=1.0)


def _rot(img: np.ndarray, angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _minmax(x: np.ndarray) -> np.ndarray:
    return (x - x.min()) / (x.max() - x.min())


def _bicubic(lr: np.ndarray, shape) -> np.ndarray:
    return _minmax(cv2.resize(lr, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC))


def _hand_scores(hr: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    # scikit-image's 2020 float defaults: PSNR range 1 (the data are >= 0), SSIM range 2,
    # 7x7 uniform window
    return (peak_signal_noise_ratio(hr, out, data_range=1),
            structural_similarity(hr, out, data_range=2, win_size=7))


def _row(table, method, angle, channel="all"):
    sel = table[(table["slice"] == SLICE) & (table["method"] == method)
                & (table["angle"] == angle) & (table["channel"] == channel)]
    assert len(sel) == 1, (method, angle, channel, len(sel))
    return sel.iloc[0]


@pytest.fixture(scope="module")
def bicubic_rows():
    return _rows(_config("experiment.models=[]"))


def test_thesis_bicubic_matches_a_hand_computation_at_angle_0_and_18(bicubic_rows):
    hr = _hand_hr()
    up = _bicubic(_hand_lr(hr), hr.shape)
    psnr, ssim = _hand_scores(hr, up)
    for angle in (0.0, ANGLE):  # the thesis' per-slice bicubic: identical at every angle
        r = _row(bicubic_rows, "bicubic", angle)
        assert (r.psnr, r.ssim) == (psnr, ssim), (angle, r.psnr, psnr, r.ssim, ssim)
        assert (r.protocol, r.psnr_range, r.ssim_range) == ("thesis", 1.0, 2.0)
    # the same bicubic through the rotate/back path: LR rotated, output min-max scaled,
    # rotated back, compared with the unrotated HR
    back = _rot(_bicubic(_rot(_hand_lr(hr), ANGLE), hr.shape), -ANGLE)
    psnr_b, ssim_b = _hand_scores(hr, back)
    r = _row(bicubic_rows, "bicubic_rotback", ANGLE)
    assert (r.psnr, r.ssim) == (psnr_b, ssim_b)
    assert r.rotation_protocol == "back" and psnr_b != psnr
    r0 = _row(bicubic_rows, "bicubic_rotback", 0.0)
    assert (r0.psnr, r0.ssim) == (psnr, ssim)  # angle 0: no rotation at all


def test_thesis_sr_goes_through_the_rotate_back_path():
    cfg = _config(TINY_EDSR)
    models = [load_model(0, cfg.experiment.models[0], backend="numpy", dtype="float32",
                         seed=cfg.seed)]
    table = _rows(cfg, models)
    hr = _hand_hr()
    lr = _rot(_hand_lr(hr), ANGLE)
    x = np.repeat(lr[..., None], 3, axis=2)[None] * 255.0
    sr = models[0].model.predict(x, tile=models[0].tile)[0] / 255.0  # float, unclipped
    for c, name in enumerate("RGB"):  # per slice and per channel min-max, then rotate back
        out = _rot(_minmax(sr[..., c]), -ANGLE)
        psnr, ssim = _hand_scores(hr, out)
        r = _row(table, "EDSR", ANGLE, name)
        assert (r.psnr, r.ssim) == (psnr, ssim), (name, r.psnr, psnr)


def test_post_bet_masks_both_images_and_scores_the_whole_image(bicubic_rows):
    hr = _hand_hr()
    up = _bicubic(_hand_lr(hr), hr.shape)
    mask = metrics.brain_mask(hr)  # the BET-like mask itself is tested in test_metrics
    psnr, ssim = _hand_scores(np.where(mask, hr, 0.0), np.where(mask, up, 0.0))
    r = _row(bicubic_rows, "bicubic", 0.0)
    assert (r.psnr_post_bet, r.ssim_post_bet) == (psnr, ssim)
    # the thesis' masking sets the background of both images to 0: it raises the scores,
    # unlike our scores inside the mask (a separate column)
    assert r.psnr_post_bet > r.psnr and r.ssim_post_bet > r.ssim
    assert r.psnr_masked < r.psnr_post_bet


def test_thesis_mode_scores_every_non_blank_slice(bicubic_rows):
    # step 90 over the 189 axial slices: 0 and 90 hold voxels, 180 is blank
    assert sorted(bicubic_rows["slice"].unique()) == [0, 90]
    assert (bicubic_rows["slice_rule"] == "nonblank").all()


def test_the_clean_protocol_records_itself_and_has_no_post_bet_columns():
    over = ["experiment=mri", "protocol=clean", "dataset.weights=[T1]", "experiment.scales=[2]",
            "experiment.angles=[0]", "experiment.slices={start: 90, stop: 91, step: 1}",
            "experiment.models=[]", "output.progress=false"]
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        cfg = schema.validate(compose(config_name="config", overrides=over))
    table = _rows(cfg)
    assert set(table["protocol"]) == {"clean"} and set(table["intensity"]) == {"uint8"}
    assert "psnr_post_bet" not in table and (table["data_range"] == 255).all()
