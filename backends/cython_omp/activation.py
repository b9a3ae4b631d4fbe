"""Activation kernels: the formulas, derivatives, constants and kink rules of
``backends.activations`` compiled in ``_elementwise.pyx``.

Notes
-----
Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) dy`` (``f``, ``f'`` of
``backends.activations.ACTIVATIONS[kind]``).
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import activations as A
from .. import buffers
from . import _elementwise as _ew

__all__ = ["activation_forward", "activation_backward"]

_ew.set_constants(A.LEAKY_SLOPE, A.RELIE_SLOPE, A.LHTAN_SLOPE, A.PLSE_SLOPE, A.SELU_ALPHA,
                  A.SELU_SCALE, A.ELLIOT_S)
_CODES = {name: code for code, name in enumerate(_ew.KINDS)}
assert set(_CODES) == set(A.ACTIVATIONS), "activation kinds out of sync with backends.activations"


def _kind(fn, kind):
    return _CODES[ck.choice(fn, "kind", kind, tuple(A.ACTIVATIONS))]


def activation_forward(x, *, kind):
    """``y = f(x)`` element-wise (any rank)."""
    fn = "activation_forward"
    code = _kind(fn, kind)
    x = ck.array(fn, "x", x, ndim=getattr(x, "ndim", -1))
    y = buffers.empty(x.shape, x.dtype)
    _ew.activation_forward(x.reshape(-1), y.reshape(-1), code)
    return y


def activation_backward(x, dy, *, kind):
    """``dx = f'(x) dy``; at a kink f' takes the one-sided value of ``kink_rule``."""
    fn = "activation_backward"
    code = _kind(fn, kind)
    x = ck.array(fn, "x", x, ndim=getattr(x, "ndim", -1))
    dy = ck.array(fn, "dy", dy, ndim=x.ndim, like=x.dtype, shape=x.shape)
    dx = np.empty_like(x)
    _ew.activation_backward(x.reshape(-1), dy.reshape(-1), dx.reshape(-1), code)
    return dx
