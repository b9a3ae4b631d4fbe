"""Pixel shuffle (depth to space) and its inverse, in the ``dcr`` and ``crd`` orders.

``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (tf.nn.depth_to_space).
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch.nn.PixelShuffle).
Pure data movement (bit-exact); each task writes whole rows of the output.
"""

from __future__ import annotations

import numpy as np

from . import _check
from ._jit import helper, kernel, prange

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


@helper
def _dcr_run(row, ww, r, w, run):
    """Flat offsets of one contiguous run of r C values in ``dcr`` order, for output row
    ``row`` (over N H r) and input column ``ww``: ``(offset in x, offset in y)``, with
    ``y[n, h r + i, w r : w r + r, :] = x[n, h, w, i r C : (i + 1) r C]``."""
    hh = row // r  # image row index over N * H
    cr = run * r
    return hh * w * cr + (row - hh * r) * run + ww * cr, (row * w + ww) * run


@kernel
def _shuffle_dcr(x, r):
    n, h, w, cr = x.shape
    run = cr // r
    y = np.empty((n, h * r, w * r, run // r), x.dtype)
    x1 = x.reshape(-1)
    y1 = y.reshape(-1)
    for row in prange(n * h * r):
        for ww in range(w):
            src, dst = _dcr_run(row, ww, r, w, run)
            for k in range(run):
                y1[dst + k] = x1[src + k]
    return y


@kernel
def _unshuffle_dcr(y, r):
    n, hr, wr, c = y.shape
    h = hr // r
    w = wr // r
    run = r * c
    x = np.empty((n, h, w, run * r), y.dtype)
    x1 = x.reshape(-1)
    y1 = y.reshape(-1)
    for row in prange(n * h * r):
        for ww in range(w):
            dst, src = _dcr_run(row, ww, r, w, run)
            for k in range(run):
                x1[dst + k] = y1[src + k]
    return x


@kernel
def _shuffle_crd(x, r):
    n, h, w, cr = x.shape
    c = cr // (r * r)
    y = np.empty((n, h * r, w * r, c), x.dtype)
    for row in prange(n * h * r):
        nn = row // (h * r)
        yr = row - nn * h * r
        hh = yr // r
        i = yr - hh * r
        for ww in range(w):
            for j in range(r):
                for cc in range(c):
                    y[nn, yr, ww * r + j, cc] = x[nn, hh, ww, cc * r * r + i * r + j]
    return y


@kernel
def _unshuffle_crd(y, r):
    n, hr, wr, c = y.shape
    h = hr // r
    w = wr // r
    x = np.empty((n, h, w, c * r * r), y.dtype)
    for row in prange(n * h):
        nn = row // h
        hh = row - nn * h
        for ww in range(w):
            for cc in range(c):
                for i in range(r):
                    for j in range(r):
                        x[nn, hh, ww, cc * r * r + i * r + j] = y[nn, hh * r + i, ww * r + j, cc]
    return x


def pixel_shuffle(x, *, scale, order):
    """(N, H, W, C r^2) -> (N, H r, W r, C); the derivative is :func:`pixel_unshuffle`."""
    _check.array("pixel_shuffle", "x", x, ndim=4)
    r = _check.integer("pixel_shuffle", "scale", scale)
    _check.choice("pixel_shuffle", "order", order, ("dcr", "crd"))
    if x.shape[3] % (r * r):
        raise _check.ShapeError(_check.expected("numba.pixel_shuffle.x.shape[3]",
                                                f"a multiple of scale^2 = {r * r}", x.shape[3]))
    return _shuffle_crd(x, r) if order == "crd" else _shuffle_dcr(x, r)


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2)."""
    _check.array("pixel_unshuffle", "y", y, ndim=4)
    r = _check.integer("pixel_unshuffle", "scale", scale)
    _check.choice("pixel_unshuffle", "order", order, ("dcr", "crd"))
    if y.shape[1] % r or y.shape[2] % r:
        raise _check.ShapeError(_check.expected("numba.pixel_unshuffle.y.shape[1:3]",
                                                f"multiples of scale {r}", y.shape[1:3]))
    return _unshuffle_crd(y, r) if order == "crd" else _unshuffle_dcr(y, r)
