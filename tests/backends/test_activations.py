"""The 17 activations: derivatives vs finite differences (away from kinks), the documented
value at every kink, TensorFlow where it has the function, float32 vs float64, and no
overflow for |x| up to 1e3."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import backends
from backends import activations as act
from backends import specs
from backends.testing.catalogue import case_by_name
from backends.testing.compare import assert_close
from backends.testing.data import away_from, make_inputs
from backends.testing.gradcheck import check_function

KINDS = tuple(act.ACTIVATIONS)
KINKED = [k for k in KINDS if act.ACTIVATIONS[k].kinks]


def _case(kind):
    return case_by_name(f"act_{kind}")


def _layer(kind, backend="numpy", dtype=np.float64, shape=(1, 1, 1, 1)):
    return backends.build(specs.Activation(kind=kind), input_shape=shape, backend=backend,
                          dtype=dtype)


def _nhwc(values, dtype):
    return np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(1, 1, -1, 1))


def test_seventeen_activations():
    assert len(KINDS) == 17
    assert set(KINDS) == {
        "linear", "logistic", "loggy", "relu", "elu", "relie", "ramp", "tanh", "plse", "leaky",
        "hardtan", "lhtan", "selu", "softplus", "softsign", "elliot", "symm_elliot"}


@pytest.mark.parametrize("kind", KINDS)
def test_derivative_matches_finite_differences(kind):
    d = act.ACTIVATIONS[kind]
    x = np.linspace(-8.0, 8.0, 1601)  # both sides of every kink (plse: +-4)
    x = away_from(x, d.kinks, act.KINK_MARGIN)
    check_function(d.f, d.df, x, name=kind)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_backward_matches_finite_differences(kind):
    """The same check through the layer and the numpy kernels (dy weights each element)."""
    d = act.ACTIVATIONS[kind]
    x = away_from(np.linspace(-6.0, 6.0, 241), d.kinks, act.KINK_MARGIN)
    layer = _layer(kind, shape=(1, 1, x.size, 1))
    x4 = _nhwc(x, np.float64)
    dy = _nhwc(np.random.default_rng(0).standard_normal(x.size), np.float64)
    layer.forward(x4)
    dx = layer.backward(dy)
    check_function(lambda v: layer.forward(v) * dy, lambda v: dx, x4, name=f"{kind} layer")


def _documented_kink_value(rule: str) -> float:
    """The number the ``kink_rule`` string documents, e.g. "f'(+-4) = 0.125" -> 0.125."""
    value = rule.split("=")[-1].split("(")[0].strip()
    named = {"scale * alpha": act.SELU_SCALE * act.SELU_ALPHA}
    return named[value] if value in named else float(value)


def test_kink_rule_parser_reads_every_rule():
    for kind in KINKED:
        rule = act.ACTIVATIONS[kind].kink_rule
        assert re.match(r"f'\(", rule), rule
        assert np.isfinite(_documented_kink_value(rule))


def _tf_kink_exceptions() -> dict[tuple[str, float], float]:
    """Kinks where TensorFlow's tape takes the other side (listed by the tf_oracle backend)."""
    from backends.tf_oracle.activation import TF_KINK_DERIVATIVES

    return TF_KINK_DERIVATIVES


def _expected_at_kinks(kind: str, backend: str) -> list[float]:
    d = act.ACTIVATIONS[kind]
    want = _documented_kink_value(d.kink_rule)
    if backend != "tensorflow":
        return [want] * len(d.kinks)
    # the oracle backend differentiates TF's own ops with the tape, so at a kink it gives TF's
    # one-sided choice; it lists where that differs from kink_rule, and that list is checked
    exceptions = _tf_kink_exceptions()
    return [exceptions.get((kind, float(k)), want) for k in d.kinks]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", KINKED)
def test_derivative_at_each_kink_is_the_documented_one(backend, kind, dtype):
    d = act.ACTIVATIONS[kind]
    kinks = _nhwc(d.kinks, dtype)
    layer = _layer(kind, backend, dtype, shape=kinks.shape)
    layer.forward(kinks)
    got = layer.backward(np.ones_like(kinks))
    # a documented constant, rounded once to dtype: exact equality
    np.testing.assert_array_equal(got.ravel(), np.array(_expected_at_kinks(kind, backend), dtype),
                                  err_msg=f"{kind} at {d.kinks}: rule {d.kink_rule!r}")


@pytest.mark.parametrize("kind", KINKED)
def test_kink_value_is_a_one_sided_derivative(kind):
    """The documented choice is the slope of one of the two sides (not an invented number)."""
    d = act.ACTIVATIONS[kind]
    want = _documented_kink_value(d.kink_rule)
    h = 1e-7  # one-sided differences: error h |f''| / 2, below KINK_MARGIN by far
    for k in d.kinks:
        x = np.array([k], np.float64)
        left = (d.f(x)[0] - d.f(x - h)[0]) / h
        right = (d.f(x + h)[0] - d.f(x)[0]) / h
        close = [abs(want - s) <= act.KINK_MARGIN * max(abs(want), 1.0) for s in (left, right)]
        assert any(close), (kind, k, want, left, right)
        if "both sides agree" not in d.kink_rule:  # else the listed point really is a kink
            assert abs(left - right) > act.KINK_MARGIN, (kind, k, left, right)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_close_to_float64(kind):
    case = _case(kind)
    out = {}
    for dtype in (np.float32, np.float64):
        data = make_inputs(case, dtype)
        layer = _layer(kind, dtype=dtype, shape=case.input_shape)
        out[dtype] = layer.forward(data["x"]), layer.backward(data["dy"])
    for i, tensor in enumerate(("y", "dx")):
        assert_close(out[np.float32][i], out[np.float64][i], case=case, backend="numpy",
                     tensor=tensor, dtype=np.float32)


