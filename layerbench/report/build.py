"""Load every run table, merge, and write ``tables/*.csv|md`` and ``figures/*.png|pdf``."""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pandas as pd

from layerbench.data.errors import DataError

from . import figures, tables

log = logging.getLogger(__name__)


def load_runs(runs: str | os.PathLike) -> pd.DataFrame:
    """Every finished shard table under ``runs`` with its file time (``_mtime``)."""
    parts = []
    for p in sorted(Path(runs).rglob("*.parquet")):
        if ".tmp" in p.name:
            continue
        t = pd.read_parquet(p)
        t["_mtime"] = p.stat().st_mtime
        t["_file"] = p.stem
        parts.append(t)
    if not parts:
        raise DataError(f"{runs}: expected run tables (*.parquet) from `layerbench reproduce`, "
                        "found none")
    return tables.dedupe(pd.concat(parts, ignore_index=True))


def _examples(runs: Path, file_stem: str) -> dict[str, np.ndarray] | None:
    for p in runs.rglob(f"{file_stem}.npz"):
        with np.load(p) as f:
            return {k: f[k] for k in f.files}
    return None


def markdown(df: pd.DataFrame) -> str:
    """A GitHub markdown table (no ``tabulate`` dependency); floats with 4 significant
    decimals as in the CSV."""
    def cell(v):
        return f"{v:.4f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(False)]
    return "\n".join(lines) + "\n"


