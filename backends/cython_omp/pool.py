"""Pooling kernels: validated wrappers over ``_pool.pyx``.

``size``/``stride`` are (rows, cols); ``pads`` is (top, bottom, left, right), each smaller than
the window (so every window holds at least one input cell). Max pooling pads with ``-inf`` and
returns the arg-max of every output as an int64 flat index into ``x`` (C order). Average
pooling divides by the number of in-bounds cells of each window, as TensorFlow does.

Notes
-----
Forward: max ``y = max`` of the ``-inf``-padded window (and its arg-max), average
``y = sum of the in-bounds window cells / count``. Derivatives: ``dL/dx`` receives ``dy``
at the arg-max (max) or ``dy / count`` on each in-bounds cell of the window (average).
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from ..errors import ShapeError, expected
from . import _pool

__all__ = ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"]


def _geometry(fn, shape, size, stride, pads):
    size = ck.integers(fn, "size", size, 2)
    stride, pads, (ho, wo) = ck.window(fn, shape[1:3], size, stride, pads, below=size)
    return size, stride, pads, ho, wo


def maxpool_forward(x, *, size, stride, pads):
    """``y = max over each window``; returns ``(y, argmax)``, int64 flat indices into x.

    Ties go to the first maximum in row-major window order.
    """
    fn = "maxpool_forward"
    x = ck.array(fn, "x", x, ndim=4)
    size, stride, pads, ho, wo = _geometry(fn, x.shape, size, stride, pads)
    y = buffers.empty((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    argmax = buffers.empty(y.shape, dtype=np.int64)
    _pool.maxpool_forward(x, y, argmax, *size, *stride, pads[0], pads[2])
    return y, argmax


def maxpool_backward(dy, argmax, *, x_shape):
    """``dx[argmax[o]] += dy[o]`` for every output ``o`` (overlapping windows add up).

    Every index must point into the sample of its output (what ``maxpool_forward`` returns).
    """
    fn = "maxpool_backward"
    dy = ck.array(fn, "dy", dy, ndim=4)
    x_shape = ck.nhwc(fn, "x_shape", x_shape)
    argmax = ck.index(fn, "argmax", argmax, shape=dy.shape)
    if x_shape[0] != dy.shape[0]:
        raise ShapeError(expected(f"{fn}.x_shape[0]", dy.shape[0], x_shape[0]))
    dx = np.zeros(x_shape, dtype=dy.dtype)
    bad = _pool.maxpool_backward(dy, argmax, dx)
    if bad:
        raise ShapeError(expected(f"{fn}.argmax", "flat indices into the same sample of x",
                                  f"{bad} indices outside it"))
    return dx


def avgpool_forward(x, *, size, stride, pads):
    """``y = (sum of in-bounds cells of the window) / (their count)``."""
    fn = "avgpool_forward"
    x = ck.array(fn, "x", x, ndim=4)
    size, stride, pads, ho, wo = _geometry(fn, x.shape, size, stride, pads)
    y = buffers.empty((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    _pool.avgpool_forward(x, y, *size, *stride, pads[0], pads[2])
    return y


def avgpool_backward(dy, *, x_shape, size, stride, pads):
    """Each in-bounds cell of a window receives ``dy / count`` of that window."""
    fn = "avgpool_backward"
    dy = ck.array(fn, "dy", dy, ndim=4)
    x_shape = ck.nhwc(fn, "x_shape", x_shape)
    size, stride, pads, ho, wo = _geometry(fn, x_shape, size, stride, pads)
    want = (x_shape[0], ho, wo, x_shape[3])
    if dy.shape != want:
        raise ShapeError(expected(f"{fn}.dy.shape", str(want), dy.shape))
    dx = np.empty(x_shape, dtype=dy.dtype)
    _pool.avgpool_backward(dy, dx, *size, *stride, pads[0], pads[2])
    return dx
