"""Activation kernels: the 17 formulas of ``backends.activations``, element by element.

Formulas, derivatives, constants and kink rules are those of :mod:`backends.activations`
(see each entry's ``formula``, ``derivative`` and ``kink_rule``). Constants reach the jitted
code as an array of the input dtype, so float32 math stays float32 as in the reference.

Notes
-----
Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) dy`` (``f``, ``f'`` of
``backends.activations.ACTIVATIONS[kind]``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validate
from .. import activations as A
from ._jit import helper, kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["activation_forward", "activation_backward"]

KINDS: tuple[str, ...] = tuple(A.ACTIVATIONS)
_CODE = {name: i for i, name in enumerate(KINDS)}
(LINEAR, LOGISTIC, LOGGY, RELU, ELU, RELIE, RAMP, TANH, PLSE, LEAKY, HARDTAN, LHTAN, SELU,
 SOFTPLUS, SOFTSIGN, ELLIOT, SYMM_ELLIOT) = (_CODE[k] for k in (
    "linear", "logistic", "loggy", "relu", "elu", "relie", "ramp", "tanh", "plse", "leaky",
    "hardtan", "lhtan", "selu", "softplus", "softsign", "elliot", "symm_elliot"))

# index -> value of the constants table passed to the kernels (cast to the input dtype)
_VALUES = (0.0, 1.0, 0.5, 2.0, 4.0, 0.1, 1.1, 0.125, A.LEAKY_SLOPE, A.RELIE_SLOPE,
           A.LHTAN_SLOPE, A.PLSE_SLOPE, A.SELU_SCALE, A.SELU_SCALE * A.SELU_ALPHA, A.ELLIOT_S,
           0.5 * A.ELLIOT_S, -1.0, -4.0)
(ZERO, ONE, HALF, TWO, FOUR, TENTH, ELEVEN_TENTHS, EIGHTH, K_LEAKY, K_RELIE, K_LHTAN,
 K_PLSE, K_SCALE, K_SCALE_ALPHA, K_S, K_HALF_S, MINUS_ONE, MINUS_FOUR) = range(len(_VALUES))


@helper
def _sigmoid(v, k):
    e = math.exp(-abs(v))
    if v >= k[ZERO]:
        return k[ONE] / (k[ONE] + e)
    return e / (k[ONE] + e)


@helper
def _f(kind, v, k):
    if kind == LINEAR:
        return v
    if kind == LOGISTIC:
        return _sigmoid(v, k)
    if kind == LOGGY:
        return k[TWO] * _sigmoid(v, k) - k[ONE]
    if kind == RELU:
        return max(v, k[ZERO])
    if kind == ELU:
        return v if v >= k[ZERO] else math.expm1(min(v, k[ZERO]))
    if kind == RELIE:
        return v if v > k[ZERO] else k[K_RELIE] * v
    if kind == RAMP:
        return max(v, k[ZERO]) + k[TENTH] * v
    if kind == TANH:
        return math.tanh(v)
    if kind == PLSE:
        if v < k[MINUS_FOUR]:
            return k[K_PLSE] * (v + k[FOUR])
        if v > k[FOUR]:
            return k[K_PLSE] * (v - k[FOUR]) + k[ONE]
        return k[EIGHTH] * v + k[HALF]
    if kind == LEAKY:
        return v if v > k[ZERO] else k[K_LEAKY] * v
    if kind == HARDTAN:
        return min(max(v, k[MINUS_ONE]), k[ONE])
    if kind == LHTAN:
        if v < k[ZERO]:
            return k[K_LHTAN] * v
        if v > k[ONE]:
            return k[K_LHTAN] * (v - k[ONE]) + k[ONE]
        return v
    if kind == SELU:
        return k[K_SCALE] * v if v > k[ZERO] else k[K_SCALE_ALPHA] * math.expm1(min(v, k[ZERO]))
    if kind == SOFTPLUS:
        return max(v, k[ZERO]) + math.log1p(math.exp(-abs(v)))
    if kind == SOFTSIGN:
        return v / (k[ONE] + abs(v))
    if kind == ELLIOT:
        return k[K_HALF_S] * v / (k[ONE] + abs(k[K_S] * v)) + k[HALF]
    # SYMM_ELLIOT
    return k[K_S] * v / (k[ONE] + abs(k[K_S] * v))


@helper
def _df(kind, v, k):
    if kind == LINEAR:
        return k[ONE]
    if kind == LOGISTIC or kind == SOFTPLUS:
        s = _sigmoid(v, k)
        return s * (k[ONE] - s) if kind == LOGISTIC else s
    if kind == LOGGY:
        s = _sigmoid(v, k)
        return k[TWO] * s * (k[ONE] - s)
    if kind == RELU:
        return k[ONE] if v > k[ZERO] else k[ZERO]
    if kind == ELU:
        return k[ONE] if v >= k[ZERO] else math.exp(min(v, k[ZERO]))
    if kind == RELIE:
        return k[ONE] if v > k[ZERO] else k[K_RELIE]
    if kind == RAMP:
        return k[ELEVEN_TENTHS] if v > k[ZERO] else k[TENTH]
    if kind == TANH:
        t = math.tanh(v)
        return k[ONE] - t * t
    if kind == PLSE:
        return k[EIGHTH] if v >= k[MINUS_FOUR] and v <= k[FOUR] else k[K_PLSE]
    if kind == LEAKY:
        return k[ONE] if v > k[ZERO] else k[K_LEAKY]
    if kind == HARDTAN:
        return k[ONE] if v > k[MINUS_ONE] and v < k[ONE] else k[ZERO]
    if kind == LHTAN:
        return k[ONE] if v > k[ZERO] and v < k[ONE] else k[K_LHTAN]
    if kind == SELU:
        return k[K_SCALE] if v > k[ZERO] else k[K_SCALE_ALPHA] * math.exp(min(v, k[ZERO]))
    if kind == SOFTSIGN:
        d = k[ONE] + abs(v)
        return k[ONE] / (d * d)
    if kind == ELLIOT:
        d = k[ONE] + abs(k[K_S] * v)
        return k[K_HALF_S] / (d * d)
    # SYMM_ELLIOT
    d = k[ONE] + abs(k[K_S] * v)
    return k[K_S] / (d * d)


@kernel
def _forward(x, kind, k):
    y = np.empty_like(x)
    for i in prange(x.size):
        y[i] = _f(kind, x[i], k)
    return y


@kernel
def _backward(x, dy, kind, k):
    dx = np.empty_like(x)
    for i in prange(x.size):
        dx[i] = _df(kind, x[i], k) * dy[i]
    return dx


def _kind(where, kind):
    return _CODE[_check.choice(where, "kind", kind, KINDS)]


def activation_forward(x, *, kind):
    """``y = f(x)`` for the activation ``kind`` (formula: ``ACTIVATIONS[kind].formula``)."""
    code = _kind("activation_forward", kind)
    _check.array("activation_forward", "x", x)
    consts = np.array(_VALUES, dtype=x.dtype)
    return _forward(x.reshape(-1), code, consts).reshape(x.shape)


def activation_backward(x, dy, *, kind):
    """``dx = f'(x) dy`` (derivative: ``ACTIVATIONS[kind].derivative``, kinks by
    ``kink_rule``)."""
    code = _kind("activation_backward", kind)
    _check.array("activation_backward", "x", x)
    _check.array("activation_backward", "dy", dy, like=x.dtype, shape=x.shape)
    consts = np.array(_VALUES, dtype=x.dtype)
    return _backward(x.reshape(-1), dy.reshape(-1), code, consts).reshape(x.shape)
