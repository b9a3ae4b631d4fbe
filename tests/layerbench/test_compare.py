"""``layerbench compare``: passes on float32 noise, fails on a change beyond tolerance, a
missing row, a changed key; ``--bitwise`` fails on any change."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends.testing.tolerances import RESULT_TOLERANCES, result_tolerance
from layerbench.compare import compare, report

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "results" / "tables"


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "a" / "tables"
    out.mkdir(parents=True)
    for name in ("mri_means.csv", "mri_vs_thesis.csv", "div2k_sr_gain.csv"):
        shutil.copy(TABLES / name, out / name)
    return out.parent


def _edit(root: Path, table: str, fn) -> None:
    path = root / "tables" / f"{table}.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    fn(rows)
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def _verdict(a: Path, bitwise: bool = False) -> tuple[str, int]:
    return report(*compare(a, TABLES.parent), bitwise=bitwise)


def _shift(column: str, delta: float, row: int = 1, table: str = "mri_means"):
    def fn(rows):
        j = rows[0].index(column)
        rows[row][j] = repr(round(float(rows[row][j]) + delta, 4))
    return fn


def test_identical_copy_is_bitwise(tmp_path):
    text, status = _verdict(_copy(tmp_path), bitwise=True)
    assert status == 0, text
    assert "bitwise: 3" in text


@pytest.mark.parametrize("column, delta", [("psnr", 4e-4), ("ssim", 1e-4), ("mask_iou", 1e-4)])
def test_float32_noise_is_within_tolerance_not_bitwise(tmp_path, column, delta):
    a = _copy(tmp_path)
    _edit(a, "mri_means", _shift(column, delta))
    text, status = _verdict(a)
    assert status == 0, text
    assert "mri_means: 124 rows, within tolerance" in text
    assert _verdict(a, bitwise=True)[1] == 1


@pytest.mark.parametrize("column", ["psnr", "ssim", "mask_iou", "psnr_masked"])
def test_change_beyond_tolerance_fails(tmp_path, column):
    a = _copy(tmp_path)
    _edit(a, "mri_means", _shift(column, 3 * result_tolerance(column) + 1e-4))
    text, status = _verdict(a)
    assert status == 1
    assert f"{column}: max |A-B|" in text and "FAIL" in text


def test_range_cell_beyond_tolerance_fails(tmp_path):
    a = _copy(tmp_path)

    def fn(rows):
        j = rows[0].index("psnr_channels")
        lo, hi = rows[1][j].split("-")
        rows[1][j] = f"{lo}-{float(hi) + 0.05:.2f}"
    _edit(a, "mri_vs_thesis", fn)
    text, status = _verdict(a)
    assert status == 1 and "psnr_channels" in text


def test_missing_row_fails(tmp_path):
    a = _copy(tmp_path)
    _edit(a, "div2k_sr_gain", lambda rows: rows.pop(2))
    text, status = _verdict(a)
    assert status == 1
    assert "row missing in A: scale=2, model=EDSR, images=all, n=8" in text


def test_changed_key_fails(tmp_path):
    a = _copy(tmp_path)

    def fn(rows):
        rows[1][rows[0].index("model")] = "WDSR_renamed"
    _edit(a, "div2k_sr_gain", fn)
    text, status = _verdict(a)
    assert status == 1
    assert "row missing in A" in text and "row extra in A" in text


def test_missing_table_in_reference_fails(tmp_path):
    a = _copy(tmp_path)
    (a / "tables" / "only_here.csv").write_text("x,psnr\n1,2.0\n")
    text, status = _verdict(a)
    assert status == 1 and "only_here" in text


def test_seconds_are_not_compared():
    assert result_tolerance("first_seconds") is None
    assert result_tolerance("d_sr_psnr") == RESULT_TOLERANCES["psnr"]
    assert result_tolerance("scale") is False


def test_cli_exit_status(tmp_path):
    a = _copy(tmp_path)
    run = [sys.executable, "-m", "layerbench", "compare", str(a), str(TABLES.parent)]
    ok = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _edit(a, "mri_means", _shift("psnr", 0.5))
    bad = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "FAIL" in bad.stdout
    missing = subprocess.run([sys.executable, "-m", "layerbench", "compare",
                              str(tmp_path / "none")], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
