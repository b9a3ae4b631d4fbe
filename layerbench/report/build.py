"""Load every run table, merge, and write ``tables/*.csv|md`` and ``figures/*.png|pdf``."""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import logging
import multiprocessing
import os
from pathlib import Path

import pandas as pd

from layerbench import markdown, provenance
from layerbench.confdir import FIGURES_DIR, RESULTS, RUNS, TABLES_DIR
from layerbench.data.errors import DataError
from layerbench.experiments import store
from layerbench.experiments.store import Shard

from . import figures, manifest, tables

log = logging.getLogger(__name__)


def load_runs(runs: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, Shard]]:
    """Every finished (verified) shard table under ``runs``, deduplicated, and the shards by
    ``_file`` (through :func:`layerbench.experiments.store.load_runs`, the one reader).

    Parameters
    ----------
    runs : str or os.PathLike
        The runs' root directory.

    Returns
    -------
    table : pandas.DataFrame
        The merged rows, deduplicated (:func:`.tables.dedupe`).
    shards : dict of str to Shard
        The shards by file.

    Raises
    ------
    DataError
        No finished run table under ``runs``.
    """
    table, shards = store.load_runs(runs)
    if table.empty:
        raise DataError(f"{runs}: expected finished run tables from `layerbench reproduce`, "
                        "found none")
    return tables.dedupe(table), shards


def label(slice_: int, angle: float) -> str:
    """The name of an example in figure titles and file names (``s040_a018``; a fractional
    angle keeps its fraction: ``s040_a22.5``). Never parsed back: slice and angle are data.

    Parameters
    ----------
    slice_ : int
        The slice index.
    angle : float
        The angle in degrees.

    Returns
    -------
    str
        The label.

    Examples
    --------
    >>> label(40, 18.0), label(40, 22.5)
    ('s040_a018', 's040_a22.5')
    """
    return f"s{slice_:03d}_a{angle:03g}"


