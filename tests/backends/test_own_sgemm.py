"""The float32 GEMM kernels of the Cython backend (the Winograd products): each ISA variant
(AVX-512, AVX2 + FMA, scalar) gives the same bits, equal to the float64 product within the
reduction tier, and a Winograd F(4x4) convolution has the same bits whichever variant runs
it, at 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest

from backends.testing.tolerances import tolerance

_conv = pytest.importorskip("backends.cython_omp._conv",
                            reason="the Cython extension is not built here")


def _variants():
    """The variants this CPU can run (the scalar one always)."""
    best = _conv.sgemm_isa()
    order = ["avx512", "avx2", "scalar"]
    return order[order.index(best):] if best in order else ["scalar"]


@pytest.fixture
def isa():
    """Restore the CPU's own choice after a test that forces a variant."""
    yield _conv.sgemm_isa
    _conv.sgemm_isa("auto")


SHAPES = [(112, 64, 64), (113, 3, 64), (50, 37, 19), (7, 100, 5), (1, 1, 1), (13, 200, 33)]


@pytest.mark.parametrize("m, n, k", SHAPES)
def test_every_variant_has_the_same_bits_and_the_float64_product(isa, m, n, k):
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    want = a.astype(np.float64) @ b.astype(np.float64)
    got = {}
    for name in _variants():
        isa(name)
        c = np.full((m, n), np.nan, np.float32)
        _conv.own_sgemm(a, b, c)
        got[name] = c
    first = got["scalar"]
    for name, c in got.items():
        assert c.tobytes() == first.tobytes(), f"{name} differs from the scalar variant"
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    assert np.all(np.abs(first - want) <= tolerance("reduction", np.float32, k) * scale)


def test_bad_shapes_and_names_are_refused(isa):
    a, b = np.zeros((3, 4), np.float32), np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match="do not make c = a b"):
        _conv.own_sgemm(a, b, np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="isa must be one of"):
        isa("sse9")


def test_winograd4_convolution_has_the_same_bits_on_every_variant(isa):
    """The fused F(4x4) convolution (several chunks, channels not multiples of the vector
    width) through each variant and each thread count: one set of bits; through OpenBLAS
    (``"blas"``) within the winograd tier of that."""
    from backends.registry import get_backend

    be = get_backend("cython")
    forward = be.kernel("conv", "winograd4_forward")
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (1, 41, 57, 35)).astype(np.float32)
    w = rng.uniform(-1, 1, (3, 3, 35, 70)).astype(np.float32)
    b = rng.uniform(-1, 1, 70).astype(np.float32)
    runs = {}
    for name in [*_variants(), "blas"]:
        isa(name)
        for threads in (1, 2):
            with be.threads(threads):
                runs[name, threads] = forward(x, w, b, pads=(1, 1, 1, 1), relu=True)
    ours = {k: v for k, v in runs.items() if k[0] != "blas"}
    first = runs["scalar", 1]
    for key, y in ours.items():
        assert y.tobytes() == first.tobytes(), f"{key} differs from the scalar variant"
    assert runs["blas", 1].tobytes() == runs["blas", 2].tobytes()
    rtol = tolerance("winograd", np.float32, 9 * 35)
    err = np.abs(runs["blas", 1] - first)
    assert err.max() <= rtol * np.abs(first).max(), err.max()


def test_im2col_convolution_has_the_same_bits_on_every_variant(isa):
    """A 5x5 stride-2 convolution (im2col products, K = 25 C) and a dense layer: one set of
    bits whichever variant runs their products."""
    from backends.registry import get_backend

    be = get_backend("cython")
    conv = be.kernel("conv", "conv2d_forward")
    dense = be.kernel("dense", "dense_forward")
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (2, 23, 19, 7)).astype(np.float32)
    w = rng.uniform(-1, 1, (5, 5, 7, 37)).astype(np.float32)
    xd = rng.uniform(-1, 1, (9, 130)).astype(np.float32)
    wd = rng.uniform(-1, 1, (130, 21)).astype(np.float32)
    runs = {}
    for name in _variants():
        isa(name)
        runs[name] = (conv(x, w, None, stride=(2, 2), pads=(2, 2, 2, 2)).tobytes(),
                      dense(xd, wd, None).tobytes())
    assert len(set(runs.values())) == 1, f"variants differ: {sorted(runs)}"
