"""Pixel shuffle (depth to space) and its inverse, in the ``dcr`` and ``crd`` orders.

Notes
-----
``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (tf.nn.depth_to_space).
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch.nn.PixelShuffle).
Pure data movement (bit-exact); each task writes whole rows of the output (``dcr``: whole
input rows' worth of output).
Derivative: a permutation, so ``dL/dx = pixel_unshuffle(dy)``, its inverse (bit-exact).
"""

from __future__ import annotations

import numpy as np

from .. import _validate, buffers
from ..errors import ShapeError, expected
from ._jit import kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


@kernel
def _shuffle_dcr(x, r, y):
    """Task = input row ``n H + h`` (whose values fill output rows ``(n H + h) r + i``, the
    same span of the flat arrays), read in order: ``x[n, h, w, i r C : (i + 1) r C]`` is the
    run ``y[n, h r + i, w r : w r + r, :]``. ``y`` comes from the caller (see
    :func:`pixel_shuffle`). Measured (1 thread, into a touched output, busy 2-core machine,
    medians of 7), 2x512x512x108 x6 / 1x339x510x256 x2: one task per output row reading each
    input row r times strided 108-134 / - ms, 2-D slice assignment per run 47-70 / 52-66 ms
    (Numba checks each for overlap), this flat loop 30-58 / 32-48 ms."""
    n, h, w, cr = x.shape
    run = cr // r
    x1 = x.reshape(-1)
    y1 = y.reshape(-1)
    for hh in prange(n * h):
        xs = x1[hh * w * cr:(hh + 1) * w * cr]
        ys = y1[hh * w * cr:(hh + 1) * w * cr]
        for ww in range(w):
            for i in range(r):
                s = ww * cr + i * run
                d = (i * w + ww) * run
                for k in range(run):
                    ys[d + k] = xs[s + k]
    return y


@kernel
def _unshuffle_dcr(y, r, x):
    """Inverse of :func:`_shuffle_dcr`; task = output row ``n H + h``, written in order."""
    n, h, w, cr = x.shape
    run = cr // r
    x1 = x.reshape(-1)
    y1 = y.reshape(-1)
    for hh in prange(n * h):
        xs = x1[hh * w * cr:(hh + 1) * w * cr]
        ys = y1[hh * w * cr:(hh + 1) * w * cr]
        for ww in range(w):
            for i in range(r):
                d = ww * cr + i * run
                s = (i * w + ww) * run
                for k in range(run):
                    xs[d + k] = ys[s + k]
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
        raise ShapeError(expected("numba.pixel_shuffle.x.shape[3]",
                                                f"a multiple of scale^2 = {r * r}", x.shape[3]))
    if order == "crd":
        return _shuffle_crd(x, r)
    n, h, w, cr = x.shape
    # NumPy allocates the output (madvise'd huge pages), not Numba's runtime (4 KiB pages):
    # first-touch page faults on 2x512x512x108 -> x6, 1 thread: 294 ms with the array made
    # inside the kernel, 186 ms with np.empty (same kernel; machine shared).
    return _shuffle_dcr(x, r, buffers.empty((n, h * r, w * r, cr // (r * r)), x.dtype))


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2)."""
    _check.array("pixel_unshuffle", "y", y, ndim=4)
    r = _check.integer("pixel_unshuffle", "scale", scale)
    _check.choice("pixel_unshuffle", "order", order, ("dcr", "crd"))
    if y.shape[1] % r or y.shape[2] % r:
        raise ShapeError(expected("numba.pixel_unshuffle.y.shape[1:3]",
                                                f"multiples of scale {r}", y.shape[1:3]))
    if order == "crd":
        return _unshuffle_crd(y, r)
    n, hr, wr, c = y.shape
    return _unshuffle_dcr(y, r, np.empty((n, hr // r, wr // r, c * r * r), y.dtype))
