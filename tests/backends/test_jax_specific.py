"""JAX/XLA-backend specifics: what it lacks on purpose, the thread knob (fixed when XLA starts),
x64 mode, the max-pool tie rule, and rerun determinism (XLA's results depend on its thread
count: see ``tests/backends/test_determinism.py``).

The whole catalogue against numpy_ref, the contracts and the fuzz are the generic tests in this
folder (``pytest tests/backends -k jax``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import backends
from backends import specs
from backends.errors import NotSupportedError
from backends.testing import CASES, PRESETS, run_case, tolerance
from backends.testing.fresh import fresh_python

pytestmark = pytest.mark.jax
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def jx():
    """The JAX backend; failing to import it fails CI and skips elsewhere."""
    try:
        return backends.get_backend("jax")
    except ImportError as err:
        if IN_CI:
            pytest.fail(f"CI must run the jax backend: {err}", pytrace=False)
        pytest.skip(f"jax backend unavailable: {err}")


# what the package docstring says it leaves out, kernel by kernel
MISSING = {
    "conv": ("winograd_filter", "winograd_forward", "winograd4_filter", "winograd4_forward"),
    "norm": ("batchnorm_statistics", "batchnorm_forward", "batchnorm_backward"),
    "loss": ("loss_forward", "loss_backward"),
    "upsample": ("upsample_forward", "upsample_backward"),
}


@pytest.mark.parametrize(("module", "function"),
                         [(m, f) for m, fs in MISSING.items() for f in fs])
def test_missing_kernels_raise_not_supported(jx, module, function):
    with pytest.raises(NotSupportedError, match=rf"'jax' has no kernel {module}\.{function}"):
        jx.kernel(module, function)


@pytest.mark.parametrize("module", ["norm", "loss", "upsample"])
def test_missing_modules_raise_not_supported(jx, module):
    with pytest.raises(NotSupportedError, match=rf"'jax' has no kernel module {module}"):
        jx.kernels(module)


@pytest.mark.parametrize("spec", [specs.BatchNorm(), specs.Upsample(scale=2),
                                  specs.Conv2D(filters=2, algo="winograd")], ids=str)
def test_layers_needing_missing_kernels_fail_at_build(jx, spec):
    with pytest.raises(NotSupportedError, match="'jax' has no kernel"):
        backends.build(spec, input_shape=(1, 4, 4, 2), backend="jax")


def test_x64_is_on_and_float64_stays_float64(jx):
    import jax

    assert jax.config.jax_enable_x64
    x = np.linspace(-1, 1, 24).reshape(1, 2, 3, 4)
    y = jx.kernels("activation").activation_forward(x, kind="tanh")
    assert y.dtype == np.float64
    # float64 budget (~2e-15); float32 math would be off by ~1e-8
    np.testing.assert_allclose(y, np.tanh(x), rtol=0, atol=tolerance("elementwise", np.float64))
    assert jx.info()["x64"] is True


def test_outputs_are_new_writable_arrays_and_inputs_unchanged(jx):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    y = jx.kernels("conv").conv2d_forward(x, w, None, stride=(1, 1), pads=(1, 1, 1, 1))
    assert y.flags.writeable and y.flags.c_contiguous and y.dtype == np.float32
    y += 1  # a caller may update an output in place
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_maxpool_ties_go_to_the_first_maximum_like_the_reference(jx):
    from backends.numpy_ref import pool as ref

    x = np.zeros((2, 5, 6, 3), np.float32)  # all ties, plus some repeated maxima
    x[0, 1:3, 1:3, 0] = 1.0
    x[1, ::2, ::3, 2] = 2.0
    for size, stride, pads in (((3, 3), (1, 1), (1, 1, 1, 1)), ((2, 2), (2, 2), (0, 0, 0, 0)),
                               ((3, 2), (2, 1), (0, 1, 1, 0))):
        y, arg = jx.kernels("pool").maxpool_forward(x, size=size, stride=stride, pads=pads)
        y0, arg0 = ref.maxpool_forward(x, size=size, stride=stride, pads=pads)
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(arg, arg0)
        assert arg.dtype == np.int64


DET_CASES = [*(c for c in CASES if getattr(c.spec, "algo", "") != "auto"),
             *(c for n, c in PRESETS.items() if n.startswith("tiny_"))]


@pytest.mark.parametrize("case", DET_CASES, ids=[c.name for c in DET_CASES])
def test_reruns_are_bitwise_identical(jx, case):
    """At the running thread count, a second run gives the same bits (threads=1 vs 2 cannot
    be compared in one process, and differ: see test_determinism.THREAD_DEPENDENT)."""
    try:
        one = run_case(case, "jax", np.float32)
    except NotSupportedError as err:
        pytest.skip(f"jax does not support {case.name}: {err}")
    two = run_case(case, "jax", np.float32)
    assert one.keys() == two.keys()
    for k in one:
        assert one[k].tobytes() == two[k].tobytes(), f"{case.name} {k}: reruns differ"


def test_threads_after_start_raise_with_the_running_count(jx):
    jx.kernels("shortcut").shortcut_forward(np.ones(2), np.ones(2), alpha=1.0, beta=1.0)
    running = jx.num_threads()
    with jx.threads(running):  # the running count is always accepted
        pass
    with pytest.raises(NotSupportedError, match=rf"already runs with {running}.*before any"):
        with jx.threads(running + 1):
            pass
    assert jx.num_threads() == running


def _python(code: str, env: dict | None = None):
    return fresh_python(code, env, drop=("LAYERBENCH_JAX_THREADS",))


# Work of a convolution forward + backward split by thread: CPU time per thread from /proc,
# so the count is the same on a loaded machine (only the wall time changes).
_BUSY_THREADS = """
    import os
    import numpy as np
    from backends.jax_xla import BACKEND

    def cpu():
        out = {}
        for t in os.listdir("/proc/self/task"):
            f = open(f"/proc/self/task/{t}/stat").read().rsplit(")", 1)[1].split()
            out[t] = int(f[11]) + int(f[12])
        return out

    k = BACKEND.kernels("conv")
    x = np.ones((1, 128, 128, 64), np.float32)
    w = np.ones((3, 3, 64, 64), np.float32)
    k.conv2d_backward(x, w, x, stride=(1, 1), pads=(1, 1, 1, 1))  # compile and warm up
    before = cpu()
    for _ in range(16):
        k.conv2d_backward(x, w, x, stride=(1, 1), pads=(1, 1, 1, 1))
    after = cpu()
    used = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)
    # a thread is busy when it did at least a quarter of the busiest one's work: XLA's
    # dispatching thread takes a few 10 ms ticks beside a single worker, while two workers
    # splitting the work are within a factor of two of each other
    busy = [u for u in used if u >= 0.25 * used[0]]
    print("threads", BACKEND.num_threads(), "busy", len(busy), "ticks", used[:4])
