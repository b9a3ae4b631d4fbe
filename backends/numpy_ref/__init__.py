"""The NumPy reference backend: clarity first; every other backend is judged by it.

Only NumPy (and the BLAS behind ``numpy.matmul``) is used; the thread knob sets the BLAS
threads.
"""

import numpy as np

from .._threads import blas_info, get_blas_threads, set_blas_threads
from ..backend import KernelBackend

BACKEND = KernelBackend(
    name="numpy",
    package=__name__,
    set_threads=set_blas_threads,
    get_threads=get_blas_threads,
    info=lambda: {"numpy": np.__version__, "blas": blas_info()},
)
