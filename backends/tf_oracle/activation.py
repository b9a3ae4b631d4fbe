"""Activation kernels in TensorFlow; derivatives through ``tf.GradientTape``.

Native TensorFlow functions where TensorFlow has the activation: logistic
(``tf.math.sigmoid``), tanh, relu, elu, selu, softplus, softsign, leaky (``tf.nn.leaky_relu``,
alpha = ``LEAKY_SLOPE``) and relie (the same op, alpha = ``RELIE_SLOPE``). The others are
composed from TensorFlow ops, written as the formulas of ``backends/activations.py``.

The LeakyRelu op keeps ``alpha`` as a 32-bit attribute, so in float64 its slope would be
``float32(0.1)`` (relative error 1.5e-8, far above float64 rounding); for float64 leaky and
relie are therefore composed as ``tf.where(x > 0, x, alpha x)`` with a float64 ``alpha``
(same function, same derivative at 0).

Away from kinks the tape gives the derivatives of ``backends/activations.py``. At a kink it
gives TensorFlow's one-sided choice, which differs from ``kink_rule`` there for (see
:data:`TF_KINK_DERIVATIVES`, checked by the tests):

- selu at 0: ``scale`` (SeluGrad takes the x >= 0 branch); ours ``scale * alpha``;
- hardtan at +-1: 1 (``clip_by_value`` passes the gradient on the bounds); ours 0;
- lhtan at 0 and 1: 1 (the middle ``tf.where`` branch holds the bounds); ours 0.001.

Notes
-----
Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) dy`` (``f``, ``f'`` of
``backends.activations.ACTIVATIONS[kind]``; at the kinks above, TensorFlow's one-sided value).
"""

from __future__ import annotations

import tensorflow as tf

from ..activations import (
    ELLIOT_S,
    LEAKY_SLOPE,
    LHTAN_SLOPE,
    PLSE_SLOPE,
    RELIE_SLOPE,
    SELU_SCALE,
)
from ._common import tape_grad, tensor

__all__ = ["activation_forward", "activation_backward"]

# (kind, x at the kink) -> derivative the tape gives there, where it differs from kink_rule.
TF_KINK_DERIVATIVES: dict[tuple[str, float], float] = {
    ("selu", 0.0): SELU_SCALE,
    ("hardtan", -1.0): 1.0,
    ("hardtan", 1.0): 1.0,
    ("lhtan", 0.0): 1.0,
    ("lhtan", 1.0): 1.0,
}


def _c(x, v):
    return tf.constant(v, x.dtype)


def _leaky(x, alpha):
    if x.dtype == tf.float32:
        return tf.nn.leaky_relu(x, alpha=alpha)
    return tf.where(x > 0, x, _c(x, alpha) * x)


def _plse(x):
    s = _c(x, PLSE_SLOPE)
    return tf.where(
        x < -4, s * (x + 4),
        tf.where(x > 4, s * (x - 4) + 1, _c(x, 0.125) * x + _c(x, 0.5)),
    )


def _lhtan(x):
    s = _c(x, LHTAN_SLOPE)
    return tf.where(x < 0, s * x, tf.where(x > 1, s * (x - 1) + 1, x))


def _elliot(x, half):
    sx = _c(x, ELLIOT_S) * x
    y = sx / (1 + tf.abs(sx))
    return _c(x, 0.5) * y + _c(x, 0.5) if half else y


_FUNCS = {
    "linear": tf.identity,
    "logistic": tf.math.sigmoid,
    "loggy": lambda x: 2 * tf.math.sigmoid(x) - 1,
    "relu": tf.nn.relu,
    "elu": tf.nn.elu,
    "relie": lambda x: _leaky(x, RELIE_SLOPE),
    "ramp": lambda x: tf.nn.relu(x) + _c(x, 0.1) * x,
    "tanh": tf.math.tanh,
    "plse": _plse,
    "leaky": lambda x: _leaky(x, LEAKY_SLOPE),
    "hardtan": lambda x: tf.clip_by_value(x, _c(x, -1.0), _c(x, 1.0)),
    "lhtan": _lhtan,
    "selu": tf.nn.selu,
    "softplus": tf.math.softplus,
    "softsign": tf.nn.softsign,
    "elliot": lambda x: _elliot(x, True),
    "symm_elliot": lambda x: _elliot(x, False),
}


def activation_forward(x, *, kind):
    """``y = f(x)`` (formulas in ``backends/activations.py``)."""
    return _FUNCS[kind](tensor(x)).numpy()


def activation_backward(x, dy, *, kind):
    """``dx = f'(x) dy`` by the tape on ``f`` (kinks: see the module docstring)."""
    (dx,) = tape_grad(_FUNCS[kind], [tensor(x)], dy)
    return dx
