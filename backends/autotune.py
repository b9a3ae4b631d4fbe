"""``Conv2D(algo="auto")``: the fastest algorithm for a shape, measured once, cached on disk.

Like cuDNN's benchmark mode: the first forward of a shape times every algorithm that can
compute it (:meth:`backends.specs.Conv2D.algos`, narrowed to the backend's
``conv.AUTO_ALGOS``) and keeps the fastest. The choice is stored under a key of backend,
algorithm family, kernel, stride, padding, input shape, dtype and thread count in a JSON file,
so later runs (and later processes) reuse it without timing anything: with a cache entry the
choice is deterministic. Every algorithm it can choose is held to the tolerance table against
the reference (``tests/backends/test_autotune.py``), so a choice changes speed, never
correctness beyond the table.

The cache file is ``$LAYERBENCH_AUTOTUNE_CACHE`` if set, else
``$XDG_CACHE_HOME/layerbench/conv_algo.json`` (``~/.cache/layerbench/conv_algo.json``).
Writes are atomic (temporary file, then rename); a corrupt or unreadable file is ignored
(and rewritten), never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._heap import release_freed_memory

ENV = "LAYERBENCH_AUTOTUNE_CACHE"

# Part of every key: bump it when a kernel change can change which algorithm is fastest, so
# that choices timed on the old kernels are not reused (v2: the Cython F(4x4) transforms
# became ~2x faster, which moved e.g. WDSR-A's 32->128 expansion off im2col; v3: Cython's
# F(4x4) chunks became 112 tiles, 2x faster on 256 channels, and Numba gained F(4x4); v4:
# transforms over backends.winograd.CACHE_BYTES are computed on every call, ~1% of the call;
# v5: those transforms 4-7x faster, and the Cython kernels' scratch from the buffer pool;
# v6: the Cython F(4x4) input transform vectorised in full, 2-3x faster; Numba's layers
# 9-20 % faster at 1 thread).
KERNELS_VERSION = 6

# in-process copy of each cache file: {path: {key: algo}}
_MEMORY: dict[str, dict[str, str]] = {}

# callbacks of the active ``announce`` blocks: called once each, at the first timing
_LISTENERS: list[list] = []


@contextlib.contextmanager
def announce(callback: Callable[[Path], object]):
    """Within the block, call ``callback(cache_path())`` once, before the first measurement
    (a shape missing from the cache); nothing is called when every choice is cached.

    Parameters
    ----------
    callback : callable
        Receives the cache file's path; e.g. prints one line saying the first call times
        the algorithms and where the choices are kept.
    """
    slot = [callback]
    _LISTENERS.append(slot)
    try:
        yield
    finally:
        _LISTENERS.remove(slot)


def _announce() -> None:
    for slot in _LISTENERS:
        if slot:
            slot.pop()(cache_path())


def cache_path() -> Path:
    """Where choices are stored (see the module docstring).

    Returns
    -------
    pathlib.Path
        ``$LAYERBENCH_AUTOTUNE_CACHE`` when set, else ``conv_algo.json`` under the user's
        cache directory.
    """
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "layerbench" / "conv_algo.json"


def cache_key(backend: str, spec, x_shape, dtype, threads: int) -> str:
    """The key of one choice: everything the relative speed of the algorithms depends on.

    Parameters
    ----------
    backend : str
        The backend's name.
    spec : backends.specs.Conv2D
        The convolution (kernel, stride, padding, filters).
    x_shape : tuple of int
        NHWC input shape.
    dtype : numpy.dtype or str
        The dtype.
    threads : int
        The thread count.

    Returns
    -------
    str
        The key, versioned by the kernels' version.
    """
    (kh, kw), (sh, sw) = spec.kernel, spec.stride
    n, h, w, c = x_shape
    return (f"v{KERNELS_VERSION}|{backend}|k{kh}x{kw}|s{sh}x{sw}|{spec.padding}|"
            f"{n}x{h}x{w}x{c}->{spec.filters}|{np.dtype(dtype).name}|t{threads}")


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def load() -> dict[str, str]:
    """The cached choices of the current cache file (read once per process and path).

    Returns
    -------
    dict of str to str
        Key to algorithm (empty when the file is missing or unreadable).
    """
    path = cache_path()
    key = str(path)
    if key not in _MEMORY:
        _MEMORY[key] = _read(path)
    return _MEMORY[key]


def store(key: str, algo: str) -> None:
    """Record one choice, merged with what the file holds now, written atomically.

    Parameters
    ----------
    key : str
        From :func:`cache_key`.
    algo : str
        The chosen algorithm.
    """
    path = cache_path()
    merged = {**_read(path), **load(), key: algo}
    _MEMORY[str(path)] = merged
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged, indent=0, sort_keys=True))
        os.replace(tmp, path)
    except OSError:  # a read-only cache dir costs a re-measurement next run, nothing else
        pass


def forget() -> None:
    """Drop the in-process copies (the files stay); the next lookup reads the file again."""
    _MEMORY.clear()


def measure(run: Callable[[str], object], algos: tuple[str, ...], repeats: int = 3) -> str:
    """The algorithm with the smallest best-of-``repeats`` wall time of ``run(algo)`` (after
    one untimed call each, which also compiles JIT kernels); ties go to the earlier one.

    The repeats go round-robin over the algorithms (a, b, c, a, b, c, ...), so a burst of
    load from other processes slows every candidate rather than one: timed one algorithm
    after the other, EDSR-baseline's 64->256 convolution picked F(2x2) over F(4x4) on a
    loaded 2-core VM and ran 3x slower than with F(4x4).

    Parameters
    ----------
    run : callable
        Runs the convolution with the algorithm given.
    algos : tuple of str
        The candidates.
    repeats : int, default 3
        Timed calls of each.

    Returns
    -------
    str
        The fastest.
    """
    for algo in algos:
        run(algo)
    best_t = {algo: float("inf") for algo in algos}
    for _ in range(repeats):
        for algo in algos:
            best_t[algo] = min(best_t[algo], _timed(run, algo))
    return min(algos, key=lambda a: (best_t[a], algos.index(a)))


def _timed(run, algo) -> float:
    t0 = time.perf_counter()
    run(algo)
    return time.perf_counter() - t0


def candidates(spec, kernels) -> tuple[str, ...]:
    """The algorithms ``algo="auto"`` chooses among for ``spec`` on a backend whose conv
    kernel module is ``kernels``: the spec's algorithms that its ``AUTO_ALGOS`` lists
    (im2col where it lists none of them).

    Parameters
    ----------
    spec : backends.specs.Conv2D
        The convolution.
    kernels : module or Kernels
        The backend's ``conv`` kernels.

    Returns
    -------
    tuple of str
        The candidates, at least ``("im2col",)``.
    """
    allowed = getattr(kernels, "AUTO_ALGOS", ("im2col",))
    return tuple(a for a in spec.algos() if a in allowed) or ("im2col",)


def choose(backend: str, spec, x_shape, dtype, threads: int, candidates: tuple[str, ...],
           run: Callable[[str], object]) -> str:
    """The algorithm for this shape: the cached one if the cache holds a valid entry, else
    the fastest of ``candidates`` measured with ``run`` (then cached).

    Parameters
    ----------
    backend, spec, x_shape, dtype, threads
        The key's parts, as in :func:`cache_key`.
    candidates : tuple of str
        The algorithms to choose among (one: returned at once).
    run : callable
        Runs the convolution with the algorithm given (on the real input).

    Returns
    -------
    str
        The algorithm.
    """
    if len(candidates) == 1:
        return candidates[0]
    key = cache_key(backend, spec, x_shape, dtype, threads)
    algo = load().get(key)
    if algo in candidates:
        return algo
    _announce()
    algo = measure(run, candidates)
    release_freed_memory()  # the candidates' outputs and workspaces (see backends._heap)
    store(key, algo)
    return algo
