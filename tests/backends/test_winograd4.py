"""Winograd F(4x4, 3x3) beyond the catalogue's small shapes, on every backend that has it.

The catalogue cases fit in one block of tiles and one run of channels; here 144 tiles (several
blocks, the last one partial, in both compiled backends) and C, F above the 64-channel runs of
the transforms (remainders on both sides), with each fused epilogue.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends.registry import get_backend
from backends.testing import tolerance

# numpy is the reference; TensorFlow's thread pools are fixed per process (its winograd4 is
# the exact convolution, checked through the catalogue)
EXCLUDE_BACKENDS = ("numpy", "tensorflow")


@pytest.mark.parametrize("bias, relu, residual", [(True, True, False), (False, False, True),
                                                  (True, False, True)])
def test_winograd4_blocks_channel_runs_and_epilogues(backend, dtype, bias, relu, residual):
    """Within the winograd tier of the float64 reference, bitwise equal at 1 and 2 threads."""
    from backends.numpy_ref import conv as ref

    be = get_backend(backend)
    forward = be.kernel("conv", "winograd4_forward")  # NotSupportedError -> skip (conftest)
    rng = np.random.default_rng(13)
    x, w = rng.uniform(-1, 1, (2, 30, 33, 70)), rng.uniform(-1, 1, (3, 3, 70, 66))
    b = rng.uniform(-1, 1, 66) if bias else None
    res = rng.uniform(-1, 1, (2, 30, 33, 66)) if residual else None
    want = ref.conv2d_forward(x, w, b, stride=(1, 1), pads=(1, 1, 1, 1))
    if relu:
        want = np.maximum(want, 0)
    if residual:
        want = 0.5 * want + res
    cast = [None if a is None else a.astype(dtype) for a in (x, w, b, res)]
    ep = {"relu": relu, "residual": cast[3], "alpha": 0.5} if residual else {"relu": relu}
    runs = []
    for threads in (1, 2):
        with be.threads(threads):
            runs.append(forward(cast[0], cast[1], cast[2], pads=(1, 1, 1, 1), **ep))
    assert runs[0].tobytes() == runs[1].tobytes()
    rtol = tolerance("winograd", dtype, 9 * 70)
    err = np.abs(runs[0] - want)
    assert np.all(err <= rtol * (np.max(np.abs(want)) + np.abs(want))), (
        f"max |err| {err.max():.3g} over the winograd budget (rtol {rtol:.3g})")


def test_winograd4_filter_has_the_reference_bits(backend, dtype):
    """The compiled ``U = G g G^T`` equals :func:`backends.winograd.filter_transform` bit for
    bit, at 1 and 2 threads: weights over 40 binary orders of magnitude (so some sums round,
    and their order matters) and multiples of 1/6's denominators (ties in float32, which an
    FMA or another order rounds the other way)."""
    from backends import winograd

    transform = get_backend(backend).kernel("conv", "winograd4_filter")
    rng = np.random.default_rng(4)
    shape = (3, 3, 67, 70)
    w = rng.standard_normal(shape) * np.exp2(rng.integers(-30, 10, shape))
    w[..., :5] = rng.integers(-2**20, 2**20, (3, 3, 67, 5)) * 3.0 * 2.0**-20
    w = w.astype(dtype)
    want = winograd.filter_transform(w, 4)
    for threads in (1, 2):
        with get_backend(backend).threads(threads):
            got = transform(w)
        assert got.dtype == want.dtype and got.shape == want.shape
        diff = np.flatnonzero(got.view(np.uint8) != want.view(np.uint8))
        assert diff.size == 0, f"{diff.size} bytes differ at {threads} threads"
