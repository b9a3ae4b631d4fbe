"""The TensorFlow backend: the same kernel protocol on ``tf.nn`` ops (eager, no tracing).

It is the oracle of the test suite (TensorFlow checks ``numpy_ref``) and the peer to beat in
the benchmarks. Kernels take and return NumPy arrays; backward kernels take the gradient of
``L = sum(y * dy)`` through ``tf.GradientTape`` on the forward op, except where a module says
otherwise.

Threads
-------
TensorFlow sizes its intra-op and inter-op thread pools once, when the runtime starts (the
first op). ``BACKEND.threads(n)`` therefore sets both pools to ``n`` only before the first op;
after that it accepts ``n`` equal to the running count and raises
:class:`~backends.errors.NotSupportedError` for any other ``n``. A ``with BACKEND.threads(n)``
block that starts the runtime leaves ``n`` in force when it exits (it cannot be undone).
At the edges, ``LAYERBENCH_TF_THREADS=n`` (read once, at import) does the same.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow's C++ logging starts

from typing import Any  # noqa: E402

import tensorflow as tf  # noqa: E402

from .._threads import OneShotBackend, threads_from_env  # noqa: E402
from ..errors import NotSupportedError, expected  # noqa: E402

THREADS_ENV = "LAYERBENCH_TF_THREADS"


def _default_threads() -> int:
    # TensorFlow's "0 = let the runtime choose" means one thread per schedulable CPU.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _resolved(n: int) -> int:
    return n if n > 0 else _default_threads()


def get_threads() -> int:
    """Intra-op threads TensorFlow uses (or will use when it starts).

    Returns
    -------
    int
        The thread count (the runtime default resolved).
    """
    return _resolved(tf.config.threading.get_intra_op_parallelism_threads())


def set_threads(n: int) -> None:
    """Size both TensorFlow pools to ``n``; only possible before the first op runs.

    Parameters
    ----------
    n : int
        The thread count of the intra-op and inter-op pools.

    Raises
    ------
    NotSupportedError
        If the runtime already runs with another thread count.
    """
    running = get_threads()
    if n == running:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError as err:  # TF: "cannot be modified after initialization"
        raise NotSupportedError(
            expected("threads", f"{running} (TensorFlow already runs with {running} "
                     f"intra-op threads; its pools are sized once, when the first op runs: "
                     f"call BACKEND.threads(n) before any TensorFlow op, or set "
                     f"{THREADS_ENV}=n in the environment)", n)
        ) from err


def _onednn() -> bool | None:
    try:
        from tensorflow.python.util import _pywrap_util_port  # private, hence the guard
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def info() -> dict[str, Any]:
    """TensorFlow version, oneDNN state and both pool sizes (0 = runtime default).

    Returns
    -------
    dict
        ``tensorflow``, ``onednn``, ``TF_ENABLE_ONEDNN_OPTS``, ``intra_op_threads``,
        ``inter_op_threads`` and ``runtime_started``.
    """
    return {
        "tensorflow": tf.__version__,
        "onednn": _onednn(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "intra_op_threads": get_threads(),
        "inter_op_threads": _resolved(tf.config.threading.get_inter_op_parallelism_threads()),
        "runtime_started": _runtime_started(),
    }


def _runtime_started() -> bool | None:
    try:
        from tensorflow.python.eager import context  # private, hence the guard
        return bool(context.context()._initialized)
    except (ImportError, AttributeError):
        return None


TFBackend = OneShotBackend  # the name this module had for it


def _threads_from_env() -> None:
    threads_from_env(THREADS_ENV, set_threads)


BACKEND = TFBackend(
    name="tensorflow",
    package=__name__,
    set_threads=set_threads,
    get_threads=get_threads,
    info=info,
)

_threads_from_env()
