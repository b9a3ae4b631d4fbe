"""Nearest-neighbour upsampling kernels over ``_elementwise.pyx``.

Notes
-----
Forward: ``y[n, h r + i, w r + j, c] = x[n, h, w, c]``; derivative: ``dL/dx[n,h,w,c]`` is the
sum of ``dy`` over the ``r x r`` block ``x[n,h,w,c]`` was copied to.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from ..errors import ShapeError, expected
from . import _elementwise as _ew

__all__ = ["upsample_forward", "upsample_backward"]


def upsample_forward(x, *, scale):
    """``y[n, h r + i, w r + j, c] = x[n, h, w, c]``."""
    fn = "upsample_forward"
    x = ck.array(fn, "x", x, ndim=4)
    r = ck.integer(fn, "scale", scale)
    n, h, w, c = x.shape
    y = buffers.empty((n, h * r, w * r, c), dtype=x.dtype)
    _ew.upsample_forward(x, y, r)
    return y


def upsample_backward(dy, *, scale):
    """``dx[n, h, w, c] = sum_{i, j < r} dy[n, h r + i, w r + j, c]``."""
    fn = "upsample_backward"
    dy = ck.array(fn, "dy", dy, ndim=4)
    r = ck.integer(fn, "scale", scale)
    n, hr, wr, c = dy.shape
    if hr % r or wr % r:
        raise ShapeError(expected(f"{fn}.dy spatial size", f"multiples of scale = {r}", (hr, wr)))
    dx = np.empty((n, hr // r, wr // r, c), dtype=dy.dtype)
    _ew.upsample_backward(dy, dx, r)
    return dx
