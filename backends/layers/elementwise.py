"""Element-wise layers: activations and the two-input shortcut."""

from __future__ import annotations

from .base import BaseLayer, Layer, check_array


class ActivationLayer(Layer):
    """An activation function applied element by element.

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) * dy``. ``f``, ``f'`` and the value of
    ``f'`` at a kink are those of ``backends.activations.ACTIVATIONS[spec.kind]`` (its
    ``formula``, ``derivative`` and ``kink_rule``).
    """

    kernel_module = "activation"
    kernel_names = ("activation_forward", "activation_backward")

    def _forward(self, x, training):
        return self.k.activation_forward(x, kind=self.spec.kind), x

    def _backward(self, dy, x_shape, x):
        return self.k.activation_backward(x, dy, kind=self.spec.kind), {}


class ShortcutLayer(BaseLayer):
    """Two inputs: the weighted sum ``y = alpha * a + beta * b``.

    EDSR's residual uses ``alpha = res_scale`` on the block output and ``beta = 1`` on the skip.

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y = alpha a + beta b``; derivatives: ``dL/da = alpha dy``, ``dL/db = beta dy``.
    """

    kernel_module = "shortcut"
    kernel_names = ("shortcut_forward", "shortcut_backward")

    def forward(self, a, b, *, training: bool = False):
        """Compute ``y = alpha a + beta b``.

        Parameters
        ----------
        a : numpy.ndarray
            First input (EDSR: the block output), NHWC, the layer's dtype and channels.
        b : numpy.ndarray
            Second input (the skip), same shape and dtype as ``a``.
        training : bool, optional
            Accepted for the merge-layer protocol; the layer keeps only ``a.shape``.

        Returns
        -------
        numpy.ndarray
            ``y``, a new array shaped like ``a``.

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            An input has the wrong shape, dtype or memory layout.
        """
        self._check_x(a, "a")
        check_array(self._name, "b", b, self.dtype, shape=a.shape)
        self._cache = (a.shape,)
        return self.k.shortcut_forward(a, b, alpha=self.spec.alpha, beta=self.spec.beta)

    def backward(self, dy):
        """Return ``(da, db) = (alpha dy, beta dy)``.

        Parameters
        ----------
        dy : numpy.ndarray
            Upstream gradient, shaped like the output of the last ``forward``.

        Returns
        -------
        da, db : numpy.ndarray
            The gradients of the two inputs.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        """
        (shape,) = self._take_cache()
        self._check_dy(dy, shape)
        self._grads = {}
        return self.k.shortcut_backward(dy, alpha=self.spec.alpha, beta=self.spec.beta)
