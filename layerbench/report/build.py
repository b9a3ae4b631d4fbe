"""Load every run table, merge, and write ``tables/*.csv|md`` and ``figures/*.png|pdf``."""

from __future__ import annotations

import logging
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


def _save_table(df: pd.DataFrame, out: Path, name: str) -> list[Path]:
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


def build_report(runs: str | os.PathLike = "results/runs", out: str | os.PathLike = "results",
                 *, formats=("png", "pdf"), dpi: int = 110) -> list[Path]:
    """Write every table and figure the merged runs allow; return the written paths."""
    runs, out = Path(runs), Path(out)
    table = load_runs(runs)
    tdir, fdir = out / "tables", out / "figures"
    written: list[Path] = []

    def fig(f, name):
        written.extend(_save_figure(f, fdir, name, formats, dpi))

    agreement = tables.backend_agreement(table)
    if not agreement.empty:
        written += _save_table(agreement, tdir, "backend_agreement")
    primary = tables.primary_backend(table)
    table = table[table["backend"] == primary]

    div = table[table["experiment"] == "div2k"]
    if not div.empty:
        interp = tables.div2k_interpolation(div[div["kind"] == "baseline"])
        written += _save_table(interp, tdir, "div2k_interpolation")
        written += _save_table(tables.div2k_per_image(div), tdir, "div2k_per_image")
        if (div["kind"] == "sr").any():
            written += _save_table(tables.div2k_sr_gain(div), tdir, "div2k_sr_gain")
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
        written += _save_table(tables.mri_means(mri), tdir, "mri_means")
        written += _save_table(tables.mri_vs_thesis(mri), tdir, "mri_vs_thesis")
        for method in sorted(mri.loc[mri["kind"] == "sr", "method"].unique()):
            for weight in sorted(mri["weight"].unique()):
                fig(figures.scores_vs_slice(mri, method=method, weight=weight),
                    f"mri_scores_vs_slice_{method}_{weight}")
        for scale in sorted(mri["scale"].unique()):
            fig(figures.scores_vs_angle(mri, scale=int(scale)), f"mri_scores_vs_angle_x{scale}")
        fig(figures.t1_t2_boxplots(mri), "mri_t1_t2_boxplots")
        if "mask_iou" in mri:
            fig(figures.mask_iou_vs_slice(mri), "mri_mask_iou_vs_slice")
            fig(figures.masked_vs_unmasked(mri), "mri_masked_vs_unmasked")
        for (subject, weight, scale, stem), _ in mri.groupby(
                ["subject", "weight", "scale", "_file"]):
            ex = _examples(runs, stem)
            if not ex:
                continue
            for tag in sorted({k[:9] for k in ex if k.endswith("_hr")}):
                sl, ang = int(tag[1:4]), float(tag[6:9])
                name = f"{subject}_{weight}_x{scale}_{tag}"
                fig(figures.mri_panels(ex, mri, subject=subject, weight=weight,
                                       scale=int(scale), slice_=sl, angle=ang),
                    f"mri_panels_{name}")
                fig(figures.difference_maps(ex, tag=tag, scale=int(scale)), f"mri_diff_{name}")
                fig(figures.difference_histograms(ex, tag=tag, scale=int(scale)),
                    f"mri_diff_hist_{name}")
    log.info("report: %d files under %s", len(written), out)
    return written
