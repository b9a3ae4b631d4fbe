"""Every headline table of README.md is rendered from a committed CSV in ``results/tables``.

The renderers live in ``docs/_ext/results_tables.py`` (the documentation site uses the same
ones); after regenerating the results, paste the tables the failure message prints.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TABLES = ROOT / "results" / "tables"


def _renderers():
    spec = importlib.util.spec_from_file_location(
        "results_tables", ROOT / "docs" / "_ext" / "results_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RT = _renderers()


@pytest.mark.parametrize("name", sorted(RT.RENDERERS))
def test_readme_table_is_rendered_from_the_committed_csv(name):
    if not TABLES.is_dir():
        pytest.skip(f"{TABLES} is not in this checkout (the committed results are)")
    want = RT.RENDERERS[name]()
    assert want in README.read_text(), f"README.md should hold this table:\n{want}"


def test_every_readme_table_is_a_rendered_one():
    """No hand-written result table: each Markdown table of the README is one of the
    rendered ones (a numberless table would be allowed, but there is none)."""
    text = README.read_text()
    rendered = [RT.RENDERERS[n]() for n in RT.RENDERERS]
    tables = re.findall(r"(?:^\|.*\|\n)+", text, re.M)
    assert tables
    for table in tables:
        assert any(table.strip() in r for r in rendered), f"hand-written table:\n{table}"


def test_renderers_read_the_csv(tmp_path):
    """The renderer follows the CSV: a changed file changes the table."""
    (tmp_path / "div2k_sr_gain.csv").write_text(
        "scale,model,images,n,sr_psnr,bicubic_psnr,gain_db,sr_ssim,bicubic_ssim\n"
        "2,EDSR,held out,3,30.0,29.5,0.5,0.9,0.8\n"
        "2,EDSR,all,8,31.0,29.0,2.0,0.9,0.8\n")
    got = RT.div2k_gain(tmp_path)
    assert "| x2 | EDSR | 3 | 30.00 / 0.900 | 29.50 / 0.800 | +0.50 dB |" in got
    assert "31.00" not in got
    (tmp_path / "crosscheck.csv").write_text(
        "backend,status\nnumpy,pass\nnumpy,fail\ncython,skip\n")
    assert "| all | 3 | 1 | 1 | 1 |" in RT.equality(tmp_path)


def test_readme_length():
    assert len(README.read_text().splitlines()) <= 200


def test_readme_links_resolve():
    """Relative links of the README point at files or folders of the repository."""
    text = README.read_text()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README links to missing {target}"


PEERS_CSV = (
    "subject,runtime,peer,threads,seconds,vs_best_peer,best_peer,gflops,of_sgemm_peak,"
    "sgemm_peak_gflops,rounds,load1,commit,settings\n"
    'edsr_baseline_x2 510x339,cython,False,2,1.8,0.72,openvino,300,1.6,190,"[1.8, 1.9, 1.7]",'
    '0.3,abc,{}\n'
    'edsr_baseline_x2 510x339,keras,True,2,2.6,1.04,openvino,200,1.05,190,"[2.6, 2.6, 2.6]",'
    '0.3,abc,{}\n'
    'edsr_baseline_x2 510x339,openvino,True,2,2.5,1.0,openvino,210,1.1,190,"[2.5, 2.5, 2.5]",'
    '0.3,abc,{}\n')


def test_peers_renderer_reads_peers_csv(tmp_path):
    """The speed table names the peer set and the best peer and follows the CSV; without a
    CSV it says how to measure one."""
    assert RT.peers(tmp_path) == RT.NO_PEERS
    assert RT.peers_source(tmp_path) == ""
    (tmp_path / "peers.csv").write_text(PEERS_CSV)
    got = RT.peers(tmp_path)
    assert got.startswith("Peers: keras, openvino;")
    assert "median of 3 interleaved rounds" in got
    assert ("| EDSR-baseline x2 510x339 | 2 | openvino 2.50 s | 0.72 (1.80 s, 300 GFLOP/s = "
            "1.60x sgemm) |") in got
    assert "Measured at commit abc: 3 rows; 1-minute load average up to 0.3" in \
        RT.peers_source(tmp_path)
    assert f"version head `{tmp_path / 'peers.md'}`." in RT.peers_source(tmp_path)
    # a machine's own folder under results/tables is named from the repository root
    assert RT.peers_source(RT.TABLES / "epyc-zen3-avx2").endswith(
        "head `results/tables/epyc-zen3-avx2/peers.md`.")


def test_update_readme_rewrites_only_the_marked_blocks(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results-table peers -->\nold\n<!-- /results-table -->\nend\n")
    assert RT.update_readme(readme, tmp_path) == ["peers"]
    assert readme.read_text() == (f"intro\n<!-- results-table peers -->\n{RT.NO_PEERS}\n"
                                  "<!-- /results-table -->\nend\n")
    assert RT.update_readme(readme, tmp_path) == []
