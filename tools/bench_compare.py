"""Regression check between two commits, as numpy and scipy run it (``spin bench --compare``
wraps ``asv continuous``): asv builds REF and HEAD from git, each installed as a wheel into its
own virtualenv, times a subset of the benchmarks on both, prints ``asv compare``'s table and
exits non-zero when a benchmark got slower than ``--factor`` times REF's time (1) or failed (2).

Run by ``nox -s bench -- --compare REF [--factor F] [--bench REGEX]``. The default factor is
1.5, as scikit-image's CI uses on shared runners (numpy uses 1.05): on this project's shared
2-core machine, two commits with the same kernels gave ratios of 0.71-2.08 (2-thread rows
noisiest); asv's own significance test marked the two above 1.5 as not significant (``~``),
so the check passed. Only committed code is timed
(asv builds commits, not the working tree). The virtualenv holds the package with its
``numba`` extra, not TensorFlow (1.3 GB), so TensorFlow's rows are skipped as unavailable.
Results, environments and wheels live under ``.asv/compare`` (git-ignored), never in
``results/asv``.

Usage: ``python tools/bench_compare.py HEAD~1 [--factor 1.5] [--bench REGEX] [--head HEAD]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asv_conf  # noqa: E402
import asv_results  # noqa: E402

ROOT = asv_conf.ROOT
OUT = ROOT / ".asv" / "compare"
FACTOR = 1.5
# a subset of a few seconds per commit: the small EDSR conv forward and backward, both
# algorithms, every backend and thread count (asv matches ``name(params)`` for these)
BENCH = [r"layers\.Conv\.time_forward\('edsr_small'",
         r"layers\.ConvBackward\.time_backward\('edsr_small'"]
VIRTUALENV = {
    "environment_type": "virtualenv",
    "pythons": [f"{sys.version_info[0]}.{sys.version_info[1]}"],
    "matrix": {},
    # pip builds the wheel in an isolated environment from pyproject's build requirements
    # (Cython, numpy, scipy), as numpy/scipy's `python -m build` commands do
    "build_command": ["python -m pip wheel --no-deps -w {build_cache_dir} {build_dir}"],
    "install_command": ["in-dir={env_dir} python -m pip install {wheel_file}[numba]"],
    "uninstall_command": ["return-code=any python -m pip uninstall -y layerbench"],
}


def asv(*args: str) -> int:
    print("+ asv", " ".join(args), flush=True)
    return subprocess.run([sys.executable, "-m", "asv", *args], cwd=ROOT).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="the commit to compare against (e.g. HEAD~1, main)")
    parser.add_argument("--head", default="HEAD", help="the commit under test (HEAD)")
    parser.add_argument("--factor", type=float, default=FACTOR,
                        help=f"a slowdown beyond this ratio fails (default {FACTOR})")
    parser.add_argument("--bench", action="append", default=None,
                        help="asv benchmark regex, repeatable (default: the small EDSR conv)")
    args = parser.parse_args(argv)
    config = ["--config", str(asv_conf.write(OUT, overrides=VIRTUALENV))]
    machine = asv_results.this_machine()["machine"]
    refs = [subprocess.run(["git", "rev-parse", "--verify", f"{r}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True) for r in (args.ref, args.head)]
    for name, out in zip((args.ref, args.head), refs, strict=True):
        if out.returncode != 0:
            raise SystemExit(f"bench_compare: expected a commit for {name!r}, git says: "
                             f"{out.stderr.strip()}")
    base, head = (out.stdout.strip() for out in refs)
    bench = [b for regex in (args.bench or BENCH) for b in ("--bench", regex)]
    if asv("machine", "--yes", "--machine", machine, *config):
        return 2
    status = asv("continuous", *config, "--machine", machine, "--factor", str(args.factor),
                 *bench, base, head)
    # the whole table (continuous prints only what changed); asv compare itself exits 0
    asv("compare", *config, "--machine", machine, "--factor", str(args.factor), "--split",
        base, head)
    verdict = {0: "no slowdown beyond", 1: "SLOWER than"}.get(status, "benchmarks FAILED at")
    print(f"bench_compare: {head[:8]} vs {args.ref} ({base[:8]}): {verdict} factor "
          f"{args.factor} (asv continuous exit {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
