"""Convolution kernels: im2col + matmul, Winograd F(2x2, 3x3), and the backward pass.

Shapes: ``x`` (N, H, W, C), ``w`` (KH, KW, C, F) HWIO, ``b`` (F,) or None, ``dy`` (N, Ho, Wo, F).
``pads = (top, bottom, left, right)`` zero padding; ``stride = (sh, sw)``.

Notes
-----
Forward (``conv2d_forward``), with ``xpad`` the input zero-padded by ``pads``:
``z[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``, computed as
``im2col(x) @ w.reshape(KH KW C, F)``; then the epilogue: ``y = max(z, 0)`` with ``relu``,
and ``y = alpha y + beta residual`` when a ``residual`` is given. Winograd F(m x m, 3x3)
(``winograd_forward``, ``winograd4_forward``; 3x3 kernels, stride 1) computes each output
tile as ``Y = A^T [(G g G^T) ⊙ (B^T d B)] A``: the same convolution up to rounding.

Derivatives (``conv2d_backward``, for ``L = sum(y * dy)`` without epilogue):
``dL/dw[p,q,c,f] = sum_{n,i,j} xpad[n, i sh + p, j sw + q, c] dy[n,i,j,f]``,
``dL/db[f] = sum_{n,i,j} dy[n,i,j,f]``, and ``dL/dx = col2im(dy w^T)``: every
``dy[n,i,j,f] w[p,q,c,f]`` is added at ``xpad[n, i sh + p, j sw + q, c]``, then the padding
is cropped off.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import winograd as _wg

__all__ = ["conv2d_forward", "conv2d_backward", "winograd4_filter", "winograd4_forward",
           "winograd_filter", "winograd_forward"]

# ``algo="auto"`` chooses among these: the reference computes the plain sum (Winograd
# stays available by name, as the reference of the Winograd kernels).
AUTO_ALGOS = ("im2col",)


def _pad(x, pads, value=0.0):
    top, bottom, left, right = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _out_size(x, w, stride, pads):
    kh, kw = w.shape[:2]
    ho = (x.shape[1] + pads[0] + pads[1] - kh) // stride[0] + 1
    wo = (x.shape[2] + pads[2] + pads[3] - kw) // stride[1] + 1
    return ho, wo


def im2col(x, kh, kw, stride, pads):
    """Patches of the padded input as rows: (N*Ho*Wo, KH*KW*C), row-major in (p, q, c).

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    kh, kw : int
        Window size.
    stride, pads
        As in :func:`conv2d_forward`.

    Returns
    -------
    cols : numpy.ndarray
        (N Ho Wo, KH KW C), one patch per row, (p, q, c) order.
    ho, wo : int
        Output size.
    """
    n, _, _, c = x.shape
    xp = _pad(x, pads)
    ho = (xp.shape[1] - kh) // stride[0] + 1
    wo = (xp.shape[2] - kw) // stride[1] + 1
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))  # N, H', W', C, KH, KW
    win = win[:, : (ho - 1) * stride[0] + 1 : stride[0], : (wo - 1) * stride[1] + 1 : stride[1]]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * c), ho, wo


def epilogue(y, *, relu=False, residual=None, alpha=1.0, beta=1.0):
    """The fused output pass, defined as the unfused layers compute it: ``y = max(y, 0)``
    (the ReLU of ``backends.activations``) if ``relu``, then ``y = alpha y + beta residual``
    (the Shortcut kernel) if ``residual`` is given.

    Parameters
    ----------
    y : numpy.ndarray
        The convolution's output (with its bias).
    relu : bool, default False
        Fused ReLU.
    residual : numpy.ndarray, optional
        Fused residual sum's second input, shaped like the output.
    alpha, beta : float, default 1.0
        Weights of the residual sum.

    Returns
    -------
    numpy.ndarray
        The output.

    Raises
    ------
    ValueError
        ``residual`` is shaped unlike ``y``.
    """
    t = y.dtype.type
    if relu:
        y = np.maximum(y, t(0))
    if residual is not None:
        if residual.shape != y.shape:
            raise ValueError(f"residual: expected shape {y.shape}, received {residual.shape}")
        y = t(alpha) * y + t(beta) * residual
    return y


def conv2d_forward(x, w, b, *, stride, pads, relu=False, residual=None, alpha=1.0, beta=1.0):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``, then
    :func:`epilogue` (``relu``: ``max(y, 0)``; ``residual``: ``alpha y + beta residual``).

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    w : numpy.ndarray
        HWIO kernels (KH, KW, C, F).
    b : numpy.ndarray or None
        Bias (F,).
    stride : (int, int)
        ``(sh, sw)``.
    pads : (int, int, int, int)
        Zero padding ``(top, bottom, left, right)``.
    relu, residual, alpha, beta
        The fused output pass, as in :func:`epilogue`.

    Returns
    -------
    numpy.ndarray
        ``y`` (N, Ho, Wo, F).
    """
    kh, kw, c, f = w.shape
    cols, ho, wo = im2col(x, kh, kw, stride, pads)
    y = cols @ w.reshape(kh * kw * c, f)
    if b is not None:
        y += b
    y = y.reshape(x.shape[0], ho, wo, f)
    return epilogue(y, relu=relu, residual=residual, alpha=alpha, beta=beta)


