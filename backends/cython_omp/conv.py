"""Convolution kernels: validated wrappers over ``_conv.pyx`` (blocked im2col + BLAS GEMM,
Winograd F(2x2, 3x3), blocked col2im).

Shapes: ``x`` (N, H, W, C), ``w`` (KH, KW, C, F) HWIO, ``b`` (F,) or None, ``dy`` (N, Ho, Wo, F).
``pads = (top, bottom, left, right)`` zero padding; ``stride = (sh, sw)``.

Notes
-----
Forward: ``y = epilogue(b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f])``;
derivatives: ``dL/dw = sum_{n,i,j} xpad dy``, ``dL/db = sum_{n,i,j} dy``, ``dL/dx`` the
transposed convolution of ``dy``, cropped by ``pads`` (stated in full in ``numpy_ref.conv``).
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from ..errors import ShapeError, expected
from . import _conv

__all__ = ["conv2d_forward", "conv2d_backward", "winograd4_filter", "winograd4_forward",
           "winograd_filter", "winograd_forward"]

# ``algo="auto"`` times these per shape (``backends.autotune``).
AUTO_ALGOS = ("im2col", "winograd", "winograd4")
# The forward kernels gather patches / Winograd tiles into fixed-size per-thread buffers
# (a function of the shape's channels, not of H x W), so a model need not cut the input into
# row bands to bound memory (``backends.bands.forward_in_bands``).
BOUNDED_WORKSPACE = True


def _check(fn, x, w, stride, pads):
    x = ck.array(fn, "x", x, ndim=4)
    w = ck.array(fn, "w", w, ndim=4, like=x.dtype, shape=(None, None, x.shape[3], None))
    stride, pads, (ho, wo) = ck.window(fn, x.shape[1:3], w.shape[:2], stride, pads)
    return x, w, stride, pads, ho, wo


def _bias(fn, b, dtype, units):
    b = ck.optional_bias(fn, b, dtype, units)
    return (np.zeros(1, dtype), False) if b is None else (b, True)


def _epilogue(fn, y_shape, dtype, relu, residual, alpha, beta):
    """Keyword arguments of the fused output pass (ReLU, ``alpha y + beta residual``)."""
    if not isinstance(relu, bool):
        raise TypeError(expected(f"{fn}.relu", "a bool", relu))
    if residual is None:
        return {"relu": relu}
    residual = ck.array(fn, "residual", residual, ndim=4, like=dtype, shape=y_shape)
    return {"relu": relu, "res": residual.reshape(-1), "alpha": ck.number(fn, "alpha", alpha),
            "beta": ck.number(fn, "beta", beta)}


def conv2d_forward(x, w, b, *, stride, pads, relu=False, residual=None, alpha=1.0, beta=1.0):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``; with
    ``relu`` then ``y = max(y, 0)``; with ``residual`` then ``y = alpha y + beta residual``.

    Patches of a block of output pixels are gathered in parallel, multiplied by ``w`` in one
    GEMM, and the epilogue (bias, ReLU, residual) runs while the block is in cache.
    """
    fn = "conv2d_forward"
    x, w, stride, pads, ho, wo = _check(fn, x, w, stride, pads)
    bias, has_bias = _bias(fn, b, x.dtype, w.shape[3])
    y = buffers.empty((x.shape[0], ho, wo, w.shape[3]), dtype=x.dtype)
    ep = _epilogue(fn, y.shape, x.dtype, relu, residual, alpha, beta)
    _conv.conv_forward(x, w, bias, has_bias, y, stride[0], stride[1], pads[0], pads[2], **ep)
    return y


def conv2d_backward(x, w, dy, *, stride, pads):
    """Return ``(dx, dw, db)`` for ``L = sum(y * dy)``.

    ``dw = cols^T dy`` (accumulated over blocks of output rows), ``db = sum_{n,i,j} dy`` and
    ``dx = col2im(dy w^T)``, gathered per input row so that threads never share an output.
    """
    fn = "conv2d_backward"
    x, w, stride, pads, ho, wo = _check(fn, x, w, stride, pads)
    dy = ck.array(fn, "dy", dy, ndim=4, like=x.dtype,
                  shape=(x.shape[0], ho, wo, w.shape[3]))
    dx = np.zeros_like(x)
    dw = np.empty_like(w)
    db = np.empty(w.shape[3], dtype=x.dtype)
    _conv.conv_backward(x, w, dy, dx, dw, db, stride[0], stride[1], pads[0], pads[2])
    return dx, dw, db


