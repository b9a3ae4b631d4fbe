"""Dense (connected) kernels on ``jnp.matmul``: ``x`` (N, K), ``w`` (K, U), ``b`` (U,) or None.

``precision=HIGHEST``: full-precision products and sums.

Notes
-----
Forward: ``y = x w + b``; derivatives: ``dL/dx = dy w^T``, ``dL/dw = x^T dy``, ``dL/db = sum_n dy``.
"""

from __future__ import annotations

from jax import lax

from ._xla import call, jit, jnp

__all__ = ["dense_forward", "dense_backward"]

_HIGHEST = lax.Precision.HIGHEST


@jit
def _forward(x, w, b):
    y = jnp.matmul(x, w, precision=_HIGHEST)
    return y if b is None else y + b


@jit
def _backward(x, w, dy):
    return (jnp.matmul(dy, w.T, precision=_HIGHEST), jnp.matmul(x.T, dy, precision=_HIGHEST),
            jnp.sum(dy, axis=0))


def dense_forward(x, w, b):
    """``y = x w + b``."""
    return call(_forward, x, w, b)


def dense_backward(x, w, dy):
    """Return ``(dx, dw, db) = (dy w^T, x^T dy, sum_n dy)``."""
    return call(_backward, x, w, dy)
