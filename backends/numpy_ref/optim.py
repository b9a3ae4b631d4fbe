"""Optimizer steps, in place on ``p`` (and the slots), following ``tf.keras.optimizers``.

SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam (step t >= 1): ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``,
``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgd_step", "momentum_step", "adam_step"]


def sgd_step(p, g, *, lr):
    p -= p.dtype.type(lr) * g


def momentum_step(p, g, v, *, lr, momentum, nesterov):
    t = p.dtype.type
    v *= t(momentum)
    v -= t(lr) * g
    if nesterov:
        p += t(momentum) * v - t(lr) * g
    else:
        p += v


def adam_step(p, g, m, v, *, lr, beta1, beta2, epsilon, step):
    t = p.dtype.type
    alpha = t(lr) * np.sqrt(1 - t(beta2) ** step) / (1 - t(beta1) ** step)
    m += (g - m) * (1 - t(beta1))
    v += (g * g - v) * (1 - t(beta2))
    p -= (m * alpha) / (np.sqrt(v) + t(epsilon))
