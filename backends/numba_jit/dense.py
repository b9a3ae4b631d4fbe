"""Dense (connected) kernels on 2-D arrays: ``x`` (N, K), ``w`` (K, U), ``b`` (U,) or None.

The products are GEMMs in fixed chunks over the threads (:mod:`._gemm`); the bias sum gives
each task a block of columns, so it runs in one fixed order.

Notes
-----
Forward: ``y = x w + b``; derivatives: ``dL/dx = dy w^T``, ``dL/dw = x^T dy``, ``dL/db = sum_n dy``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..errors import ShapeError, expected
from ._gemm import matmul_rows, matmul_tn_add
from ._jit import kernel, prange, serial_kernel
from .conv import _column_sums

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["dense_forward", "dense_backward"]


@kernel
def _forward(x, w, b, has_bias):
    y = np.empty((x.shape[0], w.shape[1]), x.dtype)
    matmul_rows(x, w, y)
    if has_bias:
        for r in prange(y.shape[0]):
            for k in range(y.shape[1]):
                y[r, k] += b[k]
    return y


@serial_kernel
def _backward(x, w, dy):
    dx = np.empty_like(x)
    dw = np.zeros_like(w)
    matmul_rows(dy, w.T, dx)
    matmul_tn_add(x, dy, dw)
    return dx, dw


def _check_xw(where, x, w):
    _check.array(where, "x", x, ndim=2)
    _check.array(where, "w", w, ndim=2, like=x.dtype)
    if w.shape[0] != x.shape[1]:
        raise ShapeError(expected(f"numba.{where}.w.shape[0]",
                                                f"x.shape[1] = {x.shape[1]}", w.shape[0]))


def dense_forward(x, w, b):
    """``y = x w + b``; derivatives in :func:`dense_backward`."""
    _check_xw("dense_forward", x, w)
    if b is not None:
        _check.array("dense_forward", "b", b, ndim=1, like=x.dtype, shape=(w.shape[1],))
    return _forward(x, w, b if b is not None else np.zeros(0, x.dtype), b is not None)


def dense_backward(x, w, dy):
    """Return ``(dx, dw, db) = (dy w^T, x^T dy, sum_n dy)``."""
    _check_xw("dense_backward", x, w)
    _check.array("dense_backward", "dy", dy, like=x.dtype, shape=(x.shape[0], w.shape[1]))
    dx, dw = _backward(x, w, dy)
    return dx, dw, _column_sums(dy)
