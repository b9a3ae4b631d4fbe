"""Optimizer steps, in place on ``p`` (and the slots), over ``_elementwise.pyx``; Keras
conventions as in ``backends/numpy_ref/optim.py``.

Notes
-----
SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam (step t >= 1): ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``,
``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.
Scalar factors are formed in the array's precision exactly as the reference forms them.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from . import _elementwise as _ew

__all__ = ["sgd_step", "momentum_step", "adam_step"]


def _flat(fn, p, **slots):
    p = ck.array(fn, "p", p, ndim=getattr(p, "ndim", -1), writable=True)
    out = [p.reshape(-1)]
    for name, a in slots.items():
        a = ck.array(fn, name, a, ndim=p.ndim, like=p.dtype, shape=p.shape,
                     writable=name != "g")
        out.append(a.reshape(-1))
    return out


def sgd_step(p, g, *, lr):
    """``p -= lr g`` in place (contract of ``backends.numpy_ref.optim.sgd_step``)."""
    fn = "sgd_step"
    p1, g1 = _flat(fn, p, g=g)
    lr = float(ck.number(fn, "lr", lr))
    _ew.sgd_step(p1, g1, lr)


def momentum_step(p, g, v, *, lr, momentum, nesterov):
    """``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``), in place."""
    fn = "momentum_step"
    p1, g1, v1 = _flat(fn, p, g=g, v=v)
    lr, mu = float(ck.number(fn, "lr", lr)), float(ck.number(fn, "momentum", momentum))
    _ew.momentum_step(p1, g1, v1, lr, mu, bool(nesterov))


def adam_step(p, g, m, v, *, lr, beta1, beta2, epsilon, step):
    """One Adam step in place on ``p``, ``m`` and ``v`` (formula in the module docstring)."""
    fn = "adam_step"
    p1, g1, m1, v1 = _flat(fn, p, g=g, m=m, v=v)
    step = ck.integer(fn, "step", step)
    t = p.dtype.type
    b1, b2 = t(ck.number(fn, "beta1", beta1)), t(ck.number(fn, "beta2", beta2))
    alpha = t(ck.number(fn, "lr", lr)) * np.sqrt(1 - b2**step) / (1 - b1**step)
    eps = float(ck.number(fn, "epsilon", epsilon))
    _ew.adam_step(p1, g1, m1, v1, float(alpha), float(1 - b1), float(1 - b2), eps)
