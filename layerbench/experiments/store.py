"""Shard files: atomic writes, verification, per-shard locks, resume, listing.

A shard ``<root>/<experiment>/<backend>/<key>.<hash>`` is made of ``.parquet`` (the tidy table),
``.csv`` (the same rows), optionally ``.npz`` (example images for the panels, with their name,
slice and angle as data: :class:`Examples`) and ``.json``
(the sidecar: provenance plus, under ``"files"``, each file's size in bytes, SHA-256 and row
count). Every file is written to a temporary name in the same directory, fsynced and renamed;
the sidecar is written last. A shard is finished only when its sidecar parses and every file
it lists exists with that size, checksum and row count (:meth:`Shard.verify`); anything else
(a killed write, a truncated or garbled file, a file edited by hand) is reported by name and
the shard is recomputed. A killed run leaves at worst stray ``*.tmp*`` files and a stale lock,
which the next run removes.

This module is the one reader of run files: the runner's resume, ``layerbench verify`` and the
report (:func:`load_runs`) all read shards through :meth:`Shard.verify`, so a broken shard is
never reported on.

Locks: a run computes a shard only while it holds ``<shard>.lock`` (created with
``O_CREAT | O_EXCL``; it records the owner's pid, host and start time, and its lease
interval). A lock is a lease (:mod:`.lease`): the owner's heartbeat renews it, and it is
stale, and may be taken over, when its owner is on this host and no longer alive, or when it
has not been renewed for ``lease.MISSED`` intervals (an owner killed or frozen on any host of
a shared file system).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backends.errors import expected

from . import lease

DATA_SUFFIXES = (".parquet", ".csv", ".npz")
SIDECAR = ".json"
LOCK = ".lock"


def config_hash(obj: Any, length: int = 10) -> str:
    """Stable short hash of a JSON-able object (the settings that change a shard's rows)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic(path: Path, write: Callable[[str], None], suffix: str) -> None:
    """``write(tmp)``, fsync, rename to ``path``, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def count_rows(path: Path) -> int:
    """Rows of a ``.parquet`` or ``.csv`` table, arrays of an ``.npz``."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix == ".csv":
        return len(pd.read_csv(path))
    with np.load(path, allow_pickle=False) as f:
        return len(f.files)


def describe(path: Path) -> dict[str, Any]:
    """The sidecar record of one file: bytes, sha256, rows."""
    return {"bytes": path.stat().st_size, "sha256": sha256(path), "rows": count_rows(path)}


class Shard:
    """The files of one shard."""

    def __init__(self, directory: Path, key: str, digest: str):
        self.key = key
        self.base = Path(directory) / f"{key}.{digest}"

    @classmethod
    def from_base(cls, base: Path) -> Shard:
        key, _, digest = base.name.rpartition(".")
        return cls(base.parent, key, digest)

    @property
    def name(self) -> str:
        return str(self.base)

    def path(self, ext: str) -> Path:
        return self.base.with_name(self.base.name + ext)

    def started(self) -> bool:
        return any(self.path(e).exists() for e in (*DATA_SUFFIXES, SIDECAR))

    def verify(self) -> list[str]:
        """Problems that keep the shard from counting as finished (empty: finished)."""
        side = self.path(SIDECAR)
        if not side.is_file():
            return [f"{side.name}: sidecar missing (the write did not finish)"]
        try:
            files = json.loads(side.read_text())["files"]
            assert isinstance(files, dict) and ".parquet" in files
        except Exception as err:  # truncated, empty, garbled or foreign JSON
            return [f"{side.name}: unreadable sidecar ({type(err).__name__}: {err})"]
        problems = []
        for ext, want in files.items():
            p = self.path(ext)
            try:
                if not p.is_file():
                    problems.append(f"{p.name}: missing")
                elif p.stat().st_size != want["bytes"]:
                    problems.append(f"{p.name}: {p.stat().st_size} bytes, sidecar says "
                                    f"{want['bytes']}")
                elif sha256(p) != want["sha256"]:
                    problems.append(f"{p.name}: checksum differs from the sidecar's")
                elif count_rows(p) != want["rows"]:
                    problems.append(f"{p.name}: row count differs from the sidecar's")
            except Exception as err:
                problems.append(f"{p.name}: unreadable ({type(err).__name__}: {err})")
        return problems

    def done(self) -> bool:
        return not self.verify()

    def clean(self) -> None:
        """Remove leftovers of an interrupted write and any previous version of the shard
        (not the lock)."""
        for p in self.base.parent.glob(self.base.name + ".*"):
            if p.name != self.path(LOCK).name:
                p.unlink(missing_ok=True)

    def write(self, table: pd.DataFrame, provenance: dict[str, Any],
              examples: Examples | Mapping | None = None) -> None:
        """Write examples, CSV, parquet, then the sidecar describing them, each atomically.

        ``examples``: an :class:`Examples`, or a mapping it is made from (keys: a name, or a
        ``(slice, angle, name)`` tuple)."""
        if examples:
            arrays = Examples(examples).arrays()
            _atomic(self.path(".npz"), lambda t: _savez(t, arrays), ".npz")
        _atomic(self.path(".csv"), lambda t: table.to_csv(t, index=False), ".csv")
        _atomic(self.path(".parquet"), lambda t: table.to_parquet(t, index=False), ".parquet")
        files = {e: describe(self.path(e)) for e in DATA_SUFFIXES if self.path(e).is_file()}
        sidecar = {**provenance, "files": files}
        _atomic(self.path(SIDECAR),
                lambda t: Path(t).write_text(json.dumps(sidecar, indent=1, default=str)),
                SIDECAR)

    def read_table(self) -> pd.DataFrame:
        return pd.read_parquet(self.path(".parquet"))

    def read_examples(self) -> Examples:
        """The shard's example images (empty when it kept none)."""
        p = self.path(".npz")
        if not p.is_file():
            return Examples()
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        if "index_name" not in arrays:
            from layerbench.data.errors import DataError

            raise DataError(expected(str(p), "examples with their index (index_name, "
                                     "index_slice, index_angle)", sorted(arrays)[:4])
                            + " (written by an older layerbench: recompute the shard with "
                            "output.force=true)")
        return Examples.from_arrays(arrays)

    # -- locking ---------------------------------------------------------------------------
    def lock_owner(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path(LOCK).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # being written, or garbled: judged by its age

    def lock_is_stale(self, now: float | None = None) -> bool:
        owner = self.lock_owner()
        if owner is None:
            return False
        try:
            age = (time.time() if now is None else now) - self.path(LOCK).stat().st_mtime
        except FileNotFoundError:
            return False
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
            if not _alive(owner["pid"]):
                return True
            # alive: stale only when frozen past its lease (a lock without one: never)
            return "lease_interval" in owner and lease.expired(owner, age)
        if not owner:  # unreadable: a crash between create and write leaves it empty
            return age > 60.0
        return lease.expired(owner, age)  # another host: its heartbeat stopped

    def try_lock(self) -> bool:
        """Take the shard's lock (True), or leave it to its live owner (False)."""
        lock = self.path(LOCK)
        lock.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self.lock_is_stale():
                    return False
                lock.unlink(missing_ok=True)  # a dead owner's lock
                continue
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                     **lease.fields()}
            with os.fdopen(fd, "w") as f:
                json.dump(owner, f)
            lease.hold(lock, owner)  # the heartbeat renews it until unlock()
            return True
        return False

    def holds_lock(self) -> bool:
        """Whether this process still holds the shard's lock (it may have been taken over
        while this process was frozen past its lease).

        Returns
        -------
        bool
        """
        return lease.holds(self.path(LOCK))

    def unlock(self) -> None:
        lease.release(self.path(LOCK))
        owner = self.lock_owner()
        if owner and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
            self.path(LOCK).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _savez(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
        np.savez_compressed(f, **arrays)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete ``*.tmp*`` files left by a killed run; return how many.

    A shard whose lock has a live owner keeps its temporaries: a concurrent run is writing
    them.
    """
    n = 0
    if not directory.is_dir():
        return 0
    live = set()
    for lock in directory.rglob("*" + LOCK):
        shard = Shard.from_base(lock.with_suffix(""))
        if not shard.lock_is_stale():
            live.add(str(shard.base) + ".")
    for p in directory.rglob("*.tmp*"):
        if any(str(p).startswith(b) for b in live):
            continue
        p.unlink(missing_ok=True)
        n += 1
    return n


def remove_stale_locks(directory: Path) -> int:
    """Delete locks whose owner died (a run killed after its shard was written but before
    it unlocked leaves one on a finished shard that no later run would take over)."""
    n = 0
    if directory.is_dir():
        for lock in directory.rglob("*" + LOCK):
            if Shard.from_base(lock.with_suffix("")).lock_is_stale():
                lock.unlink(missing_ok=True)
                n += 1
    return n


def shard_bases(root: str | os.PathLike) -> list[Path]:
    """Every shard (``<dir>/<key>.<hash>``) with a file under ``root``."""
    bases = set()
    for ext in (*DATA_SUFFIXES, SIDECAR):
        for p in Path(root).rglob("*" + ext):
            if ".tmp" not in p.name and p.is_file():
                bases.add(p.with_suffix(""))
    return sorted(bases)


def verify_tree(root: str | os.PathLike) -> dict[str, list[str]]:
    """``{shard: problems}`` for every shard under ``root`` that is not finished, plus
    stray temporaries and stale locks (keyed by their path)."""
    broken = {}
    for base in shard_bases(root):
        problems = Shard.from_base(base).verify()
        if problems:
            broken[str(base)] = problems
    for p in Path(root).rglob("*.tmp*"):
        broken[str(p)] = ["temporary file of an interrupted write"]
    for p in Path(root).rglob("*" + LOCK):
        shard = Shard.from_base(p.with_suffix(""))
        if shard.lock_is_stale():
            broken[str(p)] = [f"stale lock (owner {shard.lock_owner()})"]
    return broken


def finished_shards(root: str | os.PathLike) -> list[Shard]:
    return [s for s in map(Shard.from_base, shard_bases(root)) if s.done()]


def load_runs(root: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, Shard]]:
    """Every finished (verified) shard table under ``root``, concatenated, and the shards.

    Each row gets ``_file`` (its shard's path under ``root``, which names the shard: the
    same key and hash may exist under two backends) and ``_mtime`` (its table's file time,
    newest wins when runs overlap); the shards come keyed by that ``_file``.
    """
    tables, shards = [], {}
    for s in finished_shards(root):
        name = s.base.relative_to(root).as_posix()
        t = s.read_table()
        t["_mtime"] = s.path(".parquet").stat().st_mtime
        t["_file"] = name
        tables.append(t)
        shards[name] = s
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), shards


def load_tables(root: str | os.PathLike) -> pd.DataFrame:
    """Concatenate every finished (verified) shard table under ``root``."""
    tables = [s.read_table() for s in finished_shards(root)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


class Examples:
    """Example images of a shard, each with its name and, for MRI, its slice and angle.

    Built from a mapping whose keys are ``(slice, angle, name)`` tuples (``slice`` an int,
    ``angle`` a float in degrees) or plain names (no slice or angle: DIV2K's crops). A key
    assigned again keeps its place. Stored in the ``.npz`` as arrays ``image0 ...`` plus the
    index columns ``index_name``, ``index_slice`` (-1: none) and ``index_angle`` (NaN: none),
    so no reader parses a name to find a slice or an angle.
    """

    def __init__(self, images: Examples | Mapping | None = None):
        self._images: dict[tuple[int | None, float | None, str], np.ndarray] = {}
        items = images._images.items() if isinstance(images, Examples) else (
            (images or {}).items())
        for key, image in items:
            sl, angle, name = key if isinstance(key, tuple) else (None, None, key)
            self._images[(None if sl is None else int(sl),
                           None if angle is None else float(angle), str(name))] = image

    def __len__(self) -> int:
        return len(self._images)

    def items(self):
        """``((slice, angle, name), image)`` pairs, in the order they were added."""
        return self._images.items()

    def at(self, slice: int | None = None, angle: float | None = None) -> dict[str, np.ndarray]:
        """``{name: image}`` of one slice and angle (none: the images without either), in
        the order they were added."""
        return {n: img for (s, a, n), img in self._images.items() if s == slice and a == angle}

    def positions(self, name: str) -> list[tuple[int, float]]:
        """Sorted ``(slice, angle)`` pairs that have an image called ``name``."""
        return sorted((s, a) for s, a, n in self._images if n == name and s is not None)

    def by_angle(self, name: str, slice: int) -> dict[float, np.ndarray]:
        """``{angle: image}`` of ``name`` on one slice, by increasing angle."""
        found = {a: img for (s, a, n), img in self._images.items()
                 if n == name and s == slice and a is not None}
        return dict(sorted(found.items()))

    def arrays(self) -> dict[str, np.ndarray]:
        """The ``.npz`` contents (see the class docstring)."""
        keys = list(self._images)
        out = {f"image{k}": img for k, img in enumerate(self._images.values())}
        out["index_name"] = np.array([n for _, _, n in keys], dtype=str)
        out["index_slice"] = np.array([-1 if s is None else s for s, _, _ in keys],
                                      dtype=np.int64)
        out["index_angle"] = np.array([np.nan if a is None else a for _, a, _ in keys],
                                      dtype=np.float64)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Examples:
        """The inverse of :meth:`arrays`."""
        names, slices, angles = (arrays[f"index_{c}"] for c in ("name", "slice", "angle"))
        return cls({(None if s < 0 else int(s), None if np.isnan(a) else float(a), str(n)):
                    arrays[f"image{k}"]
                    for k, (n, s, a) in enumerate(zip(names, slices, angles, strict=True))})
