"""The MRI tables of the thesis pages (docs/thesis/) are the committed tables: every number
in them is read from ``results/tables/mri_vs_thesis.csv`` and
``results/tables/mri_convention_ablation.csv``.

The tables are rendered from the CSVs (``layerbench.report.tables.readme_*``) and must appear
in the page verbatim; after regenerating the results, paste the rendered tables the failure
message prints.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from layerbench.report import tables

ROOT = Path(__file__).resolve().parents[3]
PAGES = ROOT / "docs" / "thesis"
TABLES = ROOT / "results" / "tables"


def _csv(name: str) -> pd.DataFrame:
    path = TABLES / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout (the committed results are)")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _page_mri_section() -> str:
    text = (PAGES / "index.md").read_text()
    start = text.index("MRI (MNI152 T1 and synthetic T2")
    return text[start:] + (PAGES / "ablation.md").read_text()


@pytest.mark.parametrize("name", ["vs_thesis", "ablation", "ablation_delta"])
def test_the_thesis_page_mri_tables_are_the_committed_tables(name):
    if name == "vs_thesis":
        want = tables.readme_mri_vs_thesis(_csv("mri_vs_thesis"))
    else:
        want = tables.readme_ablation(_csv("mri_convention_ablation"),
                                      delta=name == "ablation_delta")
    assert want in _page_mri_section(), f"{PAGES} should hold this table:\n{want}"


def test_the_rendered_tables_carry_the_csv_numbers():
    # the renderer itself, on a hand-made ablation: rounding and the unrotated bicubic
    ab = pd.DataFrame({
        "step": [0, 3], "scale": [2, 2], "sr_method": ["EDSR", "EDSR"], "slices": [7, 7],
        "angles": [5, 5], "from_step": [None, 0], "bicubic_psnr": [29.9685, 23.9149],
        "bicubic_ssim": [0.942, 0.6024], "sr_psnr": [30.1131, 24.1816],
        "sr_ssim": [0.9427, 0.6666], "bicubic_unrot_psnr": [None, 23.7231],
        "bicubic_unrot_ssim": [None, 0.4838], "d_bicubic_psnr": [None, -6.0536],
        "d_bicubic_ssim": [None, -0.3396], "d_sr_psnr": [None, -5.9315],
        "d_sr_ssim": [None, -0.2762]})
    got = tables.readme_ablation(ab)
    assert "| 0 | clean | 29.97 / 0.942 | 30.11 / 0.943 |" in got
    assert "| 23.91 / 0.602 (unrotated 23.72 / 0.484) | 24.18 / 0.667 |" in got
    assert "| -6.05 / -0.340 | -5.93 / -0.276 |" in tables.readme_ablation(ab, delta=True)
