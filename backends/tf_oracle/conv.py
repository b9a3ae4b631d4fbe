"""Convolution kernels on ``tf.nn.conv2d`` (the oracle and the peer to beat).

Shapes: ``x`` (N, H, W, C), ``w`` (KH, KW, C, F) HWIO, ``b`` (F,) or None, ``dy`` (N, Ho, Wo, F).
``pads = (top, bottom, left, right)`` zero padding; ``stride = (sh, sw)``.

Padding: when ``pads`` is exactly TensorFlow's "SAME" (or all zero, "VALID") the named mode
runs; any other ``pads`` goes through TensorFlow's explicit padding attribute, so the result
always follows ``pads``, never TensorFlow's own choice of where the odd cell goes.

Winograd: TensorFlow has no Winograd entry point, so :func:`winograd_forward` is the exact
convolution; as an oracle for Winograd kernels it gives the true value that their
transform rounding is measured against.

Notes
-----
Forward: ``y = epilogue(b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f])``;
derivatives: ``dL/dw = sum_{n,i,j} xpad dy``, ``dL/db = sum_{n,i,j} dy``, ``dL/dx`` the
transposed convolution of ``dy``, cropped by ``pads`` (stated in full in ``numpy_ref.conv``).
"""

from __future__ import annotations

import tensorflow as tf

from ._common import padding_mode, tensor

__all__ = ["conv2d_forward", "conv2d_backward", "winograd4_filter", "winograd4_forward",
           "winograd_filter", "winograd_forward"]

# ``algo="auto"`` chooses among these: TensorFlow has no Winograd op (see below).
AUTO_ALGOS = ("im2col",)


def _pad_args(x_shape, w_shape, stride, pads) -> dict:
    mode = padding_mode(x_shape, w_shape[:2], stride, pads)
    if mode is not None:
        return {"padding": mode, "explicit_paddings": []}
    top, bottom, left, right = (int(p) for p in pads)
    return {"padding": "EXPLICIT", "explicit_paddings": [0, 0, top, bottom, left, right, 0, 0]}


def _conv(x, w, stride, pads):
    args = _pad_args(x.shape, w.shape, stride, pads)
    return tf.raw_ops.Conv2D(
        input=x, filter=w, strides=[1, stride[0], stride[1], 1], **args
    )


def conv2d_forward(x, w, b, *, stride, pads, relu=False, residual=None, alpha=1.0, beta=1.0):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``, then
    ``max(y, 0)`` if ``relu`` and ``alpha y + beta residual`` if ``residual`` is given.

    ``tf.nn.conv2d`` (Conv2D op), ``tf.nn.bias_add``, ``tf.nn.relu``, then the scaled sum
    (TensorFlow fuses these itself inside a graph; eagerly they are separate ops).
    """
    y = _conv(tensor(x), tensor(w), stride, pads)
    if b is not None:
        y = tf.nn.bias_add(y, tensor(b))
    if relu:
        y = tf.nn.relu(y)
    if residual is not None:
        t = y.dtype.as_numpy_dtype
        y = t(alpha) * y + t(beta) * tensor(residual)
    return y.numpy()


def conv2d_backward(x, w, dy, *, stride, pads):
    """Return ``(dx, dw, db)`` for ``L = sum(y * dy)``.

    ``dx`` is the transposed convolution of ``dy`` with ``w`` and ``dw`` the correlation of
    ``xpad`` with ``dy``: the ``Conv2DBackpropInput`` / ``Conv2DBackpropFilter`` ops that
    TensorFlow's registered Conv2D gradient (what ``tf.GradientTape`` runs) calls, called
    directly so that a benchmark of the backward pass does not also pay a forward
    convolution. ``db = sum_{n,i,j} dy`` (the gradient of ``bias_add``). The tests check this
    against a real tape.
    """
    xt, wt, dyt = tensor(x), tensor(w), tensor(dy)
    args = _pad_args(x.shape, w.shape, stride, pads)
    strides = [1, stride[0], stride[1], 1]
    dx = tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.constant(x.shape, tf.int32), filter=wt, out_backprop=dyt,
        strides=strides, **args,
    )
    dw = tf.raw_ops.Conv2DBackpropFilter(
        input=xt, filter_sizes=tf.constant(w.shape, tf.int32), out_backprop=dyt,
        strides=strides, **args,
    )
    db = tf.reduce_sum(dyt, axis=(0, 1, 2))
    return dx.numpy(), dw.numpy(), db.numpy()


def winograd_filter(w):
    """TensorFlow has no Winograd transform: the filter passes through unchanged (the
    oracle's ``winograd_forward`` is the exact convolution and ignores ``u``)."""
    return w


def winograd_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                     beta=1.0):
    """3x3 stride-1 convolution; TensorFlow has no Winograd op, so this is the exact
    convolution :func:`conv2d_forward` (the value a Winograd kernel approximates).
    """
    if tuple(w.shape[:2]) != (3, 3):
        raise ValueError(f"w: expected a 3x3 kernel for Winograd F(2x2,3x3), received {w.shape}")
    return conv2d_forward(x, w, b, stride=(1, 1), pads=pads, relu=relu, residual=residual,
                          alpha=alpha, beta=beta)


winograd4_filter = winograd_filter


def winograd4_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                      beta=1.0):
    """F(4x4, 3x3) as the oracle sees it: the exact convolution (see :func:`winograd_forward`)."""
    return winograd_forward(x, w, b, pads=pads, relu=relu, residual=residual, alpha=alpha,
                            beta=beta)
