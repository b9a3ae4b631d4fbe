"""Nearest-neighbour upsampling kernels.

Notes
-----
Forward: ``y[n, h r + i, w r + j, c] = x[n, h, w, c]`` for ``0 <= i, j < r``.
Derivative: ``dL/dx[n,h,w,c] = sum_{i,j < r} dy[n, h r + i, w r + j, c]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["upsample_forward", "upsample_backward"]


def upsample_forward(x, *, scale):
    """``y[n, h r + i, w r + j, c] = x[n, h, w, c]``.

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    scale : int
        ``r``.

    Returns
    -------
    numpy.ndarray
        (N, H r, W r, C).
    """
    return np.repeat(np.repeat(x, scale, axis=1), scale, axis=2)


def upsample_backward(dy, *, scale):
    """``dx[n, h, w, c] = sum_{i, j < r} dy[n, h r + i, w r + j, c]``.

    Parameters
    ----------
    dy : numpy.ndarray
        Upstream gradient (N, H r, W r, C).
    scale : int
        ``r``.

    Returns
    -------
    numpy.ndarray
        ``dx`` (N, H, W, C).
    """
    n, hr, wr, c = dy.shape
    return dy.reshape(n, hr // scale, scale, wr // scale, scale, c).sum(axis=(2, 4))
