"""Loss kernels over ``_elementwise.pyx``, averaged over every element (``M = y.size``),
``e = y - t``.

Notes
-----
mse: ``mean(e^2)``, ``dL/dy = 2 e / M``; mae: ``mean(|e|)``, ``dL/dy = sign(e) / M``
(0 at e = 0, as TF); smooth_l1 (Huber, Keras): ``0.5 e^2`` if ``|e| <= delta`` else
``delta (|e| - delta / 2)``, ``dL/dy = e`` or ``delta sign(e)``, over M. The sum for the
mean is accumulated in double.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from . import _elementwise as _ew

__all__ = ["loss_forward", "loss_backward"]

_KINDS = {"mse": 0, "mae": 1, "smooth_l1": 2}


def _check(fn, y, t, kind, delta):
    code = _KINDS[ck.choice(fn, "kind", kind, tuple(_KINDS))]
    y = ck.array(fn, "y", y, ndim=getattr(y, "ndim", -1))
    t = ck.array(fn, "t", t, ndim=y.ndim, like=y.dtype, shape=y.shape)
    d = ck.number(fn, "delta", delta)
    return y.reshape(-1), t.reshape(-1), code, float(y.dtype.type(d))


def loss_forward(y, t, *, kind, delta):
    """Mean loss over all elements, as a Python float."""
    y1, t1, code, d = _check("loss_forward", y, t, kind, delta)
    return float(y.dtype.type(_ew.loss_sum(y1, t1, code, d) / y1.size))


def loss_backward(y, t, *, kind, delta):
    """Gradient of the mean loss with respect to ``y``."""
    y1, t1, code, d = _check("loss_backward", y, t, kind, delta)
    g = np.empty_like(y)
    _ew.loss_grad(y1, t1, g.reshape(-1), code, d)
    return g
