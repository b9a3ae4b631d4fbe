"""``layerbench verify [root]``: check every shard of a results tree against its sidecar.

Prints one line per problem (shard, file, what is wrong) and returns exit status 1 when
anything is broken, 0 when every shard is finished and whole. The command line (``root``,
default ``results/runs``) is parsed in :mod:`layerbench.cli`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .store import shard_bases, verify_tree


def verify(root: str | os.PathLike) -> int:
    """Check the tree under ``root``, print what is broken; return the exit status."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results root not found: {root}")
    broken = verify_tree(root)
    n = len(shard_bases(root))
    for name, problems in broken.items():
        for problem in problems:
            print(f"BROKEN {name}: {problem}")
    bad = sum(1 for b in broken if not b.endswith((".lock",)) and ".tmp" not in b)
    print(f"layerbench verify {root}: {n} shards, {n - bad} finished and whole, "
          f"{len(broken)} problems")
    return 1 if broken else 0


if __name__ == "__main__":
    import sys

    from layerbench.cli import main

    main(["verify", *sys.argv[1:]])
