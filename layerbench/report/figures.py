"""One pure function per figure: tidy table (and example images) in, ``Figure`` out.

The MRI example figures take the images of one slice and angle as ``{name: image}`` (``hr``,
``lr`` and one per method, :meth:`~layerbench.experiments.store.Examples.at`) and ``tag``, the
example's label for titles only.

No pyplot state: figures are built on ``matplotlib.figure.Figure``; saving is the caller's job.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .tables import common_grid

CHANNEL_COLOURS = {"R": "tab:red", "G": "tab:green", "B": "tab:blue", "all": "black"}
BICUBIC_COLOUR = "goldenrod"


def _sr_scale(mri: pd.DataFrame, method: str) -> int:
    return int(mri.loc[mri["method"] == method, "scale"].iloc[0])


def crossings(x: np.ndarray, diff: np.ndarray) -> list[float]:
    """x positions where ``diff`` changes sign, linearly interpolated between samples.

    Parameters
    ----------
    x : numpy.ndarray
        Sample positions, increasing.
    diff : numpy.ndarray
        Values at ``x`` (e.g. SR minus bicubic).

    Returns
    -------
    list of float
        The zero crossings.

    Examples
    --------
    >>> crossings(np.array([0.0, 1.0, 2.0]), np.array([-1.0, 1.0, 3.0]))
    [0.5]
    """
    out = []
    for i in range(len(diff) - 1):
        a, b = diff[i], diff[i + 1]
        if a == 0:
            out.append(float(x[i]))
        elif a * b < 0:
            out.append(float(x[i] + (x[i + 1] - x[i]) * a / (a - b)))
    return out


def _band(ax, stats: pd.DataFrame, colour: str, label: str, lw: float = 1.2, ls: str = "-"):
    """A mean line with a +/- one standard deviation band."""
    ax.plot(stats.index, stats["mean"], color=colour, lw=lw, ls=ls, label=label)
    sd = stats["std"].fillna(0.0)
    ax.fill_between(stats.index, stats["mean"] - sd, stats["mean"] + sd, color=colour,
                    alpha=0.12, lw=0)


def scores_vs_slice(mri: pd.DataFrame, *, method: str, weight: str) -> Figure:
    """PSNR and SSIM vs slice: the three SR output channels and bicubic (thesis fig. 4.1).

    Means over subjects and angles with +/- one standard deviation bands (over subjects and
    angles); dotted lines where the SR channel mean crosses bicubic. Under the thesis
    protocol the bicubic line is its unrotated per-slice bicubic and the dashed one the
    bicubic through the SR's rotate/back path.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of ``method`` and bicubic.
    method : str
        The SR method (its scale is taken from its rows).
    weight : str
        The weighting shown.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR and SSIM panels.
    """
    scale = _sr_scale(mri, method)
    t = mri[(mri["weight"] == weight) & (mri["scale"] == scale)]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        sr = t[t["method"] == method].groupby(["slice", "channel"])[metric].mean().unstack()
        for ch in ("R", "G", "B"):
            if ch in sr:
                st = t[(t["method"] == method) & (t["channel"] == ch)].groupby("slice")[
                    metric].agg(["mean", "std"])
                _band(ax, st, CHANNEL_COLOURS[ch], f"{method} {ch}")
        bic = None
        for name, ls in (("bicubic", "-"), ("bicubic_rotback", "--")):
            b = t[(t["method"] == name) & (t["channel"] == "all")]
            if not b.empty:
                st = b.groupby("slice")[metric].agg(["mean", "std"])
                _band(ax, st, BICUBIC_COLOUR, name, lw=2, ls=ls)
                bic = st["mean"] if bic is None else bic
        common = sr.index.intersection(bic.index) if bic is not None else sr.index[:0]
        if len(common) > 1:
            mean_sr = sr.loc[common, [c for c in ("R", "G", "B") if c in sr]].mean(axis=1)
            for xc in crossings(np.asarray(common, float), (mean_sr - bic.loc[common]).values):
                ax.axvline(xc, ls=":", color="grey")
        ax.set_xlabel("slice")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    synth = " (synthetic T2)" if bool(t["synthetic"].any()) else ""
    fig.suptitle(f"{method} x{scale} vs bicubic, {weight}{synth}{_protocol_note(t)}: "
                 "mean +/- 1 sd over subjects and angles")
    return fig


def _protocol_note(t: pd.DataFrame) -> str:
    if "variant" not in t or t["variant"].isna().all():
        return ""
    v = str(t["variant"].dropna().iloc[0])
    return "" if v == "clean" else f", {v} protocol"


def scores_vs_angle(mri: pd.DataFrame, *, scale: int) -> Figure:
    """Mean PSNR and SSIM vs rotation angle: one line per SR output channel and per baseline
    (whole image), per weighting.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows at every angle.
    scale : int
        The scale shown.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR and SSIM panels (T1 solid, T2 dashed).
    """
    t = mri[mri["scale"] == scale]
    t = t[(t["kind"] == "sr") & t["channel"].isin(["R", "G", "B"])
          | (t["kind"] != "sr") & (t["channel"] == "all")]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        for (method, weight, ch), g in t.groupby(["method", "weight", "channel"]):
            m = g.groupby("angle")[metric].mean()
            sr = ch != "all"
            ax.plot(m.index, m.values, marker="o", ms=3, ls="-" if weight == "T1" else "--",
                    color=CHANNEL_COLOURS[ch] if sr else None,
                    label=f"{method} {ch} {weight}" if sr else f"{method} {weight}")
        ax.set_xlabel("rotation angle (degrees)")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"x{scale}{_protocol_note(t)}: scores vs input rotation "
                 "(mean over subjects and slices; SR one line per output channel)")
    return fig


def masking_vs_slice(mri: pd.DataFrame, *, method: str, weight: str) -> Figure:
    """Per-slice scores before and after the thesis' post-BET masking (and inside the mask):
    the SR method (mean of its channels) and bicubic, means over subjects and angles.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows with the masked and post-BET columns.
    method : str
        The SR method.
    weight : str
        The weighting shown.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR and SSIM panels, one line style per scoring.
    """
    scale = _sr_scale(mri, method)
    t = mri[(mri["weight"] == weight) & (mri["scale"] == scale)]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    styles = (("", "-", "whole image"), ("_post_bet", "--", "post-BET (thesis)"),
              ("_masked", ":", "inside the mask"))
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        for name, colour in ((method, "tab:red"), ("bicubic", BICUBIC_COLOUR)):
            sel = t[(t["method"] == name)]
            sel = sel[sel["channel"].isin(["R", "G", "B"])] if name == method else sel[
                sel["channel"] == "all"]
            for suffix, ls, what in styles:
                col = f"{metric}{suffix}"
                if col in sel and sel[col].notna().any():
                    m = sel.groupby("slice")[col].mean()
                    ax.plot(m.index, m.values, color=colour, ls=ls, label=f"{name}, {what}")
        ax.set_xlabel("slice")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{method} x{scale} and bicubic, {weight}{_protocol_note(t)}: "
                 "before and after masking")
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


def _peak(img: np.ndarray) -> float:
    """The display maximum: 255 for uint8 images, 1 for the thesis protocol's floats."""
    return 255.0 if img.dtype == np.uint8 else 1.0


