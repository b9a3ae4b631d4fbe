"""Shard files: atomic writes, verification, per-shard locks, resume, listing.

A shard ``<root>/<experiment>/<backend>/<key>.<hash>`` is made of ``.parquet`` (the tidy table),
``.csv`` (the same rows), ``.npz`` (example images for the panels, with their name, slice and
angle as data: :class:`Examples`; no image when the shard keeps none) and ``.json`` (the
sidecar: provenance; under ``"shard"`` the shard's key, config hash and row count; under
``"files"`` each file's size in bytes, SHA-256 and row count; last, ``"sidecar_sha256"``, the
SHA-256 of everything else in it). Every file is written to a temporary name in the same
directory (``<file>.layerbench.tmp-XXXXXXXX<ext>``), fsynced and renamed; the sidecar is
written last.

A shard is finished only when (:meth:`Shard.verify`) its sidecar parses and matches its own
checksum, names the shard its file names name (key and hash: a shard copied over another is
not), lists exactly the files of :data:`DATA_SUFFIXES` (fixed here, not by the sidecar), and
every file has the listed size, checksum and row count, the tables the shard's row count and
every row the shard's name. Anything else (a killed write, a truncated or garbled file, a file
edited, copied or deleted by hand) is reported by name and the shard is recomputed. A killed
run leaves at worst stray temporaries and a stale lock, which the next run removes; only files
named as this module names its temporaries are ever removed.

This module is the one reader of run files: the runner's resume, ``layerbench verify`` and the
report (:func:`load_runs`) all read shards through :meth:`Shard.verify`, so a broken shard is
never reported on.

Locks: a run computes a shard only while it holds ``<shard>.lock`` (created with
``O_CREAT | O_EXCL``; a JSON object recording the owner's pid, host, the lock's time, the
owner process's start time, which tells a reused pid from the owner, and its lease interval).
A lock is a lease (:mod:`.lease`): the owner's heartbeat renews it. It is stale, and may be
taken over, when its owner is on this host and no longer alive (or its pid now belongs to
another process), when it is not a JSON object (after a grace period for a lock being
written), or when it has not been renewed for ``lease.MISSED`` intervals (an owner killed or
frozen on any host of a shared file system). Readers ignore fields they do not know.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
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

#: The files every finished shard has (besides its sidecar); fixed here, not by the sidecar.
DATA_SUFFIXES = (".parquet", ".csv", ".npz")
SIDECAR = ".json"
LOCK = ".lock"
#: The sidecar key of the sidecar's own checksum (over everything else in it).
SIDECAR_DIGEST = "sidecar_sha256"
#: The marker of this module's temporary files: ``<file>.layerbench.tmp-XXXXXXXX<ext>``.
TMP_MARK = ".layerbench.tmp-"
_TMP_NAME = re.compile(re.escape(TMP_MARK) + r"[A-Za-z0-9_]{8}(\.[A-Za-z0-9]+)?$")
# a lock that is not a JSON object is being written (created, not yet filled) for at most
# this long; after it, it is a broken lock and stale
LOCK_UNREADABLE_GRACE = 60.0


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
    fd, tmp = tempfile.mkstemp(prefix=path.name + TMP_MARK, suffix=suffix, dir=path.parent)
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


def write_atomic(path: str | os.PathLike, write: Callable[[str], None], suffix: str) -> None:
    """Write ``path`` all or nothing: ``write(tmp)`` to a temporary name in its directory
    (``<name>.layerbench.tmp-XXXXXXXX<suffix>``), fsync, rename to ``path``, fsync the
    directory. A killed write leaves the temporary (see :func:`is_temporary`), never a
    partial ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    write : callable
        Writes the contents to the temporary path it is given.
    suffix : str
        The temporary name's extension (writers that infer the format from it need it).
    """
    _atomic(Path(path), write, suffix)


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as this module names its temporary files
    (``<file>.layerbench.tmp-XXXXXXXX<ext>``, :data:`TMP_MARK`).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    bool
    """
    return bool(_TMP_NAME.search(Path(path).name))


