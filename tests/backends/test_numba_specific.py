"""Numba-backend specifics: import rule, thread knob, validation before jitted code, warm-up,
and a quick kernel-level equality check against numpy_ref (float64) per kernel function.

The whole catalogue, bitwise thread determinism and the fuzz are the generic tests in this
folder (``pytest tests/backends -k numba``).
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from backends.errors import DTypeError, LayoutError, ShapeError, SpecError
from backends.protocol import KERNEL_MODULES, iter_kernel_functions
from backends.registry import get_backend
from backends.testing import tolerance

pytestmark = pytest.mark.numba
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def nb():
    """The Numba backend; failing to import it fails CI and skips elsewhere."""
    try:
        return get_backend("numba")
    except ImportError as err:
        if IN_CI:
            pytest.fail(f"CI must run the numba backend: {err}", pytrace=False)
        pytest.skip(f"numba backend unavailable: {err}")


def _kernels(nb, module):
    return nb.kernels(module)


def test_backend_imports_and_reports_provenance(nb):
    import numba

    info = nb.info()
    assert info["backend"] == "numba"
    assert info["numba"] == numba.__version__
    assert info["NUMBA_NUM_THREADS"] == numba.config.NUMBA_NUM_THREADS
    assert {"threading_layer", "cache_dir", "blas"} <= info.keys()
    for module in KERNEL_MODULES:  # every kernel module loads
        assert list(iter_kernel_functions(nb.kernels(module)))


def test_threads_knob_sets_numba_and_restores(nb):
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("NUMBA_NUM_THREADS < 2: the pool cannot hold 2 threads")
    before = numba.get_num_threads()
    with nb.threads(2):
        assert numba.get_num_threads() == 2
        assert nb.num_threads() == 2
    with nb.threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_too_many_threads_is_a_clear_error(nb):
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    before = numba.get_num_threads()
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS"), nb.threads(limit + 1):
        pass
    assert numba.get_num_threads() == before


def _f(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


BAD_CALLS = {
    "integer dtype": (DTypeError, "conv", "conv2d_forward",
                      lambda: ((np.ones((1, 4, 4, 2), np.int64), _f(3, 3, 2, 2), None),
                               dict(stride=(1, 1), pads=(1, 1, 1, 1)))),
    "mixed dtypes": (DTypeError, "conv", "conv2d_forward",
                     lambda: ((_f(1, 4, 4, 2, dtype=np.float32), _f(3, 3, 2, 2), None),
                              dict(stride=(1, 1), pads=(1, 1, 1, 1)))),
    "not contiguous": (LayoutError, "activation", "activation_forward",
                       lambda: ((_f(1, 4, 8, 2)[:, :, ::2],), dict(kind="relu"))),
    "wrong rank": (ShapeError, "pool", "maxpool_forward",
                   lambda: ((_f(4, 4, 2),), dict(size=(2, 2), stride=(2, 2),
                                                 pads=(0, 0, 0, 0)))),
    "channel mismatch": (ShapeError, "conv", "conv2d_backward",
                         lambda: ((_f(1, 4, 4, 3), _f(3, 3, 2, 2), _f(1, 4, 4, 2)),
                                  dict(stride=(1, 1), pads=(1, 1, 1, 1)))),
    "winograd 5x5": (ShapeError, "conv", "winograd_forward",
                     lambda: ((_f(1, 6, 6, 2), _f(5, 5, 2, 2), None),
                              dict(pads=(2, 2, 2, 2)))),
    "winograd4 5x5": (ShapeError, "conv", "winograd4_forward",
                      lambda: ((_f(1, 6, 6, 2), _f(5, 5, 2, 2), None),
                               dict(pads=(2, 2, 2, 2)))),
    "unknown activation": (SpecError, "activation", "activation_forward",
                           lambda: ((_f(2, 3),), dict(kind="swish"))),
    "shuffle channels": (ShapeError, "shuffle", "pixel_shuffle",
                         lambda: ((_f(1, 2, 2, 6),), dict(scale=2, order="dcr"))),
    "argmax out of range": (ShapeError, "pool", "maxpool_backward",
                            lambda: ((_f(1, 2, 2, 1), np.full((1, 2, 2, 1), 99, np.int64)),
                                     dict(x_shape=(1, 2, 2, 1)))),
    "bad stride": (SpecError, "conv", "conv2d_forward",
                   lambda: ((_f(1, 4, 4, 2), _f(3, 3, 2, 2), None),
                            dict(stride=(0, 1), pads=(1, 1, 1, 1)))),
}


def _dispatchers(module):
    from numba.core.registry import CPUDispatcher

    return {n: d for n, d in vars(module).items() if isinstance(d, CPUDispatcher)}


@pytest.mark.parametrize("what", list(BAD_CALLS))
def test_bad_input_raises_named_error_before_jitted_code(nb, what):
    error, module, fn, make = BAD_CALLS[what]
    kernels = nb.kernels(module)
    args, kwargs = make()
    before = {n: len(d.overloads) for n, d in _dispatchers(kernels).items()}
    with pytest.raises(error, match=r"expected .*received"):
        getattr(kernels, fn)(*args, **kwargs)
    after = {n: len(d.overloads) for n, d in _dispatchers(kernels).items()}
    # no jitted function got a new compiled signature for the bad arguments (argmax range
    # check is itself a jitted pass, which may compile for a valid dtype)
    if what != "argmax out of range":
        assert after == before


def test_warmup_returns_compile_seconds(nb):
    warmup = importlib.import_module("backends.numba_jit").warmup
    times = warmup(dtypes=(np.float32,), modules=("shortcut", "optim"))
    expected = {f"{m}.{f}[float32]" for m in ("shortcut", "optim")
                for f in iter_kernel_functions(nb.kernels(m))}
    assert set(times) == expected
    assert all(isinstance(t, float) and t > 0 for t in times.values())
    with pytest.raises(ValueError, match="modules"):
        warmup(modules=("nope",))
    with pytest.raises(DTypeError):
        warmup(dtypes=(np.int32,))


def test_warmup_covers_every_kernel_function(nb):
    from backends.numba_jit._warmup import _calls

    makers = _calls(np.dtype(np.float64))
    for module in KERNEL_MODULES:
        assert set(makers[module]()) == set(iter_kernel_functions(nb.kernels(module)))


# --- one small call per kernel function, numba vs numpy_ref, float64 -----------------------

def _quick_calls():
    x, w, b, dy = _f(2, 5, 6, 3, seed=1), _f(3, 3, 3, 4, seed=2), _f(4, seed=3), _f(2, 5, 6, 4)
    pk = dict(size=(3, 3), stride=(2, 1), pads=(1, 1, 1, 1))
    y_pool = _f(2, 3, 6, 3, seed=4)
    arg = importlib.import_module("backends.numpy_ref.pool").maxpool_forward(x, **pk)[1]
    g, mean, var = _f(3, seed=5), _f(3, seed=6), np.abs(_f(3, seed=7)) + 0.5
    x2, w2, d2 = _f(3, 7, seed=8), _f(7, 4, seed=9), _f(3, 4, seed=10)
    p = _f(6, seed=11)
    return [
        ("conv", "conv2d_forward", (x, w, b), dict(stride=(2, 1), pads=(1, 1, 0, 2))),
        ("conv", "conv2d_backward", (x, w, _f(2, 3, 6, 4)), dict(stride=(2, 1),
                                                                 pads=(1, 1, 0, 2))),
        ("conv", "winograd_forward", (x, w, b), dict(pads=(1, 1, 1, 1))),
        ("conv", "winograd4_forward", (x, w, b), dict(pads=(1, 1, 1, 1))),
        ("conv", "winograd4_filter", (w,), {}),
        ("pool", "maxpool_forward", (x,), pk),
        ("pool", "maxpool_backward", (y_pool, arg), dict(x_shape=x.shape)),
        ("pool", "avgpool_forward", (x,), pk),
        ("pool", "avgpool_backward", (y_pool,), dict(x_shape=x.shape, **pk)),
        ("shuffle", "pixel_shuffle", (_f(1, 2, 3, 12),), dict(scale=2, order="crd")),
        ("shuffle", "pixel_unshuffle", (_f(1, 4, 6, 3),), dict(scale=2, order="dcr")),
        ("norm", "batchnorm_statistics", (x,), {}),
        ("norm", "batchnorm_forward", (x, g, mean, mean, var), dict(epsilon=1e-3)),
        ("norm", "batchnorm_backward", (x, x * 0.5, g, mean, var),
         dict(epsilon=1e-3, training=True)),
        ("activation", "activation_forward", (x,), dict(kind="selu")),
        ("activation", "activation_backward", (x, dy[..., :3].copy()), dict(kind="softplus")),
        ("dense", "dense_forward", (x2, w2, None), {}),
        ("dense", "dense_backward", (x2, w2, d2), {}),
        ("shortcut", "shortcut_forward", (x, x * 2), dict(alpha=0.1, beta=1.0)),
        ("shortcut", "shortcut_backward", (x,), dict(alpha=0.1, beta=-2.0)),
        ("upsample", "upsample_forward", (x,), dict(scale=2)),
        ("upsample", "upsample_backward", (_f(1, 4, 6, 3),), dict(scale=2)),
        ("loss", "loss_forward", (x, x * 0.3), dict(kind="smooth_l1", delta=0.5)),
        ("loss", "loss_backward", (x, x * 0.3), dict(kind="mae", delta=1.0)),
        ("optim", "sgd_step", (p, p * 0.5), dict(lr=0.1)),
        ("optim", "momentum_step", (p, p * 0.5, p * 0.1),
         dict(lr=0.1, momentum=0.9, nesterov=True)),
        ("optim", "adam_step", (p, p * 0.5, p * 0.1, p * p),
         dict(lr=0.1, beta1=0.9, beta2=0.999, epsilon=1e-7, step=3)),
    ]


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


@pytest.mark.parametrize("call", _quick_calls(), ids=lambda c: f"{c[0]}.{c[1]}")
def test_quick_equality_with_reference(nb, call):
    module, fn, args, kwargs = call
    ref_args, nb_args = [_copy(a) for a in args], [_copy(a) for a in args]
    ref = getattr(importlib.import_module(f"backends.numpy_ref.{module}"), fn)(*ref_args,
                                                                               **kwargs)
    out = getattr(nb.kernels(module), fn)(*nb_args, **kwargs)
    if module == "optim":  # in place: compare the updated arrays
        ref, out = ref_args, nb_args
    ref = ref if isinstance(ref, tuple | list) else (ref,)
    out = out if isinstance(out, tuple | list) else (out,)
    # every reduction here is shorter than the largest input: a safe reduction length
    k = max(np.size(a) for a in args)
    for r, o in zip(ref, out, strict=True):
        r, o = np.asarray(r), np.asarray(o)
        assert o.shape == r.shape and o.dtype == r.dtype
        rtol = tolerance("reduction", np.float64, k)
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        np.testing.assert_allclose(o, r, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"numba {module}.{fn} vs numpy_ref (float64)")


@pytest.mark.parametrize("n", [1, 3])
def test_maxpool_backward_paths_are_bitwise_equal(nb, n):
    """One task per image and tasks over dx row bands sum each cell in output order, so the
    two paths (chosen by batch vs thread count) give the same bits, ties and overlaps
    included; both equal ``np.add.at`` (the reference's scatter) exactly."""
    from backends.numba_jit import pool

    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, 70, 9, 2)).astype(np.float32)
    x[:, 10:14, :, :] = 1.0  # ties: many outputs point at the same cell
    _, arg = pool.maxpool_forward(x, size=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1))
    dy = rng.standard_normal(arg.shape).astype(np.float32)
    by_image, by_band = np.zeros((2, *x.shape), np.float32)
    ok = pool._max_backward_images(dy, arg, by_image)
    lo, hi, ok2 = pool._arg_rows(arg, 70, 9, 2)
    pool._max_backward_bands(dy, arg, lo, hi, by_band)
    ref = np.zeros(x.size, np.float32)
    np.add.at(ref, arg.reshape(-1), dy.reshape(-1))
    assert ok and ok2
    assert np.array_equal(by_image, by_band)
    assert np.array_equal(by_image.reshape(-1), ref)