"""


def test_one_thread_runs_the_work_on_one_thread(jx):
    proc = _python(_BUSY_THREADS, env={"LAYERBENCH_JAX_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "threads 1 busy 1 " in proc.stdout, proc.stdout


def test_default_threads_split_the_work(jx):
    from backends.jax_xla._xla import cores

    if cores() < 2:
        pytest.skip("one CPU: nothing to split")
    proc = _python(_BUSY_THREADS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    busy = int(proc.stdout.split("busy ")[1].split()[0])
    assert proc.stdout.startswith(f"threads {cores()} ") and busy >= 2, proc.stdout


def test_threads_before_start_and_the_one_shot_rule():
    proc = _python("""
        import numpy as np
        from backends.errors import NotSupportedError
        from backends.jax_xla import BACKEND
        from backends.jax_xla._xla import cores
        try:
            with BACKEND.threads(cores() + 1):
                pass
        except NotSupportedError as err:
            print("above:", err)
        with BACKEND.threads(1):
            assert BACKEND.num_threads() == 1
        assert BACKEND.num_threads() == cores()  # nothing ran: the previous count comes back
        with BACKEND.threads(1):
            BACKEND.kernels("shortcut").shortcut_forward(np.ones(2), np.ones(2), alpha=1.0,
                                                         beta=1.0)  # starts XLA, for good
        assert BACKEND.num_threads() == 1 and BACKEND.info()["runtime_started"]
        try:
            with BACKEND.threads(2):
                pass
        except NotSupportedError as err:
            print("after:", err)
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "above: threads: expected at most" in proc.stdout
    assert "after: threads: expected 1 (XLA already runs with 1 threads" in proc.stdout


@pytest.mark.parametrize("raw", ["two", "0", "-1"])
def test_threads_environment_variable_is_validated(jx, raw, monkeypatch):
    from backends.jax_xla import _xla

    monkeypatch.setenv(_xla.THREADS_ENV, raw)
    with pytest.raises(ValueError, match=f"LAYERBENCH_JAX_THREADS: expected an integer >= 1, "
                                         f"received '{raw}'"):
        _xla.threads_from_env()
