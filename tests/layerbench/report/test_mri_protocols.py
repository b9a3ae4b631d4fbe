"""MRI report with two protocols: the convention ablation table and the thesis' figure kinds,
as pure functions of small hand-made tables and images."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from layerbench.report import figures, tables

# variant -> (rotation protocol, slices, angles, bicubic psnr offset, sr psnr offset)
VARIANTS = {
    "clean": ("reference", [20, 40, 60], [0.0, 18.0, 36.0], 30.0, 31.0),
    "ablation_float": ("reference", [20, 40], [0.0, 36.0], 24.0, 25.0),
    "ablation_ssim2": ("reference", [20, 40], [0.0, 36.0], 24.0, 25.0),
    "thesis": ("back", [0, 20, 40], [0.0, 18.0, 36.0], 23.0, 22.0),
    "thesis_blur_first": ("back", [0, 20, 40], [0.0, 18.0, 36.0], 21.0, 22.5),
}


def _table() -> pd.DataFrame:
    rows = []
    for v, (rot, slices, angles, bic, sr) in VARIANTS.items():
        methods = [("bicubic", "baseline", bic), ("EDSR", "sr", sr)]
        if rot == "back":
            methods.append(("bicubic_rotback", "baseline", bic + 0.5))
        for (m, kind, base), s, a in itertools.product(methods, slices, angles):
            for ch in (["R", "G", "B", "all"] if kind == "sr" else ["all"]):
                p = base + s / 100 + a / 1000
                rows.append({
                    "experiment": "mri", "backend": "numpy", "subject": "mni152",
                    "protocol": "clean" if v.startswith(("clean", "abl")) else "thesis",
                    "variant": v, "weight": "T1", "synthetic": False, "scale": 2,
                    "slice": s, "angle": a, "method": m, "kind": kind, "channel": ch,
                    "psnr": p, "ssim": p / 100, "psnr_post_bet": p + 5 if rot == "back" else
                    np.nan, "ssim_post_bet": p / 50 if rot == "back" else np.nan,
                    "rotation_protocol": rot})
    return pd.DataFrame(rows)


def _mean(t, variant, method, col="psnr", pairs=None):
    sel = t[(t["variant"] == variant) & (t["method"] == method) & (t["channel"] == "all")]
    if pairs is not None:
        sel = sel[[(s, a) in pairs for s, a in zip(sel["slice"], sel["angle"], strict=True)]]
    return sel[col].mean()


def test_the_ablation_switches_one_convention_per_step_on_a_common_grid():
    t = _table()
    ab = tables.mri_convention_ablation(t)
    assert list(ab["step"]) == [0, 1, 2, 3, 4, 5, 6]
    common = {(20, 0.0), (20, 36.0), (40, 0.0), (40, 36.0)}  # what steps 0-3 all have
    by = ab.set_index("step")
    assert by.loc[0, "sr_psnr"] == pytest.approx(_mean(t, "clean", "EDSR", pairs=common))
    assert by.loc[0, "bicubic_psnr"] == pytest.approx(_mean(t, "clean", "bicubic", pairs=common))
    # from step 3 on, bicubic on the SR's path is the rotate/back one; the unrotated one
    # (the thesis' table) has its own column
    assert by.loc[3, "bicubic_psnr"] == pytest.approx(
        _mean(t, "thesis", "bicubic_rotback", pairs=common))
    assert by.loc[3, "bicubic_unrot_psnr"] == pytest.approx(
        _mean(t, "thesis", "bicubic", pairs=common))
    assert np.isnan(by.loc[2, "bicubic_unrot_psnr"])
    # step 4: the thesis variant's whole grid; 6: its post-BET scores
    assert by.loc[4, "sr_psnr"] == pytest.approx(_mean(t, "thesis", "EDSR"))
    assert by.loc[6, "sr_psnr"] == pytest.approx(_mean(t, "thesis", "EDSR", "psnr_post_bet"))
    assert by.loc[5, "d_sr_psnr"] == pytest.approx(by.loc[5, "sr_psnr"] - by.loc[4, "sr_psnr"])
    assert by.loc[6, "from_step"] == 4 and by.loc[3, "slices"] == 2
    assert isinstance(figures.convention_ablation(ab), Figure)


def test_protocol_tables_keep_variants_apart_and_old_rows_are_clean():
    t = _table()
    means = tables.mri_means(t)
    assert list(dict.fromkeys(means["variant"]))[:3] == ["clean", "thesis", "thesis_blur_first"]
    vs = tables.mri_vs_thesis(t)
    assert set(vs["variant"]) == {"clean", "thesis", "thesis_blur_first"}
    row = vs[(vs["variant"] == "thesis") & (vs["method"] == "bicubic")].iloc[0]
    assert row.thesis_psnr == "19.00" and row.protocol == "thesis"
    old = t[t["variant"] == "clean"].drop(columns=["protocol", "variant"])
    assert set(tables.with_protocol(old)["variant"]) == {"clean"}


def _examples():
    """One example slice's images (``{name: image}``) and its LR input at every angle."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:48, :40]
    hr = ((yy - 24) ** 2 + (xx - 20) ** 2 < 300).astype(float) * 0.8
    at = {"hr": hr, "lr": hr[::2, ::2], "bicubic": np.clip(
        hr + 0.05 * rng.standard_normal(hr.shape), 0, 1),
        "EDSR": np.repeat(hr[..., None], 3, axis=2) * 0.9}
    return at, {float(a): hr[::2, ::2] for a in range(0, 360, 18)}


@pytest.mark.parametrize("name", ["signed_difference_maps", "signed_histograms"])
def test_signed_difference_figures_show_before_and_after_masking(name):
    fig = getattr(figures, name)(_examples()[0], tag="s090_a018", scale=2)
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "before masking" in titles and "after masking" in titles


def test_mask_and_lr_figures():
    at, lr = _examples()
    fig = figures.lr_at_angles(lr, slice_=90, scale=2)
    assert sum(ax.get_title().endswith("deg") for ax in fig.axes) == 20
    assert len(figures.masks_side_by_side(at, tag="s090_a018").axes) == 3
    assert len(figures.mask_example(at, tag="s090_a018").axes) == 3
