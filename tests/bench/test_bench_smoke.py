"""Every asv benchmark imports and runs once on its tiny preset (``LAYERBENCH_BENCH_TINY=1``).

The benchmarks are driven in this process the way asv drives them (``setup_cache``, then
``setup``/method/``teardown`` per parameter combination; ``NotImplementedError`` from
``setup`` is a skip), so a broken benchmark fails here instead of leaving a hole in the
dashboard. TensorFlow sizes its thread pools once per process: after the first TensorFlow
combination the other thread count is skipped here (asv gives each combination its own
process and sets it).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import math
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("time_", "track_", "peakmem_", "mem_", "timeraw_")


def _bench_package():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("bench")


def discover():
    """``(module, class, method name)`` of every benchmark, as asv finds them."""
    pkg = _bench_package()
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"bench.{info.name}")
        for cname, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cname.startswith("_"):
                continue
            for mname in dir(cls):
                if mname.startswith(PREFIXES):
                    found.append((info.name, cname, mname))
    return found


BENCHMARKS = discover()
_CACHES: dict = {}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("LAYERBENCH_BENCH_TINY", "1")


def run_benchmark(module: str, cname: str, mname: str) -> tuple[list, list]:
    """Run every parameter combination once; return (results, skips) with their params."""
    cls = getattr(importlib.import_module(f"bench.{module}"), cname)
    params = getattr(cls, "params", ())
    if params and not isinstance(params[0], (list, tuple)):
        params = (params,)
    combos = list(itertools.product(*params)) if params else [()]
    cache_args = ()
    if hasattr(cls, "setup_cache"):
        if cname not in _CACHES:
            _CACHES[cname] = cls().setup_cache()
        cache_args = (_CACHES[cname],)
    results, skips = [], []
    for combo in combos:
        bench = cls()
        args = (*cache_args, *combo)
        try:
            if hasattr(bench, "setup"):
                bench.setup(*args)
        except NotImplementedError as err:
            skips.append((combo, str(err)))
            continue
        try:
            results.append((combo, getattr(bench, mname)(*args)))
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*args)
    return results, skips


def test_discovery_finds_every_kind():
    kinds = {m.split("_", 1)[0] for _, _, m in BENCHMARKS}
    assert {"time", "track", "peakmem"} <= kinds, kinds
    assert len(BENCHMARKS) >= 10


@pytest.mark.parametrize("module,cname,mname", BENCHMARKS,
                         ids=[f"{m}.{c}.{f}" for m, c, f in BENCHMARKS])
def test_benchmark_runs_on_tiny_preset(module, cname, mname, tiny):
    from bench._common import SKIP_KINDS

    results, skips = run_benchmark(module, cname, mname)
    for combo, reason in skips:
        kind = reason.split(":", 1)[0]
        assert kind in SKIP_KINDS, f"{cname}.{mname}{combo}: skip without a kind: {reason}"
        # the reference backend has no excuse to be missing or to refuse a thread count;
        # in CI no backend may be missing (the project's rule for every test)
        if "numpy" in combo:
            assert kind in ("unsupported", "budget"), f"{cname}.{mname}{combo}: {reason}"
        if os.environ.get("CI"):
            assert kind != "unavailable", f"{cname}.{mname}{combo}: {reason}"
    assert results, f"{cname}.{mname}: every combination skipped: {skips[:3]}"
    for combo, value in results:
        if mname.startswith("track_"):
            assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0, \
                f"{cname}.{mname}{combo} tracked {value!r}"


def test_bench_modules_import_nothing_heavy():
    """asv imports every bench module in its launcher; TensorFlow, Numba or OpenMP started
    there would be shared (or forked) into every benchmark process."""
    heavy = ("tensorflow", "numba", "backends.cython_omp", "layerbench.models")
    code = ("import sys, pkgutil, importlib, bench\n"
            "for m in pkgutil.iter_modules(bench.__path__):\n"
            "    importlib.import_module('bench.' + m.name)\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("quick", ["", "1"])
def test_quick_pass_times_one_thread_count(quick):
    """``LAYERBENCH_BENCH_QUICK`` (set by ``nox -s bench -- --quick``) keeps one thread count,
    all cores; the full suite always times 1 and 2 threads. Read in a fresh interpreter,
    since asv reads the parameters at import."""
    code = ("import json, bench._common as c\n"
            "print(json.dumps([list(c.THREADS), c.cores()]))")
    env = dict(os.environ, LAYERBENCH_BENCH_QUICK=quick)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    threads, cores = json.loads(out.stdout)
    if quick:
        assert threads == [cores]
    else:
        assert {1, 2, cores} == set(threads) and threads == sorted(threads)


def test_tiny_mode_swaps_every_preset(tiny):
    from bench._common import preset

    for name in ("edsr_body", "thesis_conv_s1", "thesis_maxpool30", "thesis_shuffle6_b2"):
        assert preset(name).name == f"tiny_{name}"


@pytest.mark.skipif(shutil.which("asv") is None, reason="asv is not installed")
def test_asv_check_accepts_the_suite():
    """asv's own import and signature check on the installed tree (no benchmark runs)."""
    env = dict(os.environ, LAYERBENCH_BENCH_TINY="1")
    out = subprocess.run(["asv", "check", "--python=same"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_teardown_after_a_skip_before_any_scope():
    """asv calls teardown even when setup skipped before entering a thread scope."""
    pkg = _bench_package()
    classes = {getattr(importlib.import_module(f"bench.{m}"), c) for m, c, _ in BENCHMARKS}
    scoped = [cls for cls in classes if issubclass(cls, pkg._common.Scoped)]
    assert scoped, "no benchmark enters a thread scope?"
    for cls in scoped:
        cls().teardown()
