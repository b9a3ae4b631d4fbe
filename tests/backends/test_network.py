"""Network: a small residual network equals the same network in TF Keras (forward, input
gradient, parameter gradients; float32 and float64); .npz round trips are bitwise; predict
equals forward; gradients of a node used twice add up; bad graphs are rejected."""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs
from backends.errors import ShapeError, StateError, WeightsError
from backends.testing.gradcheck import check_layer_gradients
from backends.testing.tolerances import TF_FACTOR, tolerance

INPUT_SHAPE = (2, 6, 5, 3)
FEATS = 8
DTYPES = (np.float32, np.float64)
CONVS = ("head", "body1", "body2", "tail")


def residual_net(dtype, *, seed=0, backend="numpy") -> backends.Network:
    """conv -> relu -> conv -> 0.1 * body + head -> pixel shuffle x2 -> conv (EDSR in small)."""
    net = backends.Network(INPUT_SHAPE, backend=backend, dtype=dtype, seed=seed)
    net.add("head", specs.Conv2D(filters=FEATS, kernel=3))
    net.add("relu", specs.Activation(kind="relu"))
    net.add("body1", specs.Conv2D(filters=FEATS, kernel=3))
    net.add("body2", specs.Conv2D(filters=FEATS, kernel=3), inputs=["body1"])
    net.add("res", specs.Shortcut(alpha=0.1, beta=1.0), inputs=["body2", "head"])
    net.add("shuffle", specs.PixelShuffle(scale=2))
    net.add("tail", specs.Conv2D(filters=3, kernel=3))
    return net


# Rounding along the longest path: sums of 3*3*3, 3*3*8 (twice), 3*3*2 terms (forward) and as
# many in the backward; budgets are the reduction tier of that total length.
PATH_LENGTH = 27 + 72 + 72 + 18


def _data(dtype, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, INPUT_SHAPE).astype(np.float32).astype(dtype)
    params = {}
    net = residual_net(np.float64)
    for key, p in net.params().items():
        params[key] = rng.uniform(-0.5, 0.5, p.shape).astype(np.float32).astype(dtype)
    dy = rng.uniform(-1, 1, net.output_shape).astype(np.float32).astype(dtype)
    return x, params, dy


def _assert_close(actual, desired, *, tensor, dtype, against):
    """Budget of the reduction tier over PATH_LENGTH terms (times TF_FACTOR against TF)."""
    a, d = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    assert a.shape == d.shape, (tensor, a.shape, d.shape)
    rtol = tolerance("reduction", dtype, PATH_LENGTH)
    if against == "tensorflow":
        rtol *= TF_FACTOR[np.dtype(dtype)]
    limit = rtol * (np.max(np.abs(d)) + np.abs(d))
    excess = np.abs(a - d) - limit
    if np.any(excess > 0):
        i = np.unravel_index(int(np.argmax(excess)), a.shape)
        raise AssertionError(
            f"network tensor {tensor!r} {np.dtype(dtype).name} vs {against}: worst index {i}: "
            f"actual {a[i]!r} desired {d[i]!r} |err| {abs(a[i] - d[i]):.3g} > budget "
            f"{limit[i]:.3g} (reduction tier, k={PATH_LENGTH}); "
            f"{int(np.count_nonzero(excess > 0))} of {a.size} out of budget")


# -- against Keras -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason="tensorflow is not installed")


def keras_net(tf, dtype):
    """The same graph with the Keras functional API (TF "same" padding, depth_to_space)."""
    keras = tf.keras
    dt = np.dtype(dtype).name
    inp = keras.Input(shape=INPUT_SHAPE[1:], batch_size=INPUT_SHAPE[0], dtype=dt)

    def conv(name, filters):
        return keras.layers.Conv2D(filters, 3, padding="same", name=name, dtype=dt)

    head = conv("head", FEATS)(inp)
    body = conv("body1", FEATS)(keras.layers.ReLU(dtype=dt)(head))
    body = conv("body2", FEATS)(body)
    # not keras.layers.Rescaling: in float64 it multiplies by float32(0.1) (1.5e-8 off)
    scaled = keras.layers.Lambda(lambda t: t * tf.constant(0.1, t.dtype), dtype=dt)(body)
    res = keras.layers.Add(dtype=dt)([scaled, head])
    shuffled = keras.layers.Lambda(lambda t: tf.nn.depth_to_space(t, 2), dtype=dt)(res)
    out = conv("tail", 3)(shuffled)
    return keras.Model(inp, out)


