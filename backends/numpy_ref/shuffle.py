"""Pixel shuffle (depth to space) and its inverse, in the ``dcr`` and ``crd`` orders.

Notes
-----
``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (tf.nn.depth_to_space).
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch.nn.PixelShuffle).
Derivative: a permutation, so ``dL/dx = pixel_unshuffle(dy)``, its inverse (bit-exact).
"""

from __future__ import annotations

import numpy as np

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def pixel_shuffle(x, *, scale, order):
    """(N, H, W, C r^2) -> (N, H r, W r, C).

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input, C r^2 channels.
    scale : int
        ``r``.
    order : {"dcr", "crd"}
        The channel order (see the module docstring).

    Returns
    -------
    numpy.ndarray
        ``y``, C-contiguous.
    """
    n, h, w, cr = x.shape
    r = scale
    c = cr // (r * r)
    if order == "dcr":
        t = x.reshape(n, h, w, r, r, c).transpose(0, 1, 3, 2, 4, 5)
    else:
        t = x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3)
    return np.ascontiguousarray(t).reshape(n, h * r, w * r, c)


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2).

    Parameters
    ----------
    y : numpy.ndarray
        NHWC array, height and width multiples of ``scale``.
    scale, order
        As in :func:`pixel_shuffle`.

    Returns
    -------
    numpy.ndarray
        The array ``pixel_shuffle`` maps to ``y``.
    """
    n, hr, wr, c = y.shape
    r = scale
    h, w = hr // r, wr // r
    t = y.reshape(n, h, r, w, r, c)
    if order == "dcr":
        t = t.transpose(0, 1, 3, 2, 4, 5)  # n, h, w, i, j, c
    else:
        t = t.transpose(0, 1, 3, 5, 2, 4)  # n, h, w, c, i, j
    return np.ascontiguousarray(t).reshape(n, h, w, c * r * r)