def mri_panels(examples: dict[str, np.ndarray], mri: pd.DataFrame, *, subject: str,
               weight: str, scale: int, slice_: int, angle: float) -> Figure:
    """HR, LR, SR (channel R) and bicubic of one slice, with PSNR/SSIM in the titles.

    Parameters
    ----------
    examples : dict of str to numpy.ndarray
        The images of the slice (see the module docstring).
    mri : pandas.DataFrame
        MRI rows, for the scores in the titles.
    subject, weight : str
        The slice's subject and weighting.
    scale : int
        The scale.
    slice_ : int
        The slice index.
    angle : float
        The rotation angle in degrees.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per image.
    """
    methods = _methods(examples)
    fig = Figure(figsize=(3 * (2 + len(methods)), 3.4), layout="constrained")
    axes = fig.subplots(1, 2 + len(methods))
    sel = mri[(mri["subject"] == subject) & (mri["weight"] == weight) & (mri["scale"] == scale)
              & (mri["slice"] == slice_) & (mri["angle"] == angle)]
    where = "LR rotated, outputs rotated back" if _back(sel) else "HR and LR rotated"
    peak = _peak(examples["hr"])
    axes[0].imshow(examples["hr"], cmap="gray", vmin=0, vmax=peak)
    axes[0].set_title("HR")
    axes[1].imshow(examples["lr"], cmap="gray", vmin=0, vmax=peak)
    axes[1].set_title(f"LR (1/{scale})")
    for ax, m in zip(axes[2:], methods, strict=True):
        ax.imshow(_grey(examples[m]), cmap="gray", vmin=0, vmax=peak)
        ch = "all" if examples[m].ndim == 2 else "R"
        ax.set_title(_score_title(f"{m} ({ch})", _row(sel, method=m, channel=ch)))
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"{subject} {weight} slice {slice_}, angle {angle:g} ({where}), "
                 f"x{scale}{_protocol_note(sel)}")
    return fig


