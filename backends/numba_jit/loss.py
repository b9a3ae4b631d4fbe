"""Loss kernels, averaged over every element (``M = y.size``), ``e = y - t``.

Notes
-----
mse: ``mean(e^2)``, ``dL/dy = 2 e / M``; mae: ``mean(|e|)``, ``dL/dy = sign(e) / M``
(0 at e = 0, as TF); smooth_l1 (Huber, Keras): ``0.5 e^2`` if ``|e| <= delta`` else
``delta (|e| - delta / 2)``, ``dL/dy = e`` or ``delta sign(e)``, over M.

The mean is one serial float64 sum (a scalar reduction is never split between threads).
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ._jit import kernel, prange, serial_kernel

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["loss_forward", "loss_backward"]

KINDS = ("mse", "mae", "smooth_l1")


@serial_kernel
def _forward(y, t, kind, delta):
    half = y.dtype.type(0.5)
    acc = 0.0
    for i in range(y.size):
        e = y[i] - t[i]
        if kind == 0:
            v = e * e
        elif kind == 1:
            v = abs(e)
        else:
            a = abs(e)
            q = min(a, delta)
            v = half * q * q + delta * (a - q)
        acc += v
    return acc / y.size


@kernel
def _backward(y, t, kind, delta):
    g = np.empty_like(y)
    m = y.dtype.type(y.size)
    zero = y.dtype.type(0)
    one = y.dtype.type(1)
    for i in prange(y.size):
        e = y[i] - t[i]
        if kind == 0:
            v = e + e
        elif kind == 1:
            v = one if e > zero else (-one if e < zero else (zero if e == zero else e))
        else:
            v = min(max(e, -delta), delta)
        g[i] = v / m
    return g


def _args(where, y, t, kind, delta):
    _check.array(where, "y", y)
    _check.array(where, "t", t, like=y.dtype, shape=y.shape)
    code = KINDS.index(_check.choice(where, "kind", kind, KINDS))
    return y.reshape(-1), t.reshape(-1), code, y.dtype.type(_check.number(where, "delta", delta))


def loss_forward(y, t, *, kind, delta):
    """Mean loss over all elements, as a Python float; gradient in :func:`loss_backward`."""
    return float(_forward(*_args("loss_forward", y, t, kind, delta)))


def loss_backward(y, t, *, kind, delta):
    """Gradient of the mean loss with respect to ``y``."""
    return _backward(*_args("loss_backward", y, t, kind, delta)).reshape(y.shape)
