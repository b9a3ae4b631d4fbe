"""CITATION.cff is valid against the Citation File Format schema and agrees with the package:
same version, same license, and it names the thesis the experiments reproduce."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import layerbench

ROOT = Path(__file__).resolve().parents[1]
CFF = ROOT / "CITATION.cff"


def _cff() -> dict:
    yaml = pytest.importorskip("ruamel.yaml", reason="cffconvert's YAML reader (extra test)")
    return yaml.YAML(typ="safe").load(CFF.read_text())


def test_citation_is_valid_cff():
    cffconvert = pytest.importorskip("cffconvert", reason="the CFF validator (extra test)")
    from cffconvert.cli.create_citation import create_citation

    citation = create_citation(str(CFF), None)
    citation.validate()  # raises on a schema violation
    assert cffconvert is not None


def test_citation_matches_the_package():
    cff = _cff()
    assert cff["version"] == layerbench.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["license"] == project["license"] == "BSD-3-Clause"
    assert "version" in project.get("dynamic", []) or project["version"] == cff["version"]
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()


def test_citation_names_the_thesis():
    (thesis,) = [r for r in _cff()["references"] if r["type"] == "thesis"]
    assert thesis["authors"][0]["family-names"] == "Ceccarelli"
    assert "super-resolution in MRI" in thesis["title"]
    assert thesis["institution"]["name"] == "University of Bologna"
    assert thesis["year"] == 2020


def test_validator_rejects_a_broken_file(tmp_path):
    """The check can fail: a file without authors is invalid."""
    pytest.importorskip("cffconvert", reason="the CFF validator (extra test)")
    from cffconvert.cli.create_citation import create_citation

    bad = tmp_path / "CITATION.cff"
    bad.write_text("\n".join(line for line in CFF.read_text().splitlines()
                             if not line.startswith(("authors:", "  - name:"))))
    with pytest.raises(Exception):  # noqa: B017 - cffconvert raises jsonschema's error class
        create_citation(str(bad), None).validate()
