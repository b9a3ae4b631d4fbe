"""What only the Cython + OpenMP backend has to prove: the extension is built with OpenMP,
``threads(n)`` really sets the OpenMP team and the BLAS threads, bad input is rejected by the
Python wrappers before any compiled code runs, every kernel equals numpy_ref on one small
shape (read-only inputs), and the blocked conv paths (several scratch blocks) stay equal
and bitwise thread-independent.

The catalogue, thread determinism and fuzz tests in this folder cover the backend too.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from backends import activations
from backends.errors import DTypeError, LayoutError, ShapeError, SpecError
from backends.protocol import KERNEL_MODULES, iter_kernel_functions
from backends.testing.tolerances import tolerance

IN_CI = bool(os.environ.get("CI"))


def _load():
    try:
        return importlib.import_module("backends.cython_omp")
    except ImportError as err:
        if IN_CI:  # CI must build and test the extension: a missing one is a failure
            pytest.fail(f"backends.cython_omp does not import in CI: {err}")
        pytest.skip(f"Cython extension not built here ({err}); "
                    "run `python setup.py build_ext --inplace`")


@pytest.fixture(scope="module")
def cy():
    return _load()


def test_extension_imports_and_has_openmp(cy):
    from backends.cython_omp import _openmp

    assert _openmp.openmp_enabled(), "extension compiled without -fopenmp (_OPENMP undefined)"
    assert cy.BACKEND.info()["openmp_enabled"] is True
    for name in KERNEL_MODULES:  # every wrapper finds its compiled module
        importlib.import_module(f"backends.cython_omp.{name}")


def test_threads_sets_openmp_team_and_keeps_gemm_blas_single_threaded(cy):
    """threads(n) is the OpenMP team of every kernel; the GEMMs are split over it in fixed
    chunks, each a 1-thread call into SciPy's BLAS (a 2-thread OpenBLAS call changes bits)."""
    from backends.cython_omp import _openmp

    for n in (2, 1):
        with cy.BACKEND.threads(n):
            assert _openmp.max_threads() == n
            info = cy.BACKEND.info()
            assert info["threads"] == n and info["blas_threads"] == 1
            assert any("scipy" in (b["filepath"] or "") for b in info["blas"]), info["blas"]
    with cy.BACKEND.threads(2):
        assert _openmp.parallel_sum_threads() == 2, "OpenMP did not grant 2 threads"


# -- bad input: a named error from the wrapper, the compiled module never reached ----------

class _Tripwire:
    """Stands in for a compiled module: any use means validation let bad input through."""

    def __getattr__(self, name):
        raise AssertionError(f"compiled kernel {name} reached with invalid input")


def _f(shape, dtype=np.float64):
    return np.ones(shape, dtype)


_X = _f((1, 5, 5, 2))
_W = _f((3, 3, 2, 4))
_STRIDED = _f((1, 5, 10, 2))[:, :, ::2]
_GEO = {"stride": (1, 1), "pads": (1, 1, 1, 1)}
_POOL = {"size": (3, 3), "stride": (1, 1), "pads": (1, 1, 1, 1)}

