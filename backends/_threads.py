"""Thread control shared by the backends: BLAS through threadpoolctl (every backend's
``threads``), and the one-shot rule of runtimes that size their pools once (TensorFlow, XLA).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from threadpoolctl import ThreadpoolController

from .backend import KernelBackend
from .errors import NotSupportedError, expected

_CONTROLLER = ThreadpoolController()


def set_blas_threads(n: int) -> None:
    _CONTROLLER.limit(limits=n, user_api="blas")


def get_blas_threads() -> int:
    return threads_of(_CONTROLLER.select(user_api="blas"))


def blas_info() -> list[dict]:
    return info_of(_CONTROLLER.select(user_api="blas"))


def scipy_blas():
    """threadpoolctl handle of SciPy's BLAS: what ``scipy.linalg.cython_blas`` (the Cython
    GEMMs) and ``np.dot`` in Numba-jitted code call. Made on each call, so call it once, after
    importing ``scipy.linalg.cython_blas``: a controller made before SciPy's BLAS was loaded
    (like ``_CONTROLLER`` above) only sees NumPy's. Falls back to every BLAS when SciPy's
    cannot be told apart."""
    from pathlib import Path

    import scipy.linalg.cython_blas  # noqa: F401  (load it before scanning the libraries)

    blas = ThreadpoolController().select(user_api="blas")
    ours = [lib for lib in blas.lib_controllers if "scipy" in Path(lib.filepath).parent.name]
    if ours:
        blas.lib_controllers = ours
    return blas


def threads_of(blas) -> int:
    """Largest thread count among the libraries of a threadpoolctl selection (1 if none)."""
    counts = [lib.num_threads for lib in blas.lib_controllers]
    return max(counts) if counts else 1


def info_of(blas) -> list[dict]:
    """Provenance of the libraries of a threadpoolctl selection."""
    keys = ("internal_api", "filepath", "version", "num_threads", "architecture")
    return [{k: info.get(k) for k in keys} for info in blas.info()]


class OneShotBackend(KernelBackend):
    """A :class:`KernelBackend` whose thread count freezes when its runtime starts: its
    ``set_threads`` raises :class:`NotSupportedError` for another count afterwards, and a
    ``with backend.threads(n)`` block that started the runtime leaves ``n`` in force."""

    def _restore_threads(self, n: int) -> None:
        try:
            self._set_threads(n)
        except NotSupportedError:
            pass  # the block started the runtime: its count is now fixed for this process


def threads_from_env(var: str, set_threads: Callable[[int], None]) -> None:
    """``var=n`` in the environment (read once, at a backend's import): ``set_threads(n)``;
    unset or empty does nothing, anything but an integer >= 1 raises ``ValueError``."""
    raw = os.environ.get(var)
    if raw is None or raw == "":
        return
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(expected(var, "an integer >= 1", raw))
    set_threads(n)
