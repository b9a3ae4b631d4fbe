"""Shard files: atomic writes, resume, listing.

A shard ``<root>/<experiment>/<backend>/<key>.<hash>`` is made of ``.parquet`` (the tidy table,
written last: its presence marks the shard finished), ``.csv`` (the same rows), ``.json`` (the
provenance sidecar) and optionally ``.npz`` (example images for the panels). Each file is written
to a temporary name in the same directory and renamed, so a killed run leaves either a finished
shard or stray ``*.tmp*`` files that the next run removes, never a truncated table.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def config_hash(obj: Any, length: int = 10) -> str:
    """Stable short hash of a JSON-able object (the settings that change a shard's rows)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _atomic(path: Path, write: Callable[[str], None], suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Shard:
    """The files of one shard."""

    def __init__(self, directory: Path, key: str, digest: str):
        self.key = key
        self.base = Path(directory) / f"{key}.{digest}"

    def path(self, ext: str) -> Path:
        return self.base.with_name(self.base.name + ext)

    def done(self) -> bool:
        return self.path(".parquet").is_file() and self.path(".json").is_file()

    def clean(self) -> None:
        """Remove leftovers of an interrupted write and any previous version of the shard."""
        for p in self.base.parent.glob(self.base.name + ".*"):
            p.unlink(missing_ok=True)

    def write(self, table: pd.DataFrame, provenance: dict[str, Any],
              examples: dict[str, np.ndarray] | None = None) -> None:
        """Write examples, sidecar, CSV and finally the parquet table, each atomically."""
        if examples:
            _atomic(self.path(".npz"), lambda t: _savez(t, examples), ".npz")
        _atomic(self.path(".json"),
                lambda t: Path(t).write_text(json.dumps(provenance, indent=1, default=str)),
                ".json")
        _atomic(self.path(".csv"), lambda t: table.to_csv(t, index=False), ".csv")
        _atomic(self.path(".parquet"), lambda t: table.to_parquet(t, index=False), ".parquet")


def _savez(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
        np.savez_compressed(f, **arrays)


def remove_stale_temporaries(directory: Path) -> int:
    """Delete ``*.tmp*`` files left by a killed run; return how many."""
    n = 0
    if directory.is_dir():
        for p in directory.rglob("*.tmp*"):
            p.unlink(missing_ok=True)
            n += 1
    return n


def load_tables(root: str | os.PathLike) -> pd.DataFrame:
    """Concatenate every finished shard table under ``root`` (runs and multiruns alike)."""
    paths = sorted(p for p in Path(root).rglob("*.parquet") if ".tmp" not in p.name)
    if not paths:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def load_examples(root: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """``{shard file stem: {name: array}}`` for every finished shard with examples."""
    out = {}
    for p in sorted(Path(root).rglob("*.npz")):
        if ".tmp" not in p.name and p.with_suffix(".parquet").is_file():
            with np.load(p) as f:
                out[p.stem] = {k: f[k] for k in f.files}
    return out
