"""Shard locks as leases: a heartbeat keeps a lock alive; a lock not renewed is stale.

A process cannot ask another host whether the owner of a lock on a shared file system is
alive. So every lock this process holds is renewed by a heartbeat thread: every
``interval`` seconds it sets the lock file's modification time to now. A lock whose
modification time is older than :data:`MISSED` intervals is stale, whoever owns it: its
owner was killed (``scancel``, a node failure), or it is frozen (``SIGSTOP``, a hung node)
and another worker may take the shard over. ``interval`` is ``$LAYERBENCH_LOCK_INTERVAL``
seconds (default :data:`DEFAULT_INTERVAL`) and is written into the lock
(``lease_interval``), so every reader judges the lock by its owner's interval. The hosts
sharing a results root need clocks in step to well within ``MISSED x interval`` (NTP).

A lock without ``lease_interval`` (written by a version without leases) is judged by the
default interval. A worker that was frozen and wakes up after its lock was taken over finds
the lock is no longer its own (:func:`holds`): the heartbeat leaves the new owner's lock
alone and the runner discards its result instead of writing it.

The heartbeat runs in a thread: a computation holding Python's global interpreter lock for
longer than ``MISSED x interval`` would let the lease lapse (the kernels release it; raise
the interval if a backend does not).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

INTERVAL_ENV = "LAYERBENCH_LOCK_INTERVAL"
# set by a worker of a Slurm array (``<array job>_<task>``): named in its locks and shards
WORKER_ENV = "LAYERBENCH_WORKER"
DEFAULT_INTERVAL = 15.0
MISSED = 4  # intervals without a heartbeat after which a lock is stale


def interval() -> float:
    """The heartbeat interval in seconds (``$LAYERBENCH_LOCK_INTERVAL``, default 15).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        The variable is not a positive number.
    """
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
        assert value > 0
    except (ValueError, AssertionError):
        raise ValueError(f"{INTERVAL_ENV}: expected a number of seconds > 0, received "
                         f"{text!r}") from None
    return value


def fields() -> dict[str, Any]:
    """The lease fields a new lock records besides its owner.

    Returns
    -------
    dict
        ``{"lease_interval": seconds}``, and ``"worker"`` (``$LAYERBENCH_WORKER``) in an
        array task.
    """
    worker = os.environ.get(WORKER_ENV)
    return {"lease_interval": interval(), **({"worker": worker} if worker else {})}


def stale_after(owner: dict[str, Any]) -> float:
    """Seconds without a heartbeat after which ``owner``'s lock is stale:
    ``MISSED x`` its recorded interval (the default interval for a lock without one).

    Parameters
    ----------
    owner : dict
        The lock's JSON.

    Returns
    -------
    float
    """
    value = owner.get("lease_interval") if isinstance(owner, dict) else None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        value = DEFAULT_INTERVAL
    return MISSED * float(value)


def expired(owner: dict[str, Any], age: float) -> bool:
    """Whether a lock whose last heartbeat was ``age`` seconds ago is stale.

    Parameters
    ----------
    owner : dict
        The lock's JSON.
    age : float
        Now minus the lock file's modification time.

    Returns
    -------
    bool
    """
    return age > stale_after(owner)


class _Heartbeat:
    """The thread renewing every lock this process holds."""

    def __init__(self):
        self.held: dict[str, dict[str, Any]] = {}
        self.guard = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = os.getpid()

    def hold(self, path: Path, owner: dict[str, Any]) -> None:
        with self.guard:
            if self.pid != os.getpid():  # a forked child: the parent's thread is not ours
                self.held, self.thread, self.pid = {}, None, os.getpid()
            self.held[str(path)] = owner
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="layerbench-lease",
                                               daemon=True)
                self.thread.start()

    def release(self, path: Path) -> None:
        with self.guard:
            self.held.pop(str(path), None)

    def owner(self, path: Path) -> dict[str, Any] | None:
        with self.guard:
            return self.held.get(str(path))

    def beat(self) -> None:
        """Renew every held lock that is still this process's."""
        with self.guard:
            held = dict(self.held)
        for path, owner in held.items():
            if _read(Path(path)) == owner:
                try:
                    os.utime(path)
                except OSError:
                    pass

    def _run(self) -> None:
        while True:
            time.sleep(interval())
            with self.guard:
                if not self.held:
                    self.thread = None
                    return
            self.beat()


_HEARTBEAT = _Heartbeat()


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def hold(path: Path, owner: dict[str, Any]) -> None:
    """Keep the lock ``path`` (whose JSON is ``owner``) alive until :func:`release`.

    Parameters
    ----------
    path : pathlib.Path
    owner : dict
        What this process wrote into the lock.
    """
    _HEARTBEAT.hold(path, owner)


def release(path: Path) -> None:
    """Stop renewing the lock ``path``.

    Parameters
    ----------
    path : pathlib.Path
    """
    _HEARTBEAT.release(path)


def holds(path: Path) -> bool:
    """Whether the lock ``path`` is still this process's (not taken over while it was frozen
    or its lease lapsed).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    bool
    """
    mine = _HEARTBEAT.owner(path)
    return mine is not None and _read(path) == mine
