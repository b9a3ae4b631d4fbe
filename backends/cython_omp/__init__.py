"""Cython + OpenMP backend: validated Python wrappers over ``nogil`` ``prange`` kernels.

Each kernel module (``conv``, ``pool``, ...) has the functions and signatures of
``backends/numpy_ref``; it checks its inputs (dtype, rank, shape, layout) and then calls the
compiled ``_<name>`` extension. The thread knob sets the OpenMP team size of every kernel;
the GEMMs are split over those threads in fixed chunks, each a single-threaded call into
SciPy's BLAS (so results are bitwise independent of the thread count).
"""

from __future__ import annotations

try:
    from . import _conv, _openmp  # noqa: F401  (_conv loads SciPy's OpenBLAS: see _BLAS)
except ImportError as err:  # the registry reports this as BackendUnavailableError
    raise ImportError(
        "backends.cython_omp: the compiled extension is missing or broken; build it with "
        "`pip install .` or `python setup.py build_ext --inplace` "
        f"(gcc with OpenMP and Python headers needed): {err}"
    ) from err

from .._threads import info_of, scipy_blas, threads_of
from ..backend import KernelBackend

_BLAS = scipy_blas()  # after _conv loaded SciPy's BLAS, which our GEMMs call


def _single_threaded_blas() -> None:
    # A 2-thread OpenBLAS GEMM does not give the bits of a 1-thread one; our kernels split
    # GEMMs into fixed chunks over OpenMP threads instead, each chunk a 1-thread BLAS call.
    _BLAS.limit(limits=1)


def blas_threads() -> int:
    """Threads the BLAS library would use for one call (1 while the backend is loaded).

    Returns
    -------
    int
        The thread count threadpoolctl reports.
    """
    return threads_of(_BLAS)


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in the process, as threadpoolctl describes them.

    Returns
    -------
    list of dict
        One entry per library (implementation, version, threads, path).
    """
    return info_of(_BLAS)


def set_threads(n: int) -> None:
    """The one knob: ``n`` OpenMP threads in every kernel; each runs 1-thread BLAS calls.

    Parameters
    ----------
    n : int
        The thread count.
    """
    _openmp.set_threads(n)
    _single_threaded_blas()


def get_threads() -> int:
    """The number of OpenMP threads every kernel of this backend runs on.

    Returns
    -------
    int
        OpenMP's ``max_threads``.
    """
    return _openmp.max_threads()


def _info() -> dict:
    return {
        "openmp_enabled": _openmp.openmp_enabled(),
        "omp_max_threads": _openmp.max_threads(),
        "blas_threads": blas_threads(),
        "gemm_parallelism": "OpenMP over fixed GEMM chunks, 1-thread BLAS per chunk",
        "blas": blas_info(),
    }


_single_threaded_blas()

BACKEND = KernelBackend(
    name="cython",
    package=__name__,
    set_threads=set_threads,
    get_threads=get_threads,
    info=_info,
)