def conv2d_backward(x, w, dy, *, stride, pads):
    """Return ``(dx, dw, db)`` for ``L = sum(y * dy)``.

    ``dw = cols^T dy``, ``db = sum_{n,i,j} dy``, ``dx = col2im(dy w^T)`` cropped to the input.

    Parameters
    ----------
    x : numpy.ndarray
        The forward's NHWC input.
    w : numpy.ndarray
        The kernels.
    dy : numpy.ndarray
        Upstream gradient (N, Ho, Wo, F).
    stride, pads
        As in :func:`conv2d_forward`.

    Returns
    -------
    dx, dw, db : numpy.ndarray
        Shaped like ``x``, ``w`` and (F,).
    """
    kh, kw, c, f = w.shape
    n, h, wd, _ = x.shape
    cols, ho, wo = im2col(x, kh, kw, stride, pads)
    dy2 = dy.reshape(n * ho * wo, f)
    dw = (cols.T @ dy2).reshape(kh, kw, c, f)
    db = dy2.sum(axis=0)
    dcols = (dy2 @ w.reshape(kh * kw * c, f).T).reshape(n, ho, wo, kh, kw, c)
    top, bottom, left, right = pads
    dxp = np.zeros((n, h + top + bottom, wd + left + right, c), dtype=x.dtype)
    sh, sw = stride
    for p in range(kh):
        for q in range(kw):
            dxp[:, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw] += dcols[
                :, :, :, p, q
            ]
    # a crop of the padded buffer is a strided view; layers promise C-contiguous outputs
    return np.ascontiguousarray(dxp[:, top : top + h, left : left + wd]), dw, db


# Winograd F(m x m, 3x3) (Lavin & Gray 2016): Y = A^T [(G g G^T) ⊙ (B^T d B)] A, with the
# matrices of backends/winograd.py.
def winograd_filter(w):
    """``U = G g G^T`` of every (c, f) 3x3 kernel, shaped (16, C, F) (row ``4 a + b``).

    Parameters
    ----------
    w : numpy.ndarray
        3x3 HWIO kernels.

    Returns
    -------
    numpy.ndarray
        ``U``, (16, C, F).

    Raises
    ------
    ValueError
        The kernel is not 3x3.
    """
    if w.shape[:2] != (3, 3):
        raise ValueError(f"w: expected a 3x3 kernel for Winograd F(2x2,3x3), received {w.shape}")
    g = _wg.G[2].astype(w.dtype)
    u = np.einsum("ip,pqcf,jq->ijcf", g, w, g, optimize=True)  # 4,4,C,F
    return np.ascontiguousarray(u.reshape(16, w.shape[2], w.shape[3]))


