"""Shared machinery of the asv benchmarks: parameters, shapes, the tiny switch and skips.

asv imports every module of ``bench/`` in a fresh process per parameter combination
(``launch_method: spawn``), so this module imports nothing heavy: TensorFlow, Numba and the
compiled extension load inside ``setup`` through the registry, only for the backend a
process times.

Skips: ``setup`` raises ``NotImplementedError`` (asv's skip) with a reason that starts with
one of :data:`SKIP_KINDS`, so that a reader (and ``tests/bench``) can tell "this combination
does not exist" from "this backend is missing here".
"""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np

from backends.registry import BACKEND_NAMES

TINY_ENV = "LAYERBENCH_BENCH_TINY"
QUICK_ENV = "LAYERBENCH_BENCH_QUICK"
BACKENDS = BACKEND_NAMES  # the registry's table (importing it loads no backend)
# the layer benchmarks' peer: graph-mode TensorFlow ops (bench/graph_peer.py)
LAYER_PEER = "tf_graph"
SKIP_KINDS = ("unsupported", "unavailable", "threads", "budget")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0")


def tiny() -> bool:
    """True when ``LAYERBENCH_BENCH_TINY`` asks for CI-sized shapes (same parameters)."""
    return _flag(TINY_ENV)


def quick() -> bool:
    """True when ``LAYERBENCH_BENCH_QUICK`` asks for the quick pass (``nox -s bench --
    --quick``): one thread count instead of several. asv starts a process per parameter
    combination, and that start (TensorFlow's import alone is seconds) is most of a quick
    pass, so halving the combinations halves it."""
    return _flag(QUICK_ENV)


# 1 and 2 always (the thesis' and the issue's comparison), all cores where there are more;
# the quick pass times all cores only.
THREADS = (cores(),) if quick() else tuple(sorted({1, 2, cores()}))


def skip(kind: str, reason: str):
    """Raise asv's skip with ``"<kind>: <reason>"``."""
    assert kind in SKIP_KINDS, kind
    raise NotImplementedError(f"{kind}: {reason}")


def preset(name: str):
    """``backends.testing.PRESETS[name]``, or its ``tiny_`` twin in tiny mode."""
    from backends.testing import PRESETS

    if tiny() and f"tiny_{name}" in PRESETS:
        return PRESETS[f"tiny_{name}"]
    return PRESETS[name]


class ThreadScope:
    """Enter ``backend.threads(n)`` in ``setup`` and leave it in ``teardown``.

    TensorFlow sizes its pools once per process; asv's spawn launcher gives each parameter
    combination a fresh process, so the requested count can be set there. In a process whose
    TensorFlow already runs with another count (the in-process smoke test) the combination
    is skipped with TensorFlow's reason rather than timed with the wrong count.
    """

    def __init__(self, name: str, n: int):
        import backends
        from backends.errors import BackendUnavailableError, NotSupportedError

        try:
            self.backend = backends.get_backend(name)
        except BackendUnavailableError as err:
            skip("unavailable", str(err))
        if n > cores():
            skip("threads", f"{n} threads requested, {cores()} cores available")
        self._ctx = self.backend.threads(n)
        try:
            self._ctx.__enter__()
        except (NotSupportedError, ValueError) as err:
            skip("threads", str(err))
        if self.backend.num_threads() != n:
            self.close()
            skip("threads", f"backend {name!r} runs {self.backend.num_threads()} threads, "
                 f"asked for {n}")

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None


class Scoped:
    """Base of the benchmarks whose ``setup`` enters a :class:`ThreadScope` as ``self.scope``:
    ``teardown`` leaves it. asv runs ``teardown`` after a ``setup`` that skipped too, possibly
    before any scope was entered, so a missing scope is not an error."""

    scope: ThreadScope | None = None

    def teardown(self, *params):
        if self.scope is not None:
            self.scope.close()


# ``algo="auto"`` (backends/autotune.py) stores its choices in the user's cache file
# (``$LAYERBENCH_AUTOTUNE_CACHE``, else ``~/.cache/layerbench/conv_algo.json``), which
# whatever the user runs (models' ``super_resolve``, peer_compare, ...) fills, possibly under
# other load. Read there, the algorithm asv times would depend on the user's history, and an
# asv run would change what the user's models pick. The benchmarks use their own file in
# the same directory instead: the first asv process that needs a shape measures it (in
# ``setup``, untimed), and every later process and run reuses that choice, so a series times
# the same algorithm run after run (a kernel change that can move the choice bumps
# ``autotune.KERNELS_VERSION``, which re-measures). Delete the file to measure again, e.g.
# before a final run on a quiet machine. ``layers.ConvAutoChoice`` records what was chosen.
AUTOTUNE_FILE = "conv_algo_bench.json"


@contextlib.contextmanager
def autotune_cache():
    """Point ``algo="auto"`` at the benchmarks' cache file (:data:`AUTOTUNE_FILE`, beside
    the user's) for the block, then restore the environment. Every ``setup`` that builds an
    ``auto`` layer enters it: asv re-runs ``setup`` before each sample, and a re-run outside
    it would look up (and measure into) the user's file."""
    from backends import autotune

    old = os.environ.get(autotune.ENV)
    os.environ[autotune.ENV] = str(autotune.cache_path().with_name(AUTOTUNE_FILE))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(autotune.ENV, None)
        else:
            os.environ[autotune.ENV] = old


def random(shape, dtype=np.float32, seed: int = 0) -> np.ndarray:
    """Uniform [-1, 1) data; timing needs no conditioning, only a fixed seed."""
    rng = np.random.default_rng(seed)
    return np.ascontiguousarray(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))


def conv_flops(spec, input_shape) -> int:
    """FLOPs of the forward of ``spec`` on ``input_shape``, as the spec states them
    (:meth:`backends.specs.Stated.flops`; a convolution: ``2 N Ho Wo kh kw Cin F``, the
    same count charged to Winograd, an effective GFLOP/s)."""
    return spec.flops(input_shape, "forward")


def nbytes(shape, itemsize: int = 4) -> int:
    return itemsize * math.prod(shape)
