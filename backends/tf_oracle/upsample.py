"""Nearest-neighbour upsampling in TensorFlow: a broadcast of each pixel to an r x r block.

Notes
-----
Forward: ``y[n, h r + i, w r + j, c] = x[n, h, w, c]``; derivative: ``dL/dx[n,h,w,c]`` is the
sum of ``dy`` over the ``r x r`` block ``x[n,h,w,c]`` was copied to.
"""

from __future__ import annotations

import tensorflow as tf

from ._common import tape_grad, tensor

__all__ = ["upsample_forward", "upsample_backward"]


def _upsample(x, r):
    n, h, w, c = x.shape
    t = tf.broadcast_to(tf.reshape(x, (n, h, 1, w, 1, c)), (n, h, r, w, r, c))
    return tf.reshape(t, (n, h * r, w * r, c))


def upsample_forward(x, *, scale):
    """``y[n, h r + i, w r + j, c] = x[n, h, w, c]``."""
    return _upsample(tensor(x), int(scale)).numpy()


def upsample_backward(dy, *, scale):
    """``dx[n, h, w, c] = sum_{i, j < r} dy[n, h r + i, w r + j, c]``, by the tape on the
    (linear) forward at a zero input of the implied shape.
    """
    r = int(scale)
    n, hr, wr, c = dy.shape
    x0 = tf.zeros((n, hr // r, wr // r, c), dy.dtype)
    (dx,) = tape_grad(lambda t: _upsample(t, r), [x0], dy)
    return dx
