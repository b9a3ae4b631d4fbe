"""Batch-normalisation kernels, per-channel statistics over (N, H, W).

Notes
-----
Forward: ``mu = mean_{n,h,w} x`` and the biased ``var = mean_{n,h,w} (x - mu)^2``
(``batchnorm_statistics``), ``xhat = (x - mu) / sqrt(var + eps)``,
``y = gamma xhat + beta`` (``batchnorm_forward``).

Derivatives (``batchnorm_backward``; sums over N, H, W per channel, ``M = N H W``):
``dL/dbeta = sum dy``, ``dL/dgamma = sum dy xhat``; with the batch statistics (``training``)
``dL/dx = gamma / (M sqrt(var + eps)) (M dy - dL/dbeta - xhat dL/dgamma)``, with fixed
statistics ``dL/dx = gamma dy / sqrt(var + eps)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["batchnorm_statistics", "batchnorm_forward", "batchnorm_backward"]


def batchnorm_statistics(x):
    """Per-channel mean and biased variance ``mean((x - mu)^2)`` over (N, H, W).

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.

    Returns
    -------
    mean, var : numpy.ndarray
        (C,) each.
    """
    mean = x.mean(axis=(0, 1, 2))
    var = ((x - mean) ** 2).mean(axis=(0, 1, 2))
    return mean, var


def batchnorm_forward(x, gamma, beta, mean, var, *, epsilon):
    """``y = gamma (x - mean) / sqrt(var + eps) + beta``.

    Parameters
    ----------
    x : numpy.ndarray
        NHWC input.
    gamma, beta : numpy.ndarray
        Scale and shift, (C,).
    mean, var : numpy.ndarray
        The statistics normalised with, (C,).
    epsilon : float
        ``eps``.

    Returns
    -------
    numpy.ndarray
        ``y``.
    """
    inv = 1 / np.sqrt(var + x.dtype.type(epsilon))
    return (x - mean) * (inv * gamma) + beta


def batchnorm_backward(x, dy, gamma, mean, var, *, epsilon, training):
    """Return ``(dx, dgamma, dbeta)``.

    With batch statistics (``training``) ``dx = gamma inv / M (M dy - sum dy - xhat sum(dy
    xhat))``, M = N H W; with fixed statistics ``dx = gamma inv dy``.

    Parameters
    ----------
    x, gamma, mean, var, epsilon
        As in :func:`batchnorm_forward`.
    dy : numpy.ndarray
        Upstream gradient.
    training : bool
        Whether ``mean`` and ``var`` were the batch's own.

    Returns
    -------
    dx, dgamma, dbeta : numpy.ndarray
        Shaped like ``x``, (C,) and (C,).
    """
    inv = 1 / np.sqrt(var + x.dtype.type(epsilon))
    xhat = (x - mean) * inv
    dbeta = dy.sum(axis=(0, 1, 2))
    dgamma = (dy * xhat).sum(axis=(0, 1, 2))
    if not training:
        return dy * (gamma * inv), dgamma, dbeta
    m = x.dtype.type(x.shape[0] * x.shape[1] * x.shape[2])
    dx = (gamma * inv / m) * (m * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta
