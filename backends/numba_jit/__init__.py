"""The Numba backend: ``@njit`` kernels, parallel over independent outputs, cached on disk.

Every kernel module mirrors ``backends.numpy_ref`` (same functions, same signatures); the
public functions validate their inputs in Python and then call jitted code. The thread knob
sets Numba's thread count (bounded by ``NUMBA_NUM_THREADS``, fixed at process start); the BLAS
that jitted ``np.dot`` calls (SciPy's) always runs one thread, and GEMMs are split over Numba's
threads in fixed chunks (:mod:`._gemm`), so results do not depend on the count. Compilation
options live in :mod:`._jit`; ``warmup()`` compiles (or loads from the cache) every kernel
and reports the seconds it took.
"""

from __future__ import annotations

import numba

from .._threads import blas_info, info_of, scipy_blas, set_blas_threads
from ..backend import KernelBackend
from ..errors import expected
from ._warmup import warmup

__all__ = ["BACKEND", "warmup"]

_JIT_BLAS = scipy_blas()
_JIT_BLAS.limit(limits=1)


def _set_threads(n: int) -> None:
    limit = numba.config.NUMBA_NUM_THREADS
    if n > limit:
        raise ValueError(expected(
            "threads", f"an integer in [1, NUMBA_NUM_THREADS={limit}] (the Numba pool size is "
            "fixed at start; set NUMBA_NUM_THREADS before importing numba to allow more)", n))
    numba.set_num_threads(n)
    set_blas_threads(n)  # NumPy's, for NumPy calls made by the layers around the kernels
    _JIT_BLAS.limit(limits=1)


def _threading_layer() -> str:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: report the requested layer
        return f"not initialised (requested {numba.config.THREADING_LAYER!r})"


def _cache_dir() -> str:
    from . import shortcut  # any kernel module: they all share one cache locator

    cache = getattr(shortcut._scale_add, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    return str(path) if path else (numba.config.CACHE_DIR or "next to the sources")


def _info() -> dict:
    return {
        "numba": numba.__version__,
        "threading_layer": _threading_layer(),
        "NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS,
        "cache_dir": _cache_dir(),
        "blas": blas_info(),
        "jit_blas": info_of(_JIT_BLAS),
        "gemm_parallelism": "Numba threads over fixed GEMM chunks, 1-thread BLAS per chunk",
    }


BACKEND = KernelBackend(
    name="numba",
    package=__name__,
    set_threads=_set_threads,
    get_threads=numba.get_num_threads,
    info=_info,
)
