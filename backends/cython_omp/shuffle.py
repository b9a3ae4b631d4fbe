"""Pixel shuffle (depth to space) and its inverse, ``dcr`` and ``crd`` orders, over
``_shuffle.pyx``.

Notes
-----
``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (tf.nn.depth_to_space).
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch.nn.PixelShuffle).
A permutation: results are bit-exact copies.
Derivative: a permutation, so ``dL/dx = pixel_unshuffle(dy)``, its inverse (bit-exact).
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from ..errors import ShapeError, expected
from . import _shuffle

__all__ = ["pixel_shuffle", "pixel_unshuffle"]

ORDERS = ("dcr", "crd")


def pixel_shuffle(x, *, scale, order):
    """(N, H, W, C r^2) -> (N, H r, W r, C)."""
    fn = "pixel_shuffle"
    x = ck.array(fn, "x", x, ndim=4)
    r = ck.integer(fn, "scale", scale)
    ck.choice(fn, "order", order, ORDERS)
    n, h, w, cr = x.shape
    if cr % (r * r):
        raise ShapeError(expected(f"{fn}.x channels", f"a multiple of scale^2 = {r * r}", cr))
    y = buffers.empty((n, h * r, w * r, cr // (r * r)), dtype=x.dtype)
    _shuffle.pixel_shuffle(x, y, r, order == "dcr")
    return y


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2)."""
    fn = "pixel_unshuffle"
    y = ck.array(fn, "y", y, ndim=4)
    r = ck.integer(fn, "scale", scale)
    ck.choice(fn, "order", order, ORDERS)
    n, hr, wr, c = y.shape
    if hr % r or wr % r:
        raise ShapeError(expected(f"{fn}.y spatial size", f"multiples of scale = {r}", (hr, wr)))
    x = np.empty((n, hr // r, wr // r, c * r * r), dtype=y.dtype)
    _shuffle.pixel_unshuffle(y, x, r, order == "dcr")
    return x
