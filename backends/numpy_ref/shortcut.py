"""Shortcut kernels: ``y = alpha a + beta b``.

Notes
-----
Forward: ``y = alpha a + beta b`` (``alpha`` and ``beta`` rounded to the array's dtype).
Derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

__all__ = ["shortcut_forward", "shortcut_backward"]


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b``.

    Parameters
    ----------
    a, b : numpy.ndarray
        The inputs, same shape and dtype.
    alpha, beta : float
        Their weights.

    Returns
    -------
    numpy.ndarray
        ``y``.
    """
    t = a.dtype.type
    return t(alpha) * a + t(beta) * b


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``.

    Parameters
    ----------
    dy : numpy.ndarray
        Upstream gradient.
    alpha, beta : float
        As in :func:`shortcut_forward`.

    Returns
    -------
    da, db : numpy.ndarray
        The inputs' gradients.
    """
    t = dy.dtype.type
    return t(alpha) * dy, t(beta) * dy