BAD_INPUTS = [
    ("conv", "_conv", "conv2d_forward", (_STRIDED, _W, None), _GEO, LayoutError),
    ("conv", "_conv", "conv2d_forward", (_X.astype(np.float16), _W, None), _GEO, DTypeError),
    ("conv", "_conv", "conv2d_forward", (_X.astype(np.float32), _W, None), _GEO, DTypeError),
    ("conv", "_conv", "conv2d_forward", (_X[0], _W, None), _GEO, ShapeError),
    ("conv", "_conv", "conv2d_forward", (_X, _f((3, 3, 3, 4)), None), _GEO, ShapeError),
    ("conv", "_conv", "conv2d_forward", (_X, _W, _f(5)), _GEO, ShapeError),
    ("conv", "_conv", "conv2d_forward", (_X, _W, None), {"stride": (0, 1), "pads": (0,) * 4},
     SpecError),
    ("conv", "_conv", "conv2d_forward", (_X, _W, None), {"stride": (1, 1), "pads": (-1,) * 4},
     SpecError),
    ("conv", "_conv", "conv2d_forward", (_f((1, 2, 2, 2)), _W, None),
     {"stride": (1, 1), "pads": (0,) * 4}, ShapeError),
    ("conv", "_conv", "conv2d_backward", (_X, _W, _f((1, 4, 5, 4))), _GEO, ShapeError),
    ("conv", "_conv", "winograd_forward", (_X, _f((5, 5, 2, 4)), None), {"pads": (2,) * 4},
     ShapeError),
    ("conv", "_conv", "winograd4_forward", (_X, _f((5, 5, 2, 4)), None), {"pads": (2,) * 4},
     ShapeError),
    ("conv", "_conv", "winograd4_forward", (_X, _W, None),
     {"pads": (1,) * 4, "u": _f((16, 2, 4))}, ShapeError),
    ("conv", "_conv", "conv2d_forward", (_X.tolist(), _W, None), _GEO, TypeError),
    ("pool", "_pool", "maxpool_forward", (_STRIDED,), _POOL, LayoutError),
    ("pool", "_pool", "maxpool_forward", (_X,), {**_POOL, "pads": (3, 3, 3, 3)}, SpecError),
    ("pool", "_pool", "maxpool_backward", (_X, np.zeros((1, 5, 5, 2), np.int32)),
     {"x_shape": (1, 5, 5, 2)}, DTypeError),
    ("pool", "_pool", "maxpool_backward", (_X, np.zeros((1, 5, 4, 2), np.int64)),
     {"x_shape": (1, 5, 5, 2)}, ShapeError),
    ("pool", "_pool", "avgpool_backward", (_f((1, 4, 5, 2)),), {"x_shape": _X.shape, **_POOL},
     ShapeError),
    ("shuffle", "_shuffle", "pixel_shuffle", (_f((1, 2, 2, 6)),), {"scale": 2, "order": "dcr"},
     ShapeError),
    ("shuffle", "_shuffle", "pixel_shuffle", (_f((1, 2, 2, 8)),), {"scale": 2, "order": "xyz"},
     SpecError),
    ("shuffle", "_shuffle", "pixel_unshuffle", (_f((1, 3, 4, 2)),), {"scale": 2, "order": "crd"},
     ShapeError),
    ("norm", "_norm", "batchnorm_forward", (_X, _f(3), _f(2), _f(2), _f(2)), {"epsilon": 1e-3},
     ShapeError),
    ("norm", "_norm", "batchnorm_backward", (_X, _X.astype(np.float32), _f(2), _f(2), _f(2)),
     {"epsilon": 1e-3, "training": True}, DTypeError),
    ("activation", "_ew", "activation_forward", (_X,), {"kind": "swish"}, SpecError),
    ("activation", "_ew", "activation_backward", (_X, _f((1, 5, 5, 3))), {"kind": "relu"},
     ShapeError),
    ("dense", "_conv", "dense_forward", (_f((2, 3)), _f((4, 5)), None), {}, ShapeError),
    ("dense", "_conv", "dense_backward", (_f((2, 3)), _f((3, 5)), _f((2, 4))), {}, ShapeError),
    ("shortcut", "_ew", "shortcut_forward", (_X, _STRIDED), {"alpha": 1.0, "beta": 1.0},
     LayoutError),
    ("shortcut", "_ew", "shortcut_forward", (_X, _X), {"alpha": float("nan"), "beta": 1.0},
     SpecError),
    ("upsample", "_ew", "upsample_backward", (_f((1, 5, 4, 2)),), {"scale": 2}, ShapeError),
    ("loss", "_ew", "loss_forward", (_X, _f((1, 5, 5, 1))), {"kind": "mse", "delta": 1.0},
     ShapeError),
    ("loss", "_ew", "loss_forward", (_X, _X), {"kind": "huber", "delta": 1.0}, SpecError),
    ("optim", "_ew", "sgd_step", (np.ones(3), np.ones(3)), {"lr": -np.inf}, SpecError),
    ("optim", "_ew", "adam_step", (np.ones(3), np.ones(3), np.ones(3), np.ones(4)),
     {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "step": 1}, ShapeError),
]


