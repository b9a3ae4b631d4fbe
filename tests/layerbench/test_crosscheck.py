"""``layerbench crosscheck`` through the Hydra compose API, on a few cases, into tmp_path."""

from __future__ import annotations

import csv

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from backends.testing.compare import ROW_FIELDS
from layerbench import crosscheck
from layerbench.confdir import CONFIG_PATH

CASES = ["conv3x3_s2_same_odd_b2", "maxpool3x3_s1_same", "act_selu"]


def _compose(overrides):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return compose(config_name="crosscheck", overrides=overrides)


@pytest.mark.tf
def test_numpy_and_tensorflow_rows_pass(tmp_path):
    pytest.importorskip("tensorflow", reason="the tensorflow oracle needs tensorflow")
    cfg = _compose([f"cases=[{','.join(CASES)}]", "backends=[numpy,tensorflow]",
                    f"output_dir={tmp_path}", "progress=false"])
    rows, paths = crosscheck.run(cfg)
    with open(paths["csv"], newline="") as fh:
        reader = csv.DictReader(fh)
        table = list(reader)
    assert tuple(reader.fieldnames) == ROW_FIELDS
    assert len(table) == len(rows) > 0
    assert {r["case"] for r in table} == set(CASES)
    assert {(r["backend"], r["against"]) for r in table} == {
        ("numpy", "numpy"), ("numpy", "tensorflow"), ("tensorflow", "numpy")}
    assert {r["dtype"] for r in table} == {"float32", "float64"}
    failed = [r for r in table if r["status"] != "pass" or r["passed"] != "True"]
    assert not failed, failed[:3]
    md = paths["md"].read_text()
    assert "## Provenance" in md and "## Summary" in md and "None." in md


def test_unknown_key_is_rejected():
    with pytest.raises(ConfigCompositionException):
        _compose(["no_such_key=1"])


def test_wrong_type_is_rejected():
    with pytest.raises(ConfigCompositionException):
        _compose(["progress=sometimes"])


def test_unknown_case_is_named(tmp_path):
    cfg = _compose(["cases=[no_such_case]", f"output_dir={tmp_path}", "progress=false"])
    with pytest.raises(ValueError, match="no_such_case"):
        crosscheck.run(cfg)
