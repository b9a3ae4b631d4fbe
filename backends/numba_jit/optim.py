"""Optimizer steps, in place on ``p`` (and the slots), following ``tf.keras.optimizers``.

Notes
-----
SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam (step t >= 1): ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``,
``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``. Scalars are computed in the
parameter dtype in Python exactly as the reference does; each element is one task.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ._jit import kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["sgd_step", "momentum_step", "adam_step"]


@kernel
def _sgd(p, g, lr):
    for i in prange(p.size):
        p[i] -= lr * g[i]


@kernel
def _momentum(p, g, v, lr, mu, nesterov):
    for i in prange(p.size):
        vi = v[i] * mu
        vi -= lr * g[i]
        v[i] = vi
        if nesterov:
            p[i] += mu * vi - lr * g[i]
        else:
            p[i] += vi


@kernel
def _adam(p, g, m, v, alpha, one_b1, one_b2, eps):
    for i in prange(p.size):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * one_b1
        vi = v[i] + (gi * gi - v[i]) * one_b2
        m[i] = mi
        v[i] = vi
        p[i] -= (mi * alpha) / (np.sqrt(vi) + eps)


def _arrays(where, p, **others):
    _check.array(where, "p", p, writable=True)
    flat = [p.reshape(-1)]
    for name, a in others.items():
        _check.array(where, name, a, like=p.dtype, shape=p.shape, writable=name != "g")
        flat.append(a.reshape(-1))
    return flat


def sgd_step(p, g, *, lr):
    """``p -= lr g`` in place."""
    pf, gf = _arrays("sgd_step", p, g=g)
    _sgd(pf, gf, p.dtype.type(_check.number("sgd_step", "lr", lr)))


def momentum_step(p, g, v, *, lr, momentum, nesterov):
    """``v = momentum v - lr g``; ``p += v`` or, Nesterov, ``p += momentum v - lr g``."""
    pf, gf, vf = _arrays("momentum_step", p, g=g, v=v)
    t = p.dtype.type
    _momentum(pf, gf, vf, t(_check.number("momentum_step", "lr", lr)),
              t(_check.number("momentum_step", "momentum", momentum)), bool(nesterov))


def adam_step(p, g, m, v, *, lr, beta1, beta2, epsilon, step):
    """One Adam step in place on ``p``, ``m``, ``v`` (Keras form, bias correction folded into
    the step size ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)``)."""
    where = "adam_step"
    pf, gf, mf, vf = _arrays(where, p, g=g, m=m, v=v)
    t = p.dtype.type
    step = _check.integer(where, "step", step)
    b1, b2 = t(_check.number(where, "beta1", beta1)), t(_check.number(where, "beta2", beta2))
    alpha = t(_check.number(where, "lr", lr)) * np.sqrt(1 - b2**step) / (1 - b1**step)
    _adam(pf, gf, mf, vf, t(alpha), 1 - b1, 1 - b2, t(_check.number(where, "epsilon", epsilon)))
