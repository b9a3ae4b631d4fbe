"""One pure function per figure: tidy table (and example images) in, ``Figure`` out.

No pyplot state: figures are built on ``matplotlib.figure.Figure``; saving is the caller's job.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

CHANNEL_COLOURS = {"R": "tab:red", "G": "tab:green", "B": "tab:blue", "all": "black"}
BICUBIC_COLOUR = "goldenrod"


def _sr_scale(mri: pd.DataFrame, method: str) -> int:
    return int(mri.loc[mri["method"] == method, "scale"].iloc[0])


def crossings(x: np.ndarray, diff: np.ndarray) -> list[float]:
    """x positions where ``diff`` changes sign, linearly interpolated between samples."""
    out = []
    for i in range(len(diff) - 1):
        a, b = diff[i], diff[i + 1]
        if a == 0:
            out.append(float(x[i]))
        elif a * b < 0:
            out.append(float(x[i] + (x[i + 1] - x[i]) * a / (a - b)))
    return out


def scores_vs_slice(mri: pd.DataFrame, *, method: str, weight: str) -> Figure:
    """PSNR and SSIM vs slice: the three SR output channels and bicubic (thesis fig. 4.1).

    Means over subjects and angles; dotted lines where the SR channel mean crosses bicubic.
    """
    scale = _sr_scale(mri, method)
    t = mri[(mri["weight"] == weight) & (mri["scale"] == scale)]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        sr = t[t["method"] == method].groupby(["slice", "channel"])[metric].mean().unstack()
        bic = t[(t["method"] == "bicubic") & (t["channel"] == "all")].groupby("slice")[
            metric].mean()
        for ch in ("R", "G", "B"):
            if ch in sr:
                ax.plot(sr.index, sr[ch], color=CHANNEL_COLOURS[ch], label=f"{method} {ch}")
        ax.plot(bic.index, bic.values, color=BICUBIC_COLOUR, lw=2, label="bicubic")
        common = sr.index.intersection(bic.index)
        if len(common) > 1:
            mean_sr = sr.loc[common, [c for c in ("R", "G", "B") if c in sr]].mean(axis=1)
            for xc in crossings(np.asarray(common, float), (mean_sr - bic.loc[common]).values):
                ax.axvline(xc, ls=":", color="grey")
        ax.set_xlabel("slice")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    synth = " (synthetic T2)" if bool(t["synthetic"].any()) else ""
    fig.suptitle(f"{method} x{scale} vs bicubic, {weight}{synth}: mean over subjects and angles")
    return fig


def scores_vs_angle(mri: pd.DataFrame, *, scale: int) -> Figure:
    """Mean PSNR and SSIM (whole image) vs rotation angle, per method and weighting."""
    t = mri[(mri["scale"] == scale) & (mri["channel"] == "all")]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        for (method, weight), g in t.groupby(["method", "weight"]):
            m = g.groupby("angle")[metric].mean()
            ax.plot(m.index, m.values, marker="o", ms=3, ls="-" if weight == "T1" else "--",
                    label=f"{method} {weight}")
        ax.set_xlabel("rotation angle (degrees)")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"x{scale}: scores vs input rotation (mean over subjects and slices)")
    return fig


def _score_title(label: str, row: pd.Series | None) -> str:
    return label if row is None else f"{label}\n{row.psnr:.2f} dB / {row.ssim:.3f}"


def _row(table: pd.DataFrame, **where) -> pd.Series | None:
    t = table
    for k, v in where.items():
        t = t[t[k] == v]
    return None if t.empty else t.iloc[0]


def _grey(img: np.ndarray) -> np.ndarray:
    return img[..., 0] if img.ndim == 3 else img


def mri_panels(examples: dict[str, np.ndarray], mri: pd.DataFrame, *, subject: str,
               weight: str, scale: int, slice_: int, angle: float) -> Figure:
    """HR, LR, SR (channel R) and bicubic of one slice, with PSNR/SSIM in the titles."""
    tag = f"s{slice_:03d}_a{int(angle):03d}"
    labels = [k[len(tag) + 1 :] for k in examples if k.startswith(tag)]
    methods = [m for m in labels if m not in ("hr", "lr")]
    fig = Figure(figsize=(3 * (2 + len(methods)), 3.4), layout="constrained")
    axes = fig.subplots(1, 2 + len(methods))
    sel = mri[(mri["subject"] == subject) & (mri["weight"] == weight) & (mri["scale"] == scale)
              & (mri["slice"] == slice_) & (mri["angle"] == angle)]
    axes[0].imshow(examples[f"{tag}_hr"], cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("HR")
    axes[1].imshow(examples[f"{tag}_lr"], cmap="gray", vmin=0, vmax=255)
    axes[1].set_title(f"LR (1/{scale})")
    for ax, m in zip(axes[2:], methods, strict=True):
        ax.imshow(_grey(examples[f"{tag}_{m}"]), cmap="gray", vmin=0, vmax=255)
        ch = "all" if examples[f"{tag}_{m}"].ndim == 2 else "R"
        ax.set_title(_score_title(f"{m} ({ch})", _row(sel, method=m, channel=ch)))
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"{subject} {weight} slice {slice_}, angle {angle:g}, x{scale}")
    return fig


def difference_maps(examples: dict[str, np.ndarray], *, tag: str, scale: int) -> Figure:
    """|output - HR| per method (SR channel R), on one colour scale."""
    hr = examples[f"{tag}_hr"].astype(np.int16)
    methods = [k[len(tag) + 1 :] for k in examples if k.startswith(tag)]
    methods = [m for m in methods if m not in ("hr", "lr")]
    diffs = {m: np.abs(_grey(examples[f"{tag}_{m}"]).astype(np.int16) - hr) for m in methods}
    vmax = max(1, max(int(d.max()) for d in diffs.values()))
    fig = Figure(figsize=(3.3 * len(methods) + 0.8, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(methods)))
    im = None
    for ax, (m, d) in zip(axes, diffs.items(), strict=True):
        im = ax.imshow(d, cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(f"|{m} - HR|, mean {d.mean():.2f}")
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="absolute difference (grey levels)")
    fig.suptitle(f"{tag} x{scale}: where the errors are")
    return fig


def difference_histograms(examples: dict[str, np.ndarray], *, tag: str, scale: int) -> Figure:
    """Normalised histograms of |output - HR| per method (log y, as the defense slides)."""
    hr = examples[f"{tag}_hr"].astype(np.int16)
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    bins = np.arange(0, 257, 4)
    for k in examples:
        if k.startswith(tag) and k[len(tag) + 1 :] not in ("hr", "lr"):
            m = k[len(tag) + 1 :]
            d = np.abs(_grey(examples[k]).astype(np.int16) - hr).ravel()
            ax.hist(d, bins=bins, density=True, histtype="step", lw=1.5, label=m)
    ax.set_yscale("log")
    ax.set_xlabel("absolute difference (grey levels)")
    ax.set_ylabel("density")
    ax.legend()
    ax.set_title(f"{tag} x{scale}: distribution of absolute differences")
    return fig


def t1_t2_boxplots(mri: pd.DataFrame) -> Figure:
    """PSNR and SSIM distributions (whole image, every slice/angle) per method, T1 vs T2."""
    t = mri[mri["channel"] == "all"]
    groups = sorted(t.groupby(["scale", "method", "weight"]).groups)
    fig = Figure(figsize=(max(7, 1.1 * len(groups)), 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        data = [t[(t.scale == s) & (t.method == m) & (t.weight == w)][metric].values
                for s, m, w in groups]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1),
                      [f"x{s} {m}\n{w}" for s, m, w in groups], fontsize=7)
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("T1 vs T2 (T2 of the embedded set is synthetic)")
    return fig


def mask_iou_vs_slice(mri: pd.DataFrame) -> Figure:
    """IoU between the brain mask of HR and of each reconstruction, vs slice."""
    t = mri[mri["channel"] == "all"]
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for (s, m, w), g in t.groupby(["scale", "method", "weight"]):
        v = g.groupby("slice")["mask_iou"].mean()
        ax.plot(v.index, v.values, ls="-" if w == "T1" else "--", label=f"x{s} {m} {w}")
    ax.set_xlabel("slice")
    ax.set_ylabel("mask IoU with HR")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title("BET-like brain masks: reconstruction vs HR")
    return fig


def masked_vs_unmasked(mri: pd.DataFrame) -> Figure:
    """Mean scores on the whole slice and inside the HR brain mask, per method/weighting."""
    t = mri[mri["channel"] == "all"]
    g = t.groupby(["scale", "method", "weight"])[
        ["psnr", "psnr_masked", "ssim", "ssim_masked"]].mean()
    labels = [f"x{s} {m}\n{w}" for s, m, w in g.index]
    x = np.arange(len(g))
    fig = Figure(figsize=(max(7, 1.1 * len(g)), 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        ax.bar(x - 0.2, g[metric], 0.4, label="whole slice")
        ax.bar(x + 0.2, g[f"{metric}_masked"], 0.4, label="inside HR mask")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_ylabel(metric.upper())
    axes[0].legend(fontsize=8)
    fig.suptitle("Scores with and without the background")
    return fig


def div2k_interpolation(table: pd.DataFrame) -> Figure:
    """The interpolation table as bars: mean PSNR/SSIM per baseline and scale."""
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        w = table.pivot_table(index="method", columns="scale", values=metric)
        x = np.arange(len(w))
        for j, s in enumerate(w.columns):
            ax.bar(x + (j - (len(w.columns) - 1) / 2) * 0.35, w[s], 0.35, label=f"x{s}")
        ax.set_xticks(x, w.index)
        ax.set_ylabel(metric.upper())
    axes[0].legend()
    fig.suptitle("Interpolation baselines (mean over images)")
    return fig


def div2k_crops(examples: dict[str, np.ndarray], div2k: pd.DataFrame, *, image: str,
                scale: int) -> Figure:
    """HR / bicubic / SR crops of one image; titles carry the whole-image PSNR/SSIM."""
    order = ["HR", "bicubic"] + [k for k in examples
                                 if k not in ("HR", "bicubic", "crop_yx_size", "nearest",
                                              "lanczos", "bilinear")]
    fig = Figure(figsize=(2.8 * len(order), 3.3), layout="constrained")
    axes = fig.subplots(1, len(order))
    sel = div2k[(div2k["image"] == image) & (div2k["scale"] == scale)]
    for ax, k in zip(axes, order, strict=True):
        ax.imshow(examples[k])
        ax.set_title(_score_title(k, None if k == "HR" else
                                  _row(sel, method=k, channel="all")), fontsize=9)
        ax.set_axis_off()
    y, x, s = examples["crop_yx_size"]
    fig.suptitle(f"{image} x{scale}: crop {s}x{s} at ({y}, {x})")
    return fig


def div2k_sr_vs_bicubic(div2k: pd.DataFrame) -> Figure:
    """PSNR gain of every SR model over bicubic, per image (whole image)."""
    t = div2k[div2k["channel"] == "all"]
    bic = t[t["method"] == "bicubic"].set_index(["image", "scale"])["psnr"]
    sr = t[t["kind"] == "sr"]
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    for (m, s), g in sr.groupby(["method", "scale"]):
        gain = g.set_index(["image", "scale"])["psnr"] - bic
        ax.plot([i for i, _ in gain.index], gain.values, marker="o", ls="", label=f"{m} x{s}")
    ax.axhline(0, color="grey", lw=1)
    ax.set_ylabel("PSNR - PSNR(bicubic) (dB)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    ax.set_title("SR vs bicubic per image")
    return fig
