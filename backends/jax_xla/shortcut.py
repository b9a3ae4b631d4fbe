"""Shortcut kernels: ``y = alpha a + beta b`` (coefficients rounded to the array's dtype
first, as ``numpy_ref`` does).

Notes
-----
Forward: ``y = alpha a + beta b``; derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
"""

from __future__ import annotations

from ._xla import call, const, jit

__all__ = ["shortcut_forward", "shortcut_backward"]


@jit(static=("alpha", "beta"))
def _forward(a, b, *, alpha, beta):
    return const(alpha, a) * a + const(beta, a) * b


@jit(static=("alpha", "beta"))
def _backward(dy, *, alpha, beta):
    return const(alpha, dy) * dy, const(beta, dy) * dy


def shortcut_forward(a, b, *, alpha, beta):
    """``y = alpha a + beta b``."""
    return call(_forward, a, b, alpha=float(alpha), beta=float(beta))


def shortcut_backward(dy, *, alpha, beta):
    """Return ``(da, db) = (alpha dy, beta dy)``."""
    return call(_backward, dy, alpha=float(alpha), beta=float(beta))