@pytest.mark.tf
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matches_keras(tf, dtype):
    x, params, dy = _data(dtype)
    net = residual_net(dtype)
    net.load_params(params)
    y = net.forward(x)
    dx = net.backward(dy)
    grads = net.grads()

    model = keras_net(tf, dtype)
    for name in CONVS:
        model.get_layer(name).set_weights([params[f"{name}/weights"], params[f"{name}/bias"]])
    xt = tf.constant(x)
    variables = {f"{n}/{p}": getattr(model.get_layer(n), k)
                 for n in CONVS for p, k in (("weights", "kernel"), ("bias", "bias"))}
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = model(xt, training=False)
    keys = list(variables)
    got = tape.gradient(yt, [xt, *(variables[k] for k in keys)], output_gradients=tf.constant(dy))

    assert yt.dtype.name == np.dtype(dtype).name
    _assert_close(y, yt.numpy(), tensor="y", dtype=dtype, against="tensorflow")
    _assert_close(dx, got[0].numpy(), tensor="dx", dtype=dtype, against="tensorflow")
    assert set(grads) == set(keys)
    for key, g in zip(keys, got[1:], strict=True):
        _assert_close(grads[key], g.numpy(), tensor=f"grad/{key}", dtype=dtype,
                      against="tensorflow")


# -- finite differences through the whole graph (branching included) --------------------------

def test_network_gradients_match_finite_differences():
    x, params, dy = _data(np.float64)
    net = residual_net(np.float64)
    net.load_params(params)
    report = check_layer_gradients(net, x, dy=dy, name="residual net")
    assert {"dx", "dhead/weights", "dtail/bias"} <= set(report.checks)