def _back(rows: pd.DataFrame) -> bool:
    return "rotation_protocol" in rows and bool((rows["rotation_protocol"] == "back").any())


def difference_maps(examples: dict[str, np.ndarray], *, tag: str, scale: int) -> Figure:
    """``|output - HR|`` per method (SR channel R), on one colour scale.

    Parameters
    ----------
    examples : dict of str to numpy.ndarray
        The images of one slice and angle (see the module docstring).
    tag : str
        The example's label, for the title.
    scale : int
        The scale, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        One map per method and a shared colour bar.
    """
    hr = examples["hr"].astype(np.int16)
    methods = _methods(examples)
    diffs = {m: np.abs(_grey(examples[m]).astype(np.int16) - hr) for m in methods}
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
    """Normalised histograms of ``|output - HR|`` per method (log y, as the defense slides).

    Parameters
    ----------
    examples, tag, scale
        As in :func:`difference_maps`.

    Returns
    -------
    matplotlib.figure.Figure
        One histogram line per method.
    """
    hr = examples["hr"].astype(np.int16)
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    bins = np.arange(0, 257, 4)
    for m in _methods(examples):
        d = np.abs(_grey(examples[m]).astype(np.int16) - hr).ravel()
        ax.hist(d, bins=bins, density=True, histtype="step", lw=1.5, label=m)
    ax.set_yscale("log")
    ax.set_xlabel("absolute difference (grey levels)")
    ax.set_ylabel("density")
    ax.legend()
    ax.set_title(f"{tag} x{scale}: distribution of absolute differences")
    return fig


def _methods(examples: dict[str, np.ndarray]) -> list[str]:
    """The reconstructions among one example's images (all but ``hr`` and ``lr``)."""
    return [m for m in examples if m not in ("hr", "lr")]


def _unit(img: np.ndarray) -> np.ndarray:
    """Grey float image in [0, 1] units (uint8 / 255; the SR output's first channel, R)."""
    g = _grey(img).astype(np.float64)
    return g / 255.0 if img.dtype == np.uint8 else g


