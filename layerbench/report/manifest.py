"""The report's manifest: every table and figure a report wrote, with its size and SHA-256.

``<out>/report_manifest.json`` is written last, after every file of the report was written
(each to a temporary name and renamed, so a killed report leaves whole files or temporaries,
never a truncated table or figure under its own name). ``layerbench verify`` checks the
report's files against it (:func:`check`): a file missing, truncated, emptied or changed, and
temporaries left by a killed report, are named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from layerbench.confdir import FIGURES_DIR, TABLES_DIR
from layerbench.experiments import store

MANIFEST = "report_manifest.json"
FORMAT = "layerbench-report-manifest"


def write(out: str | os.PathLike, paths: Iterable[str | os.PathLike]) -> Path:
    """Write the manifest of the files ``paths`` under ``out`` (atomically, last).

    Parameters
    ----------
    out : str or os.PathLike
        The report's output root.
    paths : iterable of path-like
        The files the report wrote, under ``out``.

    Returns
    -------
    pathlib.Path
        The manifest.
    """
    out = Path(out)
    files = {}
    for p in sorted(map(Path, paths)):
        files[p.relative_to(out).as_posix()] = {"bytes": p.stat().st_size,
                                                "sha256": store.sha256(p)}
    text = json.dumps({"format": FORMAT, "files": files}, indent=1)
    target = out / MANIFEST
    store.write_atomic(target, lambda t: Path(t).write_text(text), ".json")
    return target


def check(out: str | os.PathLike) -> list[str]:
    """Problems of the report under ``out``: one line per file that differs from the
    manifest, and per temporary file a killed report left (empty: whole).

    Parameters
    ----------
    out : str or os.PathLike
        The report's output root (holding the manifest).

    Returns
    -------
    list of str
    """
    out = Path(out)
    target = out / MANIFEST
    try:
        record = json.loads(target.read_text())
        files = record["files"]
        if record.get("format") != FORMAT or not isinstance(files, dict):
            raise ValueError(f"expected a {FORMAT} with 'files'")
    except FileNotFoundError:
        return [f"{target}: missing (the report did not finish)", *_temporaries(out, {})]
    except (OSError, ValueError, KeyError, TypeError) as err:
        return [f"{target}: unreadable manifest ({type(err).__name__}: {err})",
                *_temporaries(out, {})]
    problems = []
    for name, want in files.items():
        p = out / name
        try:
            if not isinstance(want, dict) or ".." in Path(name).parts or Path(name).is_absolute():
                problems.append(f"{target}: entry {name!r}: expected a file under {out}")
            elif not p.is_file():
                problems.append(f"{p}: missing")
            elif p.stat().st_size != want.get("bytes"):
                problems.append(f"{p}: {p.stat().st_size} bytes, the manifest says "
                                f"{want.get('bytes')}")
            elif store.sha256(p) != want.get("sha256"):
                problems.append(f"{p}: checksum differs from the manifest's")
        except OSError as err:
            problems.append(f"{p}: unreadable ({err})")
    return problems + _temporaries(out, files)


def _temporaries(out: Path, files: dict) -> list[str]:
    """Temporaries a killed report left in its folders (tables, figures, and those of
    ``files``)."""
    folders = {out / TABLES_DIR, out / FIGURES_DIR} | {(out / n).parent for n in files}
    return [f"{p}: temporary file of an interrupted report write"
            for folder in sorted(folders) if folder.is_dir()
            for p in sorted(folder.iterdir()) if store.is_temporary(p)]
