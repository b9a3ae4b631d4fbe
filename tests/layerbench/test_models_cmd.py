"""``layerbench models``: every preset and shipped weight file, hashes, held-out scores."""

from __future__ import annotations

import hashlib
import json

import pytest

from layerbench import catalog, cli
from layerbench.models import PRESETS, pretrained_names
from layerbench.models.presets import WEIGHTS_DIR


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    tables = tmp_path_factory.mktemp("tables")
    (tables / catalog.MRI_TABLE).write_text(
        "variant,weight,preset,gain_db\nclean,T1,edsr_mri_x2,1.5\nclean,T2,edsr_mri_x2,2.25\n"
        "thesis,T1,edsr_mri_x2,9.0\n")
    return {r["name"]: r for r in catalog.entries(tables)}


def test_every_preset_and_shipped_file_is_listed(listed):
    assert list(listed) == list(PRESETS)
    shipped = {p.name for p in WEIGHTS_DIR.glob("*.npz")}
    assert {r["weights"] for r in listed.values() if r["weights"]} == shipped
    assert set(pretrained_names()) == {n for n, r in listed.items() if r["weights"]}


def test_hashes_and_parameters_are_the_files(listed):
    for name in pretrained_names():
        data = (WEIGHTS_DIR / f"{name}.npz").read_bytes()
        assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert listed["edsr_x2"]["parameters"] == 40_729_603  # the thesis' EDSR x2
    assert listed["bicubic_x3"]["parameters"] == 0


def test_held_out_scores_come_from_the_header_and_the_table(listed, tmp_path):
    assert "chelsea" in listed["edsr_small_x2"]["held_out"]
    assert listed["edsr_mri_x2"]["held_out"].endswith("T1 +1.50 dB, T2 +2.25 dB")
    assert "resize then 3x3 Gaussian" in listed["edsr_mri_x2"]["degradation"]
    no_table = {r["name"]: r for r in catalog.entries(tmp_path)}
    assert no_table["edsr_mri_x2"]["held_out"] is None


def test_the_command_prints_a_table_and_json(capsys):
    cli.main(["models"])
    out = capsys.readouterr().out
    assert out.startswith("| name | architecture | scale |")
    assert all(f"| {name} |" in out for name in PRESETS)
    cli.main(["models", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(PRESETS)
    assert set(rows[0]) == set(catalog.COLUMNS)
