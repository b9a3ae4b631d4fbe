"""Batch-normalisation kernels on x viewed as (M, C), M = N H W (validated by ``norm.py``).

The per-channel sums run over fixed chunks of rows in parallel (accumulated in double) and
the chunks are added in order, so the statistics do not depend on the thread count.
"""

import numpy as np

from cython.parallel cimport prange

ctypedef fused real:
    float
    double

cdef Py_ssize_t ROWS = 512


def channel_stats(const real[:, ::1] x, const real[::1] shift, const real[::1] scale,
                  const real[:, ::1] dy, int what):
    """Per-channel sums over rows, in double, as a (2, C) array.

    what 0: ``sum x``; 1: ``sum (x - shift)^2``; 2: ``sum dy`` and ``sum dy xhat`` with
    ``xhat = (x - shift) scale``. ``dy`` is only read when what is 2.
    """
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], nch = (M + ROWS - 1) // ROWS
    cdef Py_ssize_t ch, k, c, k1
    cdef double[:, :, ::1] part = np.zeros((nch, 2, C))
    cdef real d
    with nogil:
        for ch in prange(nch, schedule="static"):
            k1 = min((ch + 1) * ROWS, M)
            for k in range(ch * ROWS, k1):
                for c in range(C):
                    if what == 0:
                        part[ch, 0, c] += x[k, c]
                    elif what == 1:
                        d = x[k, c] - shift[c]
                        part[ch, 0, c] += d * d
                    else:
                        part[ch, 0, c] += dy[k, c]
                        part[ch, 1, c] += dy[k, c] * ((x[k, c] - shift[c]) * scale[c])
    return _ordered(part)


cdef _ordered(double[:, :, ::1] part):
    cdef Py_ssize_t ch, c
    out = np.zeros((part.shape[1], part.shape[2]))
    cdef double[:, ::1] o = out
    for ch in range(part.shape[0]):
        for c in range(part.shape[2]):
            o[0, c] += part[ch, 0, c]
            o[1, c] += part[ch, 1, c]
    return out


def normalize(const real[:, ::1] x, const real[::1] mean, const real[::1] scale,
              const real[::1] beta, real[:, ::1] y):
    """``y = (x - mean) scale + beta`` with ``scale = gamma / sqrt(var + eps)``."""
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], k, c
    with nogil:
        for k in prange(M, schedule="static"):
            for c in range(C):
                y[k, c] = (x[k, c] - mean[c]) * scale[c] + beta[c]


def normalize_grad(const real[:, ::1] x, const real[:, ::1] dy, const real[::1] mean,
                   const real[::1] inv, const real[::1] coef, const real[::1] dbeta,
                   const real[::1] dgamma, real m, bint training, real[:, ::1] dx):
    """Training: ``dx = coef (m dy - dbeta - xhat dgamma)``, ``coef = gamma inv / m``,
    ``xhat = (x - mean) inv``; inference: ``dx = dy coef`` with ``coef = gamma inv``."""
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], k, c
    with nogil:
        for k in prange(M, schedule="static"):
            for c in range(C):
                if training:
                    dx[k, c] = coef[c] * (m * dy[k, c] - dbeta[c]
                                          - ((x[k, c] - mean[c]) * inv[c]) * dgamma[c])
                else:
                    dx[k, c] = dy[k, c] * coef[c]