@pytest.mark.parametrize(
    "module, compiled, fn, args, kwargs, error", BAD_INPUTS,
    ids=[f"{m}.{f}-{e.__name__}-{i}" for i, (m, _, f, _a, _k, e) in enumerate(BAD_INPUTS)],
)
def test_bad_input_raises_named_error_before_compiled_code(
    cy, monkeypatch, module, compiled, fn, args, kwargs, error
):
    mod = importlib.import_module(f"backends.cython_omp.{module}")
    monkeypatch.setattr(mod, compiled, _Tripwire())
    with pytest.raises(error) as info:
        getattr(mod, fn)(*args, **kwargs)
    assert fn in str(info.value), f"message does not name the kernel: {info.value}"


def test_read_only_parameter_is_not_updated_in_place(cy):
    from backends.cython_omp import optim

    p = np.ones(4)
    p.setflags(write=False)
    with pytest.raises(ValueError, match="sgd_step.p"):
        optim.sgd_step(p, np.ones(4), lr=0.1)


def test_maxpool_backward_rejects_foreign_indices(cy):
    from backends.cython_omp import pool

    dy = np.ones((2, 2, 2, 1))
    argmax = np.zeros(dy.shape, np.int64)  # sample 1 pointing into sample 0
    with pytest.raises(ShapeError, match="argmax"):
        pool.maxpool_backward(dy, argmax, x_shape=(2, 2, 2, 1))


# -- every kernel once against numpy_ref, read-only float64 inputs ------------------------

