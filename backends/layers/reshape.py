"""Data-movement layers: pixel shuffle and nearest upsampling."""

from __future__ import annotations

from .base import Layer


class PixelShuffleLayer(Layer):
    """Depth to space by ``r``: (N, H, W, C r^2) -> (N, H r, W r, C).

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward, ``dcr`` order: ``y[n, h r + i, w r + j, c] = x[n, h, w, (i r + j) C + c]``
    (tf.nn.depth_to_space); ``crd`` order:
    ``y[n, h r + i, w r + j, c] = x[n, h, w, c r^2 + i r + j]`` (torch PixelShuffle).

    Derivative: a permutation, so ``dL/dx`` is the inverse permutation (space to depth) of
    ``dy``, bit-exact.
    """

    kernel_module = "shuffle"
    kernel_names = ("pixel_shuffle", "pixel_unshuffle")

    def _forward(self, x, training):
        self.spec.output_shape(x.shape)  # channel count must divide by r^2
        return self.k.pixel_shuffle(x, scale=self.spec.scale, order=self.spec.order), None

    def _backward(self, dy, x_shape, cache):
        return self.k.pixel_unshuffle(dy, scale=self.spec.scale, order=self.spec.order), {}


class UpsampleLayer(Layer):
    """Nearest-neighbour upsampling by an integer factor ``r``.

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y[n, h r + i, w r + j, c] = x[n, h, w, c]`` for ``0 <= i, j < r``.

    Derivative: ``dL/dx[n,h,w,c] = sum_{i,j < r} dy[n, h r + i, w r + j, c]``.
    """

    kernel_module = "upsample"
    kernel_names = ("upsample_forward", "upsample_backward")

    def _forward(self, x, training):
        return self.k.upsample_forward(x, scale=self.spec.scale), None

    def _backward(self, dy, x_shape, cache):
        return self.k.upsample_backward(dy, scale=self.spec.scale), {}
