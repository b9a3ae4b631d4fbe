"""``layerbench verify [root]``: check every shard of a results tree against its sidecar.

Prints one line per problem (shard, file, what is wrong) and exits 1 when anything is broken,
0 when every shard is finished and whole. ``root`` defaults to ``results/runs``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .store import shard_bases, verify_tree


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print("usage: layerbench verify [root]   (default root: results/runs)")
        raise SystemExit(0 if args and args[0] in ("-h", "--help") else 2)
    root = Path(args[0] if args else "results/runs")
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
    raise SystemExit(1 if broken else 0)


if __name__ == "__main__":
    main()
