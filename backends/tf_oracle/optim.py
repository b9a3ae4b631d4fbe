"""Optimizer steps performed by the real ``keras.optimizers`` (SGD, SGD with momentum, Adam).

Each call copies ``p`` into a ``tf.Variable``, seeds the optimizer's slot variables from the
given ``v`` / ``m`` arrays (and Adam's iteration counter from ``step``: Keras uses
``t = iterations + 1``), runs ``apply_gradients`` once and writes the parameter and the slots
back into the NumPy arrays, in place. Keras' formulas (Keras 3):

Notes
-----
SGD: ``p -= lr g``. Momentum: ``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``).
Adam: ``m += (1 - b1)(g - m)``, ``v += (1 - b2)(g^2 - v)``,
``p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``.

Hyper-parameters reach Keras' ``update_step`` as constants of the parameter's dtype (the
learning rate through a callable, the others set on the built optimizer): a float learning
rate would live in a float32 Keras variable, and Keras casts Python floats with ``tf.cast``,
which builds a float32 tensor first, so a float64 step would use a float32-rounded 0.9. In
float32 this changes nothing. One optimizer and variable are kept per (kind, shape, dtype,
hyper-parameters), so repeated steps build nothing new.
"""

from __future__ import annotations

from functools import lru_cache

import keras
import tensorflow as tf

from ._common import tensor

__all__ = ["sgd_step", "momentum_step", "adam_step"]


@lru_cache(maxsize=128)
def _optimizer(kind: str, shape: tuple, dtype: str, hyper: tuple):
    var = tf.Variable(tf.zeros(shape, dtype))
    lr = tf.constant(hyper[0], dtype)
    if kind == "adam":
        _, beta1, beta2, epsilon = hyper
        opt = keras.optimizers.Adam(
            learning_rate=lambda: lr, beta_1=beta1, beta_2=beta2, epsilon=epsilon
        )
    else:
        _, momentum, nesterov = hyper
        opt = keras.optimizers.SGD(learning_rate=lambda: lr, momentum=momentum, nesterov=nesterov)
    opt.build([var])
    # Keras casts Python-float hyper-parameters with tf.cast, which makes a float32 tensor
    # first: hand update_step constants of the parameter dtype instead (a no-op in float32).
    if kind == "adam":
        opt.beta_1, opt.beta_2, opt.epsilon = (tf.constant(h, dtype) for h in hyper[1:])
    elif kind == "momentum":
        opt.momentum = tf.constant(hyper[1], dtype)
    return opt, var


def _slots(opt, kind):
    if kind == "adam":
        return [opt._momentums[0], opt._velocities[0]]
    if kind == "momentum":
        return [opt.momentums[0]]
    return []


def _step(kind, p, g, slots, hyper, iterations=0):
    opt, var = _optimizer(kind, p.shape, p.dtype.name, hyper)
    var.assign(p)
    keras_slots = _slots(opt, kind)
    for ks, s in zip(keras_slots, slots, strict=True):
        ks.assign(s)
    opt.iterations.assign(iterations)
    opt.apply_gradients([(tensor(g), var)])
    p[...] = var.numpy()
    for ks, s in zip(keras_slots, slots, strict=True):
        s[...] = ks.numpy()


def sgd_step(p, g, *, lr):
    """``p -= lr g`` by ``keras.optimizers.SGD(lr)``, in place."""
    _step("sgd", p, g, [], (float(lr), 0.0, False))


def momentum_step(p, g, v, *, lr, momentum, nesterov):
    """``keras.optimizers.SGD(lr, momentum, nesterov)``: ``v = mu v - lr g``, ``p += v``
    (Nesterov ``p += mu v - lr g``); ``p`` and ``v`` in place.

    Keras keeps no velocity when ``momentum == 0`` (it then takes a plain SGD step); ``v``
    is still set to ``-lr g``, what the formula gives, so the slot contract holds.
    """
    if momentum == 0:
        v[...] = (tf.constant(-lr, g.dtype) * tensor(g)).numpy()
        sgd_step(p, g, lr=lr)
        return
    _step("momentum", p, g, [v], (float(lr), float(momentum), bool(nesterov)))


def adam_step(p, g, m, v, *, lr, beta1, beta2, epsilon, step):
    """One step ``t = step`` (>= 1) of ``keras.optimizers.Adam``; ``p``, ``m``, ``v`` in place."""
    hyper = (float(lr), float(beta1), float(beta2), float(epsilon))
    _step("adam", p, g, [m, v], hyper, iterations=int(step) - 1)
