"""Cython + OpenMP backend: validated Python wrappers over ``nogil`` ``prange`` kernels.

Each kernel module (``conv``, ``pool``, ...) has the functions and signatures of
``backends/numpy_ref``; it checks its inputs (dtype, rank, shape, layout) and then calls the
compiled ``_<name>`` extension. The thread knob sets the OpenMP team size of every kernel
and the BLAS threads used by the GEMMs.
"""

from __future__ import annotations

try:
    from . import _openmp
except ImportError as err:  # the registry reports this as BackendUnavailableError
    raise ImportError(
        "backends.cython_omp: the compiled extension is missing or broken; build it with "
        "`pip install .` or `python setup.py build_ext --inplace` "
        f"(gcc with OpenMP and Python headers needed): {err}"
    ) from err

from .._threads import blas_info, get_blas_threads, set_blas_threads
from ..registry import KernelBackend


def set_threads(n: int) -> None:
    """OpenMP team size of every ``prange`` and the BLAS threads, together."""
    _openmp.set_threads(n)
    set_blas_threads(n)


def get_threads() -> int:
    return _openmp.max_threads()


def _info() -> dict:
    return {
        "openmp_enabled": _openmp.openmp_enabled(),
        "omp_max_threads": _openmp.max_threads(),
        "blas_threads": get_blas_threads(),
        "blas": blas_info(),
    }


BACKEND = KernelBackend(
    name="cython",
    package=__name__,
    set_threads=set_threads,
    get_threads=get_threads,
    info=_info,
)
