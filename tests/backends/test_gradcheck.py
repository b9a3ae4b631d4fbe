"""Finite-difference checks (float64) of every layer of the catalogue on the numpy reference:
dx (da, db for a merge layer) and every weight gradient; batch norm in training and
inference; the three losses. The other backends are tied to these gradients by the
equality tests against numpy_ref."""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs
from backends.testing.catalogue import CASES
from backends.testing.data import make_inputs
from backends.testing.gradcheck import (
    check_function,
    check_layer_gradients,
    check_loss_gradients,
)

LAYER_CASES = [c for c in CASES if not isinstance(c.spec, specs.Loss)]
LOSS_CASES = [c for c in CASES if isinstance(c.spec, specs.Loss)]
F64 = np.float64


def _layer(case, backend="numpy"):
    inputs = make_inputs(case, F64, seed=0)
    layer = backends.build(case.spec, input_shape=case.input_shape, backend=backend, dtype=F64)
    layer.load_params(inputs["params"])
    xs = (inputs["x"], inputs["x2"]) if case.is_merge else inputs["x"]
    return layer, xs, inputs


@pytest.mark.parametrize("case", LAYER_CASES, ids=str)
def test_layer_gradients_match_finite_differences(case):
    layer, xs, inputs = _layer(case)
    report = check_layer_gradients(layer, xs, training=case.training, dy=inputs["dy"],
                                   name=case.name)
    expected = {"da", "db"} if case.is_merge else {"dx"}
    expected |= {f"d{p}" for p in case.spec.param_shapes(case.input_shape)}
    assert set(report.checks) == expected
    assert report.ok


def test_catalogue_covers_batchnorm_in_both_modes_and_every_loss():
    modes = {c.training for c in LAYER_CASES if isinstance(c.spec, specs.BatchNorm)}
    assert modes == {True, False}
    assert {c.spec.kind for c in LOSS_CASES} == {"mse", "mae", "smooth_l1"}


def test_gradcheck_leaves_layer_as_after_one_forward_backward():
    case = next(c for c in LAYER_CASES if c.name == "batchnorm_train")
    layer, xs, inputs = _layer(case)
    before = {k: v.copy() for k, v in layer.params().items()}
    check_layer_gradients(layer, xs, training=True, dy=inputs["dy"])
    reference, _, _ = _layer(case)
    reference.forward(xs, training=True)
    reference.backward(inputs["dy"])
    for k, v in layer.params().items():
        np.testing.assert_array_equal(v, before[k])
    for k, v in reference.state().items():
        np.testing.assert_array_equal(layer.state()[k], v)
    for k, v in reference.grads().items():
        np.testing.assert_array_equal(layer.grads()[k], v)


@pytest.mark.parametrize("case", LOSS_CASES, ids=str)
def test_loss_gradients_match_finite_differences(case):
    inputs = make_inputs(case, F64, seed=0)
    loss = backends.LossFunction(case.spec, dtype=F64)
    report = check_loss_gradients(loss, inputs["x"], inputs["target"])
    assert report.ok and report.checks["dy"].probed > 0


# -- the check itself must be able to fail -----------------------------------------------------

class _Skewed:
    """Wraps a layer and falsifies one gradient by a relative ``skew`` (a planted bug)."""

    def __init__(self, layer, *, skew, tensor):
        self.inner, self.skew, self.tensor = layer, skew, tensor
        self.dtype = layer.dtype

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def backward(self, dy):
        dx = self.inner.backward(dy)
        return dx * (1 + self.skew) if self.tensor == "dx" else dx

    def grads(self):
        g = dict(self.inner.grads())
        if self.tensor in g:
            g[self.tensor] = g[self.tensor] * (1 + self.skew)
        return g


@pytest.mark.parametrize("tensor", ["dx", "weights", "bias"])
def test_gradcheck_detects_a_small_planted_error(tensor):
    case = next(c for c in LAYER_CASES if c.name == "conv3x3_s2_same_odd_b2")
    layer, xs, inputs = _layer(case)
    # 1e-4 relative: far below any visible mistake, far above the finite-difference noise
    bad = _Skewed(layer, skew=1e-4, tensor=tensor)
    with pytest.raises(AssertionError) as info:
        check_layer_gradients(bad, xs, dy=inputs["dy"], name="skewed conv")
    message = str(info.value)
    name = "dx" if tensor == "dx" else f"d{tensor}"
    assert f"{name}: worst index" in message and "analytic" in message and "numeric" in message
    report = check_layer_gradients(bad, xs, dy=inputs["dy"], raise_on_failure=False)
    assert [k for k, c in report.checks.items() if not c.ok] == [name]


def test_check_function_detects_a_wrong_derivative():
    x = np.linspace(-3, 3, 101)
    check_function(np.tanh, lambda v: 1 - np.tanh(v) ** 2, x, name="tanh")
    with pytest.raises(AssertionError, match="worst index"):
        check_function(np.tanh, lambda v: 1 - np.tanh(v) ** 2 + 1e-4, x, name="tanh+1e-4")


def test_gradcheck_requires_float64():
    case = LAYER_CASES[0]
    layer = backends.build(case.spec, input_shape=case.input_shape, dtype=np.float32)
    x = make_inputs(case, np.float32)["x"]
    with pytest.raises(TypeError, match="float64"):
        check_layer_gradients(layer, x)


def test_gradcheck_does_not_modify_inputs():
    case = next(c for c in LAYER_CASES if c.is_merge)
    layer, (a, b), inputs = _layer(case)
    a0, b0 = a.copy(), b.copy()
    a.setflags(write=False)
    b.setflags(write=False)
    check_layer_gradients(layer, (a, b), dy=inputs["dy"])
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
