"""Batch-normalisation kernels, per-channel statistics over (N, H, W), over ``_norm.pyx``.

The per-channel vectors (``1 / sqrt(var + eps)``, ``gamma inv``) are C-sized and computed with
NumPy exactly as the reference does; the (N H W, C) passes are compiled.

Notes
-----
Forward: ``y = gamma xhat + beta``, ``xhat = (x - mu) / sqrt(var + eps)`` (mu, var: mean and
biased variance over N, H, W). Derivatives: ``dL/dbeta = sum dy``, ``dL/dgamma = sum dy xhat``,
``dL/dx = gamma (M dy - dL/dbeta - xhat dL/dgamma) / (M sqrt(var + eps))``, ``M = N H W``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as ck
from .. import buffers
from . import _norm

__all__ = ["batchnorm_statistics", "batchnorm_forward", "batchnorm_backward"]


def _vectors(fn, dtype, c, **named):
    return [ck.array(fn, k, v, ndim=1, like=dtype, shape=(c,)) for k, v in named.items()]


def batchnorm_statistics(x):
    """Per-channel mean and biased variance ``mean((x - mu)^2)`` over (N, H, W).

    Two passes (the mean first, then the centred squares) for accuracy.
    """
    fn = "batchnorm_statistics"
    x = ck.array(fn, "x", x, ndim=4)
    c = x.shape[3]
    x2 = x.reshape(-1, c)
    m = x2.shape[0]
    none = np.zeros(1, x.dtype)
    mean = (_norm.channel_stats(x2, none, none, x2, 0)[0] / m).astype(x.dtype)
    var = (_norm.channel_stats(x2, mean, none, x2, 1)[0] / m).astype(x.dtype)
    return mean, var


def batchnorm_forward(x, gamma, beta, mean, var, *, epsilon):
    """``y = gamma (x - mean) / sqrt(var + eps) + beta``."""
    fn = "batchnorm_forward"
    x = ck.array(fn, "x", x, ndim=4)
    c = x.shape[3]
    gamma, beta, mean, var = _vectors(fn, x.dtype, c, gamma=gamma, beta=beta, mean=mean, var=var)
    eps = ck.number(fn, "epsilon", epsilon)
    inv = 1 / np.sqrt(var + x.dtype.type(eps))
    y = buffers.empty(x.shape, x.dtype)
    _norm.normalize(x.reshape(-1, c), mean, np.ascontiguousarray(inv * gamma), beta,
                    y.reshape(-1, c))
    return y


def batchnorm_backward(x, dy, gamma, mean, var, *, epsilon, training):
    """Return ``(dx, dgamma, dbeta)``.

    ``dbeta = sum dy``, ``dgamma = sum dy xhat``; with batch statistics (``training``)
    ``dx = gamma inv / M (M dy - dbeta - xhat dgamma)``, M = N H W; with fixed statistics
    ``dx = gamma inv dy``.
    """
    fn = "batchnorm_backward"
    x = ck.array(fn, "x", x, ndim=4)
    dy = ck.array(fn, "dy", dy, ndim=4, like=x.dtype, shape=x.shape)
    c = x.shape[3]
    gamma, mean, var = _vectors(fn, x.dtype, c, gamma=gamma, mean=mean, var=var)
    eps = ck.number(fn, "epsilon", epsilon)
    t = x.dtype.type
    inv = 1 / np.sqrt(var + t(eps))
    x2, dy2 = x.reshape(-1, c), dy.reshape(-1, c)
    sums = _norm.channel_stats(x2, mean, inv, dy2, 2)
    dbeta, dgamma = sums[0].astype(x.dtype), sums[1].astype(x.dtype)
    m = t(x2.shape[0])
    coef = np.ascontiguousarray(gamma * inv / m if training else gamma * inv)
    dx = np.empty_like(x)
    _norm.normalize_grad(x2, dy2, mean, inv, coef, dbeta, dgamma, m, bool(training),
                         dx.reshape(-1, c))
    return dx, dgamma, dbeta