def test_maxpool_backward_rejects_index_of_another_image(nb):
    from backends.numba_jit import pool

    x = np.random.default_rng(6).standard_normal((2, 6, 6, 1)).astype(np.float32)
    _, arg = pool.maxpool_forward(x, size=(2, 2), stride=(2, 2), pads=(0, 0, 0, 0))
    arg[1, 0, 0, 0] = 0  # a cell of image 0
    with pytest.raises(ShapeError, match="argmax"):
        pool.maxpool_backward(np.ones_like(arg, np.float32), arg, x_shape=x.shape)


@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 0, 0, 0), (2, 0, 1, 2)])
def test_conv_backward_stride1_path_matches_reference_and_threads(nb, pads):
    """The stride-1 backward (dx as a forward convolution with the flipped kernel, dW from a
    fixed number of partial sums), asymmetric pads included: within the reduction budget of
    the float64 reference, and bitwise equal at 1 and 2 threads."""
    import numba

    from backends.numba_jit import conv
    from backends.numpy_ref import conv as ref_conv

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 40, 13, 5)).astype(np.float32)
    w = rng.standard_normal((3, 3, 5, 6)).astype(np.float32)
    ho, wo = 40 + pads[0] + pads[1] - 2, 13 + pads[2] + pads[3] - 2
    dy = rng.standard_normal((2, ho, wo, 6)).astype(np.float32)
    ref = ref_conv.conv2d_backward(x.astype(np.float64), w.astype(np.float64),
                                   dy.astype(np.float64), stride=(1, 1), pads=pads)
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        with nb.threads(threads):
            runs.append(conv.conv2d_backward(x, w, dy, stride=(1, 1), pads=pads))
    for a, b in zip(*runs, strict=True):
        assert np.array_equal(a, b)
    for got, want, k in zip(runs[0], ref, (3 * 3 * 6, 2 * ho * wo, 2 * ho * wo), strict=True):
        rtol = tolerance("reduction", np.float32, k)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())



def test_winograd4_block_size_is_from_shapes():
    """Tiles per block from C and F only (tests/backends/test_winograd4.py runs 144 tiles in
    blocks of 112 for C=70, F=66)."""
    from backends.numba_jit._winograd4 import block_tiles

    assert block_tiles(70, 66, 144) == 112
    assert block_tiles(64, 64, 10880) == 112 and block_tiles(256, 256, 10880) == 224
    assert block_tiles(3, 4, 5) == 5
