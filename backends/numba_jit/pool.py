"""Pooling kernels. ``size``/``stride`` are (rows, cols); ``pads`` is (top, bottom, left, right).

Max pooling ignores padding cells (as padding with ``-inf``) and returns the arg-max of every
output as a flat C-order index into ``x`` (ties: first maximum in row-major window order; a
NaN counts as the maximum, as ``np.argmax``). Average pooling divides by the number of
in-bounds cells of each window, as TensorFlow does. Every ``prange`` task owns whole output
rows, so each sum is taken in one fixed order.

Notes
-----
Forward: max ``y = max`` of the ``-inf``-padded window (and its arg-max), average
``y = sum of the in-bounds window cells / count``. Derivatives: ``dL/dx`` receives ``dy``
at the arg-max (max) or ``dy / count`` on each in-bounds cell of the window (average).
"""

from __future__ import annotations

import numba
import numpy as np

from .. import _validate, buffers
from ..errors import ShapeError, expected
from ._jit import kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"]


@kernel
def _max_forward(x, y, arg, kh, kw, sh, sw, top, left):
    """Task = one output row, kept in ``y`` while the window is scanned cell by cell in
    row-major order; each cell is compared for the whole row at once (a branch-free loop
    that the compiler can vectorise: ``|``, not ``or``, so nothing short-circuits). A cell
    wins if it is larger, is the row's first in-bounds cell, or is the first NaN (NaN counts
    as the maximum, as ``np.argmax``). The winner is kept as its window position ``p kw + q``
    in int32, the width of a float32 lane (an int64 index beside float32 compares halves the
    vector width), and turned into the flat index into ``x`` once per output at the end.
    ``y`` and ``arg`` come from the caller (see :func:`maxpool_forward`)."""
    n, h, w, c = x.shape
    _, ho, wo, _ = y.shape
    x1 = x.reshape(-1)
    y2 = y.reshape((n * ho, wo * c))
    a2 = arg.reshape((n * ho, wo * c))
    # offset in x of window cell (p, q) from the window's corner, by code p kw + q (a table:
    # an int64 divmod per output cost more than the whole window scan)
    offs = np.empty(kh * kw, np.int64)
    for p in range(kh):
        for q in range(kw):
            offs[p * kw + q] = (p * w + q) * c
    for row in prange(n * ho):
        nn = row // ho
        i = row - nn * ho
        best = y2[row]
        idx = a2[row]
        code = np.full(wo * c, -1, np.int32)
        for p in range(kh):
            hi = i * sh + p - top
            if hi < 0 or hi >= h:
                continue
            base = (nn * h + hi) * w * c
            for q in range(kw):
                o = np.int32(p * kw + q)
                # output columns j whose cell (p, q) is inside the input
                j0 = max(0, (left - q + sw - 1) // sw)
                j1 = min(wo, (w - 1 + left - q) // sw + 1)
                if sw == 1:  # the row's cells are one contiguous run of x
                    shift = base + (q - left) * c
                    # slices indexed from 0: LLVM can then drop Numba's negative-index
                    # wraparound test from the loop and vectorise it
                    xs = x1[shift + j0 * c:shift + j1 * c]
                    bs = best[j0 * c:j1 * c]
                    cs = code[j0 * c:j1 * c]
                    for t in range(xs.size):
                        v = xs[t]
                        b = bs[t]
                        win = (cs[t] < 0) | (v > b) | ((v != v) & (b == b))
                        bs[t] = v if win else b
                        cs[t] = o if win else cs[t]
                    continue
                for j in range(j0, j1):
                    src = base + (j * sw + q - left) * c
                    for cc in range(c):
                        t = j * c + cc
                        v = x1[src + cc]
                        b = best[t]
                        win = (code[t] < 0) | (v > b) | ((v != v) & (b == b))
                        best[t] = v if win else b
                        code[t] = o if win else code[t]
        # flat index of window cell (p, q) of output (j, cc):
        # ((nn h + i sh - top + p) w + j sw - left + q) c + cc
        origin = ((nn * h + i * sh - top) * w - left) * c
        for j in range(wo):
            for cc in range(c):
                t = j * c + cc
                idx[t] = origin + offs[code[t]] + j * sw * c + cc


@kernel
def _arg_rows(arg, h, w, c):
    """Lowest and highest dx row (within its image) that each dy row's arg-max points to;
    ``ok`` is False if any index lies outside its own image."""
    n, ho, wo, _ = arg.shape
    lo = np.empty(n * ho, np.int64)
    hi = np.empty(n * ho, np.int64)
    bad = np.zeros(n * ho, np.bool_)
    row_len = w * c
    for row in prange(n * ho):
        nn = row // ho
        i = row - nn * ho
        kmin = arg[nn, i, 0, 0]
        kmax = kmin
        for j in range(wo):
            for cc in range(c):
                k = arg[nn, i, j, cc]
                kmin = min(kmin, k)
                kmax = max(kmax, k)
        base = nn * h * row_len
        bad[row] = kmin < base or kmax >= base + h * row_len
        lo[row] = (kmin - base) // row_len
        hi[row] = (kmax - base) // row_len
    return lo, hi, not bad.any()


@kernel
def _max_backward_images(dy, arg, dx):
    """dx[arg[o]] += dy[o] into the zeroed ``dx``; task = one image, scattering its dy in
    output order (the order of ``np.add.at`` in the reference) in one pass over ``dy`` and
    ``arg``; an index outside its own image is skipped and flagged (returns False), so no
    task writes another's cells.

    Each dx cell sums the same terms in the same (output) order as :func:`_max_backward_bands`,
    so the two are bitwise equal and the choice between them may depend on the thread count.
    """
    n, ho, wo, c = dy.shape
    size = dx.size // n
    per = ho * wo * c
    bad = np.zeros(n, np.bool_)
    d1 = dy.reshape(-1)
    a1 = arg.reshape(-1)
    x1 = dx.reshape(-1)
    for nn in prange(n):
        base = nn * size
        xs = x1[base:base + size]  # indexed from 0: no wraparound test in the loop
        ds = d1[nn * per:(nn + 1) * per]
        as_ = a1[nn * per:(nn + 1) * per]
        out = False
        for t in range(per):
            k = as_[t] - base
            if np.uint64(k) >= np.uint64(size):  # k < 0 or k >= size, one compare
                out = True
            else:
                xs[k] += ds[t]
        bad[nn] = out
    return not bad.any()


# dx rows per task of the banded scatter (one image or fewer than the threads): each task
# rescans the dy rows that straddle its band edges, so bands are tall; fixed, not derived
# from the thread count.
BAND_ROWS = 32


@kernel
def _max_backward_bands(dy, arg, lo, hi, dx):
    """dx[arg[o]] += dy[o] into the zeroed ``dx``; task = a band of ``BAND_ROWS`` dx rows of
    one image, gathering from the dy rows that point into it, in output order. A dy row
    wholly inside the band is scattered without a per-element test."""
    n, ho, wo, c = dy.shape
    h = dx.shape[1]
    row_len = dx.shape[2] * dx.shape[3]
    bands = (h + BAND_ROWS - 1) // BAND_ROWS
    d1 = dy.reshape(-1)
    a1 = arg.reshape(-1)
    x1 = dx.reshape(-1)
    run = wo * c
    for task in prange(n * bands):
        nn = task // bands
        r0 = (task - nn * bands) * BAND_ROWS
        r1 = min(h, r0 + BAND_ROWS)
        lo_idx = (nn * h + r0) * row_len
        hi_idx = (nn * h + r1) * row_len
        for i in range(ho):
            lr = lo[nn * ho + i]
            hr = hi[nn * ho + i]
            if lr >= r1 or hr < r0:
                continue
            o0 = (nn * ho + i) * run
            ds = d1[o0:o0 + run]
            as_ = a1[o0:o0 + run]
            if lr >= r0 and hr < r1:
                for t in range(run):
                    x1[as_[t]] += ds[t]
            else:
                for t in range(run):
                    k = as_[t]
                    if k >= lo_idx and k < hi_idx:
                        x1[k] += ds[t]


@kernel
def _avg_forward(x, ho, wo, kh, kw, sh, sw, top, left):
    n, h, w, c = x.shape
    y = np.empty((n, ho, wo, c), x.dtype)
    for row in prange(n * ho):
        nn = row // ho
        i = row - nn * ho
        p0 = max(0, top - i * sh)
        p1 = min(kh, h + top - i * sh)
        acc = np.empty(c, x.dtype)
        for j in range(wo):
            q0 = max(0, left - j * sw)
            q1 = min(kw, w + left - j * sw)
            acc[:] = 0
            for p in range(p0, p1):
                hi = i * sh + p - top
                for q in range(q0, q1):
                    wi = j * sw + q - left
                    for cc in range(c):
                        acc[cc] += x[nn, hi, wi, cc]
            cnt = x.dtype.type((p1 - p0) * (q1 - q0))
            for cc in range(c):
                y[nn, i, j, cc] = acc[cc] / cnt
    return y


@kernel
def _avg_backward(dy, n, h, w, c, kh, kw, sh, sw, top, left):
    """Each in-bounds cell of a window gets dy / count; task = one dx row (gather)."""
    _, ho, wo, _ = dy.shape
    dx = np.zeros((n, h, w, c), dy.dtype)
    for row in prange(n * h):
        nn = row // h
        hi = row - nn * h
        i0 = max(0, (hi + top - kh + sh) // sh)
        i1 = min(ho - 1, (hi + top) // sh)
        for i in range(i0, i1 + 1):
            p0 = max(0, top - i * sh)
            p1 = min(kh, h + top - i * sh)
            for j in range(wo):
                q0 = max(0, left - j * sw)
                q1 = min(kw, w + left - j * sw)
                cnt = dy.dtype.type((p1 - p0) * (q1 - q0))
                for q in range(q0, q1):
                    wi = j * sw + q - left
                    for cc in range(c):
                        dx[nn, hi, wi, cc] += dy[nn, i, j, cc] / cnt
    return dx


def _geometry(where, x_shape, size, stride, pads):
    size = _check.integers(where, "size", size, 2)
    # pads below the window size: a window made of padding only has no maximum and no count
    ho, wo = _check.window(where, x_shape[1:3], size, stride, pads, below=size)[2]
    return size, ho, wo


def _x_shape(where, x_shape):
    return _check.nhwc(where, "x_shape", x_shape)


def maxpool_forward(x, *, size, stride, pads):
    """``y = max over each window``; returns ``(y, argmax)`` with int64 flat indices into x.

    Derivative: ``dx[argmax[o]] += dy[o]`` (:func:`maxpool_backward`).
    """
    _check.array("maxpool_forward", "x", x, ndim=4)
    size, ho, wo = _geometry("maxpool_forward", x.shape, size, stride, pads)
    # outputs from the buffer pool or NumPy (2 MiB huge pages), not Numba's runtime (4 KiB)
    y = buffers.empty((x.shape[0], ho, wo, x.shape[3]), x.dtype)
    arg = buffers.empty(y.shape, np.int64)
    _max_forward(x, y, arg, size[0], size[1], stride[0], stride[1], pads[0], pads[2])
    return y, arg


def maxpool_backward(dy, argmax, *, x_shape):
    """``dx[argmax[o]] += dy[o]`` for every output ``o``.

    Needs no window geometry. With at least as many images as threads, one task per image
    scatters in output order; otherwise a first pass finds which dx rows each dy row points
    into and tasks own bands of dx rows. Both sum every cell in output order (bitwise equal)
    and reject indices outside their image with :class:`ShapeError`.
    """
    _check.array("maxpool_backward", "dy", dy, ndim=4)
    _check.index("maxpool_backward", "argmax", argmax, shape=dy.shape)
    n, h, w, c = _x_shape("maxpool_backward", x_shape)
    if n != dy.shape[0] or c != dy.shape[3]:
        raise ShapeError(expected("numba.maxpool_backward.dy.shape",
                                                f"batch {n} and {c} channels", dy.shape))
    # dx from NumPy's np.zeros (calloc: fresh pages arrive zeroed, 2 MiB huge pages), not
    # Numba's runtime (4 KiB pages, then a memset): 16x512x512x3, 3x3 window, 1 thread:
    # 56 -> 26 ms (the scatter itself is unchanged)
    dx = np.zeros((n, h, w, c), dy.dtype)
    if n >= numba.get_num_threads():
        # one task per image: a single pass, no index ranges to find first (16x512x512x3,
        # 3x3 window, 1 thread: 4 passes over the int64 arg-max became 1)
        ok = _max_backward_images(dy, argmax, dx)
    else:
        lo, hi, ok = _arg_rows(argmax, h, w, c)
        if ok:
            _max_backward_bands(dy, argmax, lo, hi, dx)
    if not ok:
        raise ShapeError(expected(
            "numba.maxpool_backward.argmax", "flat indices into x of the same image and channel",
            "out-of-range indices"))
    return dx


def avgpool_forward(x, *, size, stride, pads):
    """``y = (sum of in-bounds cells of the window) / (their count)``.

    Derivative: each in-bounds cell of a window receives ``dy / count``.
    """
    _check.array("avgpool_forward", "x", x, ndim=4)
    size, ho, wo = _geometry("avgpool_forward", x.shape, size, stride, pads)
    return _avg_forward(x, ho, wo, size[0], size[1], stride[0], stride[1], pads[0], pads[2])


def avgpool_backward(dy, *, x_shape, size, stride, pads):
    """Each in-bounds cell of a window receives ``dy / count`` of that window."""
    _check.array("avgpool_backward", "dy", dy, ndim=4)
    n, h, w, c = _x_shape("avgpool_backward", x_shape)
    size, ho, wo = _geometry("avgpool_backward", (n, h, w, c), size, stride, pads)
    if dy.shape != (n, ho, wo, c):
        raise ShapeError(expected("numba.avgpool_backward.dy.shape",
                                                (n, ho, wo, c), dy.shape))
    return _avg_backward(dy, n, h, w, c, size[0], size[1], stride[0], stride[1], pads[0],
                         pads[2])
