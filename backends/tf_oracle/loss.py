"""Loss kernels: the Keras losses, averaged over every element; gradients by the tape.

Notes
-----
``mse``: ``keras.losses.MeanSquaredError``; ``mae``: ``MeanAbsoluteError``; ``smooth_l1``:
``Huber(delta)`` (``0.5 e^2`` if ``|e| <= delta`` else ``delta (|e| - delta / 2)``).
Keras averages over the last axis and then over the rest ("sum_over_batch_size"), which is
the mean over all elements. Each loss object is built with the input dtype, so float64
inputs are not cast to Keras' float32 default.
Gradient at ``e = 0`` for mae: 0 (the gradient of ``|e|`` is ``sign(e)``).
Gradients ``dL/dy`` (by the tape) with ``e = y - t``, ``M = y.size``: ``2 e / M`` (mse),
``sign(e) / M`` (mae), ``clip(e, -delta, delta) / M`` (smooth_l1).
"""

from __future__ import annotations

from functools import lru_cache

import keras
import tensorflow as tf

from ._common import tensor

__all__ = ["loss_forward", "loss_backward"]


@lru_cache(maxsize=32)
def _loss(kind: str, delta: float, dtype: str):
    if kind == "mse":
        return keras.losses.MeanSquaredError(dtype=dtype)
    if kind == "mae":
        return keras.losses.MeanAbsoluteError(dtype=dtype)
    return keras.losses.Huber(delta=float(delta), dtype=dtype)


def _value(y, t, kind, delta):
    return _loss(kind, float(delta), y.dtype.name)(t, y)  # Keras order: (y_true, y_pred)


def loss_forward(y, t, *, kind, delta):
    """Mean loss over all elements, as a Python float."""
    return float(_value(tensor(y), tensor(t), kind, delta))


def loss_backward(y, t, *, kind, delta):
    """Gradient of the mean loss with respect to ``y`` (the tape on the Keras loss):
    ``2 e / M`` (mse), ``sign(e) / M`` (mae), ``clip(e, -delta, delta) / M`` (Huber).
    """
    yt, tt = tensor(y), tensor(t)
    with tf.GradientTape() as tape:
        tape.watch(yt)
        value = _value(yt, tt, kind, delta)
    return tape.gradient(value, yt).numpy()
