"""The DIV2K pipeline in-process: run, resume, force, and the report's tables and figures."""

from __future__ import annotations

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from matplotlib.figure import Figure

from layerbench import schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import run_experiment
from layerbench.experiments.runner import plan_shards
from layerbench.report import build_report, figures, tables


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("div2k")
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        raw = compose(config_name="config", overrides=[
            "experiment=div2k_smoke", "dataset.images=[chelsea]", f"output.root={tmp}/runs",
            "output.progress=false", "experiment.crop=48"])
    cfg = schema.validate(raw)
    return cfg, run_experiment(cfg), tmp


def test_rows_cover_every_method_scale_and_channel(run):
    cfg, table, _ = run
    # scales 2 and 4; three baselines + the one SR model of each scale; R, G, B, all
    assert len(table) == 2 * (3 + 1) * 4
    assert set(table["method"]) == {"nearest", "bicubic", "lanczos", "EDSR", "WDSR"}
    assert (table["lr_source"] == "matlab_bicubic").all()
    assert table.loc[table.kind == "sr", "weights_sha256"].str.startswith("random:").all()
    for col in ("backend", "dtype", "threads", "data_range", "shave", "shard"):
        assert table[col].notna().all()


def test_a_second_run_resumes_and_force_recomputes(run):
    cfg, table, _ = run
    shards = [s for _, s in plan_shards(cfg)]
    stray = shards[0].path(".parquet.layerbench.tmp-x1x2x3x4.parquet")
    stray.write_bytes(b"half-written")
    mtimes = {s.key: s.path(".parquet").stat().st_mtime_ns for s in shards}
    again = run_experiment(cfg)
    assert not stray.exists()
    assert {s.key: s.path(".parquet").stat().st_mtime_ns for s in shards} == mtimes
    pd.testing.assert_frame_equal(again, table)
    cfg.output.force = True
    try:
        forced = run_experiment(cfg)
    finally:
        cfg.output.force = False
    assert all(s.path(".parquet").stat().st_mtime_ns != mtimes[s.key] for s in shards)
    cols = ["image", "scale", "method", "channel", "psnr", "ssim"]
    pd.testing.assert_frame_equal(forced[cols], table[cols])


def test_report_writes_the_div2k_tables_and_figures(run):
    _, table, tmp = run
    written = build_report(tmp / "runs", tmp / "out", formats=("png",))
    names = {p.name for p in written}
    assert {"div2k_interpolation.csv", "div2k_interpolation.md", "div2k_per_image.csv",
            "div2k_interpolation.png", "div2k_sr_vs_bicubic.png",
            "div2k_crop_chelsea_x2.png", "div2k_crop_chelsea_x4.png"} <= names
    interp = pd.read_csv(tmp / "out" / "tables" / "div2k_interpolation.csv")
    mine = table[(table.channel == "all") & (table.method == "bicubic") & (table.scale == 2)]
    got = interp[(interp.method == "bicubic") & (interp.scale == 2)]
    assert got["psnr"].iloc[0] == pytest.approx(mine["psnr"].mean(), abs=5e-5)  # 4 decimals
    assert got["thesis_psnr"].iloc[0] == 27.254


def test_crossings_are_interpolated():
    assert figures.crossings([0.0, 10.0, 20.0], [1.0, -1.0, -2.0]) == [5.0]
    assert figures.crossings([0.0, 1.0], [1.0, 2.0]) == []


def test_figure_functions_are_pure_and_return_figures(run):
    _, table, _ = run
    interp = tables.div2k_interpolation(table[table.kind == "baseline"])
    fig = figures.div2k_interpolation(interp)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert isinstance(figures.div2k_sr_vs_bicubic(table), Figure)


def test_sr_gain_separates_images_the_shipped_weights_saw():
    """astronaut trained the shipped weights, chelsea is held out: the gain table says so."""
    rows = []
    for image, bic, sr in (("astronaut", 30.0, 33.0), ("chelsea", 31.0, 32.0)):
        for method, kind, psnr in (("bicubic", "baseline", bic), ("EDSR", "sr", sr)):
            rows.append({"image": image, "scale": 2, "method": method, "kind": kind,
                         "channel": "all", "psnr": psnr, "ssim": psnr / 40,
                         "source": f"skimage:{image}"})
    div = pd.DataFrame(rows)
    gain = tables.div2k_sr_gain(div).set_index("images")
    assert gain.loc["held out", "n"] == 1 and gain.loc["held out", "gain_db"] == pytest.approx(1.0)
    assert gain.loc["all", "n"] == 2 and gain.loc["all", "gain_db"] == pytest.approx(2.0)
    per_image = tables.div2k_per_image(div).set_index("image")
    assert not per_image.loc["astronaut", "held_out"] and per_image.loc["chelsea", "held_out"]
    # a real DIV2K tree never trained the shipped weights
    assert (~tables.trained_on(div.assign(source="div2k:valid"))).all()


def test_two_workers_write_the_same_rows_and_the_same_report_bytes(run, tmp_path):
    # output.workers=2: the shards in two spawned processes (split by the shard locks);
    # report workers=2: the figures saved in two processes. Same rows, same bytes.
    import dataclasses
    import hashlib

    cfg, table, tmp = run
    two = dataclasses.replace(cfg, output=dataclasses.replace(
        cfg.output, root=str(tmp_path / "runs"), workers=2))
    rows = run_experiment(two)
    cols = ["image", "scale", "method", "channel", "psnr", "ssim", "psnr_y", "ssim_y"]
    cols = [c for c in cols if c in table]
    pd.testing.assert_frame_equal(rows[cols], table[cols])
    assert all(s.done() for _, s in plan_shards(two))

    def digests(out):
        return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file()}

    one = build_report(tmp_path / "runs", tmp_path / "one", formats=("png", "pdf"))
    par = build_report(tmp_path / "runs", tmp_path / "two", formats=("png", "pdf"), workers=2)
    assert sorted(p.name for p in one) == sorted(p.name for p in par)
    assert digests(tmp_path / "one") == digests(tmp_path / "two")
