"""Convolution kernels on ``jax.lax.conv_general_dilated`` (NHWC input, HWIO kernel).

Shapes: ``x`` (N, H, W, C), ``w`` (KH, KW, C, F) HWIO, ``b`` (F,) or None, ``dy`` (N, Ho, Wo, F).
``pads = (top, bottom, left, right)`` zero padding, given explicitly to XLA, so the result
follows ``pads`` (TensorFlow's "same" rule is computed by the spec, never by XLA);
``stride = (sh, sw)``. ``precision=HIGHEST``: full float32 (float64) products and sums, no
reduced-precision passes.

Winograd is not implemented here (XLA has no Winograd entry point on the CPU): the
``winograd*`` kernels are absent, so a layer with ``algo="winograd"`` or ``"winograd4"`` raises
:class:`~backends.errors.NotSupportedError` when it is built.

Notes
-----
Forward: ``y = epilogue(b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f])``;
derivatives: ``dL/dw = sum_{n,i,j} xpad dy``, ``dL/db = sum_{n,i,j} dy``, ``dL/dx`` the
transposed convolution of ``dy``, cropped by ``pads`` (stated in full in ``numpy_ref.conv``).
"""

from __future__ import annotations

from jax import lax

from ._xla import call, const, jax, jit, jnp

__all__ = ["conv2d_forward", "conv2d_backward"]

# ``algo="auto"`` chooses among these: XLA's own convolution only.
AUTO_ALGOS = ("im2col",)

_DIMS = ("NHWC", "HWIO", "NHWC")


def _conv(x, w, stride, pads):
    top, bottom, left, right = pads
    return lax.conv_general_dilated(
        x, w, window_strides=stride, padding=((top, bottom), (left, right)),
        dimension_numbers=_DIMS, precision=lax.Precision.HIGHEST)


@jit(static=("stride", "pads", "relu", "alpha", "beta"))
def _forward(x, w, b, residual, *, stride, pads, relu, alpha, beta):
    y = _conv(x, w, stride, pads)
    if b is not None:
        y = y + b
    if relu:
        y = jnp.maximum(y, const(0, y))
    if residual is not None:
        y = const(alpha, y) * y + const(beta, y) * residual
    return y


@jit(static=("stride", "pads"))
def _backward(x, w, dy, *, stride, pads):
    _, vjp = jax.vjp(lambda x_, w_: _conv(x_, w_, stride, pads), x, w)
    dx, dw = vjp(dy)
    return dx, dw, jnp.sum(dy, axis=(0, 1, 2))


def conv2d_forward(x, w, b, *, stride, pads, relu=False, residual=None, alpha=1.0, beta=1.0):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``, then
    ``max(y, 0)`` if ``relu`` and ``alpha y + beta residual`` if ``residual`` is given
    (one XLA program: XLA fuses the epilogue into the convolution's output)."""
    if residual is not None:
        want = (x.shape[0], *_out_hw(x, w, stride, pads), w.shape[3])
        if residual.shape != want:
            raise ValueError(f"residual: expected shape {want}, received {residual.shape}")
    return call(_forward, x, w, b, residual, stride=tuple(stride), pads=tuple(pads),
                relu=bool(relu), alpha=float(alpha), beta=float(beta))


def conv2d_backward(x, w, dy, *, stride, pads):
    """Return ``(dx, dw, db)`` for ``L = sum(y * dy)``.

    ``dx`` and ``dw`` are the vector-Jacobian product of the convolution (``jax.vjp``): XLA
    lowers it to the transposed convolution of ``dy`` with ``w`` and the correlation of
    ``xpad`` with ``dy``; the forward itself is dead code in the jitted program and is
    removed. ``db = sum_{n,i,j} dy``.
    """
    return call(_backward, x, w, dy, stride=tuple(stride), pads=tuple(pads))


def _out_hw(x, w, stride, pads):
    ho = (x.shape[1] + pads[0] + pads[1] - w.shape[0]) // stride[0] + 1
    wo = (x.shape[2] + pads[2] + pads[3] - w.shape[1]) // stride[1] + 1
    return ho, wo
