"""Optimizers: one and three steps of SGD, Momentum (Nesterov or not) and Adam equal
``tf.keras.optimizers`` on tf.Variables (float32, float64); ``Network.update`` applies the
optimizer kernels exactly; bad hyper-parameters raise SpecError."""

from __future__ import annotations

import math

import numpy as np
import pytest

import backends
from backends import specs
from backends.errors import SpecError
from backends.testing.tolerances import TF_FACTOR, tolerance

DTYPES = (np.float32, np.float64)
SHAPES = {"kernel": (3, 3, 2, 4), "bias": (4,)}

# Keras holds ``learning_rate`` in a float32 variable and its other hyper-parameters go through
# float32 too (test_keras_rounds_hyper_parameters_to_float32), then casts them to the
# variable's dtype: in float64 it steps with float32(0.9), not 0.9. Float32 runs use the usual
# values; float64 runs use values that float32 holds exactly (powers of two, 1 - 2^-k), so
# both sides compute the same float64 formula.
HYPER = {
    np.dtype(np.float32): {"lr": 0.01, "momentum": 0.9, "adam_lr": 0.001, "beta1": 0.9,
                           "beta2": 0.999, "epsilon": 1e-7},
    np.dtype(np.float64): {"lr": 2.0**-6, "momentum": 0.875, "adam_lr": 2.0**-10,
                           "beta1": 0.875, "beta2": 1 - 2.0**-10, "epsilon": 2.0**-23},
}
NAMES = ("sgd", "momentum", "nesterov", "adam")


def settings(name, dtype):
    """(our keyword arguments, Keras keyword arguments) of optimizer ``name`` in ``dtype``."""
    h = HYPER[np.dtype(dtype)]
    if name == "sgd":
        return {"lr": h["lr"]}, {"learning_rate": h["lr"]}
    if name in ("momentum", "nesterov"):
        nesterov = name == "nesterov"
        return ({"lr": h["lr"], "momentum": h["momentum"], "nesterov": nesterov},
                {"learning_rate": h["lr"], "momentum": h["momentum"], "nesterov": nesterov})
    return ({"lr": h["adam_lr"], "beta1": h["beta1"], "beta2": h["beta2"],
             "epsilon": h["epsilon"]},
            {"learning_rate": h["adam_lr"], "beta_1": h["beta1"], "beta_2": h["beta2"],
             "epsilon": h["epsilon"]})


def _ours(name, dtype):
    kwargs = settings(name, dtype)[0]
    cls = {"sgd": backends.SGD, "adam": backends.Adam}.get(name, backends.Momentum)
    return cls(**kwargs)


def _keras(tf, name, dtype):
    kwargs = settings(name, dtype)[1]
    cls = tf.keras.optimizers.Adam if name == "adam" else tf.keras.optimizers.SGD
    return cls(**kwargs)


def _data(dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: rng.uniform(-1, 1, s).astype(dtype) for k, s in SHAPES.items()}
    grads = [{k: rng.uniform(-1, 1, s).astype(dtype) for k, s in SHAPES.items()}
             for _ in range(steps)]
    return params, grads


def _run_ours(name, backend, dtype, steps):
    params, grads = _data(dtype, steps)
    kernels = backends.get_backend(backend).kernels("optim")
    opt = _ours(name, dtype)
    for g in grads:
        for key in params:
            opt.step(key, params[key], g[key], kernels)
    return params


def _assert_close(actual, desired, *, steps, dtype, what):
    """Optimizer tier per step (each step adds its own few roundings), times TF_FACTOR."""
    rtol = tolerance("optimizer", dtype) * steps * TF_FACTOR[np.dtype(dtype)]
    limit = rtol * (np.max(np.abs(desired)) + np.abs(desired))
    err = np.abs(actual.astype(np.float64) - desired.astype(np.float64))
    i = np.unravel_index(int(np.argmax(err - limit)), err.shape)
    assert np.all(err <= limit), (
        f"{what}: worst index {i}: ours {actual[i]!r} keras {desired[i]!r} |err| {err[i]:.3g} "
        f"> budget {limit[i]:.3g} (optimizer tier x {steps} steps)")


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow", reason="tensorflow is not installed")


@pytest.mark.tf
@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_steps_match_keras(tf, backend, name, dtype, steps):
    params, grads = _data(dtype, steps)
    variables = {k: tf.Variable(v.copy()) for k, v in params.items()}
    opt = _keras(tf, name, dtype)
    for g in grads:
        opt.apply_gradients([(tf.constant(g[k]), variables[k]) for k in variables])
    ours = _run_ours(name, backend, dtype, steps)
    for key, var in variables.items():
        theirs = var.numpy()
        assert theirs.dtype == ours[key].dtype == np.dtype(dtype)
        assert not np.array_equal(theirs, params[key])  # the step did move the parameter
        _assert_close(ours[key], theirs, steps=steps, dtype=dtype,
                      what=f"{backend} {name} {key} {np.dtype(dtype).name} after {steps}")


def test_nesterov_and_plain_momentum_differ_after_one_step():
    """Guards the Keras comparison against a kernel that ignores ``nesterov``."""
    plain = _run_ours("momentum", "numpy", np.float64, 1)
    nest = _run_ours("nesterov", "numpy", np.float64, 1)
    assert not np.array_equal(plain["kernel"], nest["kernel"])


