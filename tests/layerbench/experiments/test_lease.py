"""Shard locks are leases: a live owner's heartbeat keeps its lock, on any host; a frozen
(SIGSTOP) or killed owner's lock goes stale after ``lease.MISSED`` intervals and is taken
over, and the frozen owner, woken, finds the lock is no longer its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import backends
from layerbench.experiments import lease, store

INTERVAL = 0.3  # seconds; stale after MISSED x INTERVAL = 1.2 s without a heartbeat

CHILD = """
import socket, sys, time
from pathlib import Path
if sys.argv[2] != "here":
    socket.gethostname = lambda: sys.argv[2]  # a worker on another node of the cluster
from layerbench.experiments import store
shard = store.Shard(Path(sys.argv[1]), "part0", "abc")
assert shard.try_lock()
print("locked", flush=True)
while shard.holds_lock():
    time.sleep(0.05)
print("lost", flush=True)
"""


def _child(tmp_path: Path, host: str) -> subprocess.Popen:
    env = dict(os.environ, **{lease.INTERVAL_ENV: str(INTERVAL)})
    src = Path(backends.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), host], cwd=tmp_path,
                         env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def _wait_stale(shard: store.Shard, limit: float = 20.0) -> float:
    t0 = time.monotonic()
    while not shard.lock_is_stale():
        assert time.monotonic() - t0 < limit, "the lock never went stale"
        time.sleep(0.05)
    return time.monotonic() - t0


@pytest.fixture
def interval(monkeypatch):
    monkeypatch.setenv(lease.INTERVAL_ENV, str(INTERVAL))


@pytest.mark.parametrize("host", ["here", "node-b"])
def test_a_frozen_owner_loses_its_lease_and_finds_out_when_woken(tmp_path, interval, host):
    child = _child(tmp_path, host)
    shard = store.Shard(tmp_path, "part0", "abc")
    try:
        owner = shard.lock_owner()
        assert owner["lease_interval"] == INTERVAL
        time.sleep(2 * lease.MISSED * INTERVAL)  # alive: its heartbeat keeps the lock
        assert not shard.lock_is_stale() and not shard.try_lock()
        child.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        _wait_stale(shard)
        assert time.monotonic() - stopped >= (lease.MISSED - 1) * INTERVAL
        assert shard.try_lock()  # taken over
        child.send_signal(signal.SIGCONT)
        assert child.stdout.readline().strip() == "lost"
        assert child.wait(timeout=30) == 0
        assert shard.holds_lock() and shard.lock_owner()["pid"] == os.getpid()
    finally:
        child.kill()
        child.wait()
        shard.unlock()


def test_a_killed_owner_is_stale_at_once_here_and_after_its_lease_elsewhere(tmp_path,
                                                                            interval):
    shard = store.Shard(tmp_path, "part0", "abc")
    child = _child(tmp_path, "here")
    child.kill()
    child.wait()
    assert shard.lock_is_stale() and shard.try_lock()  # same host: its pid is gone
    shard.unlock()
    child = _child(tmp_path, "node-b")
    child.kill()
    child.wait()
    killed = time.monotonic()
    assert not shard.lock_is_stale()  # another host's owner: only its lease tells
    _wait_stale(shard)
    assert time.monotonic() - killed >= (lease.MISSED - 1) * INTERVAL


def test_a_lock_without_a_lease_from_another_host_uses_the_default(tmp_path):
    shard = store.Shard(tmp_path, "part0", "abc")
    shard.path(".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "time": 0}))
    assert not shard.lock_is_stale()
    old = time.time() - lease.MISSED * lease.DEFAULT_INTERVAL - 1
    os.utime(shard.path(".lock"), (old, old))
    assert shard.lock_is_stale()


def test_a_bad_interval_is_named(monkeypatch):
    monkeypatch.setenv(lease.INTERVAL_ENV, "soon")
    with pytest.raises(ValueError, match="LAYERBENCH_LOCK_INTERVAL: expected a number"):
        lease.interval()
