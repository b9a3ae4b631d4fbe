"""Bitwise determinism of the CPU backends: threads=1 vs threads=2, and run to run.

Parallel kernels split independent outputs, never a reduction, so any
thread count gives the same bits. TensorFlow is left out: its thread pools are fixed once
its runtime starts (``backends/tf_oracle``), and it is the oracle, not a subject.
The catalogue shapes are tiny, so the CI-sized presets are added: they are large enough for
the parallel loops (and OpenBLAS) to actually split work.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from backends.errors import NotSupportedError
from backends.registry import get_backend
from backends.testing import CASES, PRESETS, blas, run_case

EXCLUDE_BACKENDS = ("tensorflow",)
# Backends whose bits depend on the thread count, with the measurement that showed it. Their
# reruns at one count are compared bitwise in their own test file.
THREAD_DEPENDENT = {
    "jax": "XLA's results depend on its thread count: measured (jax 0.10.2, 2 cores, the "
           "cases below in processes started at 1 and at 2 threads) tiny_thesis_conv_s1 "
           "float32 dx and the bias gradient of a 1x128x128x64 3x3 conv (float32 and "
           "float64) differ in the last bits (XLA splits those reductions by thread); runs at "
           "one count are identical (tests/backends/test_jax_specific.py). Its pool is also "
           "fixed per process, so 1 and 2 threads cannot both run here.",
}


@functools.cache
def _blas_threads_change_bits() -> str | None:
    """Why this machine's BLAS (which the numpy reference threads with its knob) gives other
    bits at 2 threads than at 1 for a conv-sized GEMM, or None when it does not. The Intel
    AVX-512 VM's OpenBLAS (SkylakeX kernels) passed this test on every case; the AMD EPYC
    VM's (Haswell kernels on Zen 3) splits a (4096, 576) x (576, 64) float32 product
    between its threads with other rounding (tiny_edsr_body's y differed by 5.7e-6)."""
    why = blas.threads_change_bits()
    return why and (f"{why}: the numpy reference's GEMM layers cannot be bitwise across its "
                    f"thread knob here")


# algo="auto" is left out: it may pick another algorithm for another thread count by design
# (the choice is keyed by thread count); each algorithm it can pick is a case here itself.
DET_CASES = [*(c for c in CASES if getattr(c.spec, "algo", "") != "auto"),
             *(c for n, c in PRESETS.items() if n.startswith("tiny_"))]


def _run(case, backend, dtype, threads):
    with get_backend(backend).threads(threads):
        return run_case(case, backend, dtype)


def _assert_bitwise(a: dict, b: dict, what: str, case) -> None:
    assert a.keys() == b.keys(), f"{case.name}: tensors differ between {what}"
    for k in a:
        same = a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        assert same and a[k].tobytes() == b[k].tobytes(), (
            f"case {case.name!r} tensor {k!r}: not bitwise identical between {what}; "
            f"max |diff| {np.max(np.abs(a[k].astype(float) - b[k].astype(float))):.3g}"
        )


@pytest.mark.parametrize("case", DET_CASES, ids=[c.name for c in DET_CASES])
def test_threads_and_reruns_are_bitwise_identical(case, backend, dtype):
    if backend in THREAD_DEPENDENT:
        pytest.skip(THREAD_DEPENDENT[backend])
    # the numpy reference multiplies with NumPy's BLAS at the knob's thread count (the
    # compiled backends keep BLAS at one thread and split the work themselves)
    if backend == "numpy" and case.spec.gemm_like and (why := _blas_threads_change_bits()):
        _assert_bitwise(_run(case, backend, dtype, 2), _run(case, backend, dtype, 2),
                        "two runs with threads=2", case)
        pytest.skip(f"{why} (two runs at 2 threads: identical, checked)")
    try:
        one = _run(case, backend, dtype, 1)
    except NotSupportedError as err:
        pytest.skip(f"{backend} does not support {case.name}: {err}")
    two = _run(case, backend, dtype, 2)
    again = _run(case, backend, dtype, 2)
    _assert_bitwise(one, two, "threads=1 and threads=2", case)
    _assert_bitwise(two, again, "two runs with threads=2", case)
