"""Batch-normalisation kernels, per-channel statistics over (N, H, W) (TF/PyTorch convention).

Per-channel sums give each task a block of channels and the whole (N, H, W) range, so every
sum runs in one fixed order whatever the thread count.

Notes
-----
Forward: ``y = gamma xhat + beta``, ``xhat = (x - mu) / sqrt(var + eps)`` (mu, var: mean and
biased variance over N, H, W). Derivatives: ``dL/dbeta = sum dy``, ``dL/dgamma = sum dy xhat``,
``dL/dx = gamma (M dy - dL/dbeta - xhat dL/dgamma) / (M sqrt(var + eps))``, ``M = N H W``.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..errors import SpecError, expected
from ._jit import CHANNEL_BLOCK, helper, kernel, prange

_check = _validate.prefixed("numba.")  # messages name numba.<kernel>.<argument>

__all__ = ["batchnorm_statistics", "batchnorm_forward", "batchnorm_backward"]


@kernel
def _statistics(x2):
    m, c = x2.shape
    mean = np.zeros(c, x2.dtype)
    var = np.zeros(c, x2.dtype)
    size = x2.dtype.type(m)
    for cb in prange((c + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK):
        c0 = cb * CHANNEL_BLOCK
        c1 = min(c, c0 + CHANNEL_BLOCK)
        for r in range(m):
            for k in range(c0, c1):
                mean[k] += x2[r, k]
        for k in range(c0, c1):
            mean[k] /= size
        for r in range(m):
            for k in range(c0, c1):
                d = x2[r, k] - mean[k]
                var[k] += d * d
        for k in range(c0, c1):
            var[k] /= size
    return mean, var


@helper
def _inverse_std(var, eps):
    inv = np.empty_like(var)
    one = var.dtype.type(1)
    for k in range(var.shape[0]):
        inv[k] = one / np.sqrt(var[k] + eps)
    return inv


@kernel
def _forward(x2, gamma, beta, mean, var, eps):
    m, c = x2.shape
    inv = _inverse_std(var, eps)
    scale = inv * gamma
    y = np.empty_like(x2)
    for r in prange(m):
        for k in range(c):
            y[r, k] = (x2[r, k] - mean[k]) * scale[k] + beta[k]
    return y


@kernel
def _backward(x2, dy2, gamma, mean, var, eps, training):
    m, c = x2.shape
    inv = _inverse_std(var, eps)
    dbeta = np.zeros(c, x2.dtype)
    dgamma = np.zeros(c, x2.dtype)
    for cb in prange((c + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK):
        c0 = cb * CHANNEL_BLOCK
        c1 = min(c, c0 + CHANNEL_BLOCK)
        for r in range(m):
            for k in range(c0, c1):
                dbeta[k] += dy2[r, k]
                dgamma[k] += dy2[r, k] * ((x2[r, k] - mean[k]) * inv[k])
    dx = np.empty_like(x2)
    if not training:
        scale = gamma * inv
        for r in prange(m):
            for k in range(c):
                dx[r, k] = dy2[r, k] * scale[k]
        return dx, dgamma, dbeta
    size = x2.dtype.type(m)
    scale = gamma * inv / size
    for r in prange(m):
        for k in range(c):
            xhat = (x2[r, k] - mean[k]) * inv[k]
            dx[r, k] = scale[k] * (size * dy2[r, k] - dbeta[k] - xhat * dgamma[k])
    return dx, dgamma, dbeta


def _channel_vectors(where, x, **vectors):
    for name, v in vectors.items():
        _check.array(where, name, v, ndim=1, like=x.dtype, shape=(x.shape[3],))


def _eps(where, x, epsilon):
    eps = _check.number(where, "epsilon", epsilon)
    if eps <= 0:
        raise SpecError(expected(f"numba.{where}.epsilon", "> 0", epsilon))
    return x.dtype.type(eps)


def batchnorm_statistics(x):
    """Per-channel mean ``mu = sum x / M`` and biased variance ``mean((x - mu)^2)`` over
    (N, H, W), M = N H W."""
    _check.array("batchnorm_statistics", "x", x, ndim=4)
    return _statistics(x.reshape(-1, x.shape[3]))


def batchnorm_forward(x, gamma, beta, mean, var, *, epsilon):
    """``y = gamma (x - mean) / sqrt(var + eps) + beta``; derivatives in
    :func:`batchnorm_backward`."""
    where = "batchnorm_forward"
    _check.array(where, "x", x, ndim=4)
    _channel_vectors(where, x, gamma=gamma, beta=beta, mean=mean, var=var)
    y = _forward(x.reshape(-1, x.shape[3]), gamma, beta, mean, var, _eps(where, x, epsilon))
    return y.reshape(x.shape)


def batchnorm_backward(x, dy, gamma, mean, var, *, epsilon, training):
    """Return ``(dx, dgamma, dbeta)``, ``inv = 1 / sqrt(var + eps)``, ``xhat = (x - mean) inv``.

    ``dbeta = sum dy``, ``dgamma = sum dy xhat``. With batch statistics (``training``)
    ``dx = gamma inv / M (M dy - dbeta - xhat dgamma)``, M = N H W; with fixed statistics
    ``dx = gamma inv dy``.
    """
    where = "batchnorm_backward"
    _check.array(where, "x", x, ndim=4)
    _check.array(where, "dy", dy, like=x.dtype, shape=x.shape)
    _channel_vectors(where, x, gamma=gamma, mean=mean, var=var)
    c = x.shape[3]
    dx, dgamma, dbeta = _backward(x.reshape(-1, c), dy.reshape(-1, c), gamma, mean, var,
                                  _eps(where, x, epsilon), bool(training))
    return dx.reshape(x.shape), dgamma, dbeta
