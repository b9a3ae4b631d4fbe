"""Conv2D and Connected layers: the two layers with weight matrices."""

from __future__ import annotations

from ..errors import ShapeError, expected
from .base import Layer


class Conv2DLayer(Layer):
    """2-D convolution, NHWC input, HWIO kernel ``W``, bias ``b``.

    Forward: ``y[n,i,j,o] = b[o] + sum_{p,q,c} xpad[n, i*sh+p, j*sw+q, c] W[p,q,c,o]``.
    Derivatives for upstream ``dy``: ``dW[p,q,c,o] = sum_{n,i,j} xpad[n,i*sh+p,j*sw+q,c]
    dy[n,i,j,o]``, ``db[o] = sum_{n,i,j} dy[n,i,j,o]`` and ``dx`` is the transposed
    convolution of ``dy`` with ``W`` (cropped back from the padded input).
    ``algo="winograd"`` changes the forward algorithm only; backward always uses im2col.
    """

    kernel_module = "conv"

    def _forward(self, x, training):
        _, _, pads = self.spec.geometry(x.shape)
        w, b = self._params["weights"], self._params.get("bias")
        if self.spec.algo == "winograd":
            y = self.k.winograd_forward(x, w, b, pads=pads)
        else:
            y = self.k.conv2d_forward(x, w, b, stride=self.spec.stride, pads=pads)
        return y, (x, pads)

    def _backward(self, dy, x_shape, cache):
        x, pads = cache
        dx, dw, db = self.k.conv2d_backward(
            x, self._params["weights"], dy, stride=self.spec.stride, pads=pads
        )
        grads = {"weights": dw}
        if self.spec.use_bias:
            grads["bias"] = db
        return dx, grads


class ConnectedLayer(Layer):
    """Dense layer on the row-major flattened input ``x2 = x.reshape(N, H*W*C)``.

    Forward: ``y = x2 @ W + b`` shaped (N, 1, 1, units). Derivatives: ``dx2 = dy2 @ W.T``,
    ``dW = x2.T @ dy2``, ``db = sum_n dy2[n]``.
    """

    kernel_module = "dense"

    def _check_x(self, x, name="x"):
        super()._check_x(x, name)
        if x.shape[1:] != self.input_shape[1:]:
            raise ShapeError(
                expected(f"{self._name}.{name}.shape[1:]", str(self.input_shape[1:]), x.shape[1:])
            )
        return x

    def _forward(self, x, training):
        x2 = x.reshape(x.shape[0], -1)
        y2 = self.k.dense_forward(x2, self._params["weights"], self._params.get("bias"))
        return y2.reshape(x.shape[0], 1, 1, -1), x2

    def _backward(self, dy, x_shape, x2):
        dx2, dw, db = self.k.dense_backward(
            x2, self._params["weights"], dy.reshape(dy.shape[0], -1)
        )
        grads = {"weights": dw}
        if self.spec.use_bias:
            grads["bias"] = db
        return dx2.reshape(x_shape), grads
