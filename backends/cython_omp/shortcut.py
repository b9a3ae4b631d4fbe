"""Shortcut kernels: ``y = alpha a + beta b`` over ``_elementwise.pyx``.

Notes
-----
Forward: ``y = alpha a + beta b``; derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from . import _elementwise as _ew

__all__ = ["shortcut_forward", "shortcut_backward"]


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b`` (alpha, beta rounded to the array type first)."""
    fn = "shortcut_forward"
    a = ck.array(fn, "a", a, ndim=getattr(a, "ndim", -1))
    b = ck.array(fn, "b", b, ndim=a.ndim, like=a.dtype, shape=a.shape)
    al, be = ck.number(fn, "alpha", alpha), ck.number(fn, "beta", beta)
    y = buffers.empty(a.shape, a.dtype)
    _ew.scaled_sum(a.reshape(-1), b.reshape(-1), y.reshape(-1), al, be)
    return y


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``."""
    fn = "shortcut_backward"
    dy = ck.array(fn, "dy", dy, ndim=getattr(dy, "ndim", -1))
    al, be = ck.number(fn, "alpha", alpha), ck.number(fn, "beta", beta)
    empty = np.empty(0, dy.dtype)
    da, db = np.empty_like(dy), np.empty_like(dy)
    _ew.scaled_sum(dy.reshape(-1), empty, da.reshape(-1), al, 0.0)
    _ew.scaled_sum(dy.reshape(-1), empty, db.reshape(-1), be, 0.0)
    return da, db