def _winograd(x, w, b, pads, m, u, ep):
    """F(m x m, 3x3) with the matrices of :mod:`backends.winograd`: (m + 2)^2 products."""
    if w.shape[:2] != (3, 3):
        raise ValueError(f"w: expected a 3x3 kernel for Winograd F({m}x{m},3x3), received "
                         f"{w.shape}")
    dt = x.dtype
    n, _, _, c = x.shape
    f, t = w.shape[3], m + 2
    ho, wo = _out_size(x, w, (1, 1), pads)
    th, tw = -(-ho // m), -(-wo // m)
    top, bottom, left, right = pads
    # extra bottom/right zeros so that every t x t tile is complete
    xp = _pad(x, (top, bottom + m * th + 2 - (ho + 2), left, right + m * tw + 2 - (wo + 2)))
    tiles = sliding_window_view(xp, (t, t), axis=(1, 2))[:, : m * th : m, : m * tw : m]
    bt, at = _wg.BT[m].astype(dt), _wg.AT[m].astype(dt)
    v = np.einsum("ij,ntwcjk,lk->ilntwc", bt, tiles, bt, optimize=True)  # t,t,N,th,tw,C
    prod = np.matmul(v.reshape(t * t, n * th * tw, c), u.reshape(t * t, c, f))
    prod = prod.reshape(t, t, n, th, tw, f)
    yt = np.einsum("ai,ijntwf,bj->ntawbf", at, prod, at, optimize=True)  # N,th,m,tw,m,F
    y = np.ascontiguousarray(yt.reshape(n, m * th, m * tw, f)[:, :ho, :wo])
    if b is not None:
        y += b
    return epilogue(y, **ep)


def winograd_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                     beta=1.0):
    """3x3 stride-1 convolution by Winograd F(2x2, 3x3); same result as ``conv2d_forward``
    up to rounding (the transforms reassociate the sums).

    Each 2x2 output tile comes from a 4x4 input tile ``d``: ``Y = A^T (U ⊙ V) A`` with
    ``U = G g G^T`` per (c, f) (:func:`winograd_filter`, or ``u`` when the caller keeps it)
    and ``V = B^T d B`` per tile and channel; the channel sum of ``U ⊙ V`` is 16 matrix
    products. Then :func:`epilogue`.

    Parameters
    ----------
    x, w, b, pads
        As in :func:`conv2d_forward` (stride 1, 3x3 kernels).
    u : numpy.ndarray, optional
        The kernels' :func:`winograd_filter`, when the caller keeps it.
    relu, residual, alpha, beta
        The fused output pass, as in :func:`epilogue`.

    Returns
    -------
    numpy.ndarray
        ``y``.
    """
    u = winograd_filter(w) if u is None else u
    return _winograd(x, w, b, pads, 2, u, dict(relu=relu, residual=residual, alpha=alpha,
                                               beta=beta))


def winograd4_filter(w):
    """F(4x4, 3x3) filter transform ``U = G g G^T`` (36, C, F), computed in float64 and
    rounded once (:func:`backends.winograd.filter_transform`).

    Parameters
    ----------
    w : numpy.ndarray
        3x3 HWIO kernels, float32 or float64 (the result keeps their dtype).

    Returns
    -------
    numpy.ndarray
        ``U``, (36, C, F), row ``6 a + b``.

    Raises
    ------
    ValueError
        The kernel is not 3x3.
    """
    if w.shape[:2] != (3, 3):
        raise ValueError(f"w: expected a 3x3 kernel for Winograd F(4x4,3x3), received {w.shape}")
    return _wg.filter_transform(w, 4)


def winograd4_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                      beta=1.0):
    """3x3 stride-1 convolution by Winograd F(4x4, 3x3): each 4x4 output tile from a 6x6
    input tile, ``Y = A^T (U ⊙ V) A`` (matrices in :mod:`backends.winograd`), the channel sum
    as 36 matrix products; input and output transforms in the working precision. Then
    :func:`epilogue`. Equals ``conv2d_forward`` up to rounding (the ``winograd`` tier).

    Parameters
    ----------
    x, w, b, pads, relu, residual, alpha, beta
        As in :func:`winograd_forward`.
    u : numpy.ndarray, optional
        The kernels' :func:`winograd4_filter`.

    Returns
    -------
    numpy.ndarray
        ``y``.
    """
    u = winograd4_filter(w) if u is None else u
    return _winograd(x, w, b, pads, 4, u, dict(relu=relu, residual=residual, alpha=alpha,
                                               beta=beta))
