"""The contracts every backend keeps: signatures only, no behaviour.

Arrays are C-contiguous NHWC ``float32`` or ``float64``. Inputs are read-only to a layer;
outputs are new arrays. Gradient convention: ``backward(dy)`` returns dL/dx for
``L = sum(y * dy)`` (what ``tf.GradientTape`` gives for an upstream gradient ``dy``);
weight gradients are sums over the batch.

A backend is a set of kernel modules with identical names and signatures in every backend
folder (``conv``, ``pool``, ``shuffle``, ``norm``, ``activation``, ``dense``, ``shortcut``,
``upsample``, ``loss``, ``optim``); ``backends/numpy_ref`` is the canonical signature set.
The generic layers of ``backends/layers`` hold state and validation and call those kernels.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

Array = np.ndarray
NHWC = tuple[int, int, int, int]

KERNEL_MODULES: tuple[str, ...] = (
    "conv", "pool", "shuffle", "norm", "activation", "dense", "shortcut", "upsample",
    "loss", "optim",
)


@runtime_checkable
class Optimizer(Protocol):
    """Updates parameters in place from their gradients; keeps per-parameter slots."""

    def step(self, key: Any, param: Array, grad: Array, kernels: ModuleType) -> None: ...


@runtime_checkable
class Layer(Protocol):
    """A one-input layer: state, validation and the kernel calls of one spec.

    ``forward`` computes ``y = f(x; params)``; ``backward(dy)`` returns ``dL/dx`` for the
    upstream gradient ``dy = dL/dy`` and stores ``dL/dparam`` (summed over the batch) for
    ``grads`` and ``update``.

    Attributes
    ----------
    spec : Any
        The frozen layer spec (from ``backends.specs``) this layer was built from.
    input_shape : tuple of int
        NHWC shape of ``x``.
    output_shape : tuple of int
        NHWC shape of ``y``.
    dtype : numpy.dtype
        ``float32`` or ``float64``; inputs and parameters share it.

    Methods
    -------
    params()
        The parameters by name (empty for parameter-free layers).
    grads()
        The gradients of the last ``backward``, keyed like ``params``.
    load_params(p)
        Replace the parameters; shapes and dtype must match.
    forward(x, training=False)
        ``y = f(x)``; ``training`` keeps what ``backward`` needs.
    backward(dy)
        ``dL/dx``; requires a preceding ``forward(..., training=True)``.
    update(optimizer)
        Apply ``optimizer.step`` to every parameter with its gradient.
    """

    spec: Any
    input_shape: NHWC
    output_shape: NHWC
    dtype: np.dtype

    def params(self) -> Mapping[str, Array]: ...
    def grads(self) -> Mapping[str, Array]: ...
    def load_params(self, p: Mapping[str, Array]) -> None: ...
    def forward(self, x: Array, *, training: bool = False) -> Array: ...
    def backward(self, dy: Array) -> Array: ...
    def update(self, optimizer: Optimizer) -> None: ...


@runtime_checkable
class MergeLayer(Protocol):
    """A two-input layer (Shortcut): ``forward(a, b) -> y``, ``backward(dy) -> (da, db)``."""

    spec: Any
    input_shape: NHWC
    output_shape: NHWC
    dtype: np.dtype

    def params(self) -> Mapping[str, Array]: ...
    def grads(self) -> Mapping[str, Array]: ...
    def load_params(self, p: Mapping[str, Array]) -> None: ...
    def forward(self, a: Array, b: Array, *, training: bool = False) -> Array: ...
    def backward(self, dy: Array) -> tuple[Array, Array]: ...
    def update(self, optimizer: Optimizer) -> None: ...


@runtime_checkable
class Loss(Protocol):
    """``forward(y, target) -> float`` (mean over elements); ``backward() -> dL/dy``."""

    def forward(self, y: Array, target: Array) -> float: ...
    def backward(self) -> Array: ...


@runtime_checkable
class Backend(Protocol):
    """A named set of kernel modules plus its one thread knob and its provenance."""

    name: str

    def kernels(self, module: str) -> ModuleType: ...
    def threads(self, n: int) -> AbstractContextManager[None]: ...
    def info(self) -> dict[str, Any]: ...


def iter_kernel_functions(module: ModuleType) -> Iterator[str]:
    """Public kernel function names of a kernel module (what the parity test compares)."""
    names = getattr(module, "__all__", None)
    if names is None:
        raise AttributeError(f"kernel module {module.__name__} must define __all__")
    yield from names
