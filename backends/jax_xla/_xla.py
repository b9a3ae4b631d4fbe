"""The one place that talks to the JAX runtime: x64 mode, the thread knob, jit and the edges.

Kernels are ``jax.jit``-compiled functions of ``jax.numpy`` / ``jax.lax`` ops; shapes and
hyper-parameters are static arguments, so XLA compiles one program per (shape, dtype,
parameters) and reuses it. NumPy arrays go in, new NumPy arrays come out (:func:`call`).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from .. import _threads
from ..errors import NotSupportedError, expected

__all__ = ["THREADS_ENV", "call", "const", "cores", "get_threads", "info", "jax", "jit", "jnp",
           "runtime_started", "set_threads", "threads_from_env"]

# float64 kernels need x64 mode: without it jax computes float64 input in float32. It is a
# process-wide jax setting (see the package docstring for what else it changes).
jax.config.update("jax_enable_x64", True)

THREADS_ENV = "LAYERBENCH_JAX_THREADS"

_requested: int | None = None  # asked for before the runtime started (None: XLA's default)
_started_with: int | None = None  # the pool size the runtime started with


def cores() -> int:
    """CPUs this process may run on (XLA's default pool size)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def runtime_started() -> bool:
    """True once XLA's CPU client exists (its thread pool is then fixed)."""
    if _started_with is not None:
        return True
    from jax._src import xla_bridge  # private, hence the guard

    return bool(getattr(xla_bridge, "_backends", None))


def get_threads() -> int:
    """Threads XLA runs with (or will run with when it starts)."""
    if _started_with is not None:
        return _started_with
    if runtime_started():  # started by other jax code in this process: XLA's default
        return cores()
    return _requested if _requested is not None else cores()


def set_threads(n: int) -> None:
    """Ask XLA for ``n`` threads: possible before its CPU client starts, and only up to the
    CPUs this process may use.

    Raises
    ------
    NotSupportedError
        If the runtime already runs with another thread count, or ``n`` exceeds the CPUs.
    """
    global _requested
    running = get_threads()
    if n == running:
        return
    if runtime_started():
        raise NotSupportedError(
            expected("threads", f"{running} (XLA already runs with {running} threads; its "
                     f"CPU client sizes its pool once, when the first jax op runs: call "
                     f"BACKEND.threads(n) before any jax op, or set {THREADS_ENV}=n in the "
                     f"environment)", n))
    if n > cores():
        raise NotSupportedError(
            expected("threads", f"at most {cores()} (XLA sizes its pool from the CPUs this "
                     f"process may run on; it has no oversubscription setting)", n))
    _requested = n


def _start() -> None:
    """Start XLA's CPU client with the requested thread count (first kernel call).

    XLA sizes the client's thread pool once, from the CPUs the creating thread may run on
    (``tsl::port::MaxParallelism``); no flag or client option sets it in jax 0.10
    (``--xla_cpu_multi_thread_eigen=false`` was measured to change nothing). So for ``n``
    below the CPU count the calling thread is restricted to ``n`` of its CPUs while the client
    starts, then restored, and the threads the client started get the caller's full CPU set
    back: the pool keeps its size, its threads are not pinned.
    """
    global _started_with
    if _started_with is not None:
        return
    n = get_threads()
    if runtime_started() or n >= cores() or not hasattr(os, "sched_setaffinity"):
        jax.devices()
        _started_with = n
        return
    mask = os.sched_getaffinity(0)
    before = _thread_ids()
    os.sched_setaffinity(0, sorted(mask)[:n])
    try:
        jax.devices()  # creates the CPU client and its thread pool
    finally:
        os.sched_setaffinity(0, mask)
        for tid in _thread_ids() - before:
            try:
                os.sched_setaffinity(tid, mask)
            except OSError:  # a thread that ended meanwhile
                pass
    _started_with = n


def _thread_ids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def threads_from_env() -> None:
    """``LAYERBENCH_JAX_THREADS=n`` (read once, at import): ``set_threads(n)``."""
    _threads.threads_from_env(THREADS_ENV, set_threads)


def jit(fn=None, *, static: tuple[str, ...] = ()):
    """``jax.jit`` with the named (keyword-only) hyper-parameters as static arguments."""
    if fn is None:
        return lambda f: jit(f, static=static)
    return jax.jit(fn, static_argnames=static)


def const(v, like):
    """The number ``v`` as a constant of ``like``'s dtype (rounded once, as
    ``x.dtype.type(v)`` in numpy_ref)."""
    return jnp.asarray(v, dtype=like.dtype)


def call(fn, *args, **kwargs):
    """Run a jitted kernel on NumPy arrays; return NumPy arrays (a new, writable copy each:
    the protocol's outputs are new arrays, and jax's host views are read-only)."""
    _start()
    out = fn(*args, **kwargs)
    if isinstance(out, tuple):
        return tuple(np.array(o) for o in out)
    return np.array(out)


def info() -> dict:
    """jax/jaxlib versions, x64, XLA_FLAGS and the thread state."""
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "x64": bool(jax.config.jax_enable_x64), "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
            "runtime_started": runtime_started()}
