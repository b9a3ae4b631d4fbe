"""A partial backend end to end: the kernels it lacks are skips with the reason, everywhere.

The backend here is a real package written at test time and registered for the test only
(one entry in ``backends.registry.BACKEND_PACKAGES``, as a table line would add it): numpy_ref's
activation kernels, max pooling but not average pooling, and no other kernel module. A layer
needing a missing kernel raises ``NotSupportedError`` naming backend and kernel at build; the
test suite (parity and equality tests, run by pytest in a child process), the cross-check and
an asv benchmark's ``setup`` turn that into a skip that says why, and run the rest.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import backends
from backends import registry, specs
from backends.errors import NotSupportedError
from backends.testing import crosscheck as cc
from backends.testing.catalogue import case_by_name

ROOT = Path(__file__).resolve().parents[2]
NAME, PACKAGE = "partial", "lbpartial"
FILES = {
    f"{PACKAGE}/__init__.py": '''"""A test-only partial backend (see the test module)."""
from backends.backend import KernelBackend

_THREADS = [1]
BACKEND = KernelBackend(name="partial", package=__name__,
                        set_threads=lambda n: _THREADS.__setitem__(0, n),
                        get_threads=lambda: _THREADS[0])
''',
    f"{PACKAGE}/activation.py": "from backends.numpy_ref.activation import *  # noqa: F403\n"
                                "from backends.numpy_ref.activation import __all__  # noqa: F401\n",
    f"{PACKAGE}/pool.py": "from backends.numpy_ref.pool import maxpool_backward, maxpool_forward\n"
                          "__all__ = ['maxpool_forward', 'maxpool_backward']\n",
    # pytest plugin of the child process: registers the backend before collection
    "lbpartial_plugin.py": "from backends import registry\n"
                           f"registry.BACKEND_PACKAGES[{NAME!r}] = {PACKAGE!r}\n",
}
AVG_MISSING = f"backend '{NAME}' has no kernel pool.avgpool_forward"
SUPPORTED, UNSUPPORTED = "maxpool2x2_s2_valid", "avgpool2x2_s2_valid"


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("partial_backend")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def partial(package_dir, monkeypatch) -> str:
    monkeypatch.syspath_prepend(str(package_dir))
    monkeypatch.setitem(registry.BACKEND_PACKAGES, NAME, PACKAGE)
    return NAME


def test_kernel_names_backend_and_missing_kernel(partial):
    be = backends.get_backend(partial)
    assert be.kernel("pool", "maxpool_forward") is importlib.import_module(
        "backends.numpy_ref.pool").maxpool_forward
    with pytest.raises(NotSupportedError, match=f"^{AVG_MISSING}$"):
        be.kernel("pool", "avgpool_forward")
    with pytest.raises(NotSupportedError,
                       match=rf"^backend 'partial' has no kernel conv.conv2d_forward "
                             rf"\(no {PACKAGE}.conv\)$"):
        be.kernel("conv", "conv2d_forward")
    with pytest.raises(NotSupportedError, match=f"has no kernel module norm \\(no {PACKAGE}"):
        be.kernels("norm")


def test_layers_build_or_say_what_is_missing(partial):
    x = np.random.default_rng(0).standard_normal((1, 6, 6, 3))
    spec = specs.MaxPool2D(size=2, stride=2, padding="valid")
    got = backends.build(spec, input_shape=x.shape, backend=partial, dtype=np.float64)
    want = backends.build(spec, input_shape=x.shape, backend="numpy", dtype=np.float64)
    assert got.forward(x).tobytes() == want.forward(x).tobytes()  # numpy_ref's own kernel
    for spec, missing in ((specs.AvgPool2D(size=2, stride=2), "pool.avgpool_forward"),
                          (specs.Conv2D(filters=2), "conv.conv2d_forward"),
                          (specs.BatchNorm(), "norm.batchnorm_statistics")):
        with pytest.raises(NotSupportedError, match=f"backend 'partial' has no kernel {missing}"):
            backends.build(spec, input_shape=x.shape, backend=partial)


def test_crosscheck_reports_the_skip_and_checks_the_rest(partial, tmp_path):
    cases = [case_by_name(SUPPORTED), case_by_name(UNSUPPORTED)]
    rows = cc.crosscheck(cases, backends=[partial], dtypes=(np.float32,), against=("numpy",))
    by_case = {}
    for r in rows:
        by_case.setdefault(r["case"], []).append(r)
    assert by_case[SUPPORTED] and all(r["status"] == "pass" for r in by_case[SUPPORTED])
    [skip] = by_case[UNSUPPORTED]
    assert (skip["status"], skip["detail"]) == ("skip", f"backend not supported: {AVG_MISSING}")
    from layerbench.crosscheck import write_markdown  # the report is the application's job

    md = write_markdown(rows, tmp_path / "crosscheck.md").read_text()
    assert (f"| {UNSUPPORTED} | partial | float32 | numpy | * | skip | backend not supported: "
            f"{AVG_MISSING} |") in md
    assert "| partial | float32 | numpy | 3 | 2 | 0 | 1 | 0 |" in md  # y, dx pass; 1 skip


def test_layerbench_crosscheck_skip_is_not_a_failure(partial, tmp_path):
    pytest.importorskip("hydra")
    from omegaconf import OmegaConf

    from layerbench import crosscheck as cli

    cfg = OmegaConf.structured(cli.CrosscheckConfig(
        backends=[partial], dtypes=["float32"], against=["numpy"],
        cases=[SUPPORTED, UNSUPPORTED], output_dir=str(tmp_path), progress=False))
    rows, paths = cli.run(cfg)
    assert not [r for r in rows if r["status"] in ("fail", "error")]  # main() exits 0
    lines = cli.summary_lines(rows)
    assert any(line.split() == ["partial", "float32", "numpy", "2", "0", "1", "0"]
               for line in lines), lines
    assert f"skip | backend not supported: {AVG_MISSING}" in paths["md"].read_text()


def test_bench_setup_skips_with_the_reason(partial, monkeypatch):
    monkeypatch.setenv("LAYERBENCH_BENCH_TINY", "1")
    monkeypatch.syspath_prepend(str(ROOT))
    layers = importlib.import_module("bench.layers")
    bench = layers.Layers()
    try:
        with pytest.raises(NotImplementedError, match=f"^unsupported: {AVG_MISSING}$"):
            bench.setup("avgpool2x2", partial, 1)
    finally:
        bench.teardown("avgpool2x2", partial, 1)
    bench = layers.Layers()
    bench.setup("maxpool2x2", partial, 1)
    try:
        bench.time_forward("maxpool2x2", partial, 1)
        bench.time_backward("maxpool2x2", partial, 1)
    finally:
        bench.teardown("maxpool2x2", partial, 1)


def test_test_suite_skips_with_the_reason(package_dir):
    """The parity and equality tests, with the backend registered, in a pytest of their own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(package_dir), *filter(None, [os.environ.get("PYTHONPATH")])])}
    equality = [f"tests/backends/test_equality.py::test_backend_matches_reference"
                f"[{dt}-{case}-{NAME}]" for dt in ("float32", "float64")
                for case in (SUPPORTED, UNSUPPORTED)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "lbpartial_plugin", "-p", "no:cacheprovider",
         "-q", "-rs", "-k", NAME, "tests/backends/test_parity.py", *equality],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # parity: 10 kernel modules (the 8 it lacks are empty subsets); equality: the max-pool
    # case in 2 dtypes passes, the average-pool case is skipped twice with the reason
    assert "12 passed, 2 skipped" in out, out
    reason = f"partial does not support {UNSUPPORTED}: {AVG_MISSING}"
    assert re.search(rf"SKIPPED \[2\] tests/backends/test_equality.py:\d+: {reason}\n", out), out


def test_module_constants_are_attributes_not_kernels(partial):
    from backends.backend import Kernels

    pool = Kernels(backends.get_backend(partial), "pool")
    assert getattr(pool, "AUTO_ALGOS", "absent") == "absent"  # constants may be absent
    conv = Kernels(backends.get_backend(partial), "conv")  # no module at all
    assert getattr(conv, "BOUNDED_WORKSPACE", False) is False
    with pytest.raises(NotSupportedError, match="has no kernel conv.conv2d_forward"):
        conv.conv2d_forward  # noqa: B018
