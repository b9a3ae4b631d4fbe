"""Summary tables: pure functions of the merged run table."""

from __future__ import annotations

import pandas as pd

from layerbench import markdown

# The thesis' own numbers (DIV2K table of the seminar slides; MRI patient case01015
# T1, means over slices). Channel ranges are the spread of the three SR output channels.
THESIS_DIV2K = pd.DataFrame(
    {"method": ["nearest", "bicubic", "lanczos"], "thesis_psnr": [25.118, 27.254, 26.566],
     "thesis_ssim": [0.847, 0.894, 0.871]})
# The thesis' per-slice means (all slices and angles; SR channels 1/2/3 =
# EDSR 18.58 / 18.93 / 19.13 dB, WDSR 19.17 / 19.30 / 19.15 dB). Its bicubic is computed once
# per slice without rotation: our thesis protocol's ``bicubic`` (not ``bicubic_rotback``).
THESIS_MRI = pd.DataFrame(
    {"weight": ["T1", "T1", "T1", "T1"], "scale": [2, 2, 4, 4],
     "method": ["bicubic", "EDSR", "bicubic", "WDSR"],
     "thesis_psnr": ["19.00", "18.6-19.1 (channels)", "17.11", "19.2-19.3 (channels)"],
     "thesis_ssim": ["0.406", "0.436-0.509 (channels)", "0.250", "0.453-0.491 (channels)"]})

MRI_KEYS = ["experiment", "backend", "variant", "subject", "weight", "slice", "angle", "scale",
            "method", "channel"]
MRI_GROUP = ["protocol", "variant", "weight", "synthetic", "scale", "method", "channel"]
MRI_SCORES = ("psnr", "ssim", "psnr_masked", "ssim_masked", "psnr_post_bet", "ssim_post_bet",
              "mask_iou")
# The protocols the report shows side by side (the ablation variants feed one table only).
PROTOCOL_VARIANTS = ("clean", "thesis", "thesis_blur_first")


def with_protocol(mri: pd.DataFrame) -> pd.DataFrame:
    """Rows of runs made before protocols existed are the clean protocol's.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows, with or without ``protocol`` and ``variant`` columns.

    Returns
    -------
    pandas.DataFrame
        A copy whose missing ``protocol``/``variant`` values are ``"clean"``.
    """
    mri = mri.copy()
    for col in ("protocol", "variant"):
        mri[col] = mri[col].fillna("clean") if col in mri else "clean"
    return mri
DIV2K_KEYS = ["experiment", "backend", "image", "scale", "method", "channel"]


def dedupe(table: pd.DataFrame) -> pd.DataFrame:
    """Keep the latest row per key when runs overlap (re-runs, overlapping sweeps).

    Parameters
    ----------
    table : pandas.DataFrame
        The merged run table (``_mtime`` orders the runs when present).

    Returns
    -------
    pandas.DataFrame
        One row per key of ``MRI_KEYS`` / ``DIV2K_KEYS``.
    """
    if table.empty:
        return table
    parts = []
    for name, keys in (("mri", MRI_KEYS), ("div2k", DIV2K_KEYS)):
        t = table[table["experiment"] == name]
        if name == "mri" and not t.empty:
            t = with_protocol(t)
        if not t.empty:
            order = "_mtime" if "_mtime" in t else None
            t = t.sort_values(order, kind="stable") if order else t
            parts.append(t.drop_duplicates(keys, keep="last"))
    return pd.concat(parts, ignore_index=True) if parts else table.iloc[0:0]


def primary_backend(table: pd.DataFrame) -> str:
    """The backend the figures use: numpy when present (the reference), else the first.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows with a ``backend`` column.

    Returns
    -------
    str
        The backend's name.
    """
    names = sorted(table["backend"].unique())
    return "numpy" if "numpy" in names else names[0]


