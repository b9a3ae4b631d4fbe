"""Shortcut kernels: ``y = alpha a + beta b``.

Notes
-----
Forward: ``y = alpha a + beta b`` (``alpha`` and ``beta`` rounded to the array's dtype).
Derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

__all__ = ["shortcut_forward", "shortcut_backward"]


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b``."""
    t = a.dtype.type
    return t(alpha) * a + t(beta) * b


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``."""
    t = dy.dtype.type
    return t(alpha) * dy, t(beta) * dy
