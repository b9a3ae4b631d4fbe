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

    def step(self, key: Any, param: Array, grad: Array, kernels: ModuleType) -> None:
        """Update ``param`` in place from ``grad``.

        Parameters
        ----------
        key : hashable
            Identifies the parameter across steps (its slots, e.g. Adam's moments, are
            kept under this key).
        param : numpy.ndarray
            The parameter, updated in place.
        grad : numpy.ndarray
            ``dL/dparam``, same shape and dtype as ``param``.
        kernels : module
            The backend's ``optim`` kernel module that performs the update.
        """


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

    def params(self) -> Mapping[str, Array]:
        """The trainable parameters by name.

        Returns
        -------
        Mapping of str to numpy.ndarray
            The live parameter arrays (empty for parameter-free layers).
        """

    def grads(self) -> Mapping[str, Array]:
        """The gradients of the last ``backward``, summed over the batch.

        Returns
        -------
        Mapping of str to numpy.ndarray
            ``dL/dparam``, keyed like ``params()``.

        Raises
        ------
        StateError
            No ``backward`` has run since the parameters were last set.
        """

    def load_params(self, p: Mapping[str, Array]) -> None:
        """Replace the parameters (all or nothing).

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            Exactly the keys of ``params()``; values are copied and cast to ``dtype``.

        Raises
        ------
        WeightsError
            A key is missing or unknown, or a shape differs.
        NonFiniteError
            A value holds NaN or infinity.
        """

    def forward(self, x: Array, *, training: bool = False) -> Array:
        """Compute the output.

        Parameters
        ----------
        x : numpy.ndarray
            Input, NHWC, C-contiguous, the layer's dtype, ``input_shape[3]`` channels.
        training : bool, optional
            Keep what ``backward`` needs (default ``False``).

        Returns
        -------
        numpy.ndarray
            ``y = f(x)``, a new array (batch and spatial size follow ``x``).

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            An input has the wrong rank, channel count, dtype or memory layout.
        """

    def backward(self, dy: Array) -> Array:
        """Propagate the upstream gradient ``dy = dL/dy`` and store the weight gradients.

        Parameters
        ----------
        dy : numpy.ndarray
            Upstream gradient, shaped like the output of the last ``forward``.

        Returns
        -------
        numpy.ndarray
            ``dL/dx``, shaped like the input of the last ``forward``.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        """

    def update(self, optimizer: Optimizer) -> None:
        """Apply ``optimizer.step`` to every parameter with its gradient.

        Parameters
        ----------
        optimizer : Optimizer
            The optimizer; it keeps its slots per parameter.
        """


@runtime_checkable
class MergeLayer(Protocol):
    """A two-input layer (Shortcut): ``forward(a, b) -> y``, ``backward(dy) -> (da, db)``."""

    spec: Any
    input_shape: NHWC
    output_shape: NHWC
    dtype: np.dtype

    def params(self) -> Mapping[str, Array]:
        """The trainable parameters by name, as :meth:`Layer.params`."""

    def grads(self) -> Mapping[str, Array]:
        """The gradients of the last ``backward``, as :meth:`Layer.grads`."""

    def load_params(self, p: Mapping[str, Array]) -> None:
        """Replace the parameters (all or nothing), as :meth:`Layer.load_params`.

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            Exactly the keys of ``params()``.
        """

    def forward(self, a: Array, b: Array, *, training: bool = False) -> Array:
        """Compute the output.

        Parameters
        ----------
        a : numpy.ndarray
            First input, NHWC, the layer's dtype.
        b : numpy.ndarray
            Second input (the skip), shaped like the output.
        training : bool, optional
            Keep what ``backward`` needs (default ``False``).

        Returns
        -------
        numpy.ndarray
            ``y``, a new array of shape ``output_shape`` (batch and spatial size follow
            the inputs).

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            An input has the wrong rank, channel count, dtype or memory layout.
        """

    def backward(self, dy: Array) -> tuple[Array, Array]:
        """Propagate the upstream gradient ``dy = dL/dy`` and store the weight gradients.

        Parameters
        ----------
        dy : numpy.ndarray
            Upstream gradient, shaped like the output of the last ``forward``.

        Returns
        -------
        da, db : numpy.ndarray
            ``dL/da`` and ``dL/db``, shaped like the two inputs.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        """

    def update(self, optimizer: Optimizer) -> None:
        """Apply ``optimizer.step`` to every parameter, as :meth:`Layer.update`.

        Parameters
        ----------
        optimizer : Optimizer
            The optimizer.
        """


@runtime_checkable
class Loss(Protocol):
    """``forward(y, target) -> float`` (mean over elements); ``backward() -> dL/dy``."""

    def forward(self, y: Array, target: Array) -> float:
        """The loss of ``y`` against ``target``, averaged over every element.

        Parameters
        ----------
        y : numpy.ndarray
            Prediction.
        target : numpy.ndarray
            Target, same shape and dtype as ``y``.

        Returns
        -------
        float
            ``L``; the pair is kept for ``backward``.
        """

    def backward(self) -> Array:
        """The gradient of the last ``forward``'s loss.

        Returns
        -------
        numpy.ndarray
            ``dL/dy``, shaped like ``y``.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        """


@runtime_checkable
class Backend(Protocol):
    """A named set of kernel modules plus its one thread knob and its provenance."""

    name: str

    def kernels(self, module: str) -> ModuleType:
        """The backend's kernel module of that name.

        Parameters
        ----------
        module : str
            One of ``KERNEL_MODULES``.

        Returns
        -------
        module
            The kernel module (same function names and signatures in every backend).

        Raises
        ------
        NotSupportedError
            The backend has no such module.
        """

    def threads(self, n: int) -> AbstractContextManager[None]:
        """A context in which the backend's kernels use ``n`` threads.

        Parameters
        ----------
        n : int
            Thread count, ``>= 1``.

        Returns
        -------
        contextlib.AbstractContextManager
            Restores the previous thread count on exit.
        """

    def info(self) -> dict[str, Any]:
        """Provenance of the backend: versions, build flags, BLAS, threads.

        Returns
        -------
        dict
            JSON-serialisable facts, recorded with every result.
        """


def iter_kernel_functions(module: ModuleType) -> Iterator[str]:
    """Public kernel function names of a kernel module (what the parity test compares).

    Parameters
    ----------
    module : module
        A kernel module of a backend.

    Yields
    ------
    str
        The names in the module's ``__all__``, in order.

    Raises
    ------
    AttributeError
        The module has no ``__all__``.

    Examples
    --------
    >>> from backends.numpy_ref import shortcut
    >>> list(iter_kernel_functions(shortcut))
    ['shortcut_forward', 'shortcut_backward']
    """
    names = getattr(module, "__all__", None)
    if names is None:
        raise AttributeError(f"kernel module {module.__name__} must define __all__")
    yield from names
