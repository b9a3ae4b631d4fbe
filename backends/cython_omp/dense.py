"""Dense (connected) kernels on 2-D arrays over BLAS GEMM (``_conv.pyx``):
``x`` (N, K), ``w`` (K, U), ``b`` (U,) or None.

Notes
-----
Forward: ``y = x w + b``; derivatives: ``dL/dx = dy w^T``, ``dL/dw = x^T dy``, ``dL/db = sum_n dy``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from . import _conv

__all__ = ["dense_forward", "dense_backward"]


def _check(fn, x, w):
    x = ck.array(fn, "x", x, ndim=2)
    w = ck.array(fn, "w", w, ndim=2, like=x.dtype, shape=(x.shape[1], None))
    return x, w


def dense_forward(x, w, b):
    """``y = x w + b``."""
    fn = "dense_forward"
    x, w = _check(fn, x, w)
    b = ck.optional_bias(fn, b, x.dtype, w.shape[1])
    y = buffers.empty((x.shape[0], w.shape[1]), dtype=x.dtype)
    _conv.dense_forward(x, w, np.zeros(1, x.dtype) if b is None else b, b is not None, y)
    return y


def dense_backward(x, w, dy):
    """Return ``(dx, dw, db) = (dy w^T, x^T dy, sum_n dy)``."""
    fn = "dense_backward"
    x, w = _check(fn, x, w)
    dy = ck.array(fn, "dy", dy, ndim=2, like=x.dtype, shape=(x.shape[0], w.shape[1]))
    dx, dw = np.empty_like(x), np.empty_like(w)
    db = np.empty(w.shape[1], dtype=x.dtype)
    _conv.dense_backward(x, w, dy, dx, dw, db)
    return dx, dw, db
