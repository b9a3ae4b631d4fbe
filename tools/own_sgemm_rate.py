"""GFLOP/s of the cython backend's own float32 GEMM kernels beside NumPy's BLAS, one thread.

Usage: ``python tools/own_sgemm_rate.py [--isa avx512|avx2|scalar]``. Prints one line per
shape ``(M, N, K)`` of ``C = A B``: the Winograd F(4x4) products of EDSR-baseline (112 tiles
x 64 by 64 x 64), of EDSR x2's 256-channel body (224 x 256 by 256 x 256), of WDSR-A's
blocks, and an im2col product. Run it on a quiet machine; each rate is the best of 3.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import threadpoolctl

from backends.cython_omp import _conv

SHAPES = [(112, 64, 64), (224, 256, 256), (112, 192, 32), (112, 32, 192), (2048, 64, 576)]


def rate(fn, m: int, n: int, k: int) -> float:
    """Best of 3 GFLOP/s of ``fn()``, each over ~1 GFLOP of calls."""
    calls = max(5, int(1e9 / (2 * m * n * k)))
    fn()
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = max(best, 2 * m * n * k * calls / (time.perf_counter() - t0) / 1e9)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--isa", choices=["avx512", "avx2", "scalar"], default=None,
                   help="force one variant of the kernels (default: the CPU's choice)")
    a = p.parse_args()
    if a.isa:
        _conv.sgemm_isa(a.isa)
    threadpoolctl.threadpool_limits(1)
    rng = np.random.default_rng(0)
    blas = [(i["internal_api"], i.get("architecture")) for i in threadpoolctl.threadpool_info()]
    print(f"kernel variant: {_conv.sgemm_isa()}; BLAS: {blas}")
    for m, n, k in SHAPES:
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((k, n)).astype(np.float32)
        y = np.empty((m, n), np.float32)
        ours = rate(lambda x=x, w=w, y=y: _conv.own_sgemm(x, w, y), m, n, k)
        theirs = rate(lambda x=x, w=w, y=y: np.dot(x, w, y), m, n, k)
        print(f"({m}, {n}, {k}): ours {ours:.0f} GFLOP/s, BLAS {theirs:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
