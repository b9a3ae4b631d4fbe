"""OpenMP introspection for the Cython backend.

Answers three questions the tests and benchmarks ask: was this extension compiled with
OpenMP, how many threads will a parallel region use, and does ``prange`` really run on more
than one thread.
"""

cimport openmp
from cython.parallel cimport prange, threadid

cdef extern from *:
    """
    #ifdef _OPENMP
    #define LAYERBENCH_OPENMP_ENABLED 1
    #else
    #define LAYERBENCH_OPENMP_ENABLED 0
    #endif
    """
    const int LAYERBENCH_OPENMP_ENABLED

cdef enum:
    _MAX_IDS = 64


def openmp_enabled() -> bool:
    """True if the C compiler saw ``-fopenmp`` (the ``_OPENMP`` macro was defined)."""
    return LAYERBENCH_OPENMP_ENABLED == 1


def max_threads() -> int:
    """``omp_get_max_threads()``: the team size of the next parallel region."""
    return openmp.omp_get_max_threads()


def set_threads(int n) -> None:
    """``omp_set_num_threads(n)`` for parallel regions started from the calling thread."""
    if n < 1:
        raise ValueError(f"set_threads: n: expected an integer >= 1, received {n!r}")
    openmp.omp_set_num_threads(n)


def parallel_sum_threads() -> int:
    """Run a 2-iteration ``prange`` asking for 2 threads; return how many distinct threads ran it.

    Static schedule with chunk size 1 gives each thread one iteration, so the answer is 2
    when OpenMP grants the threads and 1 when it does not (no OpenMP, ``OMP_THREAD_LIMIT=1``).
    """
    cdef int seen[_MAX_IDS]
    cdef Py_ssize_t i
    cdef int tid, count = 0
    for i in range(_MAX_IDS):
        seen[i] = 0
    for i in prange(2, nogil=True, num_threads=2, schedule="static", chunksize=1):
        tid = threadid()
        if tid < _MAX_IDS:
            seen[tid] = 1
    for i in range(_MAX_IDS):
        count += seen[i]
    return count
