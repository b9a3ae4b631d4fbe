"""The asv dashboard renders offline: vendored libraries, and headless Chromium draws graphs.

The dashboard under test is built here from a tiny asv run (the ``Sgemm`` track on its tiny
preset, one commit) into a temporary directory, published and vendored exactly as
``nox -s bench`` does; ``LAYERBENCH_DASHBOARD_DIR`` points the tests at an existing one
instead (e.g. ``results/html`` after a full run). Chromium is Debian's ``chromium``; without
it the browser tests skip, unless ``LAYERBENCH_REQUIRE_CHROMIUM=1`` (``nox -s browser``),
where its absence fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRAPH = "tracks.Sgemm.track_sgemm_gflops"
BROWSERS = ("chromium", "chromium-browser")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--hide-scrollbars", "--window-size=1280,900", "--virtual-time-budget=20000",
)


def _asv(args, cwd, env):
    out = subprocess.run([sys.executable, "-m", "asv", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"asv {args[0]}: {out.stdout[-2000:]}{out.stderr[-2000:]}"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Path:
    given = os.environ.get("LAYERBENCH_DASHBOARD_DIR")
    if given:
        return Path(given)
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("building a dashboard needs the git checkout (asv keys results to HEAD)")
    pytest.importorskip("asv")
    tmp = tmp_path_factory.mktemp("dashboard")
    subprocess.run([sys.executable, str(ROOT / "tools" / "asv_conf.py"), str(tmp)], check=True,
                   capture_output=True, timeout=60)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    env = dict(os.environ, LAYERBENCH_BENCH_TINY="1")
    config = ["--config", str(tmp / "asv.conf.json")]
    _asv(["machine", "--yes", *config], tmp, env)
    _asv(["run", *config, "--python=same", "--quick", "--set-commit-hash", head,
          "--bench", "Sgemm"], tmp, env)
    _asv(["publish", *config], tmp, env)
    vendor = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_asv_dashboard.py"),
                             str(tmp / "html")], capture_output=True, text=True, timeout=300)
    if vendor.returncode != 0 and "npm is not installed" in vendor.stderr + vendor.stdout \
            and not os.environ.get("LAYERBENCH_REQUIRE_CHROMIUM"):
        pytest.skip(f"cannot vendor the dashboard's libraries here: {vendor.stderr.strip()}")
    assert vendor.returncode == 0, vendor.stdout[-2000:] + vendor.stderr[-2000:]
    return tmp / "html"


def _series(dashboard: Path, name: str) -> int:
    """How many series asv published for benchmark ``name`` (over every environment): a graph
    file holds ``[commit, value]`` rows, the value a list when the benchmark has parameters."""
    count = 0
    for path in (dashboard / "graphs").rglob(f"{name}.json"):
        if path.parent.name != "summary":
            rows = json.loads(path.read_text())
            count += max((len(v) if isinstance(v, list) else 1 for _, v in rows), default=0)
    return count


@pytest.fixture(scope="module")
def graph(dashboard) -> tuple[str, int]:
    """The graph to open: ``GRAPH`` (both thread counts), or in a dashboard where it is a
    single series (the quick pass times one thread count) the benchmark with most series."""
    names = json.loads((dashboard / "index.json").read_text())["benchmarks"]
    series = {name: _series(dashboard, name) for name in names}
    name = GRAPH if series.get(GRAPH, 0) >= 2 else max(series, key=series.get)
    return name, series[name]


@pytest.fixture(scope="module")
def server(dashboard):
    handler = functools.partial(_QuietHandler, directory=str(dashboard))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("LAYERBENCH_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is required here (LAYERBENCH_REQUIRE_CHROMIUM) but not on PATH")
    pytest.skip("chromium is not installed (apt-get install chromium, or nox -s browser)")


def _run_chromium(binary, tmp_path, *args) -> str:
    profile = tmp_path / "profile"
    out = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_pages_load_nothing_remote(dashboard):
    for page in dashboard.glob("*.html"):
        tags = re.findall(r"<(?:script|link)\b[^>]*>", page.read_text(encoding="utf-8"))
        remote = [t for t in tags if re.search(r'\b(?:src|href)="https?://', t)
                  and ("<script" in t or "stylesheet" in t)]
        assert not remote, f"{page.name} still loads from the network: {remote}"
        for tag in tags:
            src = re.search(r'\b(?:src|href)="([^"]+)"', tag)
            if src and "<link" in tag and "stylesheet" not in tag:
                continue
            if src:
                assert (dashboard / src.group(1)).exists(), f"{page.name}: {src.group(1)} missing"


def test_graph_page_draws_flot_canvases(dashboard, server, chromium, graph, tmp_path):
    name, series = graph
    assert series >= 2, f"{name}: the dashboard has no graph with two series to compare"
    dom = _run_chromium(chromium, tmp_path, "--dump-dom", f"{server}/index.html#{name}")
    assert "flot-base" in dom, "no flot canvas: the plot library did not run"
    assert "flot-overlay" in dom
    # tick labels are HTML that flot writes only after it has data to scale the axes to
    ticks = re.findall(r'class="flot-tick-label[^"]*"[^>]*>([^<]+)<', dom)
    assert ticks, "flot drew no axis tick labels"
    # the legend lists the plotted series by their parameters; with results from several
    # environments asv prefixes each label ("python-...; threads-1")
    labels = re.findall(r'class="legendLabel"[^>]*>([^<]+)<', dom)
    assert len(labels) >= 2, f"series in the legend: {labels}"
    if name == GRAPH:
        parts = [{p.strip() for p in label.split(";")} for label in labels]
        assert any("threads-1" in p for p in parts), f"series in the legend: {labels}"
    assert "js_load_failure" not in dom.split("<body", 1)[-1].split("function", 1)[0]


def test_screenshot_shows_a_plot(dashboard, server, chromium, graph, tmp_path):
    image_mod = pytest.importorskip("matplotlib.image")
    np = pytest.importorskip("numpy")
    shot = tmp_path / "dashboard.png"
    _run_chromium(chromium, tmp_path, f"--screenshot={shot}", f"{server}/index.html#{graph[0]}")
    keep = os.environ.get("LAYERBENCH_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
    rgb = image_mod.imread(shot)[..., :3]
    assert rgb.shape[:2] == (900, 1280)
    background = np.all(rgb > 0.97, axis=-1)
    assert background.mean() < 0.99, "the page is blank"
    # plotted series: saturated, coloured pixels (series markers, lines and legend swatches)
    # in the plot area, right of the sidebar and below the navigation bar; an empty frame
    # has only grey grid and text there
    plot = rgb[60:, 210:]
    spread = plot.max(axis=-1) - plot.min(axis=-1)
    coloured = int(np.count_nonzero(spread > 0.3))
    assert coloured > 50, f"only {coloured} coloured pixels in the plot area: no series drawn"


# --- the committed results, from a clean clone, through `nox -s dashboard` -------------------

SERIES_GRAPH = "layers.ThesisLayers.time_forward"  # timed at three commits on one machine


@pytest.fixture(scope="module")
def clone_server(chromium, tmp_path_factory):
    """``(clone, url)``: a ``git clone`` of this checkout (no results/html) serving the
    dashboard that ``nox -s dashboard`` published from its committed results/asv. Needs
    chromium first (so a machine without a browser skips before cloning), nox and git."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the clean-clone dashboard needs the git checkout and git")
    pytest.importorskip("nox")
    import socket
    import time
    import urllib.request

    clone = tmp_path_factory.mktemp("clone") / "layerbench"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True,
                   capture_output=True, timeout=300)
    assert not (clone / "results" / "html").exists()
    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = clone / "nox-dashboard.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nox", "-s", "dashboard", "--",
                                 str(port)], cwd=clone, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900  # a venv, asv from PyPI, publish, npm packages
        while True:
            assert proc.poll() is None, f"nox -s dashboard ended:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no dashboard yet:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/index.json", timeout=5).read()
                break
            except OSError:
                time.sleep(1)
        yield clone, url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_clean_clone_dashboard_connects_the_runs_of_one_machine(clone_server):
    """One graph file (one environment) per machine for a benchmark timed at several
    commits, and every series has a value at each of those commits: a connected line."""
    clone, _ = clone_server
    html, results = clone / "results" / "html", clone / "results" / "asv"
    assert (html / "index.html").exists() and (html / "vendor").is_dir()
    for machine in sorted(p.name for p in results.iterdir() if p.is_dir()):
        runs = [json.loads(p.read_text()) for p in (results / machine).glob("*.json")
                if p.name != "machine.json"]
        commits = {r["commit_hash"] for r in runs if SERIES_GRAPH in r["results"]}
        graphs = [p for p in (html / "graphs").rglob(f"{SERIES_GRAPH}.json")
                  if f"machine-{machine}" in p.parts]
        if not commits:
            continue
        assert len(graphs) == 1, f"{machine}: {len(graphs)} environments for {SERIES_GRAPH}"
        rows = json.loads(graphs[0].read_text())
        assert len(rows) == len(commits)
        # a series may start late (a new backend or peer: tf_graph) or end (a later run of
        # a reduced scope that timed no numpy layers) but has no hole in between,
        # and some series runs through every commit: the runs are joined by lines
        spans = []
        for k in range(len(rows[0][1])):
            timed = [i for i, row in enumerate(rows) if row[1][k] is not None]
            assert not timed or timed == list(range(timed[0], timed[-1] + 1)), \
                f"{machine}: series {k} has a hole: {[row[1][k] for row in rows]}"
            spans.append(len(timed))
        assert max(spans) == len(rows), f"{machine}: no series joins all {len(rows)} commits"
    intel = [m for m in os.listdir(results) if len(list((results / m).glob("*.json"))) >= 4]
    assert intel, "no machine has runs at three commits"