def lr_at_angles(lr: dict[float, np.ndarray], *, slice_: int, scale: int) -> Figure:
    """The LR input of one slice at every angle (thesis: the 20 rotated inputs); ``lr`` maps
    each angle (degrees) to its image (:meth:`~layerbench.experiments.store.Examples.by_angle`).

    Parameters
    ----------
    lr : dict of float to numpy.ndarray
        The LR image at each angle.
    slice_ : int
        The slice index, for the title.
    scale : int
        The scale, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        A grid of up to 5 columns.
    """
    keys = sorted(lr)
    cols = min(5, len(keys))
    rows = -(-len(keys) // cols)
    fig = Figure(figsize=(2.2 * cols, 2.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, angle in zip(axes, keys, strict=False):
        ax.imshow(lr[angle], cmap="gray", vmin=0, vmax=_peak(lr[angle]))
        ax.set_title(f"{angle:g} deg", fontsize=9)
    fig.suptitle(f"slice {slice_}: LR inputs (1/{scale}) at {len(keys)} angles")
    return fig


def mask_example(examples: dict[str, np.ndarray], *, tag: str) -> Figure:
    """HR slice, its BET-like brain mask and the masked HR (what post-BET scores see).

    Parameters
    ----------
    examples, tag
        As in :func:`difference_maps`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels.
    """
    from layerbench.metrics import brain_mask

    hr = _unit(examples["hr"])
    mask = brain_mask(hr)
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, img, title in zip(axes, (hr, mask, np.where(mask, hr, 0)),
                              ("HR", "brain mask of HR", "masked HR (background 0)"),
                              strict=True):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_axis_off()
    fig.suptitle(f"{tag}: brain mask example ({int(mask.sum())} pixels inside)")
    return fig


def masks_side_by_side(examples: dict[str, np.ndarray], *, tag: str) -> Figure:
    """Brain masks made separately from HR and from every reconstruction (SR: channel R),
    with their IoU against the HR mask.

    Parameters
    ----------
    examples, tag
        As in :func:`difference_maps`.

    Returns
    -------
    matplotlib.figure.Figure
        One mask per image, IoU in the titles.
    """
    from layerbench.metrics import brain_mask, iou

    hr_mask = brain_mask(_unit(examples["hr"]))
    methods = _methods(examples)
    fig = Figure(figsize=(3 * (1 + len(methods)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(methods))
    axes[0].imshow(hr_mask, cmap="gray")
    axes[0].set_title("HR mask")
    for ax, m in zip(axes[1:], methods, strict=True):
        mk = brain_mask(_unit(examples[m]))
        ax.imshow(mk, cmap="gray")
        ax.set_title(f"{m} mask\nIoU with HR {iou(hr_mask, mk):.3f}")
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"{tag}: masks made separately from each image")
    return fig


def _signed(examples: dict[str, np.ndarray]):
    """``{method: (HR - output, the same after the HR mask on both)}`` in [0, 1] units."""
    from layerbench.metrics import brain_mask

    hr = _unit(examples["hr"])
    mask = brain_mask(hr)
    out = {}
    for m in _methods(examples):
        d = hr - _unit(examples[m])
        out[m] = (d, np.where(mask, d, 0.0))
    return out


def signed_difference_maps(examples: dict[str, np.ndarray], *, tag: str, scale: int) -> Figure:
    """HR minus reconstruction (signed; SR channel R) before and after post-BET masking.

    Negative (blue) = the reconstruction is brighter than HR: the thesis' "over-estimation".

    Parameters
    ----------
    examples, tag, scale
        As in :func:`difference_maps`.

    Returns
    -------
    matplotlib.figure.Figure
        Two rows (unmasked, post-BET), one column per method.
    """
    diffs = _signed(examples)
    vmax = max(1e-6, max(float(np.abs(d).max()) for d, _ in diffs.values()))
    fig = Figure(figsize=(3.3 * len(diffs) + 0.8, 6.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, len(diffs)).reshape(2, -1))
    im = None
    for j, (m, pair) in enumerate(diffs.items()):
        for i, (d, when) in enumerate(zip(pair, ("before masking", "after masking"),
                                          strict=True)):
            im = axes[i, j].imshow(d, cmap="RdBu", vmin=-vmax, vmax=vmax)
            axes[i, j].set_title(f"HR - {m}, {when}\nmean {d.mean():+.4f}", fontsize=9)
            axes[i, j].set_axis_off()
    fig.colorbar(im, ax=list(axes.ravel()), shrink=0.8, label="HR - reconstruction ([0, 1])")
    fig.suptitle(f"{tag} x{scale}: signed differences")
    return fig


def signed_histograms(examples: dict[str, np.ndarray], *, tag: str, scale: int) -> Figure:
    """Histograms of HR minus reconstruction before and after post-BET masking (log y):
    mass left of 0 is where the reconstruction over-estimates the intensity.

    Parameters
    ----------
    examples, tag, scale
        As in :func:`difference_maps`.

    Returns
    -------
    matplotlib.figure.Figure
        Unmasked and post-BET panels.
    """
    diffs = _signed(examples)
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    bins = np.linspace(-1, 1, 161)
    for ax, i, when in ((axes[0], 0, "before masking"), (axes[1], 1, "after masking")):
        for m, pair in diffs.items():
            d = pair[i].ravel()
            ax.hist(d, bins=bins, density=True, histtype="step", lw=1.3,
                    label=f"{m} (mean {d.mean():+.4f})")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("HR - reconstruction ([0, 1] units)")
        ax.set_title(when)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    fig.suptitle(f"{tag} x{scale}: signed differences (negative = over-estimation)")
    return fig


def convention_ablation(ablation: pd.DataFrame) -> Figure:
    """Bicubic and SR PSNR/SSIM after each step of the convention ablation, per scale.

    Parameters
    ----------
    ablation : pandas.DataFrame
        The table of :func:`layerbench.report.tables.mri_convention_ablation`.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR and SSIM panels, steps on the x axis.
    """
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("psnr", "ssim"), strict=True):
        for scale, g in ablation.groupby("scale"):
            ls = "-" if scale == 2 else "--"
            ax.plot(g["step"], g[f"sr_{metric}"], marker="o", ls=ls, color="tab:red",
                    label=f"x{scale} {g['sr_method'].iloc[0]}")
            ax.plot(g["step"], g[f"bicubic_{metric}"], marker="s", ls=ls, color=BICUBIC_COLOUR,
                    label=f"x{scale} bicubic (SR's rotation path)")
            ax.plot(g["step"], g[f"bicubic_unrot_{metric}"], marker="^", ls=ls, color="grey",
                    label=f"x{scale} bicubic unrotated (thesis table)")
        ax.set_xticks(sorted(ablation["step"].unique()))
        ax.set_xlabel("ablation step (results/tables/mri_convention_ablation.md)")
        ax.set_ylabel(metric.upper())
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("T1: from the clean protocol to the thesis', one convention at a time")
    return fig


def t1_t2_boxplots(mri: pd.DataFrame) -> Figure:
    """PSNR and SSIM distributions (whole image, every slice/angle) per method, T1 vs T2.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of both weightings.

    Returns
    -------
    matplotlib.figure.Figure
        One box per scale, method and weighting.
    """
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
    """IoU between the brain mask of HR and of each reconstruction, vs slice.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows with a ``mask_iou`` column.

    Returns
    -------
    matplotlib.figure.Figure
        One line per method and weighting.
    """
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
    """Mean scores on the whole slice and inside the HR brain mask, per method/weighting.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows with ``psnr_masked`` and ``ssim_masked``.

    Returns
    -------
    matplotlib.figure.Figure
        Grouped bars.
    """
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
    """The interpolation table as bars: mean PSNR/SSIM per baseline and scale.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`layerbench.report.tables.div2k_interpolation`.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR and SSIM bar panels.
    """
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
    """HR / bicubic / SR crops of one image; titles carry the whole-image PSNR/SSIM.

    Parameters
    ----------
    examples : dict of str to numpy.ndarray
        The crops kept by the DIV2K run (``HR``, ``bicubic``, the SR models).
    div2k : pandas.DataFrame
        The DIV2K rows, for the titles.
    image : str
        The image's name.
    scale : int
        The scale.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per crop.
    """
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
    """PSNR gain of every SR model over bicubic, per image (whole image).

    Parameters
    ----------
    div2k : pandas.DataFrame
        The DIV2K rows of the SR models and bicubic.

    Returns
    -------
    matplotlib.figure.Figure
        The gain per image, one marker series per model and scale.
    """
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


TRAINING_STYLES = {"photo": ("tab:gray", "--"), "mri_finetune": ("tab:blue", "-"),
                   "mri_scratch": ("tab:orange", "-")}


def mri_gain_vs_slice(mri: pd.DataFrame) -> Figure:
    """PSNR gain over bicubic per slice of every SR model (channel ``all``, mean over angles
    of ``psnr_model - psnr_bicubic`` on the same slice and angle, on the angles every model
    was scored at: ``tables.common_grid``): one panel per weighting
    (rows) and scale (columns); photo models dashed grey, MRI models coloured.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of the SR models and bicubic.

    Returns
    -------
    matplotlib.figure.Figure
        A grid of weightings by scales.
    """
    t = mri[mri["channel"] == "all"]
    weights, scales = sorted(t["weight"].unique()), sorted(t["scale"].unique())
    fig = Figure(figsize=(5.5 * len(scales), 3.2 * len(weights)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(weights), len(scales), squeeze=False))
    for r, weight in enumerate(weights):
        for c, scale in enumerate(scales):
            ax = axes[r, c]
            g = common_grid(t[(t["weight"] == weight) & (t["scale"] == scale)])
            bic = g[g["method"] == "bicubic"].set_index(["subject", "slice", "angle"])["psnr"]
            for method, sr in g[g["kind"] == "sr"].groupby("method", sort=True):
                kind = sr["model_training"].iloc[0] if "model_training" in sr else "photo"
                colour, ls = TRAINING_STYLES.get(kind, ("black", ":"))
                s = sr.set_index(["subject", "slice", "angle"])["psnr"]
                gain = (s - bic.loc[s.index]).groupby(level="slice").mean()
                ax.plot(gain.index, gain.values, color=colour, ls=ls, marker="o", ms=3,
                        label=f"{method} ({kind}), mean {gain.mean():+.2f} dB")
            ax.axhline(0.0, color="goldenrod", lw=1)
            ax.set_title(f"{weight} x{scale}")
            ax.set_xlabel("slice")
            ax.set_ylabel("PSNR gain over bicubic (dB)")
            ax.legend(fontsize=7)
    n = common_grid(t).loc[lambda d: d["kind"] == "sr", "angle"].nunique()
    fig.suptitle("Gain over bicubic per slice (held-out axial slices)\n"
                 f"mean over the angles all models share ({n})", fontsize=10)
    return fig
