"""Pixel shuffle (depth to space) and its inverse, in the ``dcr`` and ``crd`` orders.

Notes
-----
``dcr``: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]`` (tf.nn.depth_to_space).
``crd``: ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch.nn.PixelShuffle).
``jnp.reshape`` / ``jnp.transpose`` in one jitted program: pure data movement, bit-exact.
Derivative: a permutation, so ``dL/dx = pixel_unshuffle(dy)``, its inverse (bit-exact).
"""

from __future__ import annotations

from ._xla import call, jit, jnp

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


@jit(static=("scale", "order"))
def _shuffle(x, *, scale, order):
    n, h, w, cr = x.shape
    r = scale
    c = cr // (r * r)
    if order == "dcr":
        t = jnp.transpose(x.reshape(n, h, w, r, r, c), (0, 1, 3, 2, 4, 5))
    else:
        t = jnp.transpose(x.reshape(n, h, w, c, r, r), (0, 1, 4, 2, 5, 3))
    return t.reshape(n, h * r, w * r, c)


@jit(static=("scale", "order"))
def _unshuffle(y, *, scale, order):
    n, hr, wr, c = y.shape
    r = scale
    h, w = hr // r, wr // r
    t = y.reshape(n, h, r, w, r, c)
    perm = (0, 1, 3, 2, 4, 5) if order == "dcr" else (0, 1, 3, 5, 2, 4)
    return jnp.transpose(t, perm).reshape(n, h, w, c * r * r)


def pixel_shuffle(x, *, scale, order):
    """(N, H, W, C r^2) -> (N, H r, W r, C)."""
    return call(_shuffle, x, scale=int(scale), order=str(order))


def pixel_unshuffle(y, *, scale, order):
    """Inverse of :func:`pixel_shuffle`: (N, H r, W r, C) -> (N, H, W, C r^2)."""
    return call(_unshuffle, y, scale=int(scale), order=str(order))
