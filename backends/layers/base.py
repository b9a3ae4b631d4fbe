"""State and validation shared by every layer; the math lives in the backend kernels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import _validate
from ..backend import KernelBackend, Kernels
from ..errors import NonFiniteError, StateError, WeightsError, expected


def check_array(
    owner: str, name: str, a: object, dtype: np.dtype, *, ndim: int = 4,
    channels: int | None = None, shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Validate an input array of a layer before any kernel sees it; return it unchanged.

    The checks are ``backends._validate.array``'s, shared with the kernels.

    Parameters
    ----------
    owner : str
        The layer's name, for the message.
    name : str
        The argument's name (``x``, ``dy``, ...).
    a : object
        The value.
    dtype : numpy.dtype
        Exactly the dtype required.
    ndim : int, default 4
        The rank required.
    channels : int, optional
        The size of the last axis, when fixed.
    shape : tuple of int, optional
        The whole shape, when fixed.

    Returns
    -------
    numpy.ndarray
        ``a``.

    Raises
    ------
    TypeError
        ``a`` is not a NumPy array.
    ShapeError, DTypeError, LayoutError
        Wrong rank, shape, channels, dtype, an empty axis, or not C-contiguous.
    """
    return _validate.array(owner, name, a, ndim=ndim, rank_note=" (NHWC)", dtype=dtype,
                           shape=shape, channels=channels)


