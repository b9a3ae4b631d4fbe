"""``layerbench <command> [hydra overrides]``: a thin dispatcher to the Hydra entry points.

Each command lives in its own module with its own ``@hydra.main`` function and its own
top-level config in ``conf/``; this file only maps names to them, imported lazily.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "crosscheck": ("layerbench.crosscheck", "cross-check every backend against numpy_ref and TF"),
    "reproduce": ("layerbench.experiments.run", "run a thesis experiment (DIV2K, MRI)"),
    "report": ("layerbench.report.run", "turn run tables into results/tables and figures"),
    "train": ("layerbench.models.train", "train a model through the Layer protocol"),
    "bench-report": ("layerbench.report.bench", "asv results -> bench_summary table and figures"),
    "peer-compare": ("layerbench.models.peer_compare", "backends vs the Keras peer, side by side"),
}


def _usage() -> str:
    lines = ["usage: layerbench <command> [hydra overrides ...]", "", "commands:"]
    lines += [f"  {name:12} {doc}" for name, (_, doc) in COMMANDS.items()]
    lines += ["", "Each command takes Hydra overrides, e.g. `layerbench crosscheck --help`."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        raise SystemExit(0 if argv else 2)
    name = argv[0]
    if name not in COMMANDS:
        print(f"layerbench: unknown command {name!r}; expected one of {list(COMMANDS)}\n")
        print(_usage())
        raise SystemExit(2)
    module = importlib.import_module(COMMANDS[name][0])
    sys.argv = [f"layerbench {name}", *argv[1:]]  # Hydra parses sys.argv
    module.main()


if __name__ == "__main__":
    main()
