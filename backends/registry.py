"""Backend registry: names -> backends, imported lazily; ``build`` makes a layer.

A backend package exposes ``BACKEND``, a :class:`KernelBackend`. Importing ``backends``
imports no backend: TensorFlow, Numba and the compiled extension load on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from . import specs as _specs
from .errors import BackendUnavailableError, DTypeError, NotSupportedError, expected
from .protocol import KERNEL_MODULES

BACKEND_PACKAGES: dict[str, str] = {
    "numpy": "backends.numpy_ref",
    "cython": "backends.cython_omp",
    "numba": "backends.numba_jit",
    "tensorflow": "backends.tf_oracle",
    "jax": "backends.jax_xla",
}
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class KernelBackend:
    """A backend: kernel modules named as in :data:`KERNEL_MODULES`, one thread knob.

    Parameters
    ----------
    name : str
        Registry name (``"numpy"``, ``"cython"``, ...).
    package : str
        Dotted package holding the kernel modules.
    set_threads, get_threads : callable
        Set / read the number of threads every kernel of this backend uses.
    info : callable, optional
        Extra provenance (library versions, OpenMP state, ...).
    """

    def __init__(
        self,
        name: str,
        package: str,
        set_threads: Callable[[int], None],
        get_threads: Callable[[], int],
        info: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.package = package
        self._set_threads = set_threads
        self._get_threads = get_threads
        self._info = info or dict
        self._modules: dict[str, ModuleType] = {}

    def kernels(self, module: str) -> ModuleType:
        """The kernel module ``module`` (e.g. ``"conv"``) of this backend."""
        if module not in KERNEL_MODULES:
            raise ValueError(expected("module", f"one of {KERNEL_MODULES}", module))
        if module not in self._modules:
            self._modules[module] = importlib.import_module(f"{self.package}.{module}")
        return self._modules[module]

    def kernel(self, module: str, function: str) -> Callable[..., Any]:
        """One kernel function; a missing one raises :class:`NotSupportedError`."""
        fn = getattr(self.kernels(module), function, None)
        if fn is None:
            raise NotSupportedError(f"backend {self.name!r} has no kernel {module}.{function}")
        return fn

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Run the enclosed block with ``n`` threads in every kernel of this backend."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(expected("threads", "an integer >= 1", n))
        old = self._get_threads()
        self._set_threads(n)
        try:
            yield
        finally:
            self._restore_threads(old)

    def _restore_threads(self, n: int) -> None:
        """Set the count back after a :meth:`threads` block (overridable)."""
        self._set_threads(n)

    def num_threads(self) -> int:
        return self._get_threads()

    def info(self) -> dict[str, Any]:
        """Provenance: name, threads and whatever the backend adds."""
        return {"backend": self.name, "threads": self._get_threads(), **self._info()}

    def __repr__(self) -> str:
        return f"KernelBackend({self.name!r})"


def get_backend(name: str) -> KernelBackend:
    """Import and return a backend by name; raise if it cannot load here."""
    if isinstance(name, KernelBackend):
        return name
    if name not in BACKEND_PACKAGES:
        raise ValueError(expected("backend", f"one of {tuple(BACKEND_PACKAGES)}", name))
    try:
        module = importlib.import_module(BACKEND_PACKAGES[name])
    except ImportError as err:  # missing package or extension: say which and why
        raise BackendUnavailableError(f"backend {name!r} cannot be imported: {err}") from err
    return module.BACKEND


def available_backends() -> tuple[str, ...]:
    """Names of the backends that import on this machine, in registry order."""
    names = []
    for name in BACKEND_PACKAGES:
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return tuple(names)


def check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    # ``None in DTYPES`` is True (np.dtype(None) is float64): test for None explicitly
    if dtype is None or dt is None or dt not in DTYPES:
        raise DTypeError(expected("dtype", "float32 or float64", dtype))
    return dt


def build(
    spec: _specs.LayerSpec,
    *,
    input_shape: tuple[int, int, int, int],
    backend: str | KernelBackend = "numpy",
    dtype: Any = np.float32,
    seed: int = 0,
):
    """Build one layer of ``spec`` for ``input_shape`` on ``backend``.

    Parameters are initialised deterministically from ``seed`` (He-uniform kernels, zero
    biases, unit ``gamma``); use ``load_params`` to set them.
    """
    from .layers import layer_class

    if not isinstance(spec, _specs.LayerSpec):
        raise TypeError(expected("spec", "a backends.specs layer spec", spec))
    shape = _specs.check_input_shape(type(spec).__name__, input_shape)
    return layer_class(spec)(spec, shape, check_dtype(dtype), get_backend(backend), seed=seed)