def test_gradients_of_a_node_used_twice_add_up():
    net = backends.Network((1, 3, 4, 2), dtype=np.float32)
    net.add("twice", specs.Shortcut(alpha=1.0, beta=1.0), inputs=["input", "input"])
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(net.forward(x), x + x)
    dy = np.random.default_rng(1).standard_normal((1, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(net.backward(dy), dy + dy)  # both paths, exactly


def test_inner_node_with_two_consumers_gets_both_gradients():
    """``head`` feeds relu and the shortcut: its weight gradient sees both paths."""
    x, params, dy = _data(np.float64)
    net = residual_net(np.float64)
    net.load_params(params)
    net.forward(x)
    net.backward(dy)
    both = net.grads()["head/weights"]
    # the same head with only the skip path (body2 weights zero: the relu path carries nothing)
    net.load_params({**params, "body2/weights": np.zeros_like(params["body2/weights"])})
    net.forward(x)
    net.backward(dy)
    skip_only = net.grads()["head/weights"]
    assert not np.allclose(both, skip_only)
    assert np.any(skip_only != 0)


# -- save / load / predict ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_npz_round_trip_is_bitwise(tmp_path, dtype):
    x, params, _ = _data(dtype)
    net = residual_net(dtype)
    net.load_params(params)
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path) as f:
        assert set(f.files) == set(net.params()) | set(net.state())
    other = residual_net(dtype, seed=123)  # different initial weights
    assert any(not np.array_equal(other.params()[k], v) for k, v in net.params().items())
    other.load(path)
    for key, value in net.params().items():
        loaded = other.params()[key]
        assert loaded.dtype == value.dtype and loaded.tobytes() == value.tobytes(), key
    assert other.forward(x).tobytes() == net.forward(x).tobytes()


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path):
    net = residual_net(np.float32)
    net.save(tmp_path / "a.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_load_rejects_a_file_of_another_network(tmp_path):
    small = backends.Network(INPUT_SHAPE, dtype=np.float32)
    small.add("head", specs.Conv2D(filters=4))
    small.save(tmp_path / "small.npz")
    with pytest.raises(WeightsError, match="head"):
        residual_net(np.float32).load(tmp_path / "small.npz")
    small.add("extra", specs.Conv2D(filters=4))
    with pytest.raises(WeightsError):
        residual_net(np.float32).load_params({**residual_net(np.float32).params(),
                                              "extra/weights": np.zeros((3, 3, 4, 4))})


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_predict_equals_forward(dtype):
    x, params, _ = _data(dtype)
    net = residual_net(dtype)
    net.load_params(params)
    y = net.forward(x)
    np.testing.assert_array_equal(net.predict(x), y)
    with pytest.raises(StateError, match="forward"):
        net.backward(np.ones_like(y))  # predict kept nothing for backward


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_banded_predict_equals_predict(dtype):
    """One-row bands (band_bytes=1) rearrange the convolutions' GEMMs, not their sums: the
    reduction tier of the path (a GEMM's row count may change its blocking)."""
    x, params, _ = _data(dtype)
    net = residual_net(dtype)
    net.load_params(params)
    _assert_close(net.predict(x, band_bytes=1), net.predict(x), tensor="y", dtype=dtype,
                  against="numpy (whole)")
    with pytest.raises(ValueError, match="band_bytes"):
        net.forward(x, band_bytes=1)  # keep=True: backward would see the last band only


def test_split_halves_compose_bitwise():
    """The two networks of a split share the layers: head then tail is the same calls."""
    x, params, _ = _data(np.float32)
    net = residual_net(np.float32)
    net.load_params(params)
    head, tail = net.split("res")
    assert list(head.nodes) == ["head", "relu", "body1", "body2", "res"]
    assert list(tail.nodes) == ["shuffle", "tail"] and tail.nodes["shuffle"].inputs == ("input",)
    assert tail.input_shape == (2, 6, 5, FEATS) and tail.output_shape == net.output_shape
    assert tail.nodes["tail"].layer is net.nodes["tail"].layer
    np.testing.assert_array_equal(tail.predict(head.predict(x)), net.predict(x))


@pytest.mark.parametrize("cut", ["body1", "tail"])
def test_split_needs_one_crossing_value(cut):
    """After body1 the head's output is still read (the residual sum); after tail nothing."""
    net = residual_net(np.float32)
    with pytest.raises(ValueError, match=f"cut.*{cut}"):
        net.split(cut)


def test_update_moves_every_parameter():
    x, params, dy = _data(np.float32)
    net = residual_net(np.float32)
    net.load_params(params)
    net.forward(x)
    net.backward(dy)
    grads = net.grads()
    net.update(backends.SGD(lr=0.5))
    for key, p in net.params().items():
        np.testing.assert_array_equal(p, params[key] - np.float32(0.5) * grads[key])


def test_num_params_and_summary():
    net = residual_net(np.float32)
    expected = (3 * 3 * 3 * FEATS + FEATS) + 2 * (9 * FEATS * FEATS + FEATS) + (9 * 2 * 3 + 3)
    assert net.num_params() == expected
    assert f"{expected:,}" in net.summary()
    assert net.output_shape == (2, 12, 10, 3)


# -- bad graphs ------------------------------------------------------------------------------------

def test_unknown_input_name_is_rejected():
    net = backends.Network((1, 4, 4, 3))
    net.add("a", specs.Conv2D(filters=3))
    with pytest.raises(ValueError, match="nope") as info:
        net.add("b", specs.Conv2D(filters=3), inputs=["nope"])
    assert "'a'" in str(info.value) and "input" in str(info.value)


@pytest.mark.parametrize("name", ["a", "input", "", "x/y", 3])
def test_duplicate_or_bad_node_name_is_rejected(name):
    net = backends.Network((1, 4, 4, 3))
    net.add("a", specs.Conv2D(filters=3))
    with pytest.raises(ValueError, match="name"):
        net.add(name, specs.Conv2D(filters=3))


def test_shortcut_shape_mismatch_is_a_shape_error():
    net = backends.Network((1, 4, 4, 3))
    net.add("wide", specs.Conv2D(filters=5))
    with pytest.raises(ShapeError) as info:
        net.add("res", specs.Shortcut(), inputs=["wide", "input"])
    message = str(info.value)
    assert "(1, 4, 4, 5)" in message and "(1, 4, 4, 3)" in message


def test_wrong_number_of_inputs_is_rejected():
    net = backends.Network((1, 4, 4, 3))
    with pytest.raises(ValueError, match="2 input"):
        net.add("res", specs.Shortcut(), inputs=["input"])
    with pytest.raises(ValueError, match="1 input"):
        net.add("c", specs.Conv2D(filters=2), inputs=["input", "input"])


def test_backward_before_forward_and_wrong_input_are_errors():
    net = residual_net(np.float32)
    with pytest.raises(StateError):
        net.backward(np.zeros(net.output_shape, np.float32))
    with pytest.raises(backends.errors.DTypeError, match="Network.x"):
        net.forward(np.zeros(INPUT_SHAPE, np.float64))
