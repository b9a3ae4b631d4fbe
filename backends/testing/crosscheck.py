"""Cross-check every case on every backend against numpy_ref float64 and against TensorFlow.

Rows (one per case x backend x dtype x oracle x tensor) carry the errors, the budget and the
verdict (:data:`~backends.testing.compare.ROW_FIELDS`). Two oracles:

``numpy``       actual = backend in float32/float64, desired = numpy_ref in float64 (every
                backend, TensorFlow included; numpy_ref float64 against itself is skipped);
``tensorflow``  actual = backend in a dtype, desired = TensorFlow in the same dtype (every
                backend but TensorFlow).

Writing uses only the ``csv`` module; files are replaced atomically (temp file, then rename).
The markdown report of the rows is the application's (``layerbench crosscheck``), which owns
the project's one markdown table writer.
"""

from __future__ import annotations

import csv
import os
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NotSupportedError
from ..registry import ORACLE, REFERENCE, available_backends, get_backend
from .catalogue import CASES, Case
from .compare import ROW_FIELDS, compare_results
from .harness import run_case

__all__ = ["atomic_write", "crosscheck", "summarize", "write_csv"]

ORACLES = (REFERENCE, ORACLE)  # ("numpy", "tensorflow"): the registry's roles


def _row(case: Case, backend: str, dtype, against: str, status: str, detail: str) -> dict:
    return {
        "layer": case.layer, "case": case.name, "backend": backend,
        "dtype": np.dtype(dtype).name, "against": against, "tensor": "*",
        "max_abs_err": float("nan"), "max_rel_err": float("nan"), "atol": float("nan"),
        "rtol": float("nan"), "tier": "", "passed": False, "status": status, "detail": detail,
    }


def _run(case, backend, dtype, cache) -> dict | Exception:
    key = (backend, np.dtype(dtype).name)
    if key not in cache:
        try:
            cache[key] = run_case(case, backend, dtype)
        except NotSupportedError as err:
            cache[key] = err
        except Exception as err:  # a crash is a result too: report it, keep checking
            cache[key] = RuntimeError(
                f"{type(err).__name__}: {err} | " + traceback.format_exc(limit=3).replace("\n", " ")
            )
    return cache[key]


def _pair_rows(case, backend, dtype, against, actual, desired) -> list[dict]:
    for side, result in (("backend", actual), ("oracle", desired)):
        if isinstance(result, NotSupportedError):
            return [_row(case, backend, dtype, against, "skip", f"{side} not supported: {result}")]
        if isinstance(result, Exception):
            return [_row(case, backend, dtype, against, "error", f"{side} raised {result}")]
    return compare_results(actual, desired, case=case, backend=backend, dtype=dtype,
                           against=against)


def crosscheck(
    cases: Iterable[Case] = CASES,
    backends: Sequence[str] | None = None,
    dtypes: Sequence[Any] = (np.float32, np.float64),
    against: Sequence[str] = ORACLES,
    progress: Callable[[Iterable[Case]], Iterable[Case]] | None = None,
) -> list[dict[str, Any]]:
    """Run the cross-check and return its rows.

    Parameters
    ----------
    cases : iterable of Case
    backends : sequence of str, optional
        Backends under test; default: every available one. numpy_ref always runs (it is the
        ``numpy`` oracle); TensorFlow runs as the ``tensorflow`` oracle when it is available.
    dtypes : sequence of dtype
    against : sequence of {"numpy", "tensorflow"}
        Oracles to compare with; an unavailable oracle yields no rows (``summarize`` says so).
    progress : callable, optional
        Wraps the case iterable (e.g. ``tqdm.tqdm``).
    """
    names = tuple(backends) if backends is not None else available_backends()
    for name in names:
        get_backend(name)  # an unknown or broken backend fails here, loudly
    bad = set(against) - set(ORACLES)
    if bad:
        raise ValueError(f"against: expected a subset of {ORACLES}, received {sorted(bad)}")
    oracles = [o for o in against if o == REFERENCE or o in available_backends()]
    dts = [np.dtype(d) for d in dtypes]
    rows: list[dict[str, Any]] = []
    for case in (progress(list(cases)) if progress else cases):
        cache: dict = {}
        for oracle in oracles:
            for name in names:
                if name == oracle == ORACLE:
                    continue
                for dt in dts:
                    if oracle == name == REFERENCE and dt == np.float64:
                        continue  # the reference against itself proves nothing
                    desired_dt = np.float64 if oracle == REFERENCE else dt
                    desired = _run(case, oracle, desired_dt, cache)
                    actual = _run(case, name, dt, cache)
                    rows.extend(_pair_rows(case, name, dt, oracle, actual, desired))
    return rows


def summarize(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], Counter]:
    """Status counts per (backend, dtype, oracle)."""
    out: dict[tuple[str, str, str], Counter] = {}
    for r in rows:
        out.setdefault((r["backend"], r["dtype"], r["against"]), Counter())[r["status"]] += 1
    return dict(sorted(out.items()))


def atomic_write(path: Path, write: Callable[[Any], None]) -> Path:
    """Call ``write(fh)`` on a temporary text file beside ``path``, then rename it there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a results table is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> Path:
    """All rows, columns :data:`ROW_FIELDS`, floats in repr precision."""
    def write(fh):
        w = csv.DictWriter(fh, fieldnames=ROW_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return atomic_write(Path(path), write)
