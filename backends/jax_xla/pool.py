"""Pooling kernels on ``jax.lax.reduce_window``. ``size``/``stride`` are (rows, cols);
``pads`` is (top, bottom, left, right).

Max pooling pads with ``-inf`` and returns, with each maximum, its arg-max as a flat C-order
index into ``x``: one variadic ``reduce_window`` over (value, index) pairs whose reducer keeps
the larger value and, on a tie, the smaller index. Within a window the flat index grows in
row-major window order, so a tie goes to the first maximum in row-major window order, as in
``numpy_ref`` (``np.argmax``); the reducer is associative and commutative, so the order in
which XLA visits the window does not matter. Padding cells are ``(-inf, largest int64)``, so
a real cell wins every tie with them (``numpy_ref`` points at a padding cell only when an
in-bounds ``-inf`` ties with padding that comes first in the window; the two differ there).
NaN: ``np.argmax`` picks the first NaN; this reducer's comparisons are false for NaN, so a
window with NaN keeps the first non-NaN maximum. Inputs are checked finite upstream.

Average pooling divides the window sums by the number of in-bounds cells of each window
(TensorFlow's "SAME" convention); its backward is the vector-Jacobian product of that
(linear) forward.

Notes
-----
Forward: max ``y = max`` of the ``-inf``-padded window (and its arg-max), average
``y = sum of the in-bounds window cells / count``. Derivatives: ``dL/dx`` receives ``dy``
at the arg-max (max) or ``dy / count`` on each in-bounds cell of the window (average).
"""

from __future__ import annotations

import math

import numpy as np
from jax import lax

from ._xla import call, jax, jit, jnp

__all__ = ["maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward"]

_PAD_INDEX = np.iinfo(np.int64).max


def _window(size, stride, pads):
    top, bottom, left, right = pads
    return dict(window_dimensions=(1, *size, 1), window_strides=(1, *stride, 1),
                padding=((0, 0), (top, bottom), (left, right), (0, 0)))


def _keep_first_max(a, b):
    (va, ia), (vb, ib) = a, b
    take_b = (vb > va) | ((vb == va) & (ib < ia))
    return jnp.where(take_b, vb, va), jnp.where(take_b, ib, ia)


@jit(static=("size", "stride", "pads"))
def _maxpool(x, *, size, stride, pads):
    index = jnp.arange(math.prod(x.shape), dtype=jnp.int64).reshape(x.shape)
    init = (jnp.array(-jnp.inf, x.dtype), jnp.array(_PAD_INDEX, jnp.int64))
    return lax.reduce_window((x, index), init, _keep_first_max, **_window(size, stride, pads))


def maxpool_forward(x, *, size, stride, pads):
    """``y = max over each window``; returns ``(y, argmax)`` with int64 flat indices into x.

    Ties go to the first maximum in row-major window order.
    """
    return call(_maxpool, x, size=tuple(size), stride=tuple(stride), pads=tuple(pads))


@jit(static=("x_shape",))
def _maxpool_backward(dy, argmax, *, x_shape):
    dx = jnp.zeros(math.prod(x_shape), dy.dtype).at[argmax.ravel()].add(dy.ravel())
    return dx.reshape(x_shape)


def maxpool_backward(dy, argmax, *, x_shape):
    """``dx[argmax[o]] += dy[o]`` for every output ``o`` (an XLA scatter-add)."""
    return call(_maxpool_backward, dy, argmax, x_shape=tuple(int(s) for s in x_shape))


def _in_bounds(length, k, s, before, out):
    """Cells of each window inside ``[0, length)`` along one axis (windows start at
    ``i s - before``)."""
    start = np.arange(out) * s - before
    return np.minimum(start + k, length) - np.maximum(start, 0)


def _counts(x_shape, size, stride, pads, ho, wo, dtype):
    """In-bounds cells per window, (1, Ho, Wo, 1): a function of the static shapes only, so
    it is computed on the host while tracing (exact small integers) and enters the program
    as a constant; XLA would otherwise constant-fold a window sum of ones, slowly."""
    rows = _in_bounds(x_shape[1], size[0], stride[0], pads[0], ho)
    cols = _in_bounds(x_shape[2], size[1], stride[1], pads[2], wo)
    return np.outer(rows, cols).astype(dtype)[None, :, :, None]


def _avgpool(x, size, stride, pads):
    zero = np.zeros((), x.dtype)  # a concrete 0: jax then uses its differentiable window sum
    sums = lax.reduce_window(x, zero, lax.add, **_window(size, stride, pads))
    return sums / _counts(x.shape, size, stride, pads, sums.shape[1], sums.shape[2], x.dtype)


@jit(static=("size", "stride", "pads"))
def _avgpool_forward(x, *, size, stride, pads):
    return _avgpool(x, size, stride, pads)


def avgpool_forward(x, *, size, stride, pads):
    """``y = (sum of in-bounds cells of the window) / (their count)``."""
    return call(_avgpool_forward, x, size=tuple(size), stride=tuple(stride), pads=tuple(pads))


@jit(static=("x_shape", "size", "stride", "pads"))
def _avgpool_backward(dy, *, x_shape, size, stride, pads):
    _, vjp = jax.vjp(lambda x: _avgpool(x, size, stride, pads), jnp.zeros(x_shape, dy.dtype))
    return vjp(dy)[0]


def avgpool_backward(dy, *, x_shape, size, stride, pads):
    """Each in-bounds cell of a window receives ``dy / count`` of that window: the
    vector-Jacobian product of the (linear) forward, taken at zeros of ``x_shape``."""
    return call(_avgpool_backward, dy, x_shape=tuple(int(s) for s in x_shape),
                size=tuple(size), stride=tuple(stride), pads=tuple(pads))
