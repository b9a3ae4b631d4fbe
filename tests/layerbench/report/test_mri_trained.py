"""The "photo vs fine-tuned vs scratch" table and the per-slice gain figure, as pure
functions of a small hand-made run table."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from matplotlib.figure import Figure

from layerbench.experiments.mri import training_kind
from layerbench.report import figures, tables

# method -> (kind, training, psnr offset over bicubic)
METHODS = {"bicubic": ("baseline", "none", 0.0), "EDSR": ("sr", "photo", 0.25),
           "EDSR_MRI": ("sr", "mri_finetune", 3.0), "EDSR_MRI_scratch": ("sr", "mri_scratch", 2.0)}


def _table() -> pd.DataFrame:
    rows = []
    for (m, (kind, training, gain)), variant, w, s, a in itertools.product(
            METHODS.items(), ["clean", "thesis", "ablation_float"], ["T1", "T2"], [20, 30, 40],
            [0.0, 18.0]):
        for ch in (["R", "G", "B", "all"] if kind == "sr" else ["all"]):
            p = 30.0 + s / 10 + a / 100 + gain + (0.5 if w == "T2" else 0.0)
            rows.append({"experiment": "mri", "backend": "numpy", "subject": "mni152",
                         "protocol": "clean" if variant != "thesis" else "thesis",
                         "variant": variant, "weight": w, "synthetic": w == "T2", "scale": 2,
                         "slice": s, "angle": a,
                         "method": m, "kind": kind, "channel": ch, "psnr": p,
                         "ssim": 0.8 + gain / 100, "model_training": training,
                         "model_preset": None if kind == "baseline" else m.lower()})
    return pd.DataFrame(rows)


def test_the_table_has_one_row_per_model_with_its_gain_over_bicubic():
    t = tables.mri_trained_models(_table())
    assert list(dict.fromkeys(t["variant"])) == ["clean", "thesis"]  # no ablation rows
    clean = t[(t["variant"] == "clean") & (t["weight"] == "T1")].set_index("training")
    assert list(clean.index) == ["photo", "mri_finetune", "mri_scratch"]
    assert clean.loc["mri_finetune", "gain_db"] == pytest.approx(3.0)
    assert clean.loc["mri_scratch", "gain_db"] == pytest.approx(2.0)
    assert clean.loc["photo", "ssim_gain"] == pytest.approx(0.0025)
    assert clean.loc["photo", "bicubic_psnr"] == pytest.approx(30.0 + 3.0 + 0.09)
    assert (t["slices"] == 3).all() and (t["rows"] == 6).all() and (t["angles"] == 2).all()


def test_no_mri_model_no_table():
    t = _table()
    assert tables.mri_trained_models(t[t["model_training"].isin(["none", "photo"])]).empty


def test_gain_figure_has_a_panel_per_weight_and_scale():
    fig = figures.mri_gain_vs_slice(_table().query("variant == 'clean'"))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert "EDSR_MRI (mri_finetune), mean +3.00 dB" in labels


def test_training_kind_reads_the_weights_header():
    assert training_kind(None) == "untrained"
    assert training_kind({"data": {"train": ["camera"]}}) == "photo"
    assert training_kind({"data": {"kind": "mri"}, "init": "edsr_small_x2 (sha256 ab)"}) == (
        "mri_finetune")
    assert training_kind({"data": {"kind": "mri"}, "init": None}) == "mri_scratch"


def test_models_scored_at_fewer_angles_are_compared_on_the_shared_grid():
    t = _table()
    drop = (t["method"] == "EDSR_MRI") & (t["angle"] == 18.0)
    out = tables.mri_trained_models(t[~drop])
    clean = out[(out["variant"] == "clean") & (out["weight"] == "T1")].set_index("training")
    assert (clean["angles"] == 1).all() and (clean["rows"] == 3).all()
    assert clean.loc["photo", "bicubic_psnr"] == pytest.approx(30.0 + 3.0)  # angle 0 only
    assert clean.loc["mri_finetune", "gain_db"] == pytest.approx(3.0)


def test_the_thesis_comparison_tables_leave_the_mri_models_out():
    t = _table()
    vs = tables.mri_vs_thesis(t)
    assert set(vs["method"]) == {"bicubic", "EDSR"}
    assert set(tables.mri_means(t)["method"]) == set(METHODS)  # the means keep every method
