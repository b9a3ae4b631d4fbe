"""Fused epilogues equal the unfused layers they replace, on every backend and dtype.

``Conv2D(activation="relu")`` against Conv2D then ``Activation("relu")``;
``Conv2DAdd(alpha, beta)`` against Conv2D then ``Shortcut(alpha, beta)``: forward, the
input gradient(s) and the weight gradients, both algorithms. The fused kernels do the same
operations in the same order, so the budget (the element-wise tier on top of what the
convolution itself computes) is never used in practice: measured bitwise equal on numpy,
cython and numba.
"""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs
from backends.testing.tolerances import tolerance

SHAPE = (2, 9, 7, 5)
FILTERS = 6


def _close(actual, desired, dtype, what):
    a, d = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    assert a.shape == d.shape, what
    budget = tolerance("elementwise", dtype) * max(float(np.max(np.abs(d))), 1.0)
    err = float(np.max(np.abs(a - d)))
    assert err <= budget, f"{what}: fused vs unfused |err| {err:.3g} > budget {budget:.3g}"


def _data(dtype, out_shape):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, SHAPE).astype(dtype)
    params = {"weights": rng.uniform(-0.5, 0.5, (3, 3, SHAPE[3], FILTERS)).astype(dtype),
              "bias": rng.uniform(-0.5, 0.5, FILTERS).astype(dtype)}
    skip = rng.uniform(-1, 1, out_shape).astype(dtype)
    dy = rng.uniform(-1, 1, out_shape).astype(dtype)
    return x, params, skip, dy


def _build(spec, backend, dtype, shape=SHAPE):
    return backends.build(spec, input_shape=shape, backend=backend, dtype=dtype)


def _skip_unsupported(backend, algo):
    if algo != "im2col" and not hasattr(backends.get_backend(backend).kernels("conv"),
                                        f"{algo}_forward"):
        pytest.skip(f"{backend} has no conv.{algo}_forward (NotSupportedError)")


@pytest.mark.parametrize("algo", ["im2col", "winograd", "winograd4"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_relu_equals_conv_then_relu(backend, dtype, algo, padding):
    _skip_unsupported(backend, algo)
    base = dict(filters=FILTERS, kernel=3, padding=padding, algo=algo)
    fused = _build(specs.Conv2D(**base, activation="relu"), backend, dtype)
    conv = _build(specs.Conv2D(**base), backend, dtype)
    relu = _build(specs.Activation(kind="relu"), backend, dtype, conv.output_shape)
    x, params, _, dy = _data(dtype, conv.output_shape)
    fused.load_params(params)
    conv.load_params(params)
    y = fused.forward(x)
    pre = conv.forward(x)
    _close(y, relu.forward(pre), dtype, "y")
    assert np.any(y == 0) and np.any(y > 0), "the data must exercise both ReLU branches"
    _close(fused.backward(dy), conv.backward(relu.backward(dy)), dtype, "dx")
    for k, g in conv.grads().items():
        _close(fused.grads()[k], g, dtype, f"grad/{k}")


@pytest.mark.parametrize("algo", ["im2col", "winograd", "winograd4"])
@pytest.mark.parametrize("alpha,beta", [(0.1, 1.0), (-0.5, 2.0)])
def test_conv_add_equals_conv_then_shortcut(backend, dtype, algo, alpha, beta):
    _skip_unsupported(backend, algo)
    base = dict(filters=FILTERS, kernel=3, algo=algo)
    fused = _build(specs.Conv2DAdd(**base, alpha=alpha, beta=beta), backend, dtype)
    conv = _build(specs.Conv2D(**base), backend, dtype)
    add = _build(specs.Shortcut(alpha=alpha, beta=beta), backend, dtype, conv.output_shape)
    x, params, skip, dy = _data(dtype, conv.output_shape)
    fused.load_params(params)
    conv.load_params(params)
    _close(fused.forward(x, skip), add.forward(conv.forward(x), skip), dtype, "y")
    dx, dskip = fused.backward(dy)
    da, db = add.backward(dy)
    _close(dskip, db, dtype, "dskip")
    _close(dx, conv.backward(da), dtype, "dx")
    for k, g in conv.grads().items():
        _close(fused.grads()[k], g, dtype, f"grad/{k}")


def test_conv_add_checks_the_skip_shape():
    layer = _build(specs.Conv2DAdd(filters=FILTERS), "numpy", np.float32)
    x = np.zeros(SHAPE, np.float32)
    with pytest.raises(backends.errors.ShapeError, match=r"\.b\.shape"):
        layer.forward(x, np.zeros(SHAPE, np.float32))  # input-shaped, not output-shaped


def test_large_winograd_filters_are_not_kept(monkeypatch):
    """Past ``CACHE_BYTES`` the transform is computed on each call, with the same bits."""
    layer = _build(specs.Conv2D(filters=FILTERS, algo="winograd4"), "numpy", np.float32)
    x, params, _, _ = _data(np.float32, layer.output_shape)
    layer.load_params(params)
    kept = layer.winograd_filters("winograd4")
    y = layer.forward(x)
    assert layer.winograd_filters("winograd4") is kept
    monkeypatch.setattr(backends.winograd, "CACHE_BYTES", kept.nbytes - 1)
    layer.load_params(params)
    again = layer.winograd_filters("winograd4")
    assert again is not kept and layer.winograd_filters("winograd4") is not again
    np.testing.assert_array_equal(again, kept)
    np.testing.assert_array_equal(layer.forward(x), y)


def test_winograd_filters_follow_the_weights():
    """The transform is kept per weights version: a load or an update recomputes it."""
    layer = _build(specs.Conv2D(filters=FILTERS, algo="winograd"), "numpy", np.float64)
    x, params, _, dy = _data(np.float64, layer.output_shape)
    layer.load_params(params)
    first = layer.winograd_filters()
    assert layer.winograd_filters() is first  # cached, not recomputed
    layer.load_params({**params, "weights": 2 * params["weights"]})
    np.testing.assert_allclose(layer.winograd_filters(), 2 * first, rtol=1e-15)
    layer.forward(x)
    layer.backward(dy)
    before = layer.winograd_filters()
    layer.update(backends.optim.SGD(lr=0.1))
    assert layer.winograd_filters() is not before
    fresh = _build(specs.Conv2D(filters=FILTERS, algo="winograd"), "numpy", np.float64)
    fresh.load_params(layer.params())
    np.testing.assert_array_equal(layer.forward(x), fresh.forward(x))
