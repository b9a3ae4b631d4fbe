"""Pooling kernels on ``tf.nn`` pooling ops. ``size``/``stride`` are (rows, cols); ``pads``
is (top, bottom, left, right).

Max pooling pads with ``-inf`` and returns the arg-max of each output as a flat C-order index
into the unpadded ``x``. ``tf.nn.max_pool_with_argmax(..., include_batch_in_index=True)``
returns ``((n H + h) W + w) C + c`` into the tensor it pooled, the same layout; when ``pads``
is not a named TensorFlow mode we pool an explicitly ``-inf``-padded tensor and map its
indices back. Ties go to the first maximum in row-major window order (TensorFlow's CPU
kernel replaces the maximum only on a strictly larger value).

Average pooling divides by the number of in-bounds cells of each window (TensorFlow's
"SAME" convention); for explicit pads the window sums are divided by a count map.

Notes
-----
Forward: max ``y = max`` of the ``-inf``-padded window (and its arg-max), average
``y = sum of the in-bounds window cells / count``. Derivatives: ``dL/dx`` receives ``dy``
at the arg-max (max) or ``dy / count`` on each in-bounds cell of the window (average).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ._common import pad, padding_mode, tape_grad, tensor

__all__ = ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"]


def maxpool_forward(x, *, size, stride, pads):
    """``y = max over each window``; returns ``(y, argmax)`` with int64 flat indices into x."""
    ksize, strides = list(size), list(stride)
    mode = padding_mode(x.shape, size, stride, pads)
    xt = tensor(x)
    if mode is not None:
        y, arg = tf.nn.max_pool_with_argmax(
            xt, ksize, strides, mode, include_batch_in_index=True
        )
        return y.numpy(), arg.numpy()
    xp = pad(xt, pads, -np.inf)
    y, arg = tf.nn.max_pool_with_argmax(xp, ksize, strides, "VALID", include_batch_in_index=True)
    n, h, w, c = x.shape
    hp, wp = int(xp.shape[1]), int(xp.shape[2])
    # flat index into the padded tensor -> (n, row, col, ch) -> flat index into x
    rest, ch = np.divmod(arg.numpy(), c)
    rest, col = np.divmod(rest, wp)
    nn, row = np.divmod(rest, hp)
    argmax = ((nn * h + (row - pads[0])) * w + (col - pads[2])) * c + ch
    return y.numpy(), argmax.astype(np.int64)


def maxpool_backward(dy, argmax, *, x_shape):
    """``dx[argmax[o]] += dy[o]`` for every output ``o``.

    The signature carries no ``x``, so there is no forward to put on a tape; this is the
    scatter-add that TensorFlow's max-pool gradient performs, as ``unsorted_segment_sum``.
    """
    size = int(np.prod(x_shape))
    dx = tf.math.unsorted_segment_sum(
        tf.reshape(tensor(dy), [-1]), tf.reshape(tensor(argmax), [-1]), size
    )
    return tf.reshape(dx, x_shape).numpy()


def _avgpool(xt, size, stride, pads):
    ksize, strides = list(size), list(stride)
    mode = padding_mode(xt.shape, size, stride, pads)
    if mode is not None:
        return tf.nn.avg_pool2d(xt, ksize, strides, mode)
    # zero-pad, average over the full window, then rescale to "sum / in-bounds count"
    ones = tf.ones((1, *xt.shape[1:3], 1), xt.dtype)
    full = tf.nn.avg_pool2d(pad(xt, pads), ksize, strides, "VALID")
    frac = tf.nn.avg_pool2d(pad(ones, pads), ksize, strides, "VALID")  # count / (kh kw)
    return full / frac


def avgpool_forward(x, *, size, stride, pads):
    """``y = (sum of in-bounds cells of the window) / (their count)``."""
    return _avgpool(tensor(x), size, stride, pads).numpy()


def avgpool_backward(dy, *, x_shape, size, stride, pads):
    """Each in-bounds cell of a window receives ``dy / count`` of that window.

    Average pooling is linear, so the tape on the forward of any input of ``x_shape``
    (zeros here) gives the exact gradient.
    """
    x0 = tf.zeros(x_shape, dy.dtype)
    (dx,) = tape_grad(lambda t: _avgpool(t, size, stride, pads), [x0], dy)
    return dx
