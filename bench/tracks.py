"""Tracked numbers other than time: sgemm peak, conv GFLOP/s, error vs numpy_ref, Numba
compile time. asv records them per commit like timings, so a regression in accuracy shows in
the dashboard the same way as a regression in speed.
"""

from __future__ import annotations

import time

import numpy as np

from . import _common as c

DTYPES = ("float32", "float64")


def best_seconds(fn, repeat: int = 3) -> float:
    """Fastest of ``repeat`` calls: the least disturbed by other work on a busy machine."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class Sgemm(c.Scoped):
    """float32 ``A @ B`` through numpy's BLAS: the machine's practical GEMM peak."""

    params = (c.THREADS,)
    param_names = ("threads",)
    unit = "GFLOP/s"
    rounds = 1
    timeout = 120

    def setup(self, threads):
        self.scope = c.ThreadScope("numpy", threads)
        self.n = 256 if c.tiny() else 4096
        self.a = c.random((self.n, self.n))
        self.b = c.random((self.n, self.n), seed=1)
        self.a @ self.b  # BLAS thread start-up and first-touch outside the measurement


    def track_sgemm_gflops(self, threads):
        return 2 * self.n**3 / best_seconds(lambda: self.a @ self.b) / 1e9


CONV_CASES = ("edsr_small",)


class ConvThroughput(c.Scoped):
    """Achieved GFLOP/s of the EDSR-baseline body convolution (forward; direct-conv FLOPs, also
    for Winograd, which does fewer multiplications: its number is an effective rate). The
    benchmark report derives the same rate for every conv preset from ``layers.Conv``."""

    params = (CONV_CASES, ("im2col", "winograd"), c.BACKENDS, c.THREADS)
    param_names = ("case", "algo", "backend", "threads")
    unit = "GFLOP/s"
    rounds = 1
    timeout = 120

    def setup(self, name, algo, backend, threads):
        import dataclasses

        import backends
        from backends.errors import NotSupportedError

        case = c.preset(name)
        spec = dataclasses.replace(case.spec, algo=algo)
        self.scope = c.ThreadScope(backend, threads)
        try:
            layer = backends.build(spec, input_shape=case.input_shape, backend=backend)
            x = c.random(case.input_shape)
            layer.forward(x)
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))
        self.run = lambda: layer.forward(x)
        self.flops = c.conv_flops(spec, case.input_shape)


    def track_gflops(self, *params):
        return self.flops / best_seconds(self.run, repeat=5) / 1e9


def _budget_used(actual, desired, atol, rtol) -> float:
    """``max |a - d| / (atol + rtol |d|)``: <= 1 passes; an exact tier (0, 0) gives 0 or inf."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    if a.shape != d.shape:
        return float("inf")
    err = np.abs(a - d)
    limit = atol + rtol * np.abs(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(err == 0, 0.0, err / limit)
    frac = np.where(np.isnan(frac), np.inf, frac)
    return float(np.max(frac)) if frac.size else 0.0


def error_table(backend_names=c.BACKENDS, dtypes=DTYPES, tiny=None) -> dict:
    """``(family, backend, dtype) -> (max abs error, max budget used, cases)`` over the case
    catalogue, every tensor of :func:`backends.testing.run_case` against numpy_ref float64."""
    import backends
    from backends.errors import BackendUnavailableError, NotSupportedError
    from backends.testing import CASES, compare_results, run_case

    tiny = c.tiny() if tiny is None else tiny
    cases = CASES
    if tiny:  # the first case of each family, one optimizer step
        first = {}
        for case in CASES:
            first.setdefault(case.layer, case)
        cases = tuple(first.values())
    optimizer = ("sgd",) if tiny else None
    reference = {case.name: run_case(case, "numpy", np.float64, optimizer=optimizer)
                 for case in cases}
    table: dict = {}
    for name in backend_names:
        try:
            backends.get_backend(name)
        except BackendUnavailableError:
            continue
        for dtype in dtypes:
            for case in cases:
                try:
                    actual = run_case(case, name, dtype, optimizer=optimizer)
                except NotSupportedError:
                    continue
                desired = reference[case.name]
                rows = compare_results(actual, desired, case=case, backend=name, dtype=dtype)
                worst_abs = max(r["max_abs_err"] for r in rows)
                used = max(_budget_used(actual.get(r["tensor"]), desired.get(r["tensor"]),
                                        r["atol"], r["rtol"]) for r in rows)
                key = (case.layer, name, dtype)
                old = table.get(key, (0.0, 0.0, 0))
                table[key] = (max(old[0], worst_abs), max(old[1], used), old[2] + 1)
    return table


class ErrorVsReference:
    """Worst error of a backend against numpy_ref (float64) over the whole case catalogue
    (per layer family in ``results/tables/crosscheck.md``; one process per combination here).

    ``track_budget_used`` is the worst error as a fraction of its tolerance budget from
    ``backends/testing/tolerances.py`` (<= 1: every tensor passes); ``track_max_abs_error``
    the worst absolute error. Computed once in ``setup_cache`` (one process), looked up here.
    """

    params = (c.BACKENDS, DTYPES)
    param_names = ("backend", "dtype")
    rounds = 1
    timeout = 900

    def setup_cache(self):
        return error_table()

    def setup(self, table, backend, dtype):
        rows = [v for (_, b, d), v in table.items() if (b, d) == (backend, dtype)]
        if not rows:
            import backends
            from backends.errors import BackendUnavailableError

            try:
                backends.get_backend(backend)
            except BackendUnavailableError as err:
                c.skip("unavailable", str(err))
            c.skip("unsupported", f"backend {backend!r} ran no case in {dtype}")
        self.worst = (max(r[0] for r in rows), max(r[1] for r in rows))

    def track_budget_used(self, table, backend, dtype):
        return self.worst[1]

    track_budget_used.unit = "fraction of budget"

    def track_max_abs_error(self, table, backend, dtype):
        return self.worst[0]

    track_max_abs_error.unit = "abs error"


_WARMUP = (
    "import json, sys, time; import numpy as np; t0 = time.perf_counter(); "
    "from backends.numba_jit import warmup; t1 = time.perf_counter(); "
    "r = warmup(dtypes={dtypes}, modules={modules}); "
    "print(json.dumps({{'import': t1 - t0, 'kernels': sum(r.values())}}))"
)


def numba_warmup_seconds(cache_dir: str) -> float:
    """Seconds of ``backends.numba_jit.warmup()`` in a fresh interpreter using ``cache_dir``."""
    import json
    import os
    import subprocess
    import sys

    import backends

    root = os.path.dirname(os.path.dirname(os.path.abspath(backends.__file__)))
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # float32 only: the dtype every benchmark runs in (float64 doubles the compile time)
    modules = "('shortcut',)" if c.tiny() else "None"
    code = _WARMUP.format(dtypes="(np.float32,)", modules=modules)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=1200)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["kernels"])


class NumbaCompile:
    """Seconds to make every Numba kernel callable in float32: ``cold`` compiles
    into an empty cache directory, ``cached`` loads what a previous process wrote."""

    params = (("cold", "cached"),)
    param_names = ("cache",)
    unit = "s"
    rounds = 1
    timeout = 1500

    def setup(self, cache):
        import tempfile

        try:
            import backends.numba_jit  # noqa: F401
        except ImportError as err:
            c.skip("unavailable", f"backend 'numba' cannot be imported: {err}")
        self.tmp = tempfile.TemporaryDirectory(prefix="layerbench-numba-cache-")
        if cache == "cached":
            numba_warmup_seconds(self.tmp.name)  # fill the cache

    def teardown(self, cache):
        self.tmp.cleanup()

    def track_compile_seconds(self, cache):
        return numba_warmup_seconds(self.tmp.name)
