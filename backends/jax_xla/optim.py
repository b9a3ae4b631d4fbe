"""Optimizer steps, following ``tf.keras.optimizers`` (formulas in ``backends/numpy_ref/optim.py``).

The protocol updates ``p`` and the slots in place; XLA programs are functional, so each step
is one jitted program returning the new values, written back into the caller's arrays.
Adam's step size ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)`` is computed on the host in the
parameter's dtype exactly as numpy_ref does and passed as a traced scalar (a static ``step``
would compile one program per step).

Notes
-----
SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``, ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam: ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``, ``p -= alpha m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

import numpy as np

from ._xla import call, const, jit, jnp

__all__ = ["sgd_step", "momentum_step", "adam_step"]


@jit(static=("lr",))
def _sgd(p, g, *, lr):
    return p - const(lr, p) * g


@jit(static=("lr", "momentum", "nesterov"))
def _momentum(p, g, v, *, lr, momentum, nesterov):
    v = v * const(momentum, v) - const(lr, g) * g
    step = const(momentum, v) * v - const(lr, g) * g if nesterov else v
    return p + step, v


@jit(static=("beta1", "beta2", "epsilon"))
def _adam(p, g, m, v, alpha, *, beta1, beta2, epsilon):
    m = m + (g - m) * (1 - const(beta1, m))
    v = v + (g * g - v) * (1 - const(beta2, v))
    return p - (m * alpha) / (jnp.sqrt(v) + const(epsilon, v)), m, v


def sgd_step(p, g, *, lr):
    """One SGD step in place: ``p -= lr g``.

    Parameters
    ----------
    p : numpy.ndarray
        Parameter, updated in place.
    g : numpy.ndarray
        Its gradient ``dL/dp`` (same shape and dtype).
    lr : float
        Learning rate.
    """
    p[...] = call(_sgd, p, g, lr=float(lr))


def momentum_step(p, g, v, *, lr, momentum, nesterov):
    """One momentum step in place: ``v = mu v - lr g``; ``p += v``
    (Nesterov: ``p += mu v - lr g``).

    Parameters
    ----------
    p : numpy.ndarray
        Parameter, updated in place.
    g : numpy.ndarray
        Its gradient ``dL/dp``.
    v : numpy.ndarray
        Velocity slot, updated in place.
    lr : float
        Learning rate.
    momentum : float
        ``mu``.
    nesterov : bool
        Use the Nesterov update.
    """
    p[...], v[...] = call(_momentum, p, g, v, lr=float(lr), momentum=float(momentum),
                          nesterov=bool(nesterov))


def adam_step(p, g, m, v, *, lr, beta1, beta2, epsilon, step):
    """One Adam step in place (``step`` = t >= 1): ``m += (1 - b1)(g - m)``,
    ``v += (1 - b2)(g^2 - v)``, ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.

    Parameters
    ----------
    p : numpy.ndarray
        Parameter, updated in place.
    g : numpy.ndarray
        Its gradient ``dL/dp``.
    m, v : numpy.ndarray
        First- and second-moment slots, updated in place.
    lr : float
        Learning rate.
    beta1, beta2 : float
        ``b1`` and ``b2``, the moments' decay rates.
    epsilon : float
        ``eps``, added to ``sqrt(v)``.
    step : int
        ``t``, the 1-based step count of this parameter.
    """
    t = p.dtype.type
    alpha = t(lr) * np.sqrt(1 - t(beta2) ** step) / (1 - t(beta1) ** step)
    p[...], m[...], v[...] = call(_adam, p, g, m, v, np.asarray(alpha, p.dtype),
                                  beta1=float(beta1), beta2=float(beta2),
                                  epsilon=float(epsilon))
