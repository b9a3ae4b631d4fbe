"""Batch-normalisation kernels on ``tf.nn.moments`` / ``tf.nn.batch_normalization``.

Per-channel statistics over (N, H, W), biased variance (the TF / PyTorch convention).

Notes
-----
Forward: ``y = gamma xhat + beta``, ``xhat = (x - mu) / sqrt(var + eps)`` (mu, var: mean and
biased variance over N, H, W). Derivatives: ``dL/dbeta = sum dy``, ``dL/dgamma = sum dy xhat``,
``dL/dx = gamma (M dy - dL/dbeta - xhat dL/dgamma) / (M sqrt(var + eps))``, ``M = N H W``.
"""

from __future__ import annotations

import tensorflow as tf

from ._common import tape_grad, tensor

__all__ = ["batchnorm_statistics", "batchnorm_forward", "batchnorm_backward"]


def batchnorm_statistics(x):
    """Per-channel mean and biased variance ``mean((x - mu)^2)`` over (N, H, W)."""
    mean, var = tf.nn.moments(tensor(x), axes=[0, 1, 2])
    return mean.numpy(), var.numpy()


def batchnorm_forward(x, gamma, beta, mean, var, *, epsilon):
    """``y = gamma (x - mean) / sqrt(var + eps) + beta``.

    TensorFlow evaluates it as ``x s + (beta - mean s)``, ``s = gamma rsqrt(var + eps)``.
    """
    return tf.nn.batch_normalization(
        tensor(x), tensor(mean), tensor(var), tensor(beta), tensor(gamma), epsilon
    ).numpy()


def batchnorm_backward(x, dy, gamma, mean, var, *, epsilon, training):
    """Return ``(dx, dgamma, dbeta)`` by the tape.

    With ``training`` the statistics are recomputed from ``x`` inside the tape
    (``tf.nn.moments``), so the gradient flows through them: ``dx = gamma inv / M (M dy -
    sum dy - xhat sum(dy xhat))``, ``M = N H W``; otherwise ``mean`` and ``var`` are
    constants and ``dx = gamma inv dy``. ``dgamma = sum dy xhat``, ``dbeta = sum dy``.
    """
    mean_t, var_t = tensor(mean), tensor(var)

    def forward(xt, g, b):
        m, v = tf.nn.moments(xt, axes=[0, 1, 2]) if training else (mean_t, var_t)
        return tf.nn.batch_normalization(xt, m, v, b, g, epsilon)

    beta0 = tf.zeros_like(tensor(gamma))
    dx, dgamma, dbeta = tape_grad(forward, [tensor(x), tensor(gamma), beta0], dy)
    return dx, dgamma, dbeta