def _write_table(df: pd.DataFrame, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv, md = out / f"{name}.csv", out / f"{name}.md"
    df.to_csv(csv, index=False)
    md.write_text(markdown(df))
    return [csv, md]


def _save_figure(fig, out: Path, name: str, formats, dpi: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out / f"{name}.{fmt}"
        fig.savefig(p, dpi=dpi, metadata={"CreationDate": None} if fmt == "pdf" else None)
        paths.append(p)
    return paths


def _mri_figures(mri: pd.DataFrame, variant: str, runs: Path, fig) -> None:
    """Every MRI figure of one protocol variant (file names of ``clean`` carry no suffix)."""
    sfx = "" if variant == "clean" else f"_{variant}"
    thesis = (mri["rotation_protocol"] == "back").any() if "rotation_protocol" in mri else False
    for method in sorted(mri.loc[mri["kind"] == "sr", "method"].unique()):
        for weight in sorted(mri["weight"].unique()):
            fig(figures.scores_vs_slice(mri, method=method, weight=weight),
                f"mri_scores_vs_slice_{method}_{weight}{sfx}")
            if "psnr_post_bet" in mri and mri["psnr_post_bet"].notna().any():
                fig(figures.masking_vs_slice(mri, method=method, weight=weight),
                    f"mri_masking_vs_slice_{method}_{weight}{sfx}")
    for scale in sorted(mri["scale"].unique()):
        fig(figures.scores_vs_angle(mri, scale=int(scale)), f"mri_scores_vs_angle_x{scale}{sfx}")
    fig(figures.t1_t2_boxplots(mri), f"mri_t1_t2_boxplots{sfx}")
    if "mask_iou" in mri:
        fig(figures.mask_iou_vs_slice(mri), f"mri_mask_iou_vs_slice{sfx}")
        fig(figures.masked_vs_unmasked(mri), f"mri_masked_vs_unmasked{sfx}")
    if variant != "clean" and not thesis:
        return
    shown = sorted({int(t[1:4]) for t in _example_tags(runs, mri)})
    middle = shown[len(shown) // 2] if shown else None
    for (subject, weight, scale, stem), _ in mri.groupby(["subject", "weight", "scale", "_file"]):
        ex = _examples(runs, stem)
        if not ex:
            continue
        for tag in sorted({k[:9] for k in ex if k.endswith("_hr")}):
            sl, ang = int(tag[1:4]), float(tag[6:9])
            name = f"{subject}_{weight}_x{scale}_{tag}{sfx}"
            if variant == "clean":
                fig(figures.mri_panels(ex, mri, subject=subject, weight=weight,
                                       scale=int(scale), slice_=sl, angle=ang),
                    f"mri_panels_{name}")
                fig(figures.difference_maps(ex, tag=tag, scale=int(scale)), f"mri_diff_{name}")
                fig(figures.difference_histograms(ex, tag=tag, scale=int(scale)),
                    f"mri_diff_hist_{name}")
                continue
            # the thesis' figure kinds: its example angle, T1 (its patient's weighting) and the
            # middle example slice only, to keep the main job's report short
            if weight != "T1" or ang != _example_angle(ex, tag) or sl != middle:
                continue
            fig(figures.mri_panels(ex, mri, subject=subject, weight=weight, scale=int(scale),
                                   slice_=sl, angle=ang), f"mri_panels_{name}")
            fig(figures.signed_difference_maps(ex, tag=tag, scale=int(scale)),
                f"mri_signed_diff_{name}")
            fig(figures.signed_histograms(ex, tag=tag, scale=int(scale)),
                f"mri_signed_hist_{name}")
            fig(figures.masks_side_by_side(ex, tag=tag), f"mri_masks_{name}")
            fig(figures.mask_example(ex, tag=tag), f"mri_mask_example_{name}")
            fig(figures.lr_at_angles(ex, slice_=sl, scale=int(scale)),
                f"mri_lr_angles_{subject}_{weight}_x{scale}_s{sl:03d}{sfx}")


def _example_tags(runs: Path, mri: pd.DataFrame) -> set[str]:
    tags: set[str] = set()
    for stem in mri["_file"].unique():
        ex = _examples(runs, stem) or {}
        tags |= {k[:9] for k in ex if k.endswith("_hr")}
    return tags


def _example_angle(ex: dict[str, np.ndarray], tag: str) -> float:
    """The example angle of a thesis shard: the non-zero angle its HR images were kept at
    (``experiment.example_angle``), or 0 when only angle 0 was kept."""
    angles = sorted({float(k[6:9]) for k in ex if k.startswith(tag[:5]) and k.endswith("_hr")})
    return angles[-1]


def build_report(runs: str | os.PathLike = "results/runs", out: str | os.PathLike = "results",
                 *, formats=("png", "pdf"), dpi: int = 110, workers: int = 1) -> list[Path]:
    """Write every table and figure the merged runs allow; return the written paths.

    ``workers`` > 1 saves the figures in that many processes (figure ``k`` in process
    ``k % workers``; this one writes the tables and its share): drawing and encoding the
    ~150 figures (PNG and PDF) was over half of the report's time. A figure is a pure function
    of the tables, so its bytes do not depend on the process that saved it.
    """
    if workers <= 1:
        return _build(runs, out, formats, dpi, 0, 1)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
        others = [pool.submit(_build, runs, out, formats, dpi, part, workers)
                  for part in range(1, workers)]
        written = _build(runs, out, formats, dpi, 0, workers)
        for f in others:
            written += f.result()
    return written


def _build(runs, out, formats, dpi: int, part: int, parts: int) -> list[Path]:
    """The tables (``part`` 0 only) and every ``parts``-th figure from ``part`` on."""
    runs, out = Path(runs), Path(out)
    table = load_runs(runs)
    tdir, fdir = out / "tables", out / "figures"
    written: list[Path] = []
    count = itertools.count()

    def fig(f, name):
        if next(count) % parts == part:
            written.extend(_save_figure(f, fdir, name, formats, dpi))

    def save_table(df, tdir, name):
        return _write_table(df, tdir, name) if part == 0 else []

    agreement = tables.backend_agreement(table)
    if not agreement.empty:
        written += save_table(agreement, tdir, "backend_agreement")
    primary = tables.primary_backend(table)
    table = table[table["backend"] == primary]

    div = table[table["experiment"] == "div2k"]
    if not div.empty:
        interp = tables.div2k_interpolation(div[div["kind"] == "baseline"])
        written += save_table(interp, tdir, "div2k_interpolation")
        written += save_table(tables.div2k_per_image(div), tdir, "div2k_per_image")
        if (div["kind"] == "sr").any():
            written += save_table(tables.div2k_sr_gain(div), tdir, "div2k_sr_gain")
        fig(figures.div2k_interpolation(interp), "div2k_interpolation")
        if (div["kind"] == "sr").any():
            fig(figures.div2k_sr_vs_bicubic(div), "div2k_sr_vs_bicubic")
        for (image, scale, stem), _ in div.groupby(["image", "scale", "_file"]):
            ex = _examples(runs, stem)
            if ex is not None:
                fig(figures.div2k_crops(ex, div, image=image, scale=int(scale)),
                    f"div2k_crop_{image}_x{scale}")

    mri = table[table["experiment"] == "mri"]
    if not mri.empty:
        mri = tables.with_protocol(mri)
        written += save_table(tables.mri_means(mri), tdir, "mri_means")
        written += save_table(tables.mri_vs_thesis(mri), tdir, "mri_vs_thesis")
        ablation = tables.mri_convention_ablation(mri)
        if not ablation.empty:
            written += save_table(ablation, tdir, "mri_convention_ablation")
            fig(figures.convention_ablation(ablation), "mri_convention_ablation")
        trained = tables.mri_trained_models(mri)
        if not trained.empty:
            written += save_table(trained, tdir, "mri_trained_models")
            fig(figures.mri_gain_vs_slice(mri[mri["variant"] == "clean"]),
                "mri_gain_vs_slice")
        for variant in [v for v in tables.PROTOCOL_VARIANTS if v in set(mri["variant"])]:
            _mri_figures(mri[mri["variant"] == variant], variant, runs, fig)
    log.info("report: %d files under %s%s", len(written), out,
             f" (part {part + 1} of {parts})" if parts > 1 else "")
    return written
