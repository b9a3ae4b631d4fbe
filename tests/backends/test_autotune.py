"""``Conv2D(algo="auto")``: every algorithm it can pick is within the table of the reference,
a cached choice is reused without timing, and the cache lives where it says.

Nothing here depends on timing: choices are forced through cache entries, and the one test
that lets ``auto`` measure checks only that what it stored is one of the candidates.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import backends
from backends import autotune, specs
from backends.testing.tolerances import tolerance

SHAPE = (1, 10, 9, 6)
SPEC = specs.Conv2D(filters=5, algo="auto")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "algo.json"
    monkeypatch.setenv(autotune.ENV, str(path))
    autotune.forget()
    yield path
    autotune.forget()


def _layer(backend, dtype, spec=SPEC):
    layer = backends.build(spec, input_shape=SHAPE, backend=backend, dtype=dtype)
    rng = np.random.default_rng(3)
    layer.load_params({"weights": rng.uniform(-1, 1, (3, 3, 6, 5)),
                       "bias": rng.uniform(-0.5, 0.5, 5)})
    return layer, rng.uniform(-1, 1, SHAPE).astype(dtype)


def _candidates(backend):
    return backends.get_backend(backend).kernels("conv").AUTO_ALGOS


def _force(backend, dtype, algo):
    be = backends.get_backend(backend)
    key = autotune.cache_key(backend, SPEC, SHAPE, dtype, be.num_threads())
    autotune.store(key, algo)


def _no_timing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("auto measured although the cache holds a choice")

    monkeypatch.setattr(autotune, "measure", refuse)


def test_every_choice_is_within_the_table(cache, backend, dtype, monkeypatch):
    _no_timing(monkeypatch)
    ref_layer, x64 = _layer("numpy", np.float64, specs.Conv2D(filters=5))
    desired = ref_layer.forward(x64)
    x = x64.astype(dtype)
    budget = tolerance("winograd", dtype, 3 * 3 * 6) * float(np.max(np.abs(desired)))
    for algo in _candidates(backend):
        _force(backend, dtype, algo)
        auto, _ = _layer(backend, dtype)
        y = auto.forward(x)
        explicit, _ = _layer(backend, dtype, specs.Conv2D(filters=5, algo=algo))
        assert auto.algo_for(x) == algo
        np.testing.assert_array_equal(y, explicit.forward(x))  # the cached choice ran
        err = float(np.max(np.abs(y - desired)))
        assert err <= budget, f"{backend} auto->{algo} {dtype}: |err| {err:.3g} > {budget:.3g}"


def test_auto_measures_once_then_reuses(cache, backend, monkeypatch):
    if len(_candidates(backend)) < 2:
        pytest.skip(f"{backend} has one algorithm for auto (conv.AUTO_ALGOS): nothing to time")
    trims = []  # the heap is trimmed after a measurement only (backends._heap)
    monkeypatch.setattr(autotune, "release_freed_memory", lambda: trims.append(1))
    layer, x = _layer(backend, np.float32)
    layer.forward(x)
    assert trims == [1]
    stored = json.loads(cache.read_text())
    assert len(stored) == 1 and next(iter(stored.values())) in _candidates(backend)
    # a new process (forget the in-memory copy) with a different entry: it is used as is
    other = [a for a in _candidates(backend) if a != next(iter(stored.values()))][0]
    cache.write_text(json.dumps({next(iter(stored)): other}))
    autotune.forget()
    _no_timing(monkeypatch)
    again, _ = _layer(backend, np.float32)
    again.forward(x)
    assert again.algo_for(x) == other and trims == [1]


def test_backends_without_a_choice_never_time(cache, monkeypatch):
    _no_timing(monkeypatch)
    for name in ("numpy",):
        layer, x = _layer(name, np.float64)
        layer.forward(x)
        assert layer.algo_for(x) == "im2col"
    assert not cache.exists()


def test_only_eligible_algorithms_are_candidates():
    assert specs.Conv2D(filters=2, kernel=5, algo="auto").algos() == ("im2col",)


def test_a_corrupt_cache_is_ignored_and_rewritten(cache):
    cache.write_text("{not json")
    assert autotune.load() == {}
    autotune.store("k", "im2col")
    assert json.loads(cache.read_text()) == {"k": "im2col"}


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv(autotune.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert autotune.cache_path() == tmp_path / "layerbench" / "conv_algo.json"
    monkeypatch.setenv(autotune.ENV, str(tmp_path / "x.json"))
    assert autotune.cache_path() == tmp_path / "x.json"


def test_key_names_everything_the_choice_depends_on(monkeypatch):
    k1 = autotune.cache_key("cython", SPEC, SHAPE, np.float32, 1)
    monkeypatch.setattr(autotune, "KERNELS_VERSION", autotune.KERNELS_VERSION + 1)
    assert k1 != autotune.cache_key("cython", SPEC, SHAPE, np.float32, 1)  # stale timings
    monkeypatch.undo()
    assert k1 != autotune.cache_key("cython", SPEC, SHAPE, np.float32, 2)
    assert k1 != autotune.cache_key("cython", SPEC, SHAPE, np.float64, 1)
    assert k1 != autotune.cache_key("numba", SPEC, SHAPE, np.float32, 1)
    assert k1 != autotune.cache_key("cython", SPEC, (1, 10, 8, 6), np.float32, 1)