def _ro(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


def _kernel_calls(rng):
    """(module, function, args, kwargs, tier, k) for every public kernel."""
    x = rng.uniform(-1, 1, (2, 7, 6, 3))
    w = rng.uniform(-1, 1, (3, 3, 3, 4))
    b = rng.uniform(-1, 1, 4)
    dy = rng.uniform(-1, 1, (2, 4, 3, 4))
    dyw = rng.uniform(-1, 1, (2, 7, 6, 4))
    xs = rng.uniform(-1, 1, (2, 3, 2, 12))
    g = rng.uniform(0.5, 1.5, 3)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    dx_pool = rng.uniform(-1, 1, (2, 4, 3, 3))
    x2, w2, dy2 = rng.uniform(-1, 1, (3, 5)), rng.uniform(-1, 1, (5, 2)), rng.uniform(-1, 1, (3, 2))
    t = rng.uniform(-1, 1, x.shape)
    _ro(x, w, b, dy, dyw, xs, g, mean, var, dx_pool, x2, w2, dy2, t)
    s2 = {"stride": (2, 2), "pads": (1, 1, 0, 1)}
    pool = {"size": (3, 2), "stride": (2, 2), "pads": (1, 1, 0, 1)}
    calls = [
        ("conv", "conv2d_forward", (x, w, b), s2, "reduction", 27),
        ("conv", "conv2d_backward", (x, w, dy), s2, "reduction", 2 * 4 * 3),
        ("conv", "winograd_forward", (x, w, b), {"pads": (1, 1, 1, 1)}, "winograd", 27),
        ("conv", "winograd4_forward", (x, w, b), {"pads": (1, 1, 1, 1)}, "winograd", 27),
        ("conv", "winograd_filter", (w,), {}, "reduction", 9),
        ("conv", "winograd4_filter", (w,), {}, "reduction", 9),
        ("pool", "maxpool_forward", (x,), pool, "exact", 1),
        ("pool", "avgpool_forward", (x,), pool, "reduction", 6),
        ("pool", "avgpool_backward", (dx_pool,), {"x_shape": x.shape, **pool}, "reduction", 4),
        ("shuffle", "pixel_shuffle", (xs,), {"scale": 2, "order": "crd"}, "exact", 1),
        ("shuffle", "pixel_unshuffle", (x,), {"scale": 1, "order": "dcr"}, "exact", 1),
        ("norm", "batchnorm_statistics", (x,), {}, "reduction", 84),
        ("norm", "batchnorm_forward", (x, g, b[:3], mean, var), {"epsilon": 1e-3},
         "elementwise", 1),
        ("norm", "batchnorm_backward", (x, x, g, mean, var), {"epsilon": 1e-3,
                                                              "training": True}, "reduction", 84),
        ("dense", "dense_forward", (x2, w2, b[:2]), {}, "reduction", 5),
        ("dense", "dense_backward", (x2, w2, dy2), {}, "reduction", 3),
        ("shortcut", "shortcut_forward", (x, t), {"alpha": 0.1, "beta": 1.0}, "elementwise", 1),
        ("shortcut", "shortcut_backward", (x,), {"alpha": -0.5, "beta": 2.0}, "elementwise", 1),
        ("upsample", "upsample_forward", (x,), {"scale": 2}, "exact", 1),
        ("upsample", "upsample_backward", (dyw,), {"scale": 1}, "reduction", 1),
        ("upsample", "upsample_backward", _ro(xs[:, :2].copy()), {"scale": 2}, "reduction", 4),
    ]
    for kind in ("mse", "mae", "smooth_l1"):
        calls.append(("loss", "loss_forward", (x, t), {"kind": kind, "delta": 0.5},
                      "reduction", x.size))
        calls.append(("loss", "loss_backward", (x, t), {"kind": kind, "delta": 0.5},
                      "elementwise", 1))
    xa = (x * 6).copy()  # spans every piece of plse / lhtan / hardtan
    xa = np.where(np.abs(xa) < activations.KINK_MARGIN, 0.5, xa)
    _ro(xa)
    for kind in activations.ACTIVATIONS:
        calls.append(("activation", "activation_forward", (xa,), {"kind": kind},
                      "elementwise", 1))
        calls.append(("activation", "activation_backward", (xa, t), {"kind": kind},
                      "elementwise", 1))
    return calls


def _assert_close(actual, desired, tier, k, what):
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape and actual.dtype == desired.dtype, what
    rtol = tolerance(tier, np.float64, k)
    atol = rtol * float(np.max(np.abs(desired)))
    err = np.abs(actual - desired)
    assert np.all(err <= atol + rtol * np.abs(desired)), (
        f"{what}: max |err| {err.max():.3g} over the {tier} budget (rtol {rtol:.3g})")


def test_every_kernel_matches_numpy_ref_on_one_shape(cy):
    rng = np.random.default_rng(7)
    calls = _kernel_calls(rng)
    covered = {(m, f) for m, f, *_ in calls}
    # optimizer steps and max-pool backward have their own bitwise tests below
    elsewhere = {("pool", "maxpool_backward"), *(("optim", f) for f in ("sgd_step",
                 "momentum_step", "adam_step"))}
    for name in KERNEL_MODULES:
        for fn in iter_kernel_functions(importlib.import_module(f"backends.numpy_ref.{name}")):
            assert (name, fn) in covered | elsewhere, f"{name}.{fn} has no equality check here"
    for module, fn, args, kwargs, tier, k in calls:
        ours = getattr(importlib.import_module(f"backends.cython_omp.{module}"), fn)
        ref = getattr(importlib.import_module(f"backends.numpy_ref.{module}"), fn)
        got, want = ours(*args, **kwargs), ref(*args, **kwargs)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want), f"{module}.{fn}: returns {len(got)} values"
        for i, (a, d) in enumerate(zip(got, want, strict=True)):
            _assert_close(a, d, tier, k, f"{module}.{fn} output {i}")


def test_maxpool_backward_equals_reference_exactly(cy):
    from backends.cython_omp import pool
    from backends.numpy_ref import pool as ref

    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 6 * 5 * 2).reshape(2, 6, 5, 2).astype(np.float64)
    kw = {"size": (3, 3), "stride": (1, 2), "pads": (1, 1, 1, 1)}
    y, am = pool.maxpool_forward(x, **kw)
    dy = rng.uniform(-1, 1, y.shape)
    want = ref.maxpool_backward(dy, am, x_shape=x.shape)
    assert np.array_equal(am, ref.maxpool_forward(x, **kw)[1])
    assert pool.maxpool_backward(dy, am, x_shape=x.shape).tobytes() == want.tobytes()


