"""Max and average pooling kernels (inputs validated by ``pool.py``).

Max pooling visits each window in row-major (p, q) order and keeps the first maximum (a NaN
wins over numbers, as ``np.argmax``); it stores the arg-max as a flat C-order index into x.
Work is split over output rows (forward) and over samples or input rows (backward), so no two
threads write the same element and the order of every sum is fixed.
"""

import numpy as np

cimport openmp
from cython.parallel cimport prange, threadid
from libc.stdint cimport int32_t, int64_t

ctypedef fused real:
    float
    double


cdef inline void maxpool_row(const real *x, real *y, int32_t *code, int64_t *offs,
                             int64_t *arg, Py_ssize_t n, Py_ssize_t i, Py_ssize_t H,
                             Py_ssize_t W, Py_ssize_t C, Py_ssize_t wo, Py_ssize_t kh,
                             Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top,
                             Py_ssize_t left) noexcept nogil:
    """One output row: loop the window offsets outside, the (j, c) row inside.

    The comparison is branch-free (``|``/``&`` on flags, selects instead of conditional
    stores) so that the compiler can vectorise the row; with stride 1 the row's cells are one
    contiguous run of x. A cell wins if it is the first in-bounds one (``code < 0``), larger,
    or the first NaN. The winner is kept as its window position ``p kw + q`` in int32, the
    width of a float32 lane, so the select vectorises (an int64 select beside float32
    compares did not on baseline x86-64); the flat int64 index is made once per output at
    the end, from ``offs[p kw + q] = (p W + q) C``.
    """
    cdef Py_ssize_t p, q, r, j, c, col, k, jlo, jhi, base
    cdef Py_ssize_t origin = ((n * H + i * sh - top) * W - left) * C
    cdef int32_t o
    cdef real v, best
    cdef bint win
    for k in range(wo * C):
        code[k] = -1
    for p in range(kh):
        r = i * sh + p - top
        if r < 0 or r >= H:
            continue
        for q in range(kw):
            o = <int32_t>(p * kw + q)
            # output columns j whose window column j sw + q - left lies inside [0, W)
            jlo = max(0, (left - q + sw - 1) // sw) if left > q else 0
            jhi = min(wo, (W - 1 + left - q) // sw + 1) if W - 1 + left - q >= 0 else 0
            if sw == 1:
                # y[k] for k in [jlo C, jhi C) meets x at flat index base + k
                base = ((n * H + r) * W + q - left) * C
                for k in range(jlo * C, jhi * C):
                    v = x[base + k]
                    best = y[k]
                    win = (code[k] < 0) | (v > best) | ((v != v) & (best == best))
                    y[k] = v if win else best
                    code[k] = o if win else code[k]
                continue
            for j in range(jlo, jhi):
                col = j * sw + q - left
                base = ((n * H + r) * W + col) * C - j * C
                for k in range(j * C, j * C + C):
                    v = x[base + k]
                    best = y[k]
                    win = (code[k] < 0) | (v > best) | ((v != v) & (best == best))
                    y[k] = v if win else best
                    code[k] = o if win else code[k]
    # flat index of window cell (p, q) of output (j, c): origin + (p W + q) C + j sw C + c
    for j in range(wo):
        for c in range(C):
            k = j * C + c
            arg[k] = origin + offs[code[k]] + j * sw * C + c


def maxpool_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int64_t[:, :, :, ::1] arg,
                    int kh, int kw, int sh, int sw, int top, int left):
    """``y = max over each window``; ``arg`` = flat index of the first maximum."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t ho = y.shape[1], wo = y.shape[2], g, p, q
    cdef int64_t[::1] offs = np.empty(kh * kw, dtype=np.int64)
    # one row of window codes per thread (the team is omp_get_max_threads() strong)
    cdef int32_t[:, ::1] code = np.empty((openmp.omp_get_max_threads(), wo * C),
                                         dtype=np.int32)
    for p in range(kh):
        for q in range(kw):
            offs[p * kw + q] = (p * W + q) * C
    with nogil:
        for g in prange(N * ho, schedule="static"):
            maxpool_row(&x[0, 0, 0, 0], &y[0, 0, 0, 0] + g * wo * C, &code[threadid(), 0],
                        &offs[0], &arg[0, 0, 0, 0] + g * wo * C, g // ho, g % ho, H, W, C,
                        wo, kh, kw, sh, sw, top, left)


def maxpool_backward(const real[:, :, :, ::1] dy, const int64_t[:, :, :, ::1] arg,
                     real[:, :, :, ::1] dx):
    """``dx[arg[o]] += dy[o]`` in output order, one sample per thread.

    Returns the number of indices that do not point into their own sample (then nothing was
    written for them; the caller raises).
    """
    cdef Py_ssize_t N = dx.shape[0], per_x = dx.shape[1] * dx.shape[2] * dx.shape[3]
    cdef Py_ssize_t per_y = dy.shape[1] * dy.shape[2] * dy.shape[3]
    cdef Py_ssize_t n, o, bad = 0
    cdef int64_t k
    cdef real *d = &dx[0, 0, 0, 0]
    cdef const real *g = &dy[0, 0, 0, 0]
    cdef const int64_t *a = &arg[0, 0, 0, 0]
    with nogil:
        for n in prange(N, schedule="static"):
            for o in range(n * per_y, (n + 1) * per_y):
                k = a[o]
                if k < n * per_x or k >= (n + 1) * per_x:
                    bad += 1
                else:
                    d[k] += g[o]
    return bad


cdef inline Py_ssize_t window_count(Py_ssize_t i, Py_ssize_t j, Py_ssize_t H, Py_ssize_t W,
                                    Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                                    Py_ssize_t sw, Py_ssize_t top,
                                    Py_ssize_t left) noexcept nogil:
    cdef Py_ssize_t r0 = i * sh - top, c0 = j * sw - left
    cdef Py_ssize_t rows = min(r0 + kh, H) - max(r0, 0)
    cdef Py_ssize_t cols = min(c0 + kw, W) - max(c0, 0)
    return rows * cols


def avgpool_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int kh, int kw, int sh,
                    int sw, int top, int left):
    """``y = (sum of the in-bounds cells of the window) / (their count)``."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t ho = y.shape[1], wo = y.shape[2], g
    with nogil:
        for g in prange(N * ho, schedule="static"):
            avgpool_row(&x[0, 0, 0, 0], &y[0, 0, 0, 0] + g * wo * C, g // ho, g % ho, H, W, C,
                        wo, kh, kw, sh, sw, top, left)


cdef inline void avgpool_row(const real *x, real *y, Py_ssize_t n, Py_ssize_t i, Py_ssize_t H,
                             Py_ssize_t W, Py_ssize_t C, Py_ssize_t wo, Py_ssize_t kh,
                             Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top,
                             Py_ssize_t left) noexcept nogil:
    cdef Py_ssize_t j, c, p, q, r, col
    cdef real cnt
    for j in range(wo):
        for c in range(C):
            y[j * C + c] = 0
        for p in range(kh):
            r = i * sh + p - top
            if r < 0 or r >= H:
                continue
            for q in range(kw):
                col = j * sw + q - left
                if col < 0 or col >= W:
                    continue
                for c in range(C):
                    y[j * C + c] += x[((n * H + r) * W + col) * C + c]
        cnt = <real>window_count(i, j, H, W, kh, kw, sh, sw, top, left)
        for c in range(C):
            y[j * C + c] = y[j * C + c] / cnt


def avgpool_backward(const real[:, :, :, ::1] dy, real[:, :, :, ::1] dx, int kh, int kw,
                     int sh, int sw, int top, int left):
    """Each in-bounds cell of a window receives ``dy / count``; gathered per input row."""
    cdef Py_ssize_t N = dx.shape[0], H = dx.shape[1], g
    with nogil:
        for g in prange(N * H, schedule="static"):
            avgpool_grad_row(&dy[0, 0, 0, 0], &dx[0, 0, 0, 0], g // H, g % H, H, dx.shape[2],
                             dx.shape[3], dy.shape[1], dy.shape[2], kh, kw, sh, sw, top, left)


cdef inline void avgpool_grad_row(const real *dy, real *dx, Py_ssize_t n, Py_ssize_t r,
                                  Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t ho,
                                  Py_ssize_t wo, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                                  Py_ssize_t sw, Py_ssize_t top,
                                  Py_ssize_t left) noexcept nogil:
    cdef Py_ssize_t col, p, q, t, u, i, j, c
    cdef real cnt
    cdef real *d
    cdef const real *s
    for col in range(W):
        d = dx + ((n * H + r) * W + col) * C
        for c in range(C):
            d[c] = 0
        for p in range(kh):
            t = r + top - p
            if t < 0 or t % sh != 0 or t // sh >= ho:
                continue
            i = t // sh
            for q in range(kw):
                u = col + left - q
                if u < 0 or u % sw != 0 or u // sw >= wo:
                    continue
                j = u // sw
                cnt = <real>window_count(i, j, H, W, kh, kw, sh, sw, top, left)
                s = dy + ((n * ho + i) * wo + j) * C
                for c in range(C):
                    d[c] += s[c] / cnt
