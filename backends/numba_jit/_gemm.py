"""GEMMs split over Numba threads in fixed chunks, each chunk one 1-thread BLAS call.

SciPy's BLAS (what ``np.dot`` calls in jitted code) is kept at one thread by the backend
(:func:`backends.numba_jit._set_threads`); parallelism comes from ``prange`` over chunks whose
bounds depend on the shapes only. Every output element is computed by exactly one BLAS call
whatever the thread count, so results are bitwise identical for 1, 2 or more threads.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel, prange

# Rows of the output per chunk: enough for BLAS to run near peak, enough chunks to share.
CHUNK = 64


@kernel
def matmul_rows(a, b, out):
    """``out = a @ b`` with ``a`` (M, K) C-contiguous, chunked over the M rows."""
    m = a.shape[0]
    for ch in prange((m + CHUNK - 1) // CHUNK):
        r0 = ch * CHUNK
        r1 = min(m, r0 + CHUNK)
        out[r0:r1] = np.dot(a[r0:r1], b)


@kernel
def matmul_tn_add(a, b, out):
    """``out += a.T @ b`` with ``a`` (M, K), ``b`` (M, F), ``out`` (K, F), chunked over K."""
    k = a.shape[1]
    for ch in prange((k + CHUNK - 1) // CHUNK):
        k0 = ch * CHUNK
        k1 = min(k, k0 + CHUNK)
        out[k0:k1] += np.dot(np.ascontiguousarray(a[:, k0:k1]).T, b)
