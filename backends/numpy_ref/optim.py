"""Optimizer steps, in place on ``p`` (and the slots), following ``tf.keras.optimizers``.

Notes
-----
SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam (step t >= 1): ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``,
``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd_step", "momentum_step", "adam_step"]


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
    p -= p.dtype.type(lr) * g


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
    t = p.dtype.type
    v *= t(momentum)
    v -= t(lr) * g
    if nesterov:
        p += t(momentum) * v - t(lr) * g
    else:
        p += v


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
    m += (g - m) * (1 - t(beta1))
    v += (g * g - v) * (1 - t(beta2))
    p -= (m * alpha) / (np.sqrt(v) + t(epsilon))
