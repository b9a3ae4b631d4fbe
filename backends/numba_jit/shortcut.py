"""Shortcut kernels: ``y = alpha a + beta b``; derivatives ``(da, db) = (alpha dy, beta dy)``.

Notes
-----
Forward: ``y = alpha a + beta b``; derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ._jit import kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["shortcut_forward", "shortcut_backward"]


@kernel
def _scale_add(a, b, alpha, beta):
    y = np.empty_like(a)
    for i in prange(a.size):
        y[i] = alpha * a[i] + beta * b[i]
    return y


@kernel
def _scale2(dy, alpha, beta):
    da = np.empty_like(dy)
    db = np.empty_like(dy)
    for i in prange(dy.size):
        da[i] = alpha * dy[i]
        db[i] = beta * dy[i]
    return da, db


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b``."""
    _check.array("shortcut_forward", "a", a)
    _check.array("shortcut_forward", "b", b, like=a.dtype, shape=a.shape)
    t = a.dtype.type
    alpha = t(_check.number("shortcut_forward", "alpha", alpha))
    beta = t(_check.number("shortcut_forward", "beta", beta))
    return _scale_add(a.reshape(-1), b.reshape(-1), alpha, beta).reshape(a.shape)


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``."""
    _check.array("shortcut_backward", "dy", dy)
    t = dy.dtype.type
    alpha = t(_check.number("shortcut_backward", "alpha", alpha))
    beta = t(_check.number("shortcut_backward", "beta", beta))
    da, db = _scale2(dy.reshape(-1), alpha, beta)
    return da.reshape(dy.shape), db.reshape(dy.shape)


