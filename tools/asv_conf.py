"""Write the project's asv config for another output folder: ``<out>/asv.conf.json`` with
results, dashboard and environments under ``<out>/{asv,html,env}`` and absolute paths to
this checkout, so asv runs from any working directory.

Used by ``nox -s bench -- --quick`` (``results/quick``, whose one-sample tiny-shape numbers
must never mix with the real results in ``results/asv``) and by the dashboard test (a
temporary folder).

Usage: ``python tools/asv_conf.py results/quick`` (prints the config's path)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write(out: Path, root: Path = ROOT, overrides: dict | None = None) -> Path:
    """``root/asv.conf.json`` redirected to ``out``, with ``overrides`` (other keys, e.g. the
    virtualenv of ``tools/bench_compare.py``); returns the written config's path."""
    out = Path(out).resolve()
    conf = json.loads((root / "asv.conf.json").read_text())
    conf.update(repo=str(root), benchmark_dir=str(root / "bench"),
                results_dir=str(out / "asv"), html_dir=str(out / "html"),
                env_dir=str(out / "env"), **(overrides or {}))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=4) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for asv/, html/, env/ and the config")
    print(write(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