# no kink in the list: kinks have their own test; exp overflows at 88.7 (f32), 709.8 (f64)
EXTREMES = [-1e3, -709.8, -100.0, -88.8, -50.0, -20.0, -0.5, 0.5, 20.0, 50.0, 88.8, 100.0, 709.8,
            1e3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", KINDS)
def test_no_overflow_for_large_inputs(backend, kind, dtype):
    x = _nhwc(EXTREMES, dtype)
    layer = _layer(kind, backend, dtype, shape=x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow in exp, ...) fails
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = layer.forward(x)
            dx = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx)), (y.ravel(), dx.ravel())
    # and the values are the float64 reference's, rounded (no overflow-to-garbage)
    case = _case(kind)
    ref = act.ACTIVATIONS[kind]
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", under="ignore"):
        y64, dx64 = ref.f(x64), ref.df(x64)
    assert_close(y, y64, case=case, backend=backend, tensor="y", dtype=dtype)
    assert_close(dx, dx64, case=case, backend=backend, tensor="dx", dtype=dtype)


# -- against TensorFlow ------------------------------------------------------------------------

def _tf_functions(tf, dtype):
    """Our name -> the TensorFlow function of the same formula."""
    if np.dtype(dtype) == np.float64:
        # the LeakyRelu op holds alpha in a float32 attribute, so in float64 its slope is
        # float32(alpha) (test_tf_leaky_relu_rounds_alpha_to_float32): in float64 compare
        # with the same formula in float64 TF ops
        def leaky(alpha):
            return lambda x: tf.where(x > 0, x, tf.constant(alpha, tf.float64) * x)
    else:
        def leaky(alpha):
            return lambda x: tf.nn.leaky_relu(x, alpha=alpha)
    return {
        "logistic": tf.math.sigmoid,
        "tanh": tf.math.tanh,
        "relu": tf.nn.relu,
        "elu": tf.nn.elu,
        "selu": tf.nn.selu,
        "softplus": tf.math.softplus,
        "softsign": tf.math.softsign,
        "leaky": leaky(act.LEAKY_SLOPE),
        "relie": leaky(act.RELIE_SLOPE),
    }


TF_KINDS = ["logistic", "tanh", "relu", "elu", "selu", "softplus", "softsign", "leaky", "relie"]


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason="tensorflow is not installed")


def _tf_forward_backward(tf, fn, x, dy):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
    return y.numpy(), tape.gradient(y, xt, output_gradients=tf.constant(dy)).numpy()


@pytest.mark.tf
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", TF_KINDS)
def test_matches_tensorflow(tf, kind, dtype):
    case = _case(kind)
    data = make_inputs(case, dtype)
    layer = _layer(kind, dtype=dtype, shape=case.input_shape)
    y, dx = layer.forward(data["x"]), layer.backward(data["dy"])
    y_tf, dx_tf = _tf_forward_backward(tf, _tf_functions(tf, dtype)[kind], data["x"], data["dy"])
    assert_close(y, y_tf, case=case, backend="numpy", tensor="y", dtype=dtype,
                 against="tensorflow")
    assert_close(dx, dx_tf, case=case, backend="numpy", tensor="dx", dtype=dtype,
                 against="tensorflow")


@pytest.mark.tf
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", [k for k in TF_KINDS if act.ACTIVATIONS[k].kinks])
def test_kink_rule_agrees_with_tensorflow(tf, kind, dtype):
    """Ours is kink_rule; TF's native op gives the same, except where tf_oracle lists it."""
    d = act.ACTIVATIONS[kind]
    kinks = _nhwc(d.kinks, dtype)
    layer = _layer(kind, dtype=dtype, shape=kinks.shape)
    layer.forward(kinks)
    ours = layer.backward(np.ones_like(kinks)).ravel()
    _, theirs = _tf_forward_backward(tf, _tf_functions(tf, dtype)[kind], kinks,
                                     np.ones_like(kinks))
    exceptions = _tf_kink_exceptions()
    for i, k in enumerate(d.kinks):
        want_tf = exceptions.get((kind, float(k)), ours[i])
        assert theirs.ravel()[i] == np.asarray(want_tf, dtype), (kind, k, ours[i], theirs)
    np.testing.assert_array_equal(ours, np.asarray(_documented_kink_value(d.kink_rule), dtype))


@pytest.mark.tf
def test_tf_leaky_relu_rounds_alpha_to_float32(tf):
    """Why float64 leaky/relie are compared with a tf.where formula (see _tf_functions)."""
    x = tf.constant([-1.0], tf.float64)
    slope = -tf.nn.leaky_relu(x, alpha=act.RELIE_SLOPE).numpy()[0]
    assert slope == float(np.float32(act.RELIE_SLOPE)) != act.RELIE_SLOPE
