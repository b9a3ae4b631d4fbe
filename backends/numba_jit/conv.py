"""Convolution kernels: blocked im2col + GEMM, Winograd F(2x2, 3x3) and F(4x4, 3x3)
(:mod:`._winograd4`), and the backward pass.

Shapes as in ``backends.numpy_ref.conv``: ``x`` (N, H, W, C), ``w`` (KH, KW, C, F) HWIO,
``b`` (F,) or None, ``dy`` (N, Ho, Wo, F); ``pads = (top, bottom, left, right)``.

The output pixels (flattened over N, Ho, Wo) are processed in blocks of fixed size: each
block's patches are gathered in parallel (one pixel per task), multiplied by the kernel matrix
with one 1-thread BLAS GEMM (``np.dot`` inside jitted code), and written out with the bias
added; the backward GEMMs are chunked the same way (:mod:`._gemm`). Block sizes depend on
shapes only, never on the thread count, so results are bitwise identical for any number of
threads.

Notes
-----
Forward: ``y = epilogue(b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f])``;
derivatives: ``dL/dw = sum_{n,i,j} xpad dy``, ``dL/db = sum_{n,i,j} dy``, ``dL/dx`` the
transposed convolution of ``dy``, cropped by ``pads`` (stated in full in ``numpy_ref.conv``).
"""

from __future__ import annotations

import numba
import numpy as np

from .. import _validate, buffers
from ..errors import ShapeError, expected
from ._gemm import matmul_rows, matmul_tn_add
from ._jit import CHANNEL_BLOCK, block_rows, helper, kernel, prange
from ._winograd4 import block_tiles, filter4, winograd4

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["conv2d_forward", "conv2d_backward", "winograd4_filter", "winograd4_forward",
           "winograd_filter", "winograd_forward"]

# ``algo="auto"`` times these per shape (``backends.autotune``).
AUTO_ALGOS = ("im2col", "winograd", "winograd4")
# The forward kernels gather patches / Winograd tiles into fixed-size per-thread buffers
# (a function of the shape's channels, not of H x W), so a model need not cut the input into
# row bands to bound memory (``backends.bands.forward_in_bands``).
BOUNDED_WORKSPACE = True


@helper
def _gather_row(x, col, r, ho, wo, kh, kw, sh, sw, top, left):
    """col[(p*kw + q)*C + c] = xpad[n, i*sh + p, j*sw + q, c] for output pixel r = (n, i, j)."""
    _, h, w, c = x.shape
    zero = x.dtype.type(0)
    n = r // (ho * wo)
    rem = r - n * ho * wo
    i = rem // wo
    j = rem - i * wo
    for p in range(kh):
        hi = i * sh + p - top
        for q in range(kw):
            wi = j * sw + q - left
            base = (p * kw + q) * c
            if hi >= 0 and hi < h and wi >= 0 and wi < w:
                for cc in range(c):
                    col[base + cc] = x[n, hi, wi, cc]
            else:
                for cc in range(c):
                    col[base + cc] = zero


@kernel
def _gather_cols(x, cols, r0, total, ho, wo, kh, kw, sh, sw, top, left):
    """cols[t] = the patch of output pixel r0 + t (:func:`_gather_row`); rows past ``total``
    are zero."""
    zero = x.dtype.type(0)
    for t in prange(cols.shape[0]):
        if r0 + t >= total:
            cols[t, :] = zero
        else:
            _gather_row(x, cols[t], r0 + t, ho, wo, kh, kw, sh, sw, top, left)


@helper
def _epilogue_rows(pr, y, r0, rows, b, has_bias, relu, res, alpha, beta, has_res):
    """y[r0 + t] = [alpha] relu?(pr[t] + b) [+ beta res[r0 + t]] for t < rows; one pass per
    step with the flags tested outside the loops, so each loop vectorises (per element the
    same operations in the same order as a single fused expression). Replaced one loop with
    three tests per element: EDSR-baseline body conv 1x339x510x64, 1 thread, see the commit."""
    f = y.shape[1]
    zero = y.dtype.type(0)
    for t in range(rows):
        src = pr[t]
        out = y[r0 + t]
        if has_bias:
            for k in range(f):
                out[k] = src[k] + b[k]
        else:
            for k in range(f):
                out[k] = src[k]
        if relu:
            for k in range(f):
                v = out[k]
                out[k] = v if v > zero else zero
        if has_res:
            rr = res[r0 + t]
            for k in range(f):
                out[k] = alpha * out[k] + beta * rr[k]