def div2k_interpolation(div2k: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR/SSIM over images of every method (whole image), per scale.

    Parameters
    ----------
    div2k : pandas.DataFrame
        The DIV2K rows; the whole-image ones (channel ``all``) are averaged.

    Returns
    -------
    pandas.DataFrame
        Per scale and method: ``psnr``, ``ssim``, ``images`` and the thesis' numbers where
        it states them.
    """
    t = div2k[div2k["channel"] == "all"]
    out = t.groupby(["scale", "method"], as_index=False).agg(
        psnr=("psnr", "mean"), ssim=("ssim", "mean"), images=("image", "nunique"))
    out = out.merge(THESIS_DIV2K, on="method", how="left")
    out["thesis_scale"] = out["thesis_psnr"].map(lambda v: "" if pd.isna(v) else "not stated")
    return out.round(4)


def trained_on(div2k: pd.DataFrame) -> pd.Series:
    """True for the rows of images that the shipped weights were trained on: embedded
    scikit-image photographs listed in ``layerbench.training.trainset.TRAINING``. SR scores on
    them are not held-out results.

    Parameters
    ----------
    div2k : pandas.DataFrame
        Rows with ``source`` and ``image`` columns.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``div2k``.
    """
    from layerbench.training.trainset import TRAINING

    embedded = div2k["source"].astype(str).str.startswith("skimage:")
    return embedded & div2k["image"].isin(TRAINING)


def div2k_per_image(div2k: pd.DataFrame) -> pd.DataFrame:
    """PSNR and SSIM of every method per image and scale, side by side.

    Parameters
    ----------
    div2k : pandas.DataFrame
        The DIV2K run table (one row per image, scale, method and channel).

    Returns
    -------
    pandas.DataFrame
        One row per ``(image, scale)`` with ``<method>_psnr`` and ``<method>_ssim`` columns
        (whole-image scores, rounded to 4 decimals) and, when the table says where images
        came from, ``held_out``: False for the images the shipped weights were trained on.
    """
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
    images held out from the shipped weights' training and over all images.

    Parameters
    ----------
    div2k : pandas.DataFrame
        The DIV2K rows (a ``source`` column says where each image came from).

    Returns
    -------
    pandas.DataFrame
        Per scale, model and image subset (``held out``, ``all``): ``sr_psnr``,
        ``bicubic_psnr``, ``gain_db``, ``sr_ssim``, ``bicubic_ssim``.
    """
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


def without_mri_trained(mri: pd.DataFrame) -> pd.DataFrame:
    """The rows of the thesis' comparison: baselines and the photo models, without the models
    trained on MRI (they run on fewer angles and have their own table,
    :func:`mri_trained_models`).

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows, with a ``model_training`` column when models were trained on MRI.

    Returns
    -------
    pandas.DataFrame
        The rows whose ``model_training`` is not an MRI training.
    """
    if "model_training" not in mri:
        return mri
    return mri[~mri["model_training"].isin(("mri_finetune", "mri_scratch"))]


def mri_means(mri: pd.DataFrame) -> pd.DataFrame:
    """Means over subjects, slices and angles per protocol variant, weighting, scale, method
    and channel (post-BET columns empty for protocols that do not score them).

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of every protocol variant, with the columns of ``MRI_SCORES`` they scored.

    Returns
    -------
    pandas.DataFrame
        One row per group of ``MRI_GROUP``: the mean scores and ``rows``, protocols in the
        order of ``PROTOCOL_VARIANTS``.
    """
    mri = with_protocol(mri)
    cols = [c for c in MRI_SCORES if c in mri]
    g = mri.groupby(MRI_GROUP, as_index=False, sort=False)
    out = g[cols].mean()
    out["rows"] = g.size()["size"].values
    order = {v: i for i, v in enumerate(PROTOCOL_VARIANTS)}
    out = out.assign(_o=out["variant"].map(order).fillna(len(order)))
    out = out.sort_values(["_o", "variant", "weight", "scale", "method", "channel"],
                          kind="stable").drop(columns="_o").reset_index(drop=True)
    return out.round(4)


def _channel_range(g: pd.DataFrame, col: str, digits: int) -> str:
    chans = g[g["channel"].isin(["R", "G", "B"])]
    if chans.empty:
        return ""
    return f"{chans[col].min():.{digits}f}-{chans[col].max():.{digits}f}"


def mri_vs_thesis(mri: pd.DataFrame) -> pd.DataFrame:
    """Our means per protocol (channel range for SR, whole image for baselines) beside the
    thesis' case01015 T1 numbers.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows; the variants of ``PROTOCOL_VARIANTS`` are compared.

    Returns
    -------
    pandas.DataFrame
        Per variant, weighting, scale and method: ``psnr``, ``ssim``, their ranges over the
        output channels, and ``thesis_psnr``/``thesis_ssim`` where the thesis has them.
    """
    m = mri_means(without_mri_trained(mri))
    m = m[m["variant"].isin(PROTOCOL_VARIANTS)]
    rows = []
    for (v, w, s, meth), g in m.groupby(["variant", "weight", "scale", "method"], sort=False):
        allr = g[g["channel"] == "all"].iloc[0]
        rows.append({"protocol": allr.protocol, "variant": v, "weight": w, "scale": s,
                     "method": meth, "psnr": round(allr.psnr, 2),
                     "psnr_channels": _channel_range(g, "psnr", 2),
                     "ssim": round(allr.ssim, 3), "ssim_channels": _channel_range(g, "ssim", 3)})
    ours = pd.DataFrame(rows)
    out = ours.merge(THESIS_MRI, on=["weight", "scale", "method"], how="left")
    # the thesis' numbers sit beside the thesis protocol and beside the clean one (the README's
    # comparison); the rotate/back bicubic and the ablation have no thesis counterpart
    return out.fillna("")


# The convention ablation: each step switches one convention of the clean protocol toward the
# thesis'. (step, change, variant, scored columns, grid, compared with step).
# Steps 0-3 are scored on the (slice, angle) pairs all four share ("common") so that only the
# convention moves; masking comes last because the thesis' headline numbers are unmasked.
ABLATION = (
    (0, "clean protocol (uint8, ranges 255, HR rotated with the input)", "clean", "", "common",
     None),
    (1, "intensity: [0,1] floats, outputs unclipped then min-max per slice (SR per channel); "
        "PSNR and SSIM range 1", "ablation_float", "", "common", 0),
    (2, "metric: SSIM data range 2", "ablation_ssim2", "", "common", 1),
    (3, "rotation: LR rotated, output rotated back, vs the unrotated HR", "thesis", "",
     "common", 2),
    (4, "slices and angles: the thesis variant's whole grid = thesis protocol, resize then "
        "blur",
     "thesis", "", "all", 3),
    (5, "order: blur then resize (the thesis' final text)", "thesis_blur_first", "", "all", 4),
    (6, "masking: post-BET (HR mask on both images, whole image scored), from step 4",
     "thesis", "_post_bet", "all", 4),
)


def mri_convention_ablation(mri: pd.DataFrame, *, weight: str = "T1") -> pd.DataFrame:
    """Bicubic and SR PSNR/SSIM (whole image, channel ``all``) after each ablation step.

    ``bicubic_*``: bicubic through the same rotation path as SR (``bicubic`` of the
    reference-rotation steps, ``bicubic_rotback`` from step 3); ``bicubic_unrot_*``: the
    thesis' per-slice bicubic (unrotated, steps 3-6). ``d_*``: change from the step named in
    ``from_step``.

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of the ablation variants (``ABLATION``).
    weight : str, default "T1"
        The weighting shown.

    Returns
    -------
    pandas.DataFrame
        One row per step of ``ABLATION`` and scale (empty without the variants).
    """
    mri = with_protocol(without_mri_trained(mri))
    t = mri[(mri["weight"] == weight) & (mri["channel"] == "all")]
    pairs = None
    for variant in {a[2] for a in ABLATION if a[4] == "common"}:
        v = t[t["variant"] == variant]
        got = set(zip(v["slice"], v["angle"], strict=True))
        pairs = got if pairs is None else pairs & got
    pairs = pairs or set()
    on_common = pd.Series([p in pairs for p in zip(t["slice"], t["angle"], strict=True)],
                          index=t.index, dtype=bool)
    rows = []
    for step, change, variant, suffix, grid, prev in ABLATION:
        v = t[t["variant"] == variant]
        if grid == "common":
            v = v[on_common.loc[v.index]]
        if v.empty:
            continue
        back = (v["rotation_protocol"] == "back").all() if "rotation_protocol" in v else False
        for scale, g in v.groupby("scale"):
            sr = g[g["kind"] == "sr"]
            bic = g[g["method"] == ("bicubic_rotback" if back else "bicubic")]
            row = {"step": step, "change": change, "variant": variant,
                   "score": "post-BET" if suffix else "whole image", "scale": scale,
                   "slices": g["slice"].nunique(), "angles": g["angle"].nunique(),
                   "sr_method": ",".join(sorted(
                       sr["method"].unique())), "from_step": prev}
            for name, sel in (("bicubic", bic), ("sr", sr)):
                row[f"{name}_psnr"] = sel[f"psnr{suffix}"].mean()
                row[f"{name}_ssim"] = sel[f"ssim{suffix}"].mean()
            unrot = g[g["method"] == "bicubic"] if back else g.iloc[0:0]
            row["bicubic_unrot_psnr"] = unrot[f"psnr{suffix}"].mean() if back else float("nan")
            row["bicubic_unrot_ssim"] = unrot[f"ssim{suffix}"].mean() if back else float("nan")
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    key = out.set_index(["step", "scale"])
    for col in ("bicubic_psnr", "bicubic_ssim", "sr_psnr", "sr_ssim"):
        out[f"d_{col}"] = [
            r[col] - key.loc[(r["from_step"], r["scale"]), col]
            if pd.notna(r["from_step"]) and (r["from_step"], r["scale"]) in key.index
            else float("nan") for _, r in out.iterrows()]
    out["from_step"] = out["from_step"].astype("Int64")
    return out.sort_values(["scale", "step"], kind="stable").reset_index(drop=True).round(4)


def backend_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Largest PSNR/SSIM difference of each SR method between every backend and the primary.

    Parameters
    ----------
    table : pandas.DataFrame
        The merged run table.

    Returns
    -------
    pandas.DataFrame
        Per backend other than :func:`primary_backend`: ``rows`` joined,
        ``max_abs_dpsnr`` and ``max_abs_dssim`` (empty with one backend).
    """
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


# the columns of "photo vs fine-tuned vs scratch", in order (experiments.mri.training_kind)
TRAINING_KINDS = ("photo", "mri_finetune", "mri_scratch")


def common_grid(g: pd.DataFrame) -> pd.DataFrame:
    """Rows of the (subject, slice, angle) points every SR model of ``g`` was scored at (a
    model may run at some angles only: ``experiment.models[*].angles``), so that models and
    bicubic are compared on one grid.

    Parameters
    ----------
    g : pandas.DataFrame
        The rows of one group (models and bicubic).

    Returns
    -------
    pandas.DataFrame
        The rows on the shared grid (``g`` itself without SR rows).
    """
    keys = ["subject", "slice", "angle"]
    sr = g[g["kind"] == "sr"]
    if sr.empty:
        return g
    points = None
    for _, m in sr.groupby("method"):
        p = set(map(tuple, m[keys].to_numpy().tolist()))
        points = p if points is None else points & p
    keep = [tuple(r) in points for r in g[keys].to_numpy().tolist()]
    return g[keep]


def mri_trained_models(mri: pd.DataFrame) -> pd.DataFrame:
    """Photo vs MRI fine-tuned vs MRI from-scratch models against bicubic, per protocol
    variant (:data:`PROTOCOL_VARIANTS`), scale and weighting: means over slices and angles of
    the whole-image PSNR/SSIM (channel ``all``) and the gain over ``bicubic`` on the same
    slices and angles (under the thesis protocol its unrotated per-slice bicubic), on the grid
    every model of the group was scored at (:func:`common_grid`). Every
    scored slice is held out from the MRI models' training (the experiment refuses others).

    Parameters
    ----------
    mri : pandas.DataFrame
        MRI rows of the photo and MRI-trained models and bicubic.

    Returns
    -------
    pandas.DataFrame
        Per variant, scale, weighting, training kind and model: means and gains (empty
        when no MRI-trained model was scored).
    """
    mri = with_protocol(mri)
    t = mri[mri["variant"].isin(PROTOCOL_VARIANTS) & (mri["channel"] == "all")]
    if "model_training" not in t or not t["model_training"].isin(TRAINING_KINDS[1:]).any():
        return pd.DataFrame()
    order = {v: i for i, v in enumerate(PROTOCOL_VARIANTS)}
    rows = []
    for (_, variant, weight, scale), g in t.assign(_o=t["variant"].map(order)).groupby(
            ["_o", "variant", "weight", "scale"], sort=True):
        g = common_grid(g)
        bic = g[g["method"] == "bicubic"].set_index(["subject", "slice", "angle"])
        for kind in TRAINING_KINDS:
            for method, sr in g[g["model_training"] == kind].groupby("method", sort=True):
                sr = sr.set_index(["subject", "slice", "angle"])
                b = bic.loc[sr.index]
                rows.append({
                    "variant": variant, "scale": scale, "weight": weight, "training": kind,
                    "method": method,
                    "preset": sr["model_preset"].iloc[0], "slices": sr.index.get_level_values(
                        "slice").nunique(), "angles": sr.index.get_level_values(
                        "angle").nunique(), "rows": len(sr),
                    "psnr": sr["psnr"].mean(), "bicubic_psnr": b["psnr"].mean(),
                    "gain_db": (sr["psnr"] - b["psnr"]).mean(),
                    "ssim": sr["ssim"].mean(), "bicubic_ssim": b["ssim"].mean(),
                    "ssim_gain": (sr["ssim"] - b["ssim"]).mean(),
                })
    return pd.DataFrame(rows).round(4)


# -- the README's MRI tables, rendered from the committed tables ------------------------------
# (tests/layerbench/report/test_readme_mri.py checks that README.md holds them verbatim)
README_VARIANTS = {"clean": "clean", "thesis": "thesis, resize then blur",
                   "thesis_blur_first": "thesis, blur then resize"}
README_STEPS = {0: "clean", 1: "+ float pipeline, per-slice min-max, ranges 1",
                2: "+ SSIM range 2", 3: "+ LR rotated, output rotated back",
                5: "order: blur, then resize (from 4)", 6: "+ post-BET masking (from 4)"}


def _pair(psnr: float, ssim: float) -> str:
    return f"{psnr:.2f} / {ssim:.3f}"


def readme_mri_vs_thesis(vs: pd.DataFrame, weight: str = "T1") -> str:
    """Bicubic and SR per protocol and scale beside the thesis' own numbers (README table,
    from ``mri_vs_thesis.csv``).

    Parameters
    ----------
    vs : pandas.DataFrame
        The table of :func:`mri_vs_thesis`.
    weight : str, default "T1"
        The weighting shown.

    Returns
    -------
    str
        A Markdown table.
    """
    t = vs[vs["weight"] == weight]
    rows = []
    for scale in sorted(t["scale"].unique()):
        s = t[t["scale"] == scale]
        for variant, label in README_VARIANTS.items():
            v = s[s["variant"] == variant].set_index("method")
            if v.empty or "bicubic" not in v.index:
                continue
            bic = v.loc["bicubic"]
            cell = _pair(bic.psnr, bic.ssim)
            if "bicubic_rotback" in v.index:
                r = v.loc["bicubic_rotback"]
                cell += f" (rotate/back {_pair(r.psnr, r.ssim)})"
            sr = [f"{m} {g.psnr_channels} / {g.ssim_channels}" for m, g in v.iterrows()
                  if isinstance(g.psnr_channels, str) and g.psnr_channels]
            rows.append([label, f"x{scale}", cell, ", ".join(sr)])
        th = s[(s["variant"] == "clean") & s["thesis_psnr"].astype(str).ne("")
               & s["thesis_psnr"].notna()].set_index("method")
        if "bicubic" in th.index:
            sr = [f"{m} {str(g.thesis_psnr).split()[0]} / {str(g.thesis_ssim).split()[0]}"
                  for m, g in th.iterrows() if m != "bicubic"]
            rows.append([f"**the thesis** (patient case01015 {weight})", f"x{scale}",
                         f"{th.loc['bicubic'].thesis_psnr} / {th.loc['bicubic'].thesis_ssim}",
                         ", ".join(sr)])
    return markdown.text(["protocol", "scale", "bicubic",
                          "SR (range over its 3 output channels)"], rows)


def readme_ablation(ab: pd.DataFrame, *, delta: bool = False) -> str:
    """The convention ablation as the README shows it (from ``mri_convention_ablation.csv``):
    PSNR / SSIM after each step (``delta``: the change from the step it starts from).
    Bicubic on the SR's rotation path first, the thesis' unrotated bicubic in parentheses.

    Parameters
    ----------
    ab : pandas.DataFrame
        The table of :func:`mri_convention_ablation`.
    delta : bool, default False
        Show the changes instead of the values.

    Returns
    -------
    str
        A Markdown table.
    """
    p = "d_" if delta else ""
    fmt = "{:+.2f} / {:+.3f}" if delta else "{:.2f} / {:.3f}"
    scales = sorted(ab["scale"].unique())
    header = ["step", "change"]
    for s in scales:
        m = ab.loc[ab["scale"] == s, "sr_method"].iloc[0]
        header += [f"x{s} bicubic", f"x{s} {m}"]
    rows = []
    for step in sorted(ab["step"].unique()):
        if delta and step == 0:
            continue
        g = ab[ab["step"] == step].set_index("scale")
        first = g.iloc[0]
        label = README_STEPS.get(step) or (
            f"+ thesis grid ({first.slices} slices x {first.angles} angles) = **thesis**")
        row = [str(step), label]
        for s in scales:
            if s not in g.index:
                row += ["", ""]
                continue
            r = g.loc[s]
            bic = fmt.format(r[f"{p}bicubic_psnr"], r[f"{p}bicubic_ssim"])
            if not delta and pd.notna(r["bicubic_unrot_psnr"]):
                bic += f" (unrotated {_pair(r.bicubic_unrot_psnr, r.bicubic_unrot_ssim)})"
            prev = ab[(ab["step"] == r["from_step"]) & (ab["scale"] == s)]
            if delta and pd.notna(r["bicubic_unrot_psnr"]) and not prev.empty and pd.notna(
                    prev["bicubic_unrot_psnr"].iloc[0]):
                d = fmt.format(r["bicubic_unrot_psnr"] - prev["bicubic_unrot_psnr"].iloc[0],
                               r["bicubic_unrot_ssim"] - prev["bicubic_unrot_ssim"].iloc[0])
                bic += f" (unrotated {d})"
            row += [bic, fmt.format(r[f"{p}sr_psnr"], r[f"{p}sr_ssim"])]
        rows.append(row)
    return markdown.text(header, rows)
