"""Max and average pooling layers."""

from __future__ import annotations

from .base import Layer


class MaxPool2DLayer(Layer):
    """Max pooling: ``y[n,i,j,c] = max over the window of xpad`` (padding is ``-inf``).

    Derivative: ``dx`` receives ``dy[n,i,j,c]`` at the stored arg-max of each window only
    (the first maximum in row-major window order on ties); overlapping windows add up.
    """

    kernel_module = "pool"
    kernel_names = ("maxpool_forward", "maxpool_backward")

    def _forward(self, x, training):
        _, _, pads = self.spec.geometry(x.shape)
        y, argmax = self.k.maxpool_forward(
            x, size=self.spec.size, stride=self.spec.stride, pads=pads
        )
        return y, argmax

    def _backward(self, dy, x_shape, argmax):
        return self.k.maxpool_backward(dy, argmax, x_shape=x_shape), {}


class AvgPool2DLayer(Layer):
    """Average pooling over the in-bounds cells of each window (TensorFlow's convention).

    ``y[n,i,j,c] = sum_{window ∩ input} x / count``; derivative: each in-bounds cell of a
    window receives ``dy[n,i,j,c] / count``.
    """

    kernel_module = "pool"
    kernel_names = ("avgpool_forward", "avgpool_backward")

    def _forward(self, x, training):
        _, _, pads = self.spec.geometry(x.shape)
        y = self.k.avgpool_forward(x, size=self.spec.size, stride=self.spec.stride, pads=pads)
        return y, pads

    def _backward(self, dy, x_shape, pads):
        dx = self.k.avgpool_backward(
            dy, x_shape=x_shape, size=self.spec.size, stride=self.spec.stride, pads=pads
        )
        return dx, {}
