"""Losses: value and gradient of mse / mae / smooth_l1 equal the Keras losses (mean over all
elements); NaN/inf targets, shape and dtype mismatches and calls out of order are errors."""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs
from backends.errors import DTypeError, NonFiniteError, ShapeError, StateError
from backends.testing.catalogue import CASES
from backends.testing.compare import assert_close
from backends.testing.data import make_inputs

DTYPES = (np.float32, np.float64)
LOSS_CASES = [c for c in CASES if isinstance(c.spec, specs.Loss)]


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason="tensorflow is not installed")


def _keras_loss(tf, spec: specs.Loss, dtype):
    # "sum_over_batch_size" on NHWC: Keras averages the last axis, then divides the sum over
    # (N, H, W) by N H W, i.e. the mean over every element, as ours
    # (a Keras loss computes in float32 unless given its dtype)
    losses = tf.keras.losses
    kw = {"reduction": "sum_over_batch_size", "dtype": np.dtype(dtype).name}
    if spec.kind == "mse":
        return losses.MeanSquaredError(**kw)
    if spec.kind == "mae":
        return losses.MeanAbsoluteError(**kw)
    return losses.Huber(delta=spec.delta, **kw)


@pytest.mark.tf
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", LOSS_CASES, ids=str)
def test_value_and_gradient_match_keras(tf, backend, case, dtype):
    data = make_inputs(case, dtype)
    y, t = data["x"], data["target"]
    loss = backends.LossFunction(case.spec, backend=backend, dtype=dtype)
    value = loss.forward(y, t)
    grad = loss.backward()
    assert isinstance(value, float)
    assert grad.shape == y.shape and grad.dtype == np.dtype(dtype)

    yt = tf.constant(y)
    with tf.GradientTape() as tape:
        tape.watch(yt)
        ref = _keras_loss(tf, case.spec, dtype)(tf.constant(t), yt)
    ref_grad = tape.gradient(ref, yt)
    assert ref.dtype.name == np.dtype(dtype).name
    assert_close(np.float64(value), ref.numpy(), case=case, backend=backend, tensor="y",
                 dtype=dtype, against="tensorflow")
    assert_close(grad, ref_grad.numpy(), case=case, backend=backend, tensor="dx", dtype=dtype,
                 against="tensorflow")


@pytest.mark.parametrize("kind", ["mse", "mae", "smooth_l1"])
def test_hand_computed_values(kind):
    """Two elements, e = (0.5, -3): the formulas of numpy_ref/loss.py by hand (delta 1)."""
    y = np.array([[[[0.5, -3.0]]]])
    t = np.zeros_like(y)
    loss = backends.LossFunction(specs.Loss(kind=kind), dtype=np.float64)
    want_value = {"mse": (0.25 + 9) / 2, "mae": (0.5 + 3) / 2,
                  "smooth_l1": (0.5 * 0.25 + (3 - 0.5)) / 2}[kind]
    want_grad = {"mse": [0.5, -3.0], "mae": [0.5, -0.5], "smooth_l1": [0.25, -0.5]}[kind]
    assert loss.forward(y, t) == want_value
    np.testing.assert_array_equal(loss.backward().ravel(), want_grad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_target_is_rejected(backend, bad):
    case = LOSS_CASES[0]
    data = make_inputs(case, np.float32)
    t = data["target"].copy()
    t.flat[3] = bad
    loss = backends.LossFunction(case.spec, backend=backend, dtype=np.float32)
    with pytest.raises(NonFiniteError, match="target"):
        loss.forward(data["x"], t)


def test_shape_and_dtype_mismatch_are_rejected(backend):
    case = LOSS_CASES[0]
    data = make_inputs(case, np.float32)
    y, t = data["x"], data["target"]
    loss = backends.LossFunction(case.spec, backend=backend, dtype=np.float32)
    with pytest.raises(ShapeError, match="target") as info:
        loss.forward(y, t[:, :-1].copy())
    assert str(y.shape) in str(info.value)
    with pytest.raises(ShapeError, match="target"):
        loss.forward(y, t[None])
    with pytest.raises(DTypeError, match="target.dtype"):
        loss.forward(y, t.astype(np.float64))
    with pytest.raises(DTypeError, match="y.dtype"):
        loss.forward(y.astype(np.float64), t)


def test_backward_before_forward_is_a_state_error(backend):
    loss = backends.LossFunction(specs.Loss(kind="mae"), backend=backend, dtype=np.float64)
    with pytest.raises(StateError, match="forward"):
        loss.backward()


def test_inputs_are_not_modified(backend):
    case = LOSS_CASES[-1]
    data = make_inputs(case, np.float64)
    y, t = data["x"].copy(), data["target"].copy()
    y.setflags(write=False)
    t.setflags(write=False)
    loss = backends.LossFunction(case.spec, backend=backend, dtype=np.float64)
    loss.forward(y, t)
    g = loss.backward()
    np.testing.assert_array_equal(y, data["x"])
    np.testing.assert_array_equal(t, data["target"])
    assert not np.shares_memory(g, y) and not np.shares_memory(g, t)
