"""Probes of the BLAS that NumPy multiplies with: properties some bitwise tests rely on.

Whether a GEMM row's bits depend on how many rows the call has, or on the BLAS thread count,
is a property of the BLAS build and its CPU kernels, not of this project. Tests that rely on
it ask these probes first and skip with what they measured where it does not hold.
"""

from __future__ import annotations

import numpy as np


def libraries() -> list[tuple]:
    """``(internal_api, architecture, version)`` of every BLAS loaded in this process."""
    from threadpoolctl import threadpool_info

    return [(i.get("internal_api"), i.get("architecture"), i.get("version"))
            for i in threadpool_info() if i.get("user_api") == "blas"]


def _pair(m: int, k: int, n: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype))


def rows_depend_on_count(k: int = 288, n: int = 32, total: int = 7200,
                         counts=(4356, 1000, 7199, 37)) -> str | None:
    """At one BLAS thread: None when the first ``m`` rows of a (``total``, k) x (k, n) float32
    product have the same bits as those rows of the whole product for every ``m`` in
    ``counts``; else what differed."""
    from threadpoolctl import threadpool_limits

    a, b = _pair(total, k, n, np.float32)
    with threadpool_limits(1, user_api="blas"):
        whole = a @ b
        for m in counts:
            part = a[:m] @ b
            if not np.array_equal(part, whole[:m]):
                return (f"BLAS {libraries()}: rows of a {m}-row ({m}, {k}) x ({k}, {n}) float32 "
                        f"GEMM differ from the same rows of a {total}-row one (max |diff| "
                        f"{np.abs(part - whole[:m]).max():.2g})")
    return None


def threads_change_bits(shapes=((4096, 576, 64), (7200, 288, 32))) -> str | None:
    """None when (m, k) x (k, n) products of ``shapes`` have the same bits at 1 and 2 BLAS
    threads, in float32 and float64; else what differed."""
    from threadpoolctl import threadpool_limits

    for dtype in (np.float32, np.float64):
        for m, k, n in shapes:
            a, b = _pair(m, k, n, dtype)
            with threadpool_limits(1, user_api="blas"):
                one = a @ b
            with threadpool_limits(2, user_api="blas"):
                two = a @ b
            if not np.array_equal(one, two):
                return (f"BLAS {libraries()}: a ({m}, {k}) x ({k}, {n}) {np.dtype(dtype).name} "
                        f"GEMM differs between 1 and 2 threads (max |diff| "
                        f"{np.abs(one - two).max():.2g})")
    return None
