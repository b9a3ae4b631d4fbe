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


def filter_transform(w: np.ndarray, m: int) -> np.ndarray:
    """``U = G g G^T`` of every (c, f) 3x3 kernel of HWIO ``w``, computed in float64 and
    rounded once to ``w.dtype``: shape ((m + 2)^2, C, F), row ``(m + 2) a + b``."""
    g = G[m]
    u = np.einsum("ip,pqcf,jq->ijcf", g, w.astype(np.float64), g, optimize=True)
    t = m + 2
    return np.ascontiguousarray(u.reshape(t * t, w.shape[2], w.shape[3]).astype(w.dtype))
