"""Pixel shuffle (depth to space) and its inverse, in the ``dcr`` and ``crd`` orders.

Notes
-----
``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]``: ``tf.nn.depth_to_space``
and ``tf.nn.space_to_depth``. ``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]``
(torch.nn.PixelShuffle), which TensorFlow has no op for: reshape / transpose in TF.
Both are pure data movement, so the results are bit-exact.
Derivative: a permutation, so ``dL/dx = pixel_unshuffle(dy)``, its inverse (bit-exact).
"""

from __future__ import annotations

import tensorflow as tf

from ._common import tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def pixel_shuffle(x, *, scale, order):
    """(N, H, W, C r^2) -> (N, H r, W r, C)."""
    xt, r = tensor(x), int(scale)
    if order == "dcr":
        return tf.nn.depth_to_space(xt, r).numpy()
    n, h, w, cr = x.shape
    c = cr // (r * r)
    t = tf.transpose(tf.reshape(xt, (n, h, w, c, r, r)), (0, 1, 4, 2, 5, 3))
    return tf.reshape(t, (n, h * r, w * r, c)).numpy()


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2)."""
    yt, r = tensor(y), int(scale)
    if order == "dcr":
        return tf.nn.space_to_depth(yt, r).numpy()
    n, hr, wr, c = y.shape
    h, w = hr // r, wr // r
    t = tf.transpose(tf.reshape(yt, (n, h, r, w, r, c)), (0, 1, 3, 5, 2, 4))
    return tf.reshape(t, (n, h, w, c * r * r)).numpy()
