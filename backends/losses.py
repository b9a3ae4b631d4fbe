"""Losses on a backend: ``forward(y, target) -> float``, then ``backward() -> dL/dy``."""

from __future__ import annotations

import numpy as np

from . import specs
from .backend import Kernels
from .errors import NonFiniteError, StateError
from .layers.base import check_array
from .registry import check_dtype, get_backend


class LossFunction:
    """Mean loss over all elements, on the ``loss`` kernels of a backend.

    Parameters
    ----------
    spec : backends.specs.Loss
        The loss kind (``mse``, ``mae`` or ``smooth_l1``) and Huber's ``delta``.
    backend : str, default "numpy"
        Name of the backend whose ``loss`` kernels compute it.
    dtype : float32 or float64
        The dtype of ``y`` and ``target``.

    Notes
    -----
    With ``e = y - t`` and ``M = y.size``:

    - mse: ``L = sum(e^2) / M``, ``dL/dy = 2 e / M``;
    - mae: ``L = sum(|e|) / M``, ``dL/dy = sign(e) / M`` (0 at ``e = 0``, as TensorFlow);
    - smooth_l1 (Huber): ``L = sum(h(e)) / M`` with ``h(e) = e^2 / 2`` if
      ``|e| <= delta`` else ``delta (|e| - delta / 2)``;
      ``dL/dy = clip(e, -delta, delta) / M``.

    Examples
    --------
    >>> import numpy as np
    >>> from backends import specs
    >>> loss = LossFunction(specs.Loss(kind="mse"), dtype=np.float64)
    >>> y = np.array([[[[1.0, 2.0]]]]); t = np.array([[[[0.0, 0.0]]]])
    >>> loss.forward(y, t)
    2.5
    >>> loss.backward()
    array([[[[1., 2.]]]])
    """

    def __init__(self, spec: specs.Loss, *, backend="numpy", dtype=np.float32):
        self.spec = spec
        self.dtype = check_dtype(dtype)
        self.backend = get_backend(backend)
        self.k = Kernels(self.backend, "loss", ("loss_forward", "loss_backward"))
        self._cache = None

    def forward(self, y: np.ndarray, target: np.ndarray) -> float:
        """The loss of ``y`` against ``target``, averaged over every element.

        Parameters
        ----------
        y : numpy.ndarray
            Prediction, exactly the loss's dtype, C-contiguous, any rank.
        target : numpy.ndarray
            Target, same shape and dtype as ``y``, finite.

        Returns
        -------
        float
            ``L``; ``y`` and ``target`` are kept for ``backward``.

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            ``y`` or ``target`` has the wrong shape, dtype or memory layout.
        NonFiniteError
            ``target`` holds NaN or infinity.
        """
        name = f"Loss[{self.spec.kind}]"
        check_array(name, "y", y, self.dtype, ndim=y.ndim)
        check_array(name, "target", target, self.dtype, ndim=y.ndim, shape=y.shape)
        if not np.isfinite(target).all():
            raise NonFiniteError(f"{name}.target: holds NaN or inf")
        self._cache = (y, target)
        return self.k.loss_forward(y, target, kind=self.spec.kind, delta=self.spec.delta)

    def backward(self) -> np.ndarray:
        """The gradient of the last ``forward``'s loss with respect to ``y``.

        Returns
        -------
        numpy.ndarray
            ``dL/dy``, shaped like ``y``.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        """
        if self._cache is None:
            raise StateError(f"Loss[{self.spec.kind}].backward(): call forward() first")
        y, t = self._cache
        return self.k.loss_backward(y, t, kind=self.spec.kind, delta=self.spec.delta)
