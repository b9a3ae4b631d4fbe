"""Dense (connected) kernels on ``tf.linalg.matmul``: ``x`` (N, K), ``w`` (K, U), ``b`` (U,).

Notes
-----
Forward: ``y = x w + b``; derivatives: ``dL/dx = dy w^T``, ``dL/dw = x^T dy``, ``dL/db = sum_n dy``.
"""

from __future__ import annotations

import tensorflow as tf

from ._common import tape_grad, tensor

__all__ = ["dense_forward", "dense_backward"]


def _dense(x, w, b=None):
    y = tf.linalg.matmul(x, w)
    return y if b is None else tf.nn.bias_add(y, b)


def dense_forward(x, w, b):
    """``y = x w + b``."""
    return _dense(tensor(x), tensor(w), None if b is None else tensor(b)).numpy()


def dense_backward(x, w, dy):
    """Return ``(dx, dw, db) = (dy w^T, x^T dy, sum_n dy)`` by the tape on ``x w + b``."""
    b0 = tf.zeros((w.shape[1],), w.dtype)
    dx, dw, db = tape_grad(_dense, [tensor(x), tensor(w), b0], dy)
    return dx, dw, db
