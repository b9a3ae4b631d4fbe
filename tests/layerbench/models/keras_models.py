"""EDSR and WDSR written directly in Keras (independently of our graphs), as in the
published Keras implementations: normalisation inside the model, HWIO kernels, depth_to_space.

``weightnorm=True`` replaces the convolutions by :class:`WNConv2D` (variables ``v``, ``g``,
``bias``, ``W = g v / ||v||``). ``border="symmetric"`` pads the normalised input by 2 pixels
(SYMMETRIC) and uses valid head / tail / skip convolutions (krasserm's test-time WDSR).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

MEAN = np.array([0.4488, 0.4371, 0.4040]) * 255


class WNConv2D(layers.Layer):
    """Weight-normalised convolution: ``W = g v / ||v||`` (norm over H, W, I)."""

    def __init__(self, filters, kernel_size, padding="same", activation=None, **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size, self.padding = filters, kernel_size, padding
        self.activation = keras.activations.get(activation)

    def build(self, shape):
        k = self.kernel_size
        self.v = self.add_weight(name="v", shape=(k, k, shape[-1], self.filters),
                                 initializer="glorot_uniform")
        self.g = self.add_weight(name="g", shape=(self.filters,),
                                 initializer=keras.initializers.RandomUniform(0.5, 1.5))
        self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                    initializer=keras.initializers.RandomUniform(-0.1, 0.1))

    def call(self, x):
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.v), axis=(0, 1, 2)))
        w = self.g * self.v / norm
        y = tf.nn.conv2d(x, w, 1, self.padding.upper()) + self.bias
        return self.activation(y)


def _conv(weightnorm, dtype):
    def make(filters, k, padding="same", activation=None, name=None):
        if weightnorm:
            return WNConv2D(filters, k, padding, activation, name=name, dtype=dtype)
        return layers.Conv2D(filters, k, padding=padding, activation=activation, name=name,
                             dtype=dtype, bias_initializer=keras.initializers.RandomUniform(
                                 -0.1, 0.1))
    return make


def _shuffle(scale, dtype):
    return layers.Lambda(lambda t: tf.nn.depth_to_space(t, scale), dtype=dtype)


def edsr(scale, n_resblocks, n_feats, res_scale, *, dtype="float32"):
    conv = _conv(False, dtype)
    x_in = keras.Input((None, None, 3), dtype=dtype)
    x = layers.Lambda(lambda t: t - MEAN, dtype=dtype)(x_in)
    x = b = conv(n_feats, 3)(x)
    for _ in range(n_resblocks):
        r = conv(n_feats, 3, activation="relu")(b)
        r = conv(n_feats, 3)(r)
        b = layers.Add(dtype=dtype)([b, layers.Lambda(lambda t: t * res_scale, dtype=dtype)(r)])
    b = conv(n_feats, 3)(b)
    x = layers.Add(dtype=dtype)([x, b])
    for s in ([2, 2] if scale == 4 else [scale]):
        x = _shuffle(s, dtype)(conv(n_feats * s * s, 3)(x))
    x = conv(3, 3)(x)
    x = layers.Lambda(lambda t: t + MEAN, dtype=dtype)(x)
    return keras.Model(x_in, x)


def wdsr(scale, n_resblocks, n_feats, expansion, *, block="a", weightnorm=False,
         border="same", dtype="float32"):
    conv = _conv(weightnorm, dtype)
    edge = "valid" if border == "symmetric" else "same"
    x_in = keras.Input((None, None, 3), dtype=dtype)
    x = layers.Lambda(lambda t: (t - MEAN) / 127.5, dtype=dtype)(x_in)
    if border == "symmetric":
        x = layers.Lambda(lambda t: tf.pad(t, [[0, 0], [2, 2], [2, 2], [0, 0]], "SYMMETRIC"),
                          dtype=dtype)(x)
    m = conv(n_feats, 3, padding=edge)(x)
    for _ in range(n_resblocks):
        if block == "a":
            r = conv(n_feats * expansion, 3, activation="relu")(m)
        else:
            r = conv(n_feats * expansion, 1, activation="relu")(m)
            r = conv(int(n_feats * 0.8), 1)(r)
        r = conv(n_feats, 3)(r)
        m = layers.Add(dtype=dtype)([m, r])
    m = conv(3 * scale**2, 3, padding=edge, name=f"conv2d_main_scale_{scale}")(m)
    m = _shuffle(scale, dtype)(m)
    s = conv(3 * scale**2, 5, padding=edge, name=f"conv2d_skip_scale_{scale}")(x)
    s = _shuffle(scale, dtype)(s)
    x = layers.Add(dtype=dtype)([m, s])
    x = layers.Lambda(lambda t: t * 127.5 + MEAN, dtype=dtype)(x)
    return keras.Model(x_in, x)