@kernel
def _forward(x, w2, b, has_bias, ho, wo, kh, kw, sh, sw, top, left, block, workers, relu,
             res, alpha, beta, has_res, y):
    """Worker k takes blocks k, k + workers, ...: gather, single-threaded GEMM, bias. One
    parallel region for the whole convolution (a fork/join per block costs too much on a
    busy machine); each block is computed wholly by one worker, so the bits do not depend on
    the thread count. The caller limits BLAS to one thread around this kernel and allocates
    ``y`` (N Ho Wo, F) with NumPy (huge pages; see :func:`conv2d_forward`)."""
    n = x.shape[0]
    kk, f = w2.shape
    total = n * ho * wo
    n_blocks = (total + block - 1) // block
    for wk in prange(workers):
        col = np.zeros((block, kk), x.dtype)
        pr = np.empty((block, f), x.dtype)
        for bi in range(wk, n_blocks, workers):
            r0 = bi * block
            rows = min(block, total - r0)
            for t in range(rows):
                _gather_row(x, col[t], r0 + t, ho, wo, kh, kw, sh, sw, top, left)
            for t in range(rows, block):  # rows past the end (stale from an earlier block)
                col[t, :] = 0
            np.dot(col, w2, pr)
            _epilogue_rows(pr, y, r0, rows, b, has_bias, relu, res, alpha, beta, has_res)
    return y.reshape((n, ho, wo, f))