class BaseLayer:
    """Common behaviour: parameters, gradients, input checks, optimizer updates.

    Subclasses set ``kernel_module`` and ``kernel_names`` (every function of that module
    their forward and backward call: looked up at build through
    :meth:`~backends.backend.KernelBackend.kernel`, so a partial backend raises
    :class:`~backends.errors.NotSupportedError` there) and implement ``_forward`` /
    ``_backward``.
    Spatial size and batch may differ from the nominal ``input_shape`` (a model runs on
    tiles of any size); the channel count may not.

    Parameters
    ----------
    spec : backends.specs.LayerSpec
        The layer's spec.
    input_shape : tuple of int
        Nominal NHWC input shape.
    dtype : numpy.dtype
        ``float32`` or ``float64``.
    backend : KernelBackend
        The backend whose kernels it calls.
    seed : int, default 0
        Seed of the parameter initialisation (He-uniform weights, zero biases, unit
        ``gamma``).
    """

    kernel_module = ""
    kernel_names: tuple[str, ...] = ()

    def __init__(self, spec, input_shape, dtype: np.dtype, backend: KernelBackend, *, seed=0):
        self.spec = spec
        self.input_shape = tuple(input_shape)
        self.output_shape = spec.output_shape(self.input_shape)
        self.dtype = np.dtype(dtype)
        self.backend = backend
        self.k = (Kernels(backend, self.kernel_module, self.kernel_names)
                  if self.kernel_module else None)
        self._optim: Kernels | None = None  # looked up at the first update (training only)
        self._params = self._init_params(np.random.default_rng(seed))
        self._grads: dict[str, np.ndarray] | None = None
        self._cache: tuple | None = None
        self._name = f"{type(spec).__name__}[{backend.name}]"

    # -- parameters -------------------------------------------------------------------------
    def _init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        out = {}
        for name, shape in self.spec.param_shapes(self.input_shape).items():
            if name == "weights":
                fan_in = int(np.prod(shape[:-1]))
                limit = np.sqrt(6.0 / fan_in)
                out[name] = rng.uniform(-limit, limit, shape).astype(self.dtype)
            elif name == "gamma":
                out[name] = np.ones(shape, self.dtype)
            else:
                out[name] = np.zeros(shape, self.dtype)
        return out

    def params(self) -> Mapping[str, np.ndarray]:
        """Trainable parameters by name (live arrays; do not modify them in place).

        Returns
        -------
        Mapping of str to numpy.ndarray
            A new dict of the layer's arrays.
        """
        return dict(self._params)

    def grads(self) -> Mapping[str, np.ndarray]:
        """Gradients of the last ``backward``, same keys as ``params``.

        Returns
        -------
        Mapping of str to numpy.ndarray
            ``dL/dparam`` summed over the batch.

        Raises
        ------
        StateError
            No ``backward`` since the parameters were last set.
        """
        if self._grads is None:
            raise StateError(f"{self._name}.grads(): call backward() first")
        return dict(self._grads)

    def load_params(self, p: Mapping[str, np.ndarray]) -> None:
        """Set parameters from a mapping with exactly the keys of ``params``.

        Values are copied and cast to the layer dtype; shapes must match and values be finite.
        All or nothing: every value is checked before any is assigned.

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            Parameters (and state, e.g. running statistics) by name.

        Raises
        ------
        WeightsError
            A key is missing or unknown, a shape differs, or a value is not real.
        NonFiniteError
            A value holds NaN or infinity.
        """
        self.assign_params(self.check_params(p))

    def check_params(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Validate ``p`` for :meth:`load_params` without changing the layer.

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            As for :meth:`load_params`.

        Returns
        -------
        dict of str to numpy.ndarray
            C-contiguous copies in the layer dtype, for :meth:`assign_params`.

        Raises
        ------
        WeightsError, NonFiniteError
            As :meth:`load_params`.
        """
        expected_keys = set(self._params) | set(self._state_names())
        missing = set(self._params) - set(p)
        unknown = set(p) - expected_keys
        if missing or unknown:
            raise WeightsError(
                f"{self._name}.load_params: expected keys {sorted(self._params)}, "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        checked = {}
        for name, value in p.items():
            target = self._params if name in self._params else self._state()
            value = np.asarray(value)
            if value.shape != target[name].shape:
                raise WeightsError(
                    expected(f"{self._name}.load_params[{name!r}].shape",
                             str(target[name].shape), value.shape)
                )
            if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype,
                                                                          np.complexfloating):
                raise WeightsError(expected(f"{self._name}.load_params[{name!r}].dtype",
                                            "a real number type", str(value.dtype)))
            if not np.all(np.isfinite(value)):
                raise NonFiniteError(f"{self._name}.load_params[{name!r}]: holds NaN or inf")
            checked[name] = np.array(value, dtype=self.dtype, order="C")
        return checked

    def assign_params(self, checked: Mapping[str, np.ndarray]) -> None:
        """Assign values returned by :meth:`check_params` (no check can fail here).

        Parameters
        ----------
        checked : Mapping of str to numpy.ndarray
            The output of :meth:`check_params`; the stored gradients are dropped.
        """
        state = self._state()
        for name, value in checked.items():
            (self._params if name in self._params else state)[name] = value
        self._grads = None

    # Non-trainable state (batch-norm running statistics); empty for most layers.
    def _state_names(self) -> tuple[str, ...]:
        return ()

    def _state(self) -> dict[str, np.ndarray]:
        return {}

    def state(self) -> Mapping[str, np.ndarray]:
        """Non-trainable buffers saved with the parameters (e.g. running statistics).

        Returns
        -------
        Mapping of str to numpy.ndarray
            Empty for most layers.
        """
        return dict(self._state())

    def update(self, optimizer) -> None:
        """Apply ``optimizer`` to every parameter with the gradients of the last backward.

        Parameters
        ----------
        optimizer : Optimizer
            Its ``step`` updates each parameter in place (slots keyed by layer and name).

        Raises
        ------
        StateError
            The layer has parameters and no ``backward`` preceded it.
        """
        if not self._params:
            return
        grads = self.grads()
        if self._optim is None:
            self._optim = Kernels(self.backend, "optim")
        for name, param in self._params.items():
            optimizer.step((id(self), name), param, grads[name], self._optim)

    def clear(self) -> None:
        """Drop what forward kept for backward (inference frees memory this way)."""
        self._cache = None

    def num_params(self) -> int:
        """Total number of parameter elements.

        Returns
        -------
        int
            Sum of the sizes of all parameter arrays.
        """
        return int(sum(p.size for p in self._params.values()))

    # -- checks -----------------------------------------------------------------------------
    def _check_x(self, x: np.ndarray, name: str = "x") -> np.ndarray:
        return check_array(self._name, name, x, self.dtype, channels=self.input_shape[3])

    def _take_cache(self, method: str = "backward") -> tuple:
        if self._cache is None:
            raise StateError(f"{self._name}.{method}(): call forward() first")
        return self._cache

    def _check_dy(self, dy: np.ndarray, y_shape: tuple[int, ...]) -> np.ndarray:
        return check_array(self._name, "dy", dy, self.dtype, shape=y_shape)

    def __repr__(self) -> str:
        return f"<{self._name} {self.input_shape} -> {self.output_shape} {self.dtype}>"


class Layer(BaseLayer):
    """One-input layer: validates, calls ``_forward``/``_backward``, keeps the cache.

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`BaseLayer`.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Compute ``y = f(x)`` (the subclass's formula) after validating ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            Input, NHWC, C-contiguous, exactly the layer's dtype, ``input_shape[3]``
            channels; batch and spatial size may differ from ``input_shape``.
        training : bool, optional
            Accepted for the protocol; what ``backward`` needs is kept either way until
            :meth:`~BaseLayer.clear`.

        Returns
        -------
        numpy.ndarray
            ``y``, a new array.

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            ``x`` has the wrong rank, channel count, dtype or memory layout.
        """
        self._check_x(x)
        y, cache = self._forward(x, training)
        self._cache = (x.shape, y.shape, cache)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` for the upstream ``dy = dL/dy``; keep the weight gradients.

        Parameters
        ----------
        dy : numpy.ndarray
            Upstream gradient, shaped like the output of the last ``forward``.

        Returns
        -------
        numpy.ndarray
            ``dL/dx``, shaped like the last input; ``grads()`` then holds ``dL/dparam``
            summed over the batch.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        ShapeError, DTypeError, LayoutError
            ``dy`` does not match the last output.
        """
        x_shape, y_shape, cache = self._take_cache()
        self._check_dy(dy, y_shape)
        dx, grads = self._backward(dy, x_shape, cache)
        self._grads = grads
        return dx

    def _forward(self, x, training):  # -> (y, cache)
        raise NotImplementedError

    def _backward(self, dy, x_shape, cache):  # -> (dx, {param: grad})
        raise NotImplementedError
