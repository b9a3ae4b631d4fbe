"""Shortcut kernels: ``y = alpha a + beta b`` in TensorFlow.

Notes
-----
Forward: ``y = alpha a + beta b``; derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

import tensorflow as tf

from ._common import tape_grad, tensor

__all__ = ["shortcut_forward", "shortcut_backward"]


def _shortcut(a, b, alpha, beta):
    return tf.constant(alpha, a.dtype) * a + tf.constant(beta, a.dtype) * b


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b``."""
    return _shortcut(tensor(a), tensor(b), alpha, beta).numpy()


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``: the tape on the (linear) forward, taken at
    zero inputs of ``dy``'s shape since the signature carries none.
    """
    z = tf.zeros(dy.shape, dy.dtype)
    da, db = tape_grad(lambda a, b: _shortcut(a, b, alpha, beta), [z, tf.identity(z)], dy)
    return da, db
