"""Summary tables: pure functions of the merged run table."""

from __future__ import annotations

import pandas as pd

# SPEC §3: the thesis' own numbers (DIV2K table of the seminar slides; MRI patient case01015
# T1, means over slices). Channel ranges are the spread of the three SR output channels.
THESIS_DIV2K = pd.DataFrame(
    {"method": ["nearest", "bicubic", "lanczos"], "thesis_psnr": [25.118, 27.254, 26.566],
     "thesis_ssim": [0.847, 0.894, 0.871]})
THESIS_MRI = pd.DataFrame(
    {"weight": ["T1", "T1", "T1", "T1"], "scale": [2, 2, 4, 4],
     "method": ["bicubic", "EDSR", "bicubic", "WDSR"],
     "thesis_psnr": ["19.00", "18.6-19.1 (channels)", "17.11", "19.2-19.3 (channels)"],
     "thesis_ssim": ["0.406", "", "0.250", ""]})

MRI_KEYS = ["experiment", "backend", "subject", "weight", "slice", "angle", "scale", "method",
            "channel"]
DIV2K_KEYS = ["experiment", "backend", "image", "scale", "method", "channel"]


def dedupe(table: pd.DataFrame) -> pd.DataFrame:
    """Keep the latest row per key when runs overlap (re-runs, overlapping sweeps)."""
    if table.empty:
        return table
    parts = []
    for name, keys in (("mri", MRI_KEYS), ("div2k", DIV2K_KEYS)):
        t = table[table["experiment"] == name]
        if not t.empty:
            order = "_mtime" if "_mtime" in t else None
            t = t.sort_values(order, kind="stable") if order else t
            parts.append(t.drop_duplicates(keys, keep="last"))
    return pd.concat(parts, ignore_index=True) if parts else table.iloc[0:0]


def primary_backend(table: pd.DataFrame) -> str:
    """The backend the figures use: numpy when present (the reference), else the first."""
    names = sorted(table["backend"].unique())
    return "numpy" if "numpy" in names else names[0]


def div2k_interpolation(div2k: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR/SSIM over images of every method (whole image), per scale."""
    t = div2k[div2k["channel"] == "all"]
    out = t.groupby(["scale", "method"], as_index=False).agg(
        psnr=("psnr", "mean"), ssim=("ssim", "mean"), images=("image", "nunique"))
    out = out.merge(THESIS_DIV2K, on="method", how="left")
    out["thesis_scale"] = out["thesis_psnr"].map(lambda v: "" if pd.isna(v) else "not stated")
    return out.round(4)


def trained_on(div2k: pd.DataFrame) -> pd.Series:
    """True for the rows of images that the shipped weights were trained on: embedded
    scikit-image photographs listed in ``layerbench.models.trainset.TRAINING``. SR scores on
    them are not held-out results."""
    from layerbench.models.trainset import TRAINING

    embedded = div2k["source"].astype(str).str.startswith("skimage:")
    return embedded & div2k["image"].isin(TRAINING)


def div2k_per_image(div2k: pd.DataFrame) -> pd.DataFrame:
    t = div2k[div2k["channel"] == "all"]
    wide = t.pivot_table(index=["image", "scale"], columns="method",
                         values=["psnr", "ssim"]).round(4)
    wide.columns = [f"{m}_{v}" for v, m in wide.columns]
    wide = wide.reset_index()
    if "source" in t:
        seen = t.assign(seen=trained_on(t)).groupby("image")["seen"].any()
        wide["held_out"] = ~wide["image"].map(seen).fillna(False).astype(bool)
    return wide


def div2k_sr_gain(div2k: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR/SSIM of each SR model and of bicubic at its scale, and the gain, over the
    images held out from the shipped weights' training and over all images."""
    t = div2k[div2k["channel"] == "all"].assign(held_out=lambda d: ~trained_on(d))
    rows = []
    for (scale, model), g in t[t["kind"] == "sr"].groupby(["scale", "method"]):
        bic = t[(t["scale"] == scale) & (t["method"] == "bicubic")]
        for subset, keep in (("held out", True), ("all", None)):
            sr = g if keep is None else g[g["held_out"]]
            b = bic[bic["image"].isin(sr["image"])]
            if sr.empty:
                continue
            rows.append({
                "scale": scale, "model": model, "images": subset, "n": sr["image"].nunique(),
                "sr_psnr": sr["psnr"].mean(), "bicubic_psnr": b["psnr"].mean(),
                "gain_db": sr["psnr"].mean() - b["psnr"].mean(),
                "sr_ssim": sr["ssim"].mean(), "bicubic_ssim": b["ssim"].mean(),
            })
    return pd.DataFrame(rows).round(4)


def mri_means(mri: pd.DataFrame) -> pd.DataFrame:
    """Means over subjects, slices and angles per weighting, scale, method and channel."""
    cols = [c for c in ("psnr", "ssim", "psnr_masked", "ssim_masked", "mask_iou") if c in mri]
    out = mri.groupby(["weight", "synthetic", "scale", "method", "channel"], as_index=False)[
        cols].mean()
    n = mri.groupby(["weight", "synthetic", "scale", "method", "channel"]).size().values
    out["rows"] = n
    return out.round(4)


def mri_vs_thesis(mri: pd.DataFrame) -> pd.DataFrame:
    """Our T1 means (channel range for SR, whole image for baselines) beside the thesis'."""
    m = mri_means(mri)
    rows = []
    for (w, s, meth), g in m.groupby(["weight", "scale", "method"]):
        chans = g[g["channel"].isin(["R", "G", "B"])]
        allr = g[g["channel"] == "all"].iloc[0]
        rng = (f"{chans.psnr.min():.2f}-{chans.psnr.max():.2f}" if len(chans) else "")
        rows.append({"weight": w, "scale": s, "method": meth, "psnr": round(allr.psnr, 2),
                     "psnr_channels": rng, "ssim": round(allr.ssim, 3)})
    ours = pd.DataFrame(rows)
    return ours.merge(THESIS_MRI, on=["weight", "scale", "method"], how="left").fillna("")


def backend_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Largest PSNR/SSIM difference of each SR method between every backend and the primary."""
    if table.empty or table["backend"].nunique() < 2:
        return pd.DataFrame()
    ref_name = primary_backend(table)
    sr = table[table["kind"] == "sr"]
    keys = [k for k in (*MRI_KEYS, *DIV2K_KEYS) if k in sr and k != "backend"]
    keys = list(dict.fromkeys(keys))
    ref = sr[sr["backend"] == ref_name].set_index(keys)[["psnr", "ssim"]]
    rows = []
    for name, g in sr[sr["backend"] != ref_name].groupby("backend"):
        j = g.set_index(keys)[["psnr", "ssim"]].join(ref, rsuffix="_ref", how="inner")
        rows.append({"backend": name, "reference": ref_name, "rows": len(j),
                     "max_abs_dpsnr": float((j.psnr - j.psnr_ref).abs().max()),
                     "max_abs_dssim": float((j.ssim - j.ssim_ref).abs().max())})
    return pd.DataFrame(rows)