def _canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def sidecar_text(record: Mapping[str, Any]) -> str:
    """The sidecar file's text of ``record``: its JSON with, last, its own checksum
    (:data:`SIDECAR_DIGEST`: the SHA-256 of the canonical JSON of the rest).

    Parameters
    ----------
    record : mapping
        Provenance, ``"shard"`` and ``"files"``; values JSON can hold (others are written
        as their ``str``).

    Returns
    -------
    str
    """
    plain = json.loads(json.dumps(record, default=str))  # as a reader will see it
    plain.pop(SIDECAR_DIGEST, None)
    plain[SIDECAR_DIGEST] = hashlib.sha256(_canonical(plain)).hexdigest()
    return json.dumps(plain, indent=1)


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """The record of a sidecar whose checksum matches its contents.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        Without the checksum.

    Raises
    ------
    ValueError
        The file is not JSON, not an object, has no checksum (written by an older
        layerbench) or its contents differ from its checksum (edited or garbled).
    OSError
        The file cannot be read.
    """
    record = json.loads(Path(path).read_text())
    if not isinstance(record, dict):
        raise ValueError(expected("sidecar", "a JSON object", type(record).__name__))
    digest = record.pop(SIDECAR_DIGEST, None)
    if digest is None:
        raise ValueError(f"no {SIDECAR_DIGEST!r} (a sidecar of an older layerbench: the "
                         "shard is recomputed)")
    if digest != hashlib.sha256(_canonical(record)).hexdigest():
        raise ValueError("its contents differ from its own checksum (edited or garbled)")
    return record


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks, as hexadecimal."""
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
        """The shard's file with suffix ``ext`` (``.parquet``, ``.npz``, the sidecar, the lock)."""
        return self.base.with_name(self.base.name + ext)

    def started(self) -> bool:
        """Whether any data file or the sidecar of the shard exists (finished or not)."""
        return any(self.path(e).exists() for e in (*DATA_SUFFIXES, SIDECAR))

    @property
    def digest(self) -> str:
        """The config hash in the shard's file names."""
        return self.base.name.rpartition(".")[2]

    def verify(self) -> list[str]:
        """Problems that keep the shard from counting as finished (empty: finished).

        Returns
        -------
        list of str
            One line per problem, each naming the file (see the module docstring for what
            is checked).
        """
        side = self.path(SIDECAR)
        if not side.is_file():
            return [f"{side.name}: sidecar missing (the write did not finish)"]
        try:
            record = read_sidecar(side)
            files, shard = record["files"], record["shard"]
            if not (isinstance(files, dict) and isinstance(shard, dict)):
                raise ValueError(expected("'files' and 'shard'", "JSON objects",
                                          [type(files).__name__, type(shard).__name__]))
        except Exception as err:  # truncated, empty, garbled, edited or foreign
            return [f"{side.name}: unreadable sidecar ({type(err).__name__}: {err})"]
        named = (shard.get("key"), shard.get("hash"))
        if named != (self.key, self.digest):
            return [f"{side.name}: the sidecar of shard {named[0]}.{named[1]}, not of "
                    f"{self.base.name} (files copied over from another shard?)"]
        if set(files) != set(DATA_SUFFIXES):
            return [f"{side.name}: lists files {sorted(files)}; a shard has exactly "
                    f"{sorted(DATA_SUFFIXES)}"]
        rows = shard.get("rows")
        problems = []
        for ext in DATA_SUFFIXES:
            want, p = files[ext], self.path(ext)
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
                elif ext != ".npz" and want["rows"] != rows:
                    problems.append(f"{p.name}: {want['rows']} rows, the shard has {rows}")
                elif ext == ".parquet" and not self._rows_name_the_shard(p):
                    problems.append(f"{p.name}: its rows name another shard (column 'shard')")
            except Exception as err:
                problems.append(f"{p.name}: unreadable ({type(err).__name__}: {err})")
        return problems

    def _rows_name_the_shard(self, path: Path) -> bool:
        """Every row's ``shard`` column (when the table has one) is this shard's name."""
        import pyarrow.parquet as pq

        if "shard" not in pq.ParquetFile(path).schema_arrow.names:
            return True
        column = pq.read_table(path, columns=["shard"]).column("shard")
        return all(v == self.base.name for v in column.unique().to_pylist())

    def rows(self) -> int:
        """The shard's row count as its sidecar records it (call on a verified shard).

        Returns
        -------
        int
        """
        return int(read_sidecar(self.path(SIDECAR))["shard"]["rows"])

    def done(self) -> bool:
        """Whether the shard is finished: :meth:`verify` finds no problem."""
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
        arrays = Examples(examples).arrays()  # written when empty too: every shard has one
        _atomic(self.path(".npz"), lambda t: _savez(t, arrays), ".npz")
        _atomic(self.path(".csv"), lambda t: table.to_csv(t, index=False), ".csv")
        _atomic(self.path(".parquet"), lambda t: table.to_parquet(t, index=False), ".parquet")
        files = {e: describe(self.path(e)) for e in DATA_SUFFIXES}
        sidecar = {**provenance, "shard": {"key": self.key, "hash": self.digest,
                                           "rows": len(table)}, "files": files}
        text = sidecar_text(sidecar)
        _atomic(self.path(SIDECAR), lambda t: Path(t).write_text(text), SIDECAR)

    def read_table(self) -> pd.DataFrame:
        """The shard's rows (its ``.parquet`` table)."""
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
        """The lock's record (``pid``, ``host``, ``time``, ``start``, maybe more); ``{}``
        when it is being written, garbled or not a JSON object; ``None`` without a lock.

        Returns
        -------
        dict or None
        """
        try:
            owner = json.loads(self.path(LOCK).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # being written, or garbled: judged by its age
        return owner if isinstance(owner, dict) else {}

    def lock_problem(self, now: float | None = None) -> str | None:
        """Why the shard's lock is stale and may be taken over, or ``None`` (no lock, or a
        live owner's).

        Stale: a lock that is JSON but not an object (never a lock being written); one that
        does not parse and is older than ``LOCK_UNREADABLE_GRACE`` seconds (a crash between
        creating and filling it); on this host, one whose pid is not running or now runs
        another process (its start time differs from the recorded ``start``); a lease not
        renewed for ``lease.MISSED`` intervals (:func:`.lease.expired`): on another host, or
        on this one when its pid runs but the owner is frozen (a lock with a lease interval)
        or cannot be told from another process (a lock without a start time).

        Parameters
        ----------
        now : float, optional
            The time to judge ages at (default: now).

        Returns
        -------
        str or None
        """
        lock = self.path(LOCK)
        try:
            text = lock.read_text()
            age = (time.time() if now is None else now) - lock.stat().st_mtime
        except FileNotFoundError:
            return None
        except OSError as err:
            return f"unreadable lock ({err})"
        try:
            owner = json.loads(text)
        except ValueError:
            if age > LOCK_UNREADABLE_GRACE:
                return f"unreadable lock ({len(text)} bytes, {age:.0f} s old)"
            return None
        if not isinstance(owner, dict):
            return f"broken lock (expected a JSON object, found {text.strip()[:40]!r})"
        pid, host = owner.get("pid"), owner.get("host")
        if host == socket.gethostname() and isinstance(pid, int) and not isinstance(pid, bool):
            if not _alive(pid):
                return f"stale lock (owner pid {pid} on this host is not running)"
            start = owner.get("start")
            now_start = process_start(pid) if start is not None else None
            if now_start is not None and now_start != start:
                return (f"stale lock (pid {pid} now runs another process: it started "
                        "after the lock's owner)")
        if lease.expired(owner, age):
            return (f"stale lock (owner pid {owner.get('pid')!r} on {owner.get('host')!r}: "
                    f"not renewed for {age:.0f} s, lease {lease.stale_after(owner):.0f} s)")
        return None

    def lock_is_stale(self, now: float | None = None) -> bool:
        """Whether the shard's lock may be taken over (:meth:`lock_problem`).

        Parameters
        ----------
        now : float, optional
            The time to judge ages at (default: now).

        Returns
        -------
        bool
        """
        return self.lock_problem(now) is not None

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
                     "start": process_start(os.getpid()), **lease.fields()}
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
        """Stop renewing the lease and remove the lock if this process on this host owns it."""
        lease.release(self.path(LOCK))
        owner = self.lock_owner()
        if owner and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
            self.path(LOCK).unlink(missing_ok=True)


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, as ``<boot id>:<clock ticks since boot>`` (Linux
    ``/proc``): a pid reused by a later process gives another value. ``None`` where it
    cannot be read (no such process, another system).

    Parameters
    ----------
    pid : int

    Returns
    -------
    str or None
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None  # field 22: starttime


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
    """Delete the temporary files a killed run left (named as :func:`is_temporary` says;
    no other file is touched); return how many.

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
    for p in directory.rglob("*" + TMP_MARK + "*"):
        if not is_temporary(p) or any(str(p).startswith(b) for b in live):
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
            if not is_temporary(p) and p.is_file():
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
    for p in Path(root).rglob("*" + TMP_MARK + "*"):
        if is_temporary(p):
            broken[str(p)] = ["temporary file of an interrupted write"]
    for p in Path(root).rglob("*" + LOCK):
        problem = Shard.from_base(p.with_suffix("")).lock_problem()
        if problem is not None:
            broken[str(p)] = [problem]
    return broken


def finished_shards(root: str | os.PathLike) -> list[Shard]:
    """Every finished (verified) shard under ``root``."""
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
