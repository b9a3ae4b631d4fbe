"""Winograd minimal-filtering matrices (Lavin & Gray 2016) shared by the backends.

``F(m x m, 3x3)`` computes an m x m output tile from an (m + 2) x (m + 2) input tile ``d``:
``Y = A^T [(G g G^T) ⊙ (B^T d B)] A``. F(2x2, 3x3) uses the points 0, 1, -1 (and infinity);
F(4x4, 3x3) the points 0, 1, -1, 2, -2 (and infinity), whose larger coefficients (up to 8
in ``A^T``, 5 in ``B^T``, 1/24 in ``G``) amplify rounding errors more: its tier in
``backends/testing/tolerances.py`` is wider.
"""

from __future__ import annotations

import numpy as np

BT = {
    2: np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64),
    4: np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                 [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
                dtype=np.float64),
}
G = {
    2: np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64),
    4: np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
                dtype=np.float64),
}
AT = {
    2: np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64),
    4: np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                 [0, 1, -1, 8, -8, 1]], dtype=np.float64),
}


# G[m] times SCALE[m] is a matrix of small integers (F(4x4): 6, 4, 2, 1 and 24), so the
# transform below multiplies float32 weights by integers and divides once by SCALE[m]^2. In
# float64 those products and their sums are exact unless one 3x3 kernel spans more than
# ~2^15 in magnitude, and where they are not, the order is written out below. Every backend's
# compiled transform follows that order with no FMA, so U has the same bits in all of them,
# whatever the BLAS: the einsum this replaces went through dgemm, and its float32 rounding of
# ties such as w/6 depended on the dgemm kernel's association (0.5% of U's elements moved by
# one ulp against a plain loop on the AMD VM's OpenBLAS).
SCALE = {2: 2, 4: 24}


def filter_transform(w: np.ndarray, m: int) -> np.ndarray:
    """``U = G g G^T`` of every (c, f) 3x3 kernel ``g`` of HWIO ``w``, in float64 then rounded
    once to ``w.dtype``: shape ((m + 2)^2, C, F), row ``(m + 2) a + b``.

    With ``S = SCALE[m]`` and the integer matrix ``Gi = S G``, in this order and without
    fused multiply-adds: ``t[a, q] = (Gi[a,0] g[0,q] + Gi[a,1] g[1,q]) + Gi[a,2] g[2,q]``,
    ``U[a, b] = ((t[a,0] Gi[b,0] + t[a,1] Gi[b,1]) + t[a,2] Gi[b,2]) / S^2``. The compiled
    ``winograd4_filter`` kernels of the backends compute the same sums in the same order.

    Parameters
    ----------
    w : numpy.ndarray
        HWIO kernels, 3 x 3 x C x F.
    m : int
        The output tile size (2 or 4).

    Returns
    -------
    numpy.ndarray
        ``U``, shaped ``((m + 2)^2, C, F)``, dtype of ``w``.
    """
    gi = G[m] * SCALE[m]
    g = w.astype(np.float64)
    r = m + 2
    t = [[(gi[a, 0] * g[0, q] + gi[a, 1] * g[1, q]) + gi[a, 2] * g[2, q] for q in range(3)]
         for a in range(r)]
    u = np.empty((r * r, w.shape[2], w.shape[3]), w.dtype)
    d = float(SCALE[m] ** 2)
    for a in range(r):
        for b in range(r):
            u[r * a + b] = ((t[a][0] * gi[b, 0] + t[a][1] * gi[b, 1]) + t[a][2] * gi[b, 2]) / d
    return u


# Bytes up to which a layer keeps its Winograd filter transform between calls (per weights
# version); larger transforms are computed again on every call by the compiled kernels.
# F(4x4)'s U is 4x the weights, so EDSR x2 kept 613 MiB of them (its 64 256x256 body
# convolutions at 9 MiB each, the 1024-channel upsampler at 36 MiB): its super_resolve on
# 510x339 (cython, 2 threads) peaked at 1,656 MiB RSS, and at 1,135 MiB with this limit.
# Recomputing one 256x256 transform takes 2.4 ms (cython) and 4.1 ms (numba) at 1 thread
# (best of 5, AMD EPYC VM), since both compute 64 filters at a time (15-17 ms filter by
# filter: the rows of w and U are 256 KiB apart and shared cache sets). Every layer of
# EDSR-baseline and WDSR-A's blocks is under 1 MiB and keeps its U.
CACHE_BYTES = 1 << 20


# Tiles per chunk of the compiled F(4x4) kernels (Cython and Numba), from the shapes only:
# each of a chunk's 36 GEMMs packs its whole (C, F) filter matrix U_k, so packing is
# amortised over the chunk's T tiles (its share falls as 1/T whatever C and F), while the
# chunk's V and M (36 T (C + F) elements) should stay in cache. Measured on the 2-core AMD
# EPYC VM (Zen 3, 512 KB L2 per core), min of 3, time over the best T of {16, 56, 112, 224},
# 2 threads / 1 thread (cython; numba alike within noise):
#   (C, F) on 339x510     T=56        T=112       T=224
#   (64, 64)              1.10/1.10   1.00/1.00   1.13/1.01
#   (32, 192)             1.53/1.10   1.00/1.00   1.40/1.04
#   (192, 32)             1.00/1.09   1.00/1.00   1.24/1.07
#   (64, 256)  numba      1.01/1.00   1.08/1.03   1.00/1.04
#   (256, 256) 170x255    1.27/1.36   1.10/1.14   1.00/1.00   (numba: 1.30/1.25 at T=112)
#   (256, 1024) 170x255   1.17/1.39   1.00/1.17   1.14/1.00
# The rule before (2^18 elements of V + M, tuned on C + F <= 160 on the Intel VM) gave 14
# tiles on EDSR x2's 256-channel body, 2.0-2.8x slower than T = 224 there.
def chunk_tiles(c: int, f: int) -> int:
    """Tiles per F(4x4) chunk for C input and F output channels: 224 when the filter matrix
    of one GEMM has at least 2^16 elements (C = F = 256), else 112 (see the table above).

    Parameters
    ----------
    c, f : int
        Input and output channels.

    Returns
    -------
    int
        224 or 112.
    """
    return 224 if c * f >= 1 << 16 else 112