def provenance_header(shards: dict[str, Shard]) -> str:
    """The Markdown paragraph stating, once per table, what decided the bits of the shards
    it is computed from (:func:`layerbench.provenance.summary`, distinct lines only).

    Parameters
    ----------
    shards : dict
        The shards of the report, by file.

    Returns
    -------
    str
        Empty when no shard records them (results older than the record).
    """
    lines = []
    for shard in shards.values():
        try:
            side = json.loads(shard.path(store.SIDECAR).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(side, dict) and isinstance(side.get("bits"), dict):
            model = (side.get("cpu") or {}).get("model") or "unknown CPU"
            line = f"{model}; {provenance.summary(side['bits'])}"
            if line not in lines:
                lines.append(line)
    if not lines:
        return ""
    if len(lines) == 1:
        return f"Computed on {lines[0]}.\n\n"
    return "Computed on:\n\n" + "".join(f"- {line}\n" for line in lines) + "\n"


def _write_table(df: pd.DataFrame, out: Path, name: str, header: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv, md = out / f"{name}.csv", out / f"{name}.md"
    text = header + markdown.frame(df)
    # each file all or nothing: a killed report leaves no truncated table
    store.write_atomic(csv, lambda t: df.to_csv(t, index=False), ".csv")
    store.write_atomic(md, lambda t: Path(t).write_text(text), ".md")
    return [csv, md]


def _save_figure(fig, out: Path, name: str, formats, dpi: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out / f"{name}.{fmt}"
        meta = {"CreationDate": None} if fmt == "pdf" else None
        store.write_atomic(p, lambda t, fmt=fmt, meta=meta: fig.savefig(
            t, format=fmt, dpi=dpi, metadata=meta), f".{fmt}")
        paths.append(p)
    return paths


def _mri_figures(mri: pd.DataFrame, variant: str, shards: dict[str, Shard], fig) -> None:
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
    examples = {f: shards[f].read_examples() for f in mri["_file"].unique()}
    shown = sorted({sl for ex in examples.values() for sl, _ in ex.positions("hr")})
    middle = shown[len(shown) // 2] if shown else None
    for (subject, weight, scale, f), _ in mri.groupby(["subject", "weight", "scale", "_file"]):
        ex = examples[f]
        positions = ex.positions("hr")
        for sl, ang in positions:
            at, tag = ex.at(sl, ang), label(sl, ang)
            name = f"{subject}_{weight}_x{scale}_{tag}{sfx}"
            if variant == "clean":
                fig(figures.mri_panels(at, mri, subject=subject, weight=weight,
                                       scale=int(scale), slice_=sl, angle=ang),
                    f"mri_panels_{name}")
                fig(figures.difference_maps(at, tag=tag, scale=int(scale)), f"mri_diff_{name}")
                fig(figures.difference_histograms(at, tag=tag, scale=int(scale)),
                    f"mri_diff_hist_{name}")
                continue
            # the thesis' figure kinds: its example angle (the non-zero angle its HR images
            # were kept at, ``experiment.example_angle``, or 0 when only 0 was kept), T1 (its
            # patient's weighting) and the middle example slice only, to keep the main job's
            # report short
            example_angle = max(a for s, a in positions if s == sl)
            if weight != "T1" or ang != example_angle or sl != middle:
                continue
            fig(figures.mri_panels(at, mri, subject=subject, weight=weight, scale=int(scale),
                                   slice_=sl, angle=ang), f"mri_panels_{name}")
            fig(figures.signed_difference_maps(at, tag=tag, scale=int(scale)),
                f"mri_signed_diff_{name}")
            fig(figures.signed_histograms(at, tag=tag, scale=int(scale)),
                f"mri_signed_hist_{name}")
            fig(figures.masks_side_by_side(at, tag=tag), f"mri_masks_{name}")
            fig(figures.mask_example(at, tag=tag), f"mri_mask_example_{name}")
            fig(figures.lr_at_angles(ex.by_angle("lr", sl), slice_=sl, scale=int(scale)),
                f"mri_lr_angles_{subject}_{weight}_x{scale}_s{sl:03d}{sfx}")


def build_report(runs: str | os.PathLike = RUNS, out: str | os.PathLike = RESULTS,
                 *, formats=("png", "pdf"), dpi: int = 110, workers: int = 1) -> list[Path]:
    """Write every table and figure the merged runs allow; return the written paths.

    ``workers`` > 1 saves the figures in that many processes (figure ``k`` in process
    ``k % workers``; this one writes the tables and its share): drawing and encoding the
    ~150 figures (PNG and PDF) was over half of the report's time. A figure is a pure function
    of the tables, so its bytes do not depend on the process that saved it.

    Every file is written to a temporary name and renamed; ``<out>/report_manifest.json``
    (:mod:`.manifest`), written last, lists them with their sizes and SHA-256.

    Parameters
    ----------
    runs : str or os.PathLike
        The runs' root directory.
    out : str or os.PathLike
        The results directory (``tables/``, ``figures/``).
    formats : sequence of str, default ("png", "pdf")
        Figure formats.
    dpi : int, default 110
        Resolution of raster figures.
    workers : int, default 1
        Processes saving figures.

    Returns
    -------
    list of Path
        Every file written.

    Raises
    ------
    DataError
        ``runs`` holds no finished run table.
    """
    if workers <= 1:
        written = _build(runs, out, formats, dpi, 0, 1)
    else:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
            others = [pool.submit(_build, runs, out, formats, dpi, part, workers)
                      for part in range(1, workers)]
            written = _build(runs, out, formats, dpi, 0, workers)
            for f in others:
                written += f.result()
    manifest.write(out, written)  # last: what `layerbench verify` checks the report against
    return written


def _build(runs, out, formats, dpi: int, part: int, parts: int) -> list[Path]:
    """The tables (``part`` 0 only) and every ``parts``-th figure from ``part`` on."""
    runs, out = Path(runs), Path(out)
    table, shards = load_runs(runs)
    tdir, fdir = out / TABLES_DIR, out / FIGURES_DIR
    written: list[Path] = []
    count = itertools.count()

    def fig(f, name):
        if next(count) % parts == part:
            written.extend(_save_figure(f, fdir, name, formats, dpi))

    header = provenance_header(shards) if part == 0 else ""

    def save_table(df, tdir, name):
        return _write_table(df, tdir, name, header) if part == 0 else []

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
        for (image, scale, f), _ in div.groupby(["image", "scale", "_file"]):
            ex = shards[f].read_examples()
            if len(ex):
                fig(figures.div2k_crops(ex.at(), div, image=image, scale=int(scale)),
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
            _mri_figures(mri[mri["variant"] == variant], variant, shards, fig)
    log.info("report: %d files under %s%s", len(written), out,
             f" (part {part + 1} of {parts})" if parts > 1 else "")
    return written
