"""The documentation site builds as ``nox -s docs`` builds it: warnings are errors, every
cross-reference resolves (``-n``), the gallery's examples run; then every relative link of
the built HTML points at a file of the build.

Sphinx writes its generated sources (``docs/api/generated``, ``docs/auto_gallery``) into the
source tree (git-ignored) and the HTML into a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx", reason="the docs extra (pip install '.[docs]')")
for module in ("pydata_sphinx_theme", "numpydoc", "myst_parser", "sphinx_gallery",
               "sphinx_design", "matplotlib"):
    pytest.importorskip(module, reason="the docs extra (pip install '.[docs]')")

HREF = re.compile(r'(?:href|src)="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    html = out / "html"
    env = {**os.environ, "OMP_WAIT_POLICY": "passive", "TF_CPP_MIN_LOG_LEVEL": "3",
           "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(html)],
        # not the checkout: ``python -m`` puts the working directory first on sys.path, and a
        # checkout without the extension built in place would shadow the installed package
        cwd=out, env=env, capture_output=True, text=True, timeout=900)
    warnings = [line for line in proc.stderr.splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0, "sphinx-build failed:\n" + "\n".join(warnings or
                                                                      [proc.stderr[-3000:]])
    return html


def test_site_builds_with_the_pages(site):
    for page in ("index", "user/index", "user/install", "user/quickstart", "thesis/index",
                 "thesis/ablation", "benchmarks/index", "models", "dev/index", "api/index",
                 "changelog", "citing", "license", "auto_gallery/index"):
        assert (site / f"{page}.html").is_file(), page
    api = (site / "api" / "index.html").read_text()
    assert "backends" in api and "layerbench" in api


def test_gallery_examples_made_figures(site):
    images = list((site / "_images").glob("sphx_glr_plot_*"))
    assert len({p.name.split("_00")[0] for p in images}) >= 2, images


def test_result_tables_come_from_the_csvs(site):
    """The results directive put the committed numbers into the pages."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("rt", DOCS / "_ext" / "results_tables.py")
    rt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rt)
    page = (site / "benchmarks" / "index.html").read_text()
    rows = [line for line in rt.peers().splitlines() if line.startswith("| ")][2:]
    # a cell of the first row, e.g. "keras 2.44 s"; or the sentence saying how to measure
    want = rows[0].split(" | ")[2] if rows else "No peer table is committed yet"
    assert want in page


def test_internal_links_resolve(site):
    broken = []
    for page in site.rglob("*.html"):
        if "_static" in page.relative_to(site).parts:  # the theme's template macros
            continue
        for target in HREF.findall(page.read_text()):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("#", "mailto:", "data:")):
                continue
            path = unquote(parts.path)
            if not path:
                continue
            resolved = (page.parent / path).resolve()
            if not resolved.exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken))[:50])


@pytest.mark.parametrize("page", ["index", "api/index"])
def test_chromium_renders_the_page(site, page, tmp_path):
    """Headless Chromium renders the landing and API pages offline (a screenshot, and the
    DOM with the theme's navigation). ``LAYERBENCH_DOCS_SCREENSHOTS=DIR`` keeps the PNGs."""
    import shutil

    binary = next((shutil.which(b) for b in ("chromium", "chromium-browser")
                   if shutil.which(b)), None)
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or nox -s browser)")
    keep = os.environ.get("LAYERBENCH_DOCS_SCREENSHOTS")
    shot = (Path(keep) if keep else tmp_path) / f"docs_{page.replace('/', '_')}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1400,1100", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (site / f"{page}.html").as_uri()
    for args in ([f"--screenshot={shot}", url], ["--dump-dom", url]):
        proc = subprocess.run([binary, *flags, *args], capture_output=True, text=True,
                              timeout=180)
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    assert "bd-header" in proc.stdout or "navbar" in proc.stdout  # the theme's layout ran
