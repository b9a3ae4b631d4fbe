"""``layers.Conv``'s algorithms F(4x4,3x3) (``winograd4``) and ``auto``, and
``layers.ConvAutoChoice``, on the tiny presets (``LAYERBENCH_BENCH_TINY=1``), in process.

Each new combination either builds (and runs the algorithm it names) or skips with the reason
written here; ``auto`` makes its choice in ``setup``, in the benchmarks' own cache file, never
in the timed call nor in the user's cache. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backends import autotune, specs  # noqa: E402
from bench import _common as c  # noqa: E402
from bench import layers  # noqa: E402

NEW_ALGOS = ("winograd4", "auto")
# TensorFlow and XLA (jax) size their pools once per process: a test that asks another
# thread count after another test started them is told so (asv: a process per combination)
FIXED_POOLS = ("tensorflow", c.LAYER_PEER, "jax")
SINGLE_CANDIDATE = ("numpy", "tensorflow", "jax")  # conv.AUTO_ALGOS == ("im2col",)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv(c.TINY_ENV, "1")
    monkeypatch.setenv(autotune.ENV, str(tmp_path / "user" / "conv_algo.json"))
    autotune.forget()
    yield tmp_path
    autotune.forget()


def expected_skip(case: str, algo: str, backend: str) -> str | None:
    """The reason a combination must skip with (a prefix of it), or None if it must build."""
    stride = "(2, 2)" if case == "thesis_conv_s2" else "(1, 1)"
    if algo == "winograd4" and stride != "(1, 1)":
        return ("unsupported: Winograd F(4x4,3x3) needs a 3x3 stride-1 kernel; "
                f"{case} has kernel (3, 3) stride {stride}")
    if algo == "auto" and (stride != "(1, 1)" or backend in SINGLE_CANDIDATE):
        return (f"unsupported: algo='auto' has one candidate (im2col) for {case} (kernel "
                f"(3, 3) stride {stride}) on {backend!r}: it runs im2col")
    if algo == "winograd4" and backend == "jax":
        return "unsupported: backend 'jax' has no kernel conv.winograd4_forward"
    return None


def _setup(bench, *args):
    try:
        bench.setup(*args)
    except NotImplementedError as err:
        return str(err)
    return None


def _may_be_missing(backend: str, reason: str | None) -> bool:
    """A backend not installed here (never in CI), or TensorFlow or XLA already running
    another thread count in this process: asv gives each combination a process of its own."""
    if reason is None:
        return False
    if reason.startswith("unavailable:"):
        assert not os.environ.get("CI"), reason
        return True
    return backend in FIXED_POOLS and reason.startswith("threads:")


def test_algorithms_are_parameters():
    assert layers.ALGOS == ("im2col", "winograd", "winograd4", "auto")
    assert layers.Conv.params[1] == layers.ALGOS
    assert set(layers.Conv.params[2]) == {*c.BACKENDS, c.LAYER_PEER}
    # the report decodes the tracked index with the spec's order; the unit spells it out
    names = specs.Conv2D(filters=1, algo="auto").algos()
    assert layers.ConvAutoChoice.unit == "index: " + ", ".join(
        f"{i} {n}" for i, n in enumerate(names))


@pytest.mark.parametrize("backend", [*c.BACKENDS, c.LAYER_PEER])
@pytest.mark.parametrize("algo", NEW_ALGOS)
@pytest.mark.parametrize("case", layers.CONV)
def test_new_combination_builds_or_skips_with_its_reason(case, algo, backend, tiny):
    bench = layers.Conv()
    args = (case, algo, backend, 1)
    reason = _setup(bench, *args)
    try:
        if _may_be_missing(backend, reason):
            pytest.skip(reason)
        want = expected_skip(case, algo, backend)
        if want is not None:
            assert reason is not None and reason.startswith(want), reason
            return
        assert reason is None, reason
        bench.time_forward(*args)
        if backend == c.LAYER_PEER:
            return  # the peer runs TensorFlow's one Conv2D op for every algorithm
        chosen = bench.layer.algo_for(bench.x)
        if algo == "auto":
            assert chosen in ("im2col", "winograd", "winograd4")
        else:
            assert chosen == algo
    finally:
        bench.teardown(*args)


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_auto_chooses_in_setup_in_the_bench_cache(backend, tiny, monkeypatch):
    user_file = Path(os.environ[autotune.ENV])
    bench = layers.Conv()
    args = ("edsr_small", "auto", backend, 1)
    reason = _setup(bench, *args)
    if _may_be_missing(backend, reason):
        pytest.skip(reason)
    assert reason is None, reason
    try:
        # setup left the environment as it found it
        assert os.environ[autotune.ENV] == str(user_file)
        bench_file = user_file.with_name(c.AUTOTUNE_FILE)
        stored = json.loads(bench_file.read_text())
        key = autotune.cache_key(backend, bench.layer.spec, bench.x.shape, np.float32, 1)
        assert stored[key] == bench.layer.algo_for(bench.x)
        assert not user_file.exists(), "the benchmark wrote into the user's cache"

        # the timed call is the steady state: it measures nothing
        def refuse(*_a, **_k):
            raise AssertionError("auto measured inside the timed call")

        monkeypatch.setattr(autotune, "measure", refuse)
        bench.time_forward(*args)
        # a second process (asv re-runs setup per sample, a later run starts afresh)
        # reads the same choice from the benchmarks' file
        autotune.forget()
        again = layers.Conv()
        assert _setup(again, *args) is None
        assert again.layer.algo_for(again.x) == stored[key]
        again.teardown(*args)

        track = layers.ConvAutoChoice()
        assert _setup(track, "edsr_small", backend, 1) is None
        index = track.track_choice("edsr_small", backend, 1)
        track.teardown("edsr_small", backend, 1)
        assert specs.Conv2D(filters=1, algo="auto").algos()[index] == stored[key]
    finally:
        bench.teardown(*args)


@pytest.mark.parametrize("backend", c.BACKENDS)
@pytest.mark.parametrize("case", ["edsr_small", "thesis_conv_s2"])
def test_auto_choice_skips_where_conv_auto_skips(case, backend, tiny):
    track = layers.ConvAutoChoice()
    reason = _setup(track, case, backend, 1)
    try:
        if _may_be_missing(backend, reason):
            pytest.skip(reason)
        want = expected_skip(case, "auto", backend)
        if want is not None:
            assert reason is not None and reason.startswith(want), reason
        else:
            assert reason is None, reason
            assert track.track_choice(case, backend, 1) in (0, 1, 2)
    finally:
        track.teardown(case, backend, 1)
