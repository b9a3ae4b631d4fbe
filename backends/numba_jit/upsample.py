"""Nearest-neighbour upsampling kernels; each task writes whole output rows.

Notes
-----
Forward: ``y[n, h r + i, w r + j, c] = x[n, h, w, c]``; derivative: ``dL/dx[n,h,w,c]`` is the
sum of ``dy`` over the ``r x r`` block ``x[n,h,w,c]`` was copied to.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..errors import ShapeError, expected
from ._jit import kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["upsample_forward", "upsample_backward"]


@kernel
def _forward(x, r):
    n, h, w, c = x.shape
    y = np.empty((n, h * r, w * r, c), x.dtype)
    for row in prange(n * h * r):
        nn = row // (h * r)
        yr = row - nn * h * r
        hh = yr // r
        for ww in range(w * r):
            for cc in range(c):
                y[nn, yr, ww, cc] = x[nn, hh, ww // r, cc]
    return y


@kernel
def _backward(dy, r):
    n, hr, wr, c = dy.shape
    h = hr // r
    w = wr // r
    dx = np.zeros((n, h, w, c), dy.dtype)
    for row in prange(n * h):
        nn = row // h
        hh = row - nn * h
        for ww in range(w):
            for i in range(r):
                for j in range(r):
                    for cc in range(c):
                        dx[nn, hh, ww, cc] += dy[nn, hh * r + i, ww * r + j, cc]
    return dx


def upsample_forward(x, *, scale):
    """``y[n, h r + i, w r + j, c] = x[n, h, w, c]``; derivative in :func:`upsample_backward`."""
    _check.array("upsample_forward", "x", x, ndim=4)
    return _forward(x, _check.integer("upsample_forward", "scale", scale))


def upsample_backward(dy, *, scale):
    """``dx[n, h, w, c] = sum_{i, j < r} dy[n, h r + i, w r + j, c]``."""
    _check.array("upsample_backward", "dy", dy, ndim=4)
    r = _check.integer("upsample_backward", "scale", scale)
    if dy.shape[1] % r or dy.shape[2] % r:
        raise ShapeError(expected("numba.upsample_backward.dy.shape[1:3]",
                                                f"multiples of scale {r}", dy.shape[1:3]))
    return _backward(dy, r)
