"""Losses on a backend: ``forward(y, target) -> float``, then ``backward() -> dL/dy``."""

from __future__ import annotations

import numpy as np

from . import specs
from .backend import Kernels
from .errors import NonFiniteError, StateError
from .layers.base import check_array
from .registry import check_dtype, get_backend


class LossFunction:
    """Mean loss over all elements (see ``backends/numpy_ref/loss.py`` for the formulas).

    Parameters
    ----------
    spec : backends.specs.Loss
    backend : str, default "numpy"
    dtype : float32 or float64
    """

    def __init__(self, spec: specs.Loss, *, backend="numpy", dtype=np.float32):
        self.spec = spec
        self.dtype = check_dtype(dtype)
        self.backend = get_backend(backend)
        self.k = Kernels(self.backend, "loss", ("loss_forward", "loss_backward"))
        self._cache = None

    def forward(self, y: np.ndarray, target: np.ndarray) -> float:
        name = f"Loss[{self.spec.kind}]"
        check_array(name, "y", y, self.dtype, ndim=y.ndim)
        check_array(name, "target", target, self.dtype, ndim=y.ndim, shape=y.shape)
        if not np.isfinite(target).all():
            raise NonFiniteError(f"{name}.target: holds NaN or inf")
        self._cache = (y, target)
        return self.k.loss_forward(y, target, kind=self.spec.kind, delta=self.spec.delta)

    def backward(self) -> np.ndarray:
        if self._cache is None:
            raise StateError(f"Loss[{self.spec.kind}].backward(): call forward() first")
        y, t = self._cache
        return self.k.loss_backward(y, t, kind=self.spec.kind, delta=self.spec.delta)
