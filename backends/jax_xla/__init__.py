"""The JAX/XLA backend: the kernel protocol on ``jax.lax`` / ``jax.numpy``, jitted by XLA.

Partial on purpose: it proves that a backend is a package plus one registry line, and that a
backend may lack kernels.

Implemented: convolution forward (with the fused ReLU / residual epilogue) and backward, any
kernel size, stride and explicit padding (``conv``); max and average pooling forward and
backward (``pool``); the 17 activations and their derivatives (``activation``); pixel shuffle
and unshuffle in both orders (``shuffle``); dense (``dense``); shortcut (``shortcut``); the
SGD / Momentum / Adam steps (``optim``: every layer with parameters takes one in the
equality tests' one-step checks and in training, so without them no convolution or dense
case could be compared).

Not implemented (absent modules and functions; ``KernelBackend.kernel()`` raises
:class:`~backends.errors.NotSupportedError`, which tests, the cross-check and the benchmarks
report as a skip): Winograd F(2x2, 3x3) and F(4x4, 3x3) (``conv.winograd*``), batch
normalisation (no ``norm`` module), losses (no ``loss``), nearest upsampling (no
``upsample``). So BatchNorm,
Upsample, Loss and ``algo="winograd"``/``"winograd4"`` layers cannot be built on it, and a
model using them (none of EDSR / WDSR does) neither.

Every kernel is a ``jax.jit``-compiled function (hyper-parameters and shapes static: one
XLA program per shape, compiled on first use), NumPy arrays in, new NumPy arrays out; inputs
are never modified (XLA programs are functional).

Precision: float32 and float64. ``jax_enable_x64`` is switched on when this package is
imported, because without it jax computes float64 input in float32. It is a process-wide
jax setting: any other jax code in the same process then also defaults to 64-bit types.
Convolutions and matrix products ask for ``precision=HIGHEST``.

Threads
-------
XLA's CPU client sizes its thread pool once, when it starts (the first jax op of the
process), from the CPUs the starting thread may run on; jax 0.10 has no flag or client
option for it. Measured here (per-thread CPU time from ``/proc``, 2 cores, jax 0.10.2):
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` changes nothing (a conv forward and backward,
a matmul and an element-wise program still run on 2-3 threads); starting the client on one
CPU puts all of that work on one thread. So ``BACKEND.threads(n)``:

- before the runtime starts, records ``n``; the first kernel call starts XLA with a pool of
  ``n`` threads (for ``n`` below the CPU count by restricting the starting thread to ``n``
  CPUs while the client is created, then giving it and the pool's new threads the full CPU
  set back: the pool keeps its size, its threads are not pinned);
- raises :class:`~backends.errors.NotSupportedError` for ``n`` above the CPUs the process may
  use (XLA has no oversubscription setting);
- after the start accepts only the running count and raises ``NotSupportedError`` for any
  other ``n``; a ``with BACKEND.threads(n)`` block that starts the runtime leaves ``n`` in
  force when it exits (it cannot be undone), as TensorFlow's backend does.

At the edges, ``LAYERBENCH_JAX_THREADS=n`` (read once, at import) does the same. Not
controlled: the threads XLA keeps for compiling and dispatch (about ten, idle while kernels
run) and anything jax code outside this package started first (then the count is XLA's
default, one per CPU).
"""

from __future__ import annotations

from .._threads import OneShotBackend
from ._xla import THREADS_ENV, get_threads, info, set_threads, threads_from_env

BACKEND = OneShotBackend(
    name="jax",
    package=__name__,
    set_threads=set_threads,
    get_threads=get_threads,
    info=info,
)

threads_from_env()

__all__ = ["BACKEND", "THREADS_ENV"]