def winograd_filter(w):
    """``U = G g G^T`` of every (c, f) 3x3 kernel ``g``, shaped (16, C, F): the Winograd
    F(2x2, 3x3) filter transform (computed once per weights by the layer)."""
    fn = "winograd_filter"
    w = ck.array(fn, "w", w, ndim=4)
    if w.shape[:2] != (3, 3):
        raise ShapeError(expected(f"{fn}.w.shape[:2]", "(3, 3) for F(2x2, 3x3)", w.shape[:2]))
    u = np.empty((16, w.shape[2], w.shape[3]), dtype=w.dtype)
    _conv.winograd_filter(w, u)
    return u


def _winograd_run(fn, m, transform, x, w, b, pads, u, relu, residual, alpha, beta):
    """Checks and output allocation shared by F(2x2, 3x3) and F(4x4, 3x3)."""
    x, w, _, pads, ho, wo = _check(fn, x, w, (1, 1), pads)
    if w.shape[:2] != (3, 3):
        raise ShapeError(expected(f"{fn}.w.shape[:2]", f"(3, 3) for F({m}x{m}, 3x3)",
                                  w.shape[:2]))
    bias, has_bias = _bias(fn, b, x.dtype, w.shape[3])
    t2 = (m + 2) ** 2
    if u is None:
        u = transform(w)
    else:
        u = ck.array(fn, "u", u, ndim=3, like=x.dtype, shape=(t2, w.shape[2], w.shape[3]))
    y = buffers.empty((x.shape[0], ho, wo, w.shape[3]), dtype=x.dtype)
    ep = _epilogue(fn, y.shape, x.dtype, relu, residual, alpha, beta)
    getattr(_conv, fn)(x, u, bias, has_bias, y, pads[0], pads[2], **ep)  # after the checks
    return y


def winograd_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                     beta=1.0):
    """3x3 stride-1 convolution by Winograd F(2x2, 3x3): ``Y = A^T [(G g G^T) ⊙ (B^T d B)] A``
    per 2x2 output tile, the channel sum of the element-wise product done as 16 GEMMs.
    ``u`` is :func:`winograd_filter` of ``w`` when the caller keeps it (else computed here);
    ``relu``/``residual`` fuse as in :func:`conv2d_forward`.

    Equals :func:`conv2d_forward` up to rounding (the transforms reassociate the sums).
    """
    return _winograd_run("winograd_forward", 2, winograd_filter, x, w, b, pads, u, relu,
                         residual, alpha, beta)


def winograd4_filter(w):
    """F(4x4, 3x3) filter transform ``U = G g G^T`` (36, C, F), in float64 then rounded once,
    bitwise equal to :func:`backends.winograd.filter_transform` (same sums, same order)."""
    fn = "winograd4_filter"
    w = ck.array(fn, "w", w, ndim=4)
    if w.shape[:2] != (3, 3):
        raise ShapeError(expected(f"{fn}.w.shape[:2]", "(3, 3) for F(4x4, 3x3)", w.shape[:2]))
    u = np.empty((36, w.shape[2], w.shape[3]), dtype=w.dtype)
    _conv.winograd4_filter(w, u)
    return u


def winograd4_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                      beta=1.0):
    """3x3 stride-1 convolution by Winograd F(4x4, 3x3): per 4x4 output tile
    ``Y = A^T [U ⊙ (B^T d B)] A`` on a 6x6 input tile, the channel sum as 36 GEMMs per chunk
    of tiles (4x fewer multiplies than direct 3x3). ``u``, ``relu``, ``residual`` as in
    :func:`winograd_forward`. Equals :func:`conv2d_forward` up to rounding (the ``winograd``
    tier).
    """
    return _winograd_run("winograd4_forward", 4, winograd4_filter, x, w, b, pads, u, relu,
                         residual, alpha, beta)
