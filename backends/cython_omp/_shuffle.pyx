"""Pixel shuffle (depth to space) and its inverse as re-indexing loops, one output row per
``prange`` iteration (inputs validated by ``shuffle.py``).

``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (contiguous runs of r C);
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (stride r^2 gather).
"""

from cython.parallel cimport prange
from libc.string cimport memcpy

ctypedef fused real:
    float
    double


cdef inline void shuffle_row(const real *x, real *y, Py_ssize_t n, Py_ssize_t hr,
                             Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t r,
                             bint dcr, bint inverse) noexcept nogil:
    """Output row ``hr`` of the shuffle (or, with ``inverse``, the same index pairs swapped)."""
    cdef Py_ssize_t h = hr // r, i = hr % r, w, j, c, r2 = r * r
    cdef const real *xs
    cdef real *ys
    cdef Py_ssize_t xrow = (n * H + h) * W * C * r2          # start of x[n, h]
    cdef Py_ssize_t yrow = (n * H * r + hr) * W * r * C      # start of y[n, hr]
    if dcr:
        # for fixed (w, i) the r runs of C values (j = 0..r-1) are adjacent on both sides:
        # one copy of r C values
        for w in range(W):
            if inverse:
                memcpy(y + xrow + w * C * r2 + i * r * C, x + yrow + w * r * C,
                       r * C * sizeof(real))
            else:
                memcpy(y + yrow + w * r * C, x + xrow + w * C * r2 + i * r * C,
                       r * C * sizeof(real))
        return
    for w in range(W):
        for j in range(r):
            if inverse:
                ys = y + xrow + w * C * r2 + i * r + j
                xs = x + yrow + (w * r + j) * C
                for c in range(C):
                    ys[c * r2] = xs[c]
            else:
                ys = y + yrow + (w * r + j) * C
                xs = x + xrow + w * C * r2 + i * r + j
                for c in range(C):
                    ys[c] = xs[c * r2]


def pixel_shuffle(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int r, bint dcr):
    """(N, H, W, C r^2) -> (N, H r, W r, C)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = y.shape[3], g
    with nogil:
        for g in prange(N * H * r, schedule="static"):
            shuffle_row(&x[0, 0, 0, 0], &y[0, 0, 0, 0], g // (H * r), g % (H * r), H, W, C, r,
                        dcr, False)


def pixel_unshuffle(const real[:, :, :, ::1] y, real[:, :, :, ::1] x, int r, bint dcr):
    """(N, H r, W r, C) -> (N, H, W, C r^2): reads row ``hr`` of y, writes its cells of x."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = y.shape[3], g
    with nogil:
        for g in prange(N * H * r, schedule="static"):
            shuffle_row(&y[0, 0, 0, 0], &x[0, 0, 0, 0], g // (H * r), g % (H * r), H, W, C, r,
                        dcr, True)
