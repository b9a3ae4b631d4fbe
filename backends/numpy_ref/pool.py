"""Pooling kernels. ``size``/``stride`` are (rows, cols); ``pads`` is (top, bottom, left, right).

Max pooling pads with ``-inf`` (padding never wins) and returns the arg-max of every output
as a flat index into ``x`` (C order), which is all its backward needs. Average pooling
divides by the number of in-bounds cells of each window, as TensorFlow does.

Notes
-----
Forward: ``maxpool_forward`` gives ``y[n,i,j,c] = max_{p,q} xpad[n, i sh + p, j sw + q, c]``
over the window (``xpad`` padded with ``-inf``) and its arg-max; ``avgpool_forward`` gives
``y[n,i,j,c] = sum x[n,h,w,c] / count[i,j]`` over the in-bounds cells ``(h, w)`` of the
window, ``count[i,j]`` of them.

Derivatives: ``maxpool_backward`` adds ``dy[n,i,j,c]`` to ``dL/dx`` at the arg-max only
(overlapping windows add up); ``avgpool_backward`` adds ``dy[n,i,j,c] / count[i,j]`` to
every in-bounds cell of the window.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"]


def _windows(xp, size, stride, ho, wo):
    """View (N, Ho, Wo, C, KH, KW) of the windows of a padded input."""
    win = sliding_window_view(xp, size, axis=(1, 2))
    return win[:, : (ho - 1) * stride[0] + 1 : stride[0], : (wo - 1) * stride[1] + 1 : stride[1]]


def _out(x, size, stride, pads):
    ho = (x.shape[1] + pads[0] + pads[1] - size[0]) // stride[0] + 1
    wo = (x.shape[2] + pads[2] + pads[3] - size[1]) // stride[1] + 1
    return ho, wo


def _pad(x, pads, value):
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def maxpool_forward(x, *, size, stride, pads):
    """``y = max over each window``; returns ``(y, argmax)`` with int64 flat indices into x.

    Ties go to the first maximum in row-major window order.

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    size : (int, int)
        Window ``(kh, kw)``.
    stride : (int, int)
        ``(sh, sw)``.
    pads : (int, int, int, int)
        ``(top, bottom, left, right)``, each smaller than the window.

    Returns
    -------
    y : numpy.ndarray
        (N, Ho, Wo, C).
    argmax : numpy.ndarray
        int64, shaped like ``y``.
    """
    n, h, w, c = x.shape
    ho, wo = _out(x, size, stride, pads)
    win = _windows(_pad(x, pads, -np.inf), size, stride, ho, wo)
    flat = win.reshape(n, ho, wo, c, size[0] * size[1])
    k = np.argmax(flat, axis=-1)
    y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]
    p, q = np.divmod(k, size[1])
    rows = np.arange(ho)[None, :, None, None] * stride[0] + p - pads[0]
    cols = np.arange(wo)[None, None, :, None] * stride[1] + q - pads[2]
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, None, None, :]
    argmax = ((nn * h + rows) * w + cols) * c + cc
    return np.ascontiguousarray(y), argmax.astype(np.int64)


def maxpool_backward(dy, argmax, *, x_shape):
    """``dx[argmax[o]] += dy[o]`` for every output ``o``.

    Parameters
    ----------
    dy : numpy.ndarray
        Upstream gradient, shaped like ``y``.
    argmax : numpy.ndarray
        The forward's ``argmax``.
    x_shape : tuple of int
        The input's shape.

    Returns
    -------
    numpy.ndarray
        ``dx``.
    """
    dx = np.zeros(int(np.prod(x_shape)), dtype=dy.dtype)
    np.add.at(dx, argmax.ravel(), dy.ravel())
    return dx.reshape(x_shape)


def _counts(x_shape, size, stride, pads, ho, wo, dtype):
    ones = np.ones((1, x_shape[1], x_shape[2], 1), dtype=dtype)
    return _windows(_pad(ones, pads, 0.0), size, stride, ho, wo).sum(axis=(-2, -1))


def avgpool_forward(x, *, size, stride, pads):
    """``y = (sum of in-bounds cells of the window) / (their count)``.

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    size, stride, pads
        As in :func:`maxpool_forward`.

    Returns
    -------
    numpy.ndarray
        ``y`` (N, Ho, Wo, C).
    """
    ho, wo = _out(x, size, stride, pads)
    sums = _windows(_pad(x, pads, 0.0), size, stride, ho, wo).sum(axis=(-2, -1))
    return np.ascontiguousarray(sums / _counts(x.shape, size, stride, pads, ho, wo, x.dtype))


def avgpool_backward(dy, *, x_shape, size, stride, pads):
    """Each in-bounds cell of a window receives ``dy / count`` of that window.

    Parameters
    ----------
    dy : numpy.ndarray
        Upstream gradient.
    x_shape : tuple of int
        The input's shape.
    size, stride, pads
        As in :func:`maxpool_forward`.

    Returns
    -------
    numpy.ndarray
        ``dx``.
    """
    n, h, w, c = x_shape
    ho, wo = dy.shape[1:3]
    g = dy / _counts(x_shape, size, stride, pads, ho, wo, dy.dtype)
    top, bottom, left, right = pads
    dxp = np.zeros((n, h + top + bottom, w + left + right, c), dtype=dy.dtype)
    for p in range(size[0]):
        for q in range(size[1]):
            dxp[:, p : p + stride[0] * (ho - 1) + 1 : stride[0],
                q : q + stride[1] * (wo - 1) + 1 : stride[1]] += g
    return np.ascontiguousarray(dxp[:, top : top + h, left : left + w])
