"""Helpers shared by the TensorFlow kernels: conversion, padding choice, the gradient tape."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf


def tensor(a: np.ndarray) -> tf.Tensor:
    """A NumPy array as an eager tensor of the same dtype."""
    return tf.convert_to_tensor(a)


def same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding along one axis: the odd extra cell goes after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def padding_mode(x_shape, window, stride, pads) -> str | None:
    """``"VALID"`` or ``"SAME"`` when ``pads`` is exactly what that mode does, else ``None``.

    Named modes let TensorFlow run its own (fastest) path; other pads need explicit handling.
    """
    pads = tuple(int(p) for p in pads)
    if pads == (0, 0, 0, 0):
        return "VALID"
    same = same_pads(x_shape[1], window[0], stride[0]) + same_pads(x_shape[2], window[1], stride[1])
    return "SAME" if pads == same else None


def pad(x: tf.Tensor, pads, value: float = 0.0) -> tf.Tensor:
    top, bottom, left, right = (int(p) for p in pads)
    return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=value)


def tape_grad(
    fn: Callable[..., tf.Tensor], inputs: Sequence[tf.Tensor], dy: np.ndarray | tf.Tensor
) -> list[np.ndarray]:
    """Gradients of ``L = sum(fn(*inputs) * dy)`` with respect to every input, as arrays.

    ``output_gradients=dy`` is exactly that upstream gradient, without forming the product.
    """
    with tf.GradientTape() as tape:
        for t in inputs:
            tape.watch(t)
        y = fn(*inputs)
    grads = tape.gradient(y, list(inputs), output_gradients=tf.convert_to_tensor(dy))
    return [g.numpy() for g in grads]