def test_clean_clone_dashboard_screenshot_shows_one_line_per_backend(clone_server, chromium,
                                                                     tmp_path):
    """The Intel machine's max-pool 3x3 at 2 threads: one series per backend and one for
    the graph-mode TensorFlow peer."""
    clone, url = clone_server
    results = clone / "results" / "asv"
    machine = max((p.name for p in results.iterdir() if p.is_dir()),
                  key=lambda m: len(list((results / m).glob("*.json"))))
    query = (f"machine={machine}&p-layer=%27thesis_maxpool3%27&p-threads=2")
    page = f"{url}/index.html#{SERIES_GRAPH}?{query}"
    dom = _run_chromium(chromium, tmp_path, "--dump-dom", page)
    # one legend entry per series: "backend-numpy; layer-thesis_maxpool3; threads-2"
    labels = re.findall(r'class="legendLabel"[^>]*>([^<]+)<', dom)
    parts = [dict(p.strip().split("-", 1) for p in label.split(";")) for label in labels]
    # every backend of the registry's table has a series (one added after these runs, such as
    # jax, has an empty one: asv publishes the current parameters), and the peer
    from backends.registry import BACKEND_NAMES

    assert sorted(p["backend"] for p in parts) == sorted([*BACKEND_NAMES, "tf_graph"]), labels
    assert all(p["layer"] == "thesis_maxpool3" and p["threads"] == "2" for p in parts), labels
    shot = tmp_path / "committed.png"
    _run_chromium(chromium, tmp_path, f"--screenshot={shot}", page)
    keep = os.environ.get("LAYERBENCH_SCREENSHOT_COMMITTED")
    if keep:
        shutil.copyfile(shot, keep)
    image_mod = pytest.importorskip("matplotlib.image")
    np = pytest.importorskip("numpy")
    rgb = image_mod.imread(shot)[..., :3]
    plot = rgb[60:, 210:]
    coloured = int(np.count_nonzero(plot.max(axis=-1) - plot.min(axis=-1) > 0.3))
    assert coloured > 200, f"only {coloured} coloured pixels: no lines drawn"
