"""``layerbench verify [root]``: check every shard of a results tree against its sidecar.

Prints one line per problem (shard, file, what is wrong) and one per empty shard (finished,
but with zero rows: nothing was scored), and returns exit status 1 when anything is broken or
empty, 0 when every shard is finished, whole and has rows. The report's tables and figures are
checked against its manifest too (:mod:`layerbench.report.manifest`). The command line (``root``,
default ``results/runs``) is parsed in :mod:`layerbench.cli`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .store import Shard, is_temporary, shard_bases, verify_tree


def empty_shards(root: str | os.PathLike, broken: dict[str, list[str]]) -> list[str]:
    """The shards under ``root`` that are whole (not in ``broken``) but hold zero rows.

    Parameters
    ----------
    root : path-like
    broken : dict
        :func:`.store.verify_tree` of ``root``.

    Returns
    -------
    list of str
        Shard names.
    """
    empty = []
    for base in shard_bases(root):
        if str(base) in broken:
            continue
        if Shard.from_base(base).rows() == 0:
            empty.append(str(base))
    return empty


def verify(root: str | os.PathLike, report: str | os.PathLike | None = None) -> int:
    """Check the tree under ``root``, print what is broken; return the exit status.

    Parameters
    ----------
    root : path-like
        A results tree of ``layerbench reproduce``.
    report : path-like, optional
        A report's output root to check against its manifest (``report_manifest.json``);
        default: the parent of ``root`` when it holds one (``results`` for
        ``results/runs``).

    Returns
    -------
    int
        0 when every shard (and the report) is whole, 1 otherwise.
    """
    from layerbench.report import manifest

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results root not found: {root}")
    if report is None and (root.parent / manifest.MANIFEST).is_file():
        report = root.parent
    report_problems = manifest.check(report) if report is not None else []
    for problem in report_problems:
        print(f"BROKEN report: {problem}")
    broken = verify_tree(root)
    n = len(shard_bases(root))
    for name, problems in broken.items():
        for problem in problems:
            print(f"BROKEN {name}: {problem}")
    empty = empty_shards(root, broken)
    for name in empty:
        print(f"EMPTY {name}: 0 rows (finished, but nothing was scored)")
    bad = sum(1 for b in broken if not b.endswith((".lock",)) and not is_temporary(b))
    print(f"layerbench verify {root}: {n} shards, {n - bad - len(empty)} finished and whole, "
          f"{len(empty)} empty, {len(broken)} problems"
          + (f"; report {report}: {len(report_problems)} problems" if report is not None
             else ""))
    return 1 if broken or empty or report_problems else 0


if __name__ == "__main__":
    import sys

    from layerbench.cli import main

    main(["verify", *sys.argv[1:]])