@pytest.mark.tf
def test_keras_rounds_hyper_parameters_to_float32(tf):
    """Why float64 runs use float32-exact hyper-parameters (see HYPER)."""
    p, g, lr, mu = 0.5, 0.75, 2.0**-6, 0.9
    var = tf.Variable(np.array([p]))
    tf.keras.optimizers.SGD(learning_rate=lr, momentum=mu, nesterov=True).apply_gradients(
        [(tf.constant([g], tf.float64), var)])
    v = -lr * g
    rounded = p + float(np.float32(mu)) * v - lr * g
    assert var.numpy()[0] == rounded != p + mu * v - lr * g


# -- Network.update applies the kernels exactly ----------------------------------------------

def _net(dtype):
    net = backends.Network((2, 5, 4, 3), dtype=dtype, seed=3)
    net.add("conv", specs.Conv2D(filters=4))
    net.add("act", specs.Activation(kind="tanh"))
    net.add("norm", specs.BatchNorm())
    net.add("dense", specs.Connected(units=3))
    return net


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_network_update_equals_the_kernels(name, dtype):
    rng = np.random.default_rng(7)
    net = _net(dtype)
    x = rng.uniform(-1, 1, (2, 5, 4, 3)).astype(dtype)
    dys = [rng.uniform(-1, 1, net.output_shape).astype(dtype) for _ in range(3)]
    opt = _ours(name, dtype)
    kernels = backends.get_backend("numpy").kernels("optim")
    expected = {k: v.copy() for k, v in net.params().items()}
    slots = {k: [np.zeros_like(v), np.zeros_like(v)] for k, v in expected.items()}
    hp = settings(name, dtype)[0]
    for t, dy in enumerate(dys, start=1):
        net.forward(x, training=True)
        net.backward(dy)
        grads = {k: g.copy() for k, g in net.grads().items()}
        assert set(grads) == set(expected)
        net.update(opt)
        for key, p in expected.items():
            g = grads[key]
            if name == "sgd":
                kernels.sgd_step(p, g, lr=hp["lr"])
            elif name == "adam":
                kernels.adam_step(p, g, *slots[key], lr=hp["lr"], beta1=hp["beta1"],
                                  beta2=hp["beta2"], epsilon=hp["epsilon"], step=t)
            else:
                kernels.momentum_step(p, g, slots[key][0], lr=hp["lr"],
                                      momentum=hp["momentum"], nesterov=hp.get("nesterov", False))
        for key, p in net.params().items():
            np.testing.assert_array_equal(p, expected[key], err_msg=f"{name} step {t} {key}")


def test_update_before_backward_is_a_state_error():
    net = _net(np.float32)
    with pytest.raises(backends.errors.StateError, match="backward"):
        net.update(backends.SGD())


def test_momentum_slots_are_per_parameter():
    """Two layers of the same shape must not share a velocity."""
    net = backends.Network((1, 4, 4, 2), dtype=np.float64)
    net.add("a", specs.Conv2D(filters=2))
    net.add("b", specs.Conv2D(filters=2))
    opt = backends.Momentum(lr=0.1, momentum=0.5)
    x = np.ones((1, 4, 4, 2))
    net.forward(x)
    net.backward(np.ones(net.output_shape))
    net.update(opt)
    assert len(opt._slots) == len(net.params())


# -- hyper-parameters -----------------------------------------------------------------------------

BAD = [
    (backends.SGD, {"lr": 0.0}, "SGD.lr"),
    (backends.SGD, {"lr": -0.1}, "SGD.lr"),
    (backends.SGD, {"lr": math.nan}, "SGD.lr"),
    (backends.SGD, {"lr": True}, "SGD.lr"),
    (backends.SGD, {"lr": "0.1"}, "SGD.lr"),
    (backends.Momentum, {"lr": math.inf}, "Momentum.lr"),
    (backends.Momentum, {"momentum": 1.5}, "Momentum.momentum"),
    (backends.Momentum, {"momentum": -0.1}, "Momentum.momentum"),
    (backends.Momentum, {"nesterov": "yes"}, "Momentum.nesterov"),
    (backends.Adam, {"lr": 0}, "Adam.lr"),
    (backends.Adam, {"beta1": "0.9"}, "Adam.beta1"),
    (backends.Adam, {"beta1": 1.1}, "Adam.beta1"),
    (backends.Adam, {"beta1": 1.0}, "Adam.beta1"),  # 1 - beta1^t = 0: division by zero
    (backends.Adam, {"beta2": -0.5}, "Adam.beta2"),
    (backends.Adam, {"beta2": 1.0}, "Adam.beta2"),  # sqrt(1 - beta2^t) = 0: never moves
    (backends.Adam, {"epsilon": 0.0}, "Adam.epsilon"),
    (backends.Adam, {"epsilon": -1e-7}, "Adam.epsilon"),
]


@pytest.mark.parametrize(("cls", "kwargs", "field"), BAD, ids=[f"{f}={k}" for _, k, f in BAD])
def test_bad_hyper_parameters_raise_spec_error(cls, kwargs, field):
    with pytest.raises(SpecError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert field in message and "expected" in message
    assert repr(next(iter(kwargs.values()))) in message