@pytest.mark.parametrize("fn, args, kwargs", [
    ("sgd_step", 1, {"lr": 0.1}),
    ("momentum_step", 2, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam_step", 3, {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "step": 2}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_steps_equal_numpy_ref_bitwise(cy, fn, args, kwargs, dtype):
    """Same formulas, same scalar rounding, element-wise: the bits must agree."""
    from backends.cython_omp import optim
    from backends.numpy_ref import optim as ref

    rng = np.random.default_rng(5)
    start = [rng.uniform(0.1, 1, (3, 4)).astype(dtype) for _ in range(args + 1)]
    ours, theirs = [a.copy() for a in start], [a.copy() for a in start]
    ours[1].setflags(write=False)  # the gradient is read-only to the step
    getattr(optim, fn)(*ours, **kwargs)
    getattr(ref, fn)(*theirs, **kwargs)
    for a, d in zip(ours, theirs, strict=True):
        assert a.tobytes() == d.tobytes()


# -- multi-block conv paths (the catalogue shapes fit in one scratch block) ----------------

@pytest.fixture
def tiny_blocks(cy):
    from backends.cython_omp import _conv

    # 200-element im2col blocks, 64-row GEMM chunks (so the filter gradient sums several
    # chunk groups) and the smallest Winograd chunks (16 tiles F(2x2), 8 tiles F(4x4))
    old = _conv.set_block_elems(200, chunk=1, winograd=1)
    old4 = _conv.winograd4_tiles(1)
    yield
    _conv.set_block_elems(old, chunk=1 << 19, winograd=1 << 18)
    _conv.winograd4_tiles(old4)


@pytest.mark.parametrize("stride, pads", [((1, 1), (1, 1, 1, 1)), ((2, 3), (0, 1, 1, 1))])
def test_blocked_conv_equals_reference_and_ignores_threads(cy, tiny_blocks, stride, pads):
    from backends.cython_omp import conv
    from backends.numpy_ref import conv as ref

    rng = np.random.default_rng(11)
    x, w, b = rng.uniform(-1, 1, (3, 9, 8, 5)), rng.uniform(-1, 1, (3, 3, 5, 6)), rng.uniform(
        -1, 1, 6)
    _ro(x, w, b)
    y_ref = ref.conv2d_forward(x, w, b, stride=stride, pads=pads)
    dy = rng.uniform(-1, 1, y_ref.shape)
    want = (y_ref, *ref.conv2d_backward(x, w, dy, stride=stride, pads=pads))
    runs = []
    for threads in (1, 2, 1):
        with cy.BACKEND.threads(threads):
            out = [conv.conv2d_forward(x, w, b, stride=stride, pads=pads),
                   *conv.conv2d_backward(x, w, dy, stride=stride, pads=pads)]
            if stride == (1, 1):
                out.append(conv.winograd_forward(x, w, b, pads=pads))
                out.append(conv.winograd4_forward(x, w, b, pads=pads))
        runs.append(out)
    for other in runs[1:]:
        assert all(a.tobytes() == c.tobytes() for a, c in zip(runs[0], other, strict=True))
    n_out = y_ref.shape[0] * y_ref.shape[1] * y_ref.shape[2]
    k = {"y": 45, "dx": -(-3 // stride[0]) * -(-3 // stride[1]) * 6, "dw": n_out, "db": n_out}
    for name, got, ref_t in zip(k, runs[0][:4], want, strict=True):
        _assert_close(got, ref_t, "reduction", k[name], f"blocked conv {name}")
    if stride == (1, 1):
        _assert_close(runs[0][4], y_ref, "winograd", 45, "blocked winograd")
        _assert_close(runs[0][5], y_ref, "winograd", 45, "blocked winograd4")


def test_profile_hook_times_each_phase_and_resets(cy):
    """The phase timers (the profiling hook behind the model profiles) count only while on,
    every phase of a Winograd call and of an im2col call, and reset when read."""
    from backends.cython_omp import _conv, conv

    rng = np.random.default_rng(3)
    x, w = rng.uniform(-1, 1, (1, 20, 24, 8)), rng.uniform(-1, 1, (3, 3, 8, 8))
    _conv.profile(False)
    conv.winograd4_forward(x, w, None, pads=(1, 1, 1, 1))
    assert set(_conv.profile(True).values()) == {0.0}
    conv.winograd4_forward(x, w, None, pads=(1, 1, 1, 1))
    conv.conv2d_forward(x, w, None, stride=(1, 1), pads=(1, 1, 1, 1))
    phases = _conv.profile(False)
    assert set(phases) == {"transform", "gemm", "output"}
    assert all(t > 0 for t in phases.values()), phases
    assert set(_conv.profile(False).values()) == {0.0}
