"""Max and average pooling layers."""

from __future__ import annotations

from .base import Layer


class MaxPool2DLayer(Layer):
    """Max pooling over ``size`` windows moved by ``stride`` (padding is ``-inf``).

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y[n,i,j,c] = max_{p,q} xpad[n, i*sh+p, j*sw+q, c]`` over the window, with
    ``xpad`` the input padded by ``-inf`` (padding never wins).

    Derivative: ``dL/dx`` receives ``dy[n,i,j,c]`` at the stored arg-max of each window only
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

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y[n,i,j,c] = sum_{window ∩ input} x[n,h,w,c] / count[i,j]``, ``count`` the
    number of in-bounds cells of the window.

    Derivative: ``dL/dx[n,h,w,c] = sum over the windows holding (h, w) of
    dy[n,i,j,c] / count[i,j]``.
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