@kernel
def _column_sums(a):
    """Per-column sums of a 2-D array; each task owns a block of columns (no split sums)."""
    m, c = a.shape
    out = np.zeros(c, a.dtype)
    for cb in prange((c + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK):
        c0 = cb * CHANNEL_BLOCK
        c1 = min(c, c0 + CHANNEL_BLOCK)
        for r in range(m):
            for k in range(c0, c1):
                out[k] += a[r, k]
    return out


@kernel
def _backward(x, w2, dy2, ho, wo, kh, kw, sh, sw, top, left, block):
    n, h, wd, c = x.shape
    kk, f = w2.shape
    total = n * ho * wo
    dx = np.zeros((n, h, wd, c), x.dtype)
    dw = np.zeros((kk, f), x.dtype)
    cols = np.empty((block, kk), x.dtype)
    dyb = np.zeros((block, f), x.dtype)
    dcols = np.empty((block, kk), x.dtype)
    w2t = w2.T
    n_cb = (c + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    for r0 in range(0, total, block):
        rows = min(block, total - r0)
        for t in prange(block):
            for k in range(f):
                dyb[t, k] = dy2[r0 + t, k] if t < rows else 0
        _gather_cols(x, cols, r0, total, ho, wo, kh, kw, sh, sw, top, left)
        matmul_tn_add(cols, dyb, dw)
        matmul_rows(dyb, w2t, dcols)
        # col2im: overlapping windows write the same dx cell, so tasks split the channels
        # (independent outputs); each cell sums in pixel order, then (p, q) order.
        for cb in prange(n_cb):
            c0 = cb * CHANNEL_BLOCK
            c1 = min(c, c0 + CHANNEL_BLOCK)
            for t in range(rows):
                r = r0 + t
                nn = r // (ho * wo)
                rem = r - nn * ho * wo
                i = rem // wo
                j = rem - i * wo
                for p in range(kh):
                    hi = i * sh + p - top
                    if hi < 0 or hi >= h:
                        continue
                    for q in range(kw):
                        wi = j * sw + q - left
                        if wi < 0 or wi >= wd:
                            continue
                        base = (p * kw + q) * c
                        for cc in range(c0, c1):
                            dx[nn, hi, wi, cc] += dcols[t, base + cc]
    return dx, dw


# Partial dW sums of the stride-1 backward: a fixed count (never the thread count), each the
# sum of every GROUPS-th block in block order, added up in group order at the end, so the
# bits depend on the shapes only.
GROUPS = 8


@kernel
def _weight_grad(x, dy2, ho, wo, kh, kw, top, left, block, groups):
    """``dw = cols^T dy`` over blocks of output pixels: task g gathers blocks g, g + groups,
    ... and accumulates their 1-thread GEMMs into its own partial; partials are then summed
    in order. One parallel region (not a fork/join per block)."""
    n = x.shape[0]
    f = dy2.shape[1]
    kk = kh * kw * x.shape[3]
    total = n * ho * wo
    n_blocks = (total + block - 1) // block
    parts = np.zeros((groups, kk, f), x.dtype)
    for g in prange(groups):
        col = np.empty((block, kk), x.dtype)
        tmp = np.empty((kk, f), x.dtype)
        part = parts[g]
        for bi in range(g, n_blocks, groups):
            r0 = bi * block
            rows = min(block, total - r0)
            for t in range(rows):
                _gather_row(x, col[t], r0 + t, ho, wo, kh, kw, 1, 1, top, left)
            np.dot(col[:rows].T, dy2[r0:r0 + rows], tmp)
            for a in range(kk):
                for o in range(f):
                    part[a, o] += tmp[a, o]
    dw = parts[0].copy()
    for g in range(1, groups):
        for a in prange(kk):
            for o in range(f):
                dw[a, o] += parts[g, a, o]
    return dw


def _backward_stride1(x, w, dy, pads):
    """Stride-1 backward as two gathers, each one parallel region: ``dx`` is the forward
    convolution of ``dy`` with the flipped, in/out-swapped kernel
    (``dx[n,h,w,c] = sum_{p,q,f} dypad[n, h+p, w+q, f] w[kh-1-p, kw-1-q, c, f]``, pads
    ``kh-1-top`` / ``kw-1-left``), ``dw`` is :func:`_weight_grad`. Replaced a block loop with
    a fork/join per phase and a channel-split col2im scatter (edsr_small 128x128x64, 1 thread:
    see the commit message for the before/after ratios to TensorFlow)."""
    kh, kw, c, f = w.shape
    n, h, wd, _ = x.shape
    _, ho, wo, _ = dy.shape
    wt = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(kh * kw * f, c)
    block_dx = block_rows(kh * kw * f, x.itemsize, n * h * wd)
    none = np.zeros(0, x.dtype)
    one = x.dtype.type(1)
    dx = _forward(dy, wt, none, False, h, wd, kh, kw, 1, 1, kh - 1 - pads[0], kw - 1 - pads[2],
                  block_dx, numba.get_num_threads(), False, np.zeros((1, 1), x.dtype), one,
                  one, False, np.empty((n * h * wd, c), x.dtype))
    total = n * ho * wo
    block = block_rows(kh * kw * c, x.itemsize, total)
    groups = min(GROUPS, (total + block - 1) // block)
    dw = _weight_grad(x, dy.reshape(total, f), ho, wo, kh, kw, pads[0], pads[2], block, groups)
    return dx, dw


def _check_conv(where, x, w, b):
    _check.array(where, "x", x, ndim=4)
    _check.array(where, "w", w, ndim=4, like=x.dtype)
    if w.shape[2] != x.shape[3]:
        raise ShapeError(expected(f"numba.{where}.w.shape[2]",
                                                f"x channels {x.shape[3]}", w.shape[2]))
    if b is not None:
        _check.array(where, "b", b, ndim=1, like=x.dtype, shape=(w.shape[3],))


def _epilogue(where, x, y_shape, relu, residual, alpha, beta):
    """Arguments of the fused output pass: (relu, residual 2-D, alpha, beta, has_res)."""
    if not isinstance(relu, bool):
        raise TypeError(expected(f"numba.{where}.relu", "a bool", relu))
    t = x.dtype.type
    if residual is None:
        return relu, np.zeros((1, 1), x.dtype), t(1), t(1), False
    _check.array(where, "residual", residual, ndim=4, like=x.dtype, shape=y_shape)
    return (relu, residual.reshape(-1, y_shape[3]), t(_check.number(where, "alpha", alpha)),
            t(_check.number(where, "beta", beta)), True)


def conv2d_forward(x, w, b, *, stride, pads, relu=False, residual=None, alpha=1.0, beta=1.0):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``; with
    ``relu`` then ``y = max(y, 0)``; with ``residual`` then ``y = alpha y + beta residual``,
    all in the pass that writes ``y`` (no separate element-wise pass).

    Derivatives are :func:`conv2d_backward`.
    """
    _check_conv("conv2d_forward", x, w, b)
    kh, kw, c, f = w.shape
    ho, wo = _check.window("conv2d_forward", x.shape[1:3], (kh, kw), stride, pads)[2]
    ep = _epilogue("conv2d_forward", x, (x.shape[0], ho, wo, f), relu, residual, alpha, beta)
    total = x.shape[0] * ho * wo
    block = block_rows(kh * kw * c, x.itemsize, total)
    bias = b if b is not None else np.zeros(0, x.dtype)
    # the output comes from the network's buffer pool (backends.buffers), else from NumPy
    # (madvise'd huge pages): Numba's own 4 KiB pages fault on first touch, 20-30 ms per
    # 44 MB activation (1x339x510x64) at 1 thread
    return _forward(x, w.reshape(kh * kw * c, f), bias, b is not None, ho, wo, kh, kw,
                    stride[0], stride[1], pads[0], pads[2], block, numba.get_num_threads(),
                    *ep, buffers.empty((total, f), x.dtype))


def conv2d_backward(x, w, dy, *, stride, pads):
    """Return ``(dx, dw, db)`` for ``L = sum(y * dy)``.

    ``dw = cols^T dy`` (accumulated block by block), ``db = sum_{n,i,j} dy``,
    ``dx = col2im(dy w^T)`` (the transposed convolution), cropped to the input.
    """
    _check_conv("conv2d_backward", x, w, None)
    kh, kw, c, f = w.shape
    ho, wo = _check.window("conv2d_backward", x.shape[1:3], (kh, kw), stride, pads)[2]
    _check.array("conv2d_backward", "dy", dy, ndim=4, like=x.dtype, shape=(x.shape[0], ho, wo, f))
    total = x.shape[0] * ho * wo
    dy2 = dy.reshape(total, f)
    if tuple(stride) == (1, 1):
        dx, dw = _backward_stride1(x, w, dy, pads)
        return dx, dw.reshape(kh, kw, c, f), _column_sums(dy2)
    block = block_rows(kh * kw * c, x.itemsize, total)
    dx, dw = _backward(x, w.reshape(kh * kw * c, f), dy2, ho, wo, kh, kw, stride[0],
                       stride[1], pads[0], pads[2], block)
    return dx, dw.reshape(kh, kw, c, f), _column_sums(dy2)


# --- Winograd F(2x2, 3x3) (Lavin & Gray 2016): Y = A^T [(G g G^T) ⊙ (B^T d B)] A ----------

@helper
def _bt(d0, d1, d2, d3):
    """B^T d for one column d: rows (1,0,-1,0), (0,1,1,0), (0,-1,1,0), (0,1,0,-1)."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@helper
def _at(m0, m1, m2, m3):
    """A^T m for one column m: rows (1,1,1,0), (0,1,-1,-1)."""
    return m0 + m1 + m2, m1 - m2 - m3


@helper
def _g(g0, g1, g2, half):
    """G g for one column g: rows (1,0,0), (1/2,1/2,1/2), (1/2,-1/2,1/2), (0,0,1)."""
    return g0, half * (g0 + g1 + g2), half * (g0 - g1 + g2), g2


@kernel
def _winograd_filter(w):
    """U[4a+b, c, f] = (G g G^T)[a, b] with g = w[:, :, c, f]."""
    _, _, c, f = w.shape
    u = np.empty((16, c, f), w.dtype)
    half = w.dtype.type(0.5)
    for cc in prange(c):
        for o in range(f):
            t00, t10, t20, t30 = _g(w[0, 0, cc, o], w[1, 0, cc, o], w[2, 0, cc, o], half)
            t01, t11, t21, t31 = _g(w[0, 1, cc, o], w[1, 1, cc, o], w[2, 1, cc, o], half)
            t02, t12, t22, t32 = _g(w[0, 2, cc, o], w[1, 2, cc, o], w[2, 2, cc, o], half)
            u[0, cc, o], u[1, cc, o], u[2, cc, o], u[3, cc, o] = _g(t00, t01, t02, half)
            u[4, cc, o], u[5, cc, o], u[6, cc, o], u[7, cc, o] = _g(t10, t11, t12, half)
            u[8, cc, o], u[9, cc, o], u[10, cc, o], u[11, cc, o] = _g(t20, t21, t22, half)
            u[12, cc, o], u[13, cc, o], u[14, cc, o], u[15, cc, o] = _g(t30, t31, t32, half)
    return u


@helper
def _load(x, n, hh, ww, cc, ok):
    return x[n, hh, ww, cc] if ok else x.dtype.type(0)


@helper
def _winograd_input(x, v, t0, n_tiles, th, tw, top, left):
    """V[4a+b, t, c] = (B^T d B)[a, b] for the 4x4 input tile d of tile t0 + t (zero past the
    input and for t0 + t >= n_tiles)."""
    _, h, w, c = x.shape
    zero = x.dtype.type(0)
    for t in range(v.shape[1]):
        tile = t0 + t
        if tile >= n_tiles:
            v[:, t, :] = zero
            continue
        n = tile // (th * tw)
        rem = tile - n * th * tw
        ti = rem // tw
        h0 = 2 * ti - top
        w0 = 2 * (rem - ti * tw) - left
        # clamp indices into the image; the ok flags zero the clamped loads
        r0, r1, r2, r3 = max(h0, 0), max(min(h0 + 1, h - 1), 0), min(h0 + 2, h - 1), \
            min(h0 + 3, h - 1)
        k0, k1, k2, k3 = max(w0, 0), max(min(w0 + 1, w - 1), 0), min(w0 + 2, w - 1), \
            min(w0 + 3, w - 1)
        a0, a1, a2, a3 = h0 >= 0, h0 + 1 >= 0 and h0 + 1 < h, h0 + 2 < h, h0 + 3 < h
        b0, b1, b2, b3 = w0 >= 0, w0 + 1 >= 0 and w0 + 1 < w, w0 + 2 < w, w0 + 3 < w
        for cc in range(c):
            e00, e10, e20, e30 = _bt(_load(x, n, r0, k0, cc, a0 and b0),
                                     _load(x, n, r1, k0, cc, a1 and b0),
                                     _load(x, n, r2, k0, cc, a2 and b0),
                                     _load(x, n, r3, k0, cc, a3 and b0))
            e01, e11, e21, e31 = _bt(_load(x, n, r0, k1, cc, a0 and b1),
                                     _load(x, n, r1, k1, cc, a1 and b1),
                                     _load(x, n, r2, k1, cc, a2 and b1),
                                     _load(x, n, r3, k1, cc, a3 and b1))
            e02, e12, e22, e32 = _bt(_load(x, n, r0, k2, cc, a0 and b2),
                                     _load(x, n, r1, k2, cc, a1 and b2),
                                     _load(x, n, r2, k2, cc, a2 and b2),
                                     _load(x, n, r3, k2, cc, a3 and b2))
            e03, e13, e23, e33 = _bt(_load(x, n, r0, k3, cc, a0 and b3),
                                     _load(x, n, r1, k3, cc, a1 and b3),
                                     _load(x, n, r2, k3, cc, a2 and b3),
                                     _load(x, n, r3, k3, cc, a3 and b3))
            v[0, t, cc], v[1, t, cc], v[2, t, cc], v[3, t, cc] = _bt(e00, e01, e02, e03)
            v[4, t, cc], v[5, t, cc], v[6, t, cc], v[7, t, cc] = _bt(e10, e11, e12, e13)
            v[8, t, cc], v[9, t, cc], v[10, t, cc], v[11, t, cc] = _bt(e20, e21, e22, e23)
            v[12, t, cc], v[13, t, cc], v[14, t, cc], v[15, t, cc] = _bt(e30, e31, e32, e33)


@helper
def _finish(v, o, nn, i, j, relu, res, alpha, beta, has_res):
    """ReLU and residual sum of one output value (after its bias), as the unfused layers."""
    if relu:
        zero = res.dtype.type(0)
        v = v if v > zero else zero
    if has_res:
        v = alpha * v + beta * res[nn, i, j, o]
    return v


@helper
def _winograd_output(m, y, b, has_bias, t0, n_tiles, th, tw, relu, res, alpha, beta, has_res):
    """y tile = A^T M A (+ bias, then the fused ReLU / residual), cropped to the output."""
    _, ho, wo, f = y.shape
    for t in range(min(m.shape[1], n_tiles - t0)):
        tile = t0 + t
        nn = tile // (th * tw)
        rem = tile - nn * th * tw
        i0 = 2 * (rem // tw)
        j0 = 2 * (rem - (rem // tw) * tw)
        two_rows = i0 + 1 < ho
        two_cols = j0 + 1 < wo
        for o in range(f):
            s00, s10 = _at(m[0, t, o], m[4, t, o], m[8, t, o], m[12, t, o])
            s01, s11 = _at(m[1, t, o], m[5, t, o], m[9, t, o], m[13, t, o])
            s02, s12 = _at(m[2, t, o], m[6, t, o], m[10, t, o], m[14, t, o])
            s03, s13 = _at(m[3, t, o], m[7, t, o], m[11, t, o], m[15, t, o])
            y00, y01 = _at(s00, s01, s02, s03)
            y10, y11 = _at(s10, s11, s12, s13)
            if has_bias:
                y00 += b[o]
                y01 += b[o]
                y10 += b[o]
                y11 += b[o]
            y[nn, i0, j0, o] = _finish(y00, o, nn, i0, j0, relu, res, alpha, beta, has_res)
            if two_cols:
                y[nn, i0, j0 + 1, o] = _finish(y01, o, nn, i0, j0 + 1, relu, res, alpha, beta,
                                               has_res)
            if two_rows:
                y[nn, i0 + 1, j0, o] = _finish(y10, o, nn, i0 + 1, j0, relu, res, alpha, beta,
                                               has_res)
                if two_cols:
                    y[nn, i0 + 1, j0 + 1, o] = _finish(y11, o, nn, i0 + 1, j0 + 1, relu, res,
                                                       alpha, beta, has_res)


@kernel
def _winograd(x, u, b, has_bias, ho, wo, top, left, block, workers, relu, res, alpha, beta,
              has_res, y):
    """Worker k takes blocks of tiles k, k + workers, ...: input transform, 16 1-thread
    GEMMs, output transform, as :func:`_forward` (one parallel region, not three fork/joins
    per block; the block bounds, hence the bits, depend on the shapes only)."""
    n, _, _, c = x.shape
    th = (ho + 1) // 2
    tw = (wo + 1) // 2
    n_tiles = n * th * tw
    f = u.shape[2]
    n_blocks = (n_tiles + block - 1) // block
    for wk in prange(workers):
        v = np.empty((16, block, c), x.dtype)
        m = np.empty((16, block, f), x.dtype)
        for bi in range(wk, n_blocks, workers):
            t0 = bi * block
            _winograd_input(x, v, t0, n_tiles, th, tw, top, left)
            for k in range(16):
                np.dot(v[k], u[k], m[k])
            _winograd_output(m, y, b, has_bias, t0, n_tiles, th, tw, relu, res, alpha, beta,
                             has_res)
    return y


def _check_3x3(where, w, m=2):
    if w.shape[:2] != (3, 3):
        raise ShapeError(expected(f"numba.{where}.w.shape[:2]",
                                  f"(3, 3) for Winograd F({m}x{m},3x3)", w.shape[:2]))


def winograd_filter(w):
    """``U[4a+b, c, f] = (G g G^T)[a, b]`` for every (c, f) kernel ``g = w[:, :, c, f]``: the
    F(2x2, 3x3) filter transform, computed once per weights by the layer."""
    _check.array("winograd_filter", "w", w, ndim=4)
    _check_3x3("winograd_filter", w)
    return _winograd_filter(w)


def winograd_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                     beta=1.0):
    """3x3 stride-1 convolution by Winograd F(2x2, 3x3): same result as
    :func:`conv2d_forward` up to rounding (the transforms reassociate the sums).

    Each 2x2 output tile comes from a 4x4 input tile ``d``: ``Y = A^T (U ⊙ V) A`` with
    ``U = G g G^T`` per (c, f) (:func:`winograd_filter`, or ``u`` when the caller keeps it)
    and ``V = B^T d B`` per tile and channel; the channel sum of ``U ⊙ V`` is 16 GEMMs per
    block of tiles. ``relu``/``residual`` fuse as in :func:`conv2d_forward`. Backward is
    :func:`conv2d_backward`.
    """
    _check_conv("winograd_forward", x, w, b)
    _check_3x3("winograd_forward", w)
    ho, wo = _check.window("winograd_forward", x.shape[1:3], (3, 3), (1, 1), pads)[2]
    c, f = w.shape[2], w.shape[3]
    if u is None:
        u = _winograd_filter(w)
    else:
        _check.array("winograd_forward", "u", u, ndim=3, like=x.dtype, shape=(16, c, f))
    relu, res, alpha, beta, has_res = _epilogue("winograd_forward", x,
                                                (x.shape[0], ho, wo, f), relu, residual,
                                                alpha, beta)
    res4 = res.reshape(x.shape[0], ho, wo, f) if has_res else res.reshape(1, 1, 1, 1)
    n_tiles = x.shape[0] * ((ho + 1) // 2) * ((wo + 1) // 2)
    block = block_rows(16 * max(c, f), x.itemsize, n_tiles)
    bias = b if b is not None else np.zeros(0, x.dtype)
    y = np.empty((x.shape[0], ho, wo, f), x.dtype)  # NumPy's pages: see conv2d_forward
    return _winograd(x, u, bias, b is not None, ho, wo, pads[0], pads[2], block,
                     numba.get_num_threads(), relu, res4, alpha, beta, has_res, y)


def winograd4_filter(w):
    """F(4x4, 3x3) filter transform ``U[6a+b, c, f] = (G g G^T)[a, b]`` (36, C, F) of every
    (c, f) kernel ``g = w[:, :, c, f]``, computed in float64 and rounded once, bitwise equal
    to :func:`backends.winograd.filter_transform` (same sums, same order)."""
    _check.array("winograd4_filter", "w", w, ndim=4)
    _check_3x3("winograd4_filter", w, 4)
    u = np.empty((36, w.shape[2], w.shape[3]), w.dtype)
    filter4(w, u)
    return u


def winograd4_forward(x, w, b, *, pads, u=None, relu=False, residual=None, alpha=1.0,
                      beta=1.0):
    """3x3 stride-1 convolution by Winograd F(4x4, 3x3): per 4x4 output tile
    ``Y = A^T [U ⊙ (B^T d B)] A`` on a 6x6 input tile ``d`` (matrices in
    :mod:`backends.winograd`), ``U`` = :func:`winograd4_filter` (or ``u`` when the caller
    keeps it); the channel sum of ``U ⊙ V`` is 36 GEMMs per block of tiles, 4x fewer
    multiplies than direct 3x3. Then ``y = alpha relu?(y + b) + beta residual`` in the same
    pass (each step only when asked), as :func:`conv2d_forward`. Equals
    :func:`conv2d_forward` up to rounding (the ``winograd`` tier); backward is
    :func:`conv2d_backward`.
    """
    _check_conv("winograd4_forward", x, w, b)
    _check_3x3("winograd4_forward", w, 4)
    ho, wo = _check.window("winograd4_forward", x.shape[1:3], (3, 3), (1, 1), pads)[2]
    n, c, f = x.shape[0], w.shape[2], w.shape[3]
    if u is None:
        u = winograd4_filter(w)
    else:
        _check.array("winograd4_forward", "u", u, ndim=3, like=x.dtype, shape=(36, c, f))
    relu, res, alpha, beta, has_res = _epilogue("winograd4_forward", x, (n, ho, wo, f), relu,
                                                residual, alpha, beta)
    n_tiles = n * ((ho + 3) // 4) * ((wo + 3) // 4)
    bias = b if b is not None else np.zeros(0, x.dtype)
    y = buffers.empty((n, ho, wo, f), x.dtype)  # see conv2d_forward
    return winograd4(x, u, bias, b is not None, ho, wo, pads[0], pads[2],
                     block_tiles(c, f, n_tiles), numba.get_num_threads(), relu, res, alpha,
                     beta, has_res, y)
