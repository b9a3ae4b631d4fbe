"""Dense (connected) kernels on 2-D arrays: ``x`` (N, K), ``w`` (K, U), ``b`` (U,) or None.

Notes
-----
Forward: ``y = x w + b``. Derivatives: ``dL/dx = dy w^T``, ``dL/dw = x^T dy``,
``dL/db = sum_n dy[n]``.
"""

from __future__ import annotations

__all__ = ["dense_forward", "dense_backward"]


def dense_forward(x, w, b):
    """``y = x w + b``.

    Parameters
    ----------
    x : numpy.ndarray
        (N, K).
    w : numpy.ndarray
        (K, U).
    b : numpy.ndarray or None
        (U,).

    Returns
    -------
    numpy.ndarray
        ``y`` (N, U).
    """
    y = x @ w
    if b is not None:
        y += b
    return y


def dense_backward(x, w, dy):
    """Return ``(dx, dw, db) = (dy w^T, x^T dy, sum_n dy)``.

    Parameters
    ----------
    x, w
        As in :func:`dense_forward`.
    dy : numpy.ndarray
        Upstream gradient (N, U).

    Returns
    -------
    dx, dw, db : numpy.ndarray
        Shaped like ``x``, ``w`` and (U,).
    """
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)
