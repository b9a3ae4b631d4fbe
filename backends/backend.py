"""A backend as an object: its kernel modules, its one thread knob, its provenance.

Kept apart from :mod:`backends.registry` (which lists the backends) so that backend packages
and the generic layers can import it without importing the registry: neither the registry
nor the layers import each other at module level.

A backend may be partial: it need not have every kernel module of ``backends/numpy_ref``, nor
every function of one. Whoever runs a kernel asks for it through :meth:`KernelBackend.kernel`
(layers through :class:`Kernels`), so a missing one raises
:class:`~backends.errors.NotSupportedError` naming the backend and the kernel; tests,
cross-check and benchmarks turn that error into a skip with its message.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from .errors import NotSupportedError, expected
from .protocol import KERNEL_MODULES

__all__ = ["KernelBackend", "Kernels"]


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
        self._modules: dict[str, ModuleType | None] = {}

    def kernels(self, module: str) -> ModuleType:
        """The kernel module ``module`` (e.g. ``"conv"``) of this backend.

        Parameters
        ----------
        module : str
            One of ``KERNEL_MODULES``.

        Returns
        -------
        module
            The imported kernel module.

        Raises
        ------
        NotSupportedError
            The backend has no such module (a partial backend); an import error inside an
            existing module propagates unchanged.
        ValueError
            ``module`` is not a kernel module name.
        """
        found = self._module(module)
        if found is None:
            raise NotSupportedError(f"backend {self.name!r} has no kernel module {module} "
                                    f"(no {self.package}.{module})")
        return found

    def kernel(self, module: str, function: str) -> Callable[..., Any]:
        """One kernel function (a name in the module's ``__all__``).

        Parameters
        ----------
        module : str
            One of ``KERNEL_MODULES``.
        function : str
            A kernel name in that module's ``__all__`` (e.g. ``"conv2d_forward"``).

        Returns
        -------
        callable
            The kernel.

        Raises
        ------
        NotSupportedError
            The module or the kernel is missing; the message names backend and kernel.

        Examples
        --------
        >>> from backends import get_backend
        >>> get_backend("numpy").kernel("shortcut", "shortcut_forward").__name__
        'shortcut_forward'
        """
        found = self._module(module)
        if found is None:
            raise NotSupportedError(f"backend {self.name!r} has no kernel {module}.{function} "
                                    f"(no {self.package}.{module})")
        names = getattr(found, "__all__", ())  # helpers outside __all__ are not kernels
        fn = getattr(found, function, None) if function in names else None
        if fn is None:
            raise NotSupportedError(f"backend {self.name!r} has no kernel {module}.{function}")
        return fn

    def _module(self, module: str) -> ModuleType | None:
        """The imported kernel module, or None when the package has no such module."""
        if module not in KERNEL_MODULES:
            raise ValueError(expected("module", f"one of {KERNEL_MODULES}", module))
        if module not in self._modules:
            dotted = f"{self.package}.{module}"
            try:
                self._modules[module] = importlib.import_module(dotted)
            except ModuleNotFoundError as err:
                if err.name != dotted:  # the module exists but needs something missing
                    raise
                self._modules[module] = None
        return self._modules[module]

    @contextmanager
    def threads(self, n: int) -> Iterator[None]:
        """Run the enclosed block with ``n`` threads in every kernel of this backend.

        Parameters
        ----------
        n : int
            Thread count, ``>= 1``; the previous count is restored on exit.

        Yields
        ------
        None
            Inside the block the kernels use ``n`` threads.

        Raises
        ------
        ValueError
            ``n`` is not an integer ``>= 1``.
        """
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
        """The thread count this backend's kernels use now.

        Returns
        -------
        int
            Number of threads.
        """
        return self._get_threads()

    def info(self) -> dict[str, Any]:
        """Provenance: name, threads and whatever the backend adds.

        Returns
        -------
        dict
            ``backend``, ``threads`` and the entries of the backend's ``info`` callable.
        """
        return {"backend": self.name, "threads": self._get_threads(), **self._info()}

    def __repr__(self) -> str:
        return f"KernelBackend({self.name!r})"


class Kernels:
    """The functions of one kernel module of ``backend``, looked up on first use.

    Each function is found through :meth:`KernelBackend.kernel` on first use (then kept as
    an attribute); upper-case names are the module's constants (``AUTO_ALGOS``), an
    ``AttributeError`` when absent.

    Parameters
    ----------
    backend : KernelBackend
        The backend.
    module : str
        One of ``KERNEL_MODULES``.
    require : iterable of str, optional
        The functions to look up now: a layer lists every kernel its forward and backward
        call, so a backend that lacks one fails at build with
        :class:`NotSupportedError`, never half-way through a step. (The optimizer kernels
        are looked up at the first ``update``: a backend without them still runs inference.)
    """

    def __init__(self, backend: KernelBackend, module: str, require: Iterable[str] = ()):
        self._backend = backend
        self._module = module
        for name in require:
            getattr(self, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy/pickle probes, not kernels
            raise AttributeError(name)
        if name.isupper():  # a module constant (AUTO_ALGOS, BOUNDED_WORKSPACE): may be absent
            try:
                return getattr(self._backend.kernels(self._module), name)
            except NotSupportedError as err:
                raise AttributeError(name) from err
        fn = self._backend.kernel(self._module, name)
        setattr(self, name, fn)
        return fn

    def __repr__(self) -> str:
        return f"Kernels({self._backend.name!r}, {self._module!r})"
