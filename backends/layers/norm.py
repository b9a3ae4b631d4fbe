"""Batch normalisation layer."""

from __future__ import annotations

import numpy as np

from .base import Layer


class BatchNormLayer(Layer):
    """Per-channel batch normalisation over (N, H, W), as ``tf.keras.layers.BatchNormalization``.

    Parameters
    ----------
    *args, **kwargs
        ``spec, input_shape, dtype, backend, seed``, as for
        :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward (training): ``mu, var`` are the batch mean and biased variance per channel,
    ``xhat = (x - mu) / sqrt(var + eps)``, ``y = gamma xhat + beta``, and the running
    statistics move as ``r = momentum r + (1 - momentum) batch``. Inference uses the running
    statistics for ``mu`` and ``var``.

    Derivatives (sums over N, H, W per channel; ``M = N H W``): ``dL/dbeta = sum dy``,
    ``dL/dgamma = sum dy xhat``; in training
    ``dL/dx = gamma / (M sqrt(var + eps)) (M dy - dL/dbeta - xhat dL/dgamma)``, in inference
    ``dL/dx = gamma dy / sqrt(var + eps)``.
    """

    kernel_module = "norm"
    kernel_names = ("batchnorm_statistics", "batchnorm_forward", "batchnorm_backward")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.input_shape[3]
        self._running = {
            "moving_mean": np.zeros(c, self.dtype), "moving_variance": np.ones(c, self.dtype)
        }

    def _state_names(self):
        return tuple(self._running)

    def _state(self):
        return self._running

    def _forward(self, x, training):
        if training:
            mean, var = self.k.batchnorm_statistics(x)
            m = self.dtype.type(self.spec.momentum)
            for name, batch in (("moving_mean", mean), ("moving_variance", var)):
                self._running[name] = (m * self._running[name] + (1 - m) * batch).astype(self.dtype)
        else:
            mean, var = self._running["moving_mean"], self._running["moving_variance"]
        y = self.k.batchnorm_forward(
            x, self._params["gamma"], self._params["beta"], mean, var, epsilon=self.spec.epsilon
        )
        return y, (x, mean, var, training)

    def _backward(self, dy, x_shape, cache):
        x, mean, var, training = cache
        dx, dgamma, dbeta = self.k.batchnorm_backward(
            x, dy, self._params["gamma"], mean, var, epsilon=self.spec.epsilon, training=training
        )
        return dx, {"gamma": dgamma, "beta": dbeta}
