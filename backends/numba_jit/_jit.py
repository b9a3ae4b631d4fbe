"""The one place that sets Numba's compilation options for every kernel of this backend.

``parallel=True`` turns ``prange`` loops into threaded loops; each ``prange`` iterates over
independent outputs only (a reduction is never split between threads), so results are
bitwise identical for any thread count. ``cache=True`` writes the machine code next to the
sources (or under ``NUMBA_CACHE_DIR``) so a second process loads it instead of compiling.
``fastmath=False`` keeps IEEE semantics (no reassociation, no FMA contraction beyond what
LLVM is allowed by default for separate statements). ``error_model="numpy"`` makes a
division by zero give inf/nan as in NumPy instead of raising, and lets loops vectorise.
"""

from __future__ import annotations

from numba import njit, prange  # noqa: F401  (prange re-exported for the kernel modules)

JIT_OPTIONS: dict = {
    "parallel": True,
    "cache": True,
    "fastmath": False,
    "nogil": True,
    "error_model": "numpy",
}
# Scalar helpers are inlined into the kernels; they have no loops to parallelise.
HELPER_OPTIONS: dict = {k: v for k, v in JIT_OPTIONS.items() if k != "parallel"}

kernel = njit(**JIT_OPTIONS)
helper = njit(inline="always", **HELPER_OPTIONS)
# Kernels with no loop worth threading (BLAS calls, one scalar reduction).
serial_kernel = njit(**HELPER_OPTIONS)

# Working-set size of one block of an im2col / Winograd GEMM: small enough to stay in L2,
# large enough for BLAS to run near peak. Fixed (never derived from the thread count) so
# that block boundaries, and hence rounding, do not change with threads.
BLOCK_BYTES = 1 << 21
# Channels per task in the per-channel reductions (one 64-byte cache line of float32).
CHANNEL_BLOCK = 16


def block_rows(row_len: int, itemsize: int, total: int, lo: int = 32) -> int:
    """Rows per GEMM block for rows of ``row_len`` elements (a multiple of 16, >= ``lo``)."""
    rows = max(lo, BLOCK_BYTES // max(1, row_len * itemsize))
    rows = (rows + 15) // 16 * 16
    return int(min(rows, max(1, total)))
