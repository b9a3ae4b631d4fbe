"""Side by side against the peer: each backend's ``super_resolve`` and the Keras peer's,
alternated in one process, repeated; the median ratio is the robust number on a shared
machine (asv's ``Models`` benchmark keeps the history).

``layerbench peer-compare [--models M ...] [--backends B ...] [--threads 1 2] [--size WxH]
[--repeats 3] [--tile T] [--memory-budget BYTES] [--out CSV] [--md MD]``;
``layerbench peer-compare --from CSV [--md MD]`` rebuilds the summary of a (partial) run.

TensorFlow sizes its thread pools once per process, so every thread count runs in a fresh
worker process (``--worker``). In a worker, per model and repeat the sequence is
``keras, b1, keras, b2, ..., keras``: each backend's time is divided by the mean of the two
Keras runs around it. The table has one row per model, backend, thread count and repeat
(``seconds``, ``keras_seconds``, ``ratio``, the tile plan's ``plan`` and ``recompute``,
``load1``: the machine's 1-minute load average after the run, ``first_seconds``: the
backend's untimed warm-up call on the same image, which includes tracing and ``algo="auto"``'s
one-time measurements, ``keras_intra_op`` / ``keras_inter_op``: TensorFlow's pool sizes as it
reports them after the first Keras call, when they are fixed; a worker whose pools are not its
thread count stops with an error); the printed summary is the
median ratio per model, backend and threads. With ``--out`` every row is appended to the
CSV as soon as it is measured, so a run stopped part-way keeps what it measured
(``--from`` summarises it). ``--md`` writes the summary with its provenance (commit, CPU,
load average range, command).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from backends.registry import BACKEND_TABLE

DEFAULT_MODELS = ("edsr_baseline_x2", "wdsr_a_x4")
DEFAULT_BACKENDS = tuple(row.name for row in BACKEND_TABLE if row.role != "oracle")


def _image(size: str) -> np.ndarray:
    w, h = (int(v) for v in size.split("x"))
    return np.random.default_rng(4).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _timed(fn, image) -> float:
    start = time.perf_counter()
    fn(image)
    return time.perf_counter() - start


def _append(path: Path | None, row: dict) -> None:
    """One row onto the CSV at ``path`` (header first when the file is new or empty)."""
    if path is None:
        return
    import csv

    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def worker(args) -> list[dict]:
    """Run one thread count in this process (TensorFlow not started yet): Keras's pools are
    sized to the count for the whole run, and checked once TensorFlow has started."""
    from layerbench.models.keras_peer import KerasPeer

    n = args.threads[0]
    # The context is held for the whole run. Entered and dropped
    # (``KerasPeer.threads(n).__enter__()``), it is garbage collected at once, and its exit
    # puts TensorFlow's pools back to the default (all cores) before the runtime starts:
    # the "1-thread" Keras runs then ran with 2 threads.
    with KerasPeer.threads(n):
        return _run(args, n)


def _pools(n: int) -> dict[str, int]:
    """The Keras peer's pool sizes as TensorFlow reports them (call after a Keras call, when
    they are fixed); anything but ``n`` in both pools is an error, not a row."""
    from backends.errors import expected
    from layerbench.models.keras_peer import KerasPeer

    pools = KerasPeer.pool_sizes()
    if (pools["intra_op"], pools["inter_op"]) != (n, n):
        raise RuntimeError(expected("TensorFlow's intra-/inter-op pools for --threads",
                                    f"{n}/{n}", f"{pools['intra_op']}/{pools['inter_op']}"))
    return pools


def _run(args, n: int) -> list[dict]:
    import backends
    from layerbench import models
    from layerbench.models.keras_peer import KerasPeer
    from layerbench.provenance import git_sha

    sha = git_sha()
    commit = f"{sha['sha'][:8]}{'+dirty' if sha['dirty'] else ''}"
    image = _image(args.size)
    rows = []
    for name in args.models:
        peer = KerasPeer(models.preset(name, backend="numpy"))
        ours = {b: models.preset(name, backend=b) for b in args.backends}
        kwargs = {"tile": args.tile}
        if args.memory_budget is not None:
            kwargs["memory_budget"] = args.memory_budget
        # Warm up on the timed image itself: Keras traces its graph for each new input shape
        # and ``algo="auto"`` times each new convolution shape once (then caches it), so a
        # first call on a new size is not what later calls cost. The first call is kept.
        peer.super_resolve(image)
        pools = _pools(n)
        first = {}
        for b, model in ours.items():
            with backends.get_backend(b).threads(n):
                first[b] = _timed(model.super_resolve, image)
        for r in range(args.repeats):
            before = _timed(peer.super_resolve, image)
            for b, model in ours.items():
                with backends.get_backend(b).threads(n):
                    t = _timed(lambda im, m=model, kw=kwargs: m.super_resolve(im, **kw), image)
                after = _timed(peer.super_resolve, image)
                keras_t = (before + after) / 2
                rows.append({"model": name, "size": args.size, "backend": b, "threads": n,
                             "keras_intra_op": pools["intra_op"],
                             "keras_inter_op": pools["inter_op"], "repeat": r,
                             "seconds": t, "keras_seconds": keras_t,
                             "ratio": t / keras_t, "plan": model.last_plan.kind,
                             "recompute": model.last_plan.recompute, "tile": str(args.tile),
                             "memory_budget": args.memory_budget, "first_seconds": first[b],
                             "load1": round(os.getloadavg()[0], 2), "commit": commit})
                _append(args.out, rows[-1])
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                before = after
    return rows


def summary(table) -> str:
    """Markdown: median ratio (and median seconds) per model, backend and threads."""
    g = table.groupby(["model", "size", "backend", "threads", "plan"], sort=False)
    med = g.agg(ratio=("ratio", "median"), seconds=("seconds", "median"),
                keras_seconds=("keras_seconds", "median"), recompute=("recompute", "first"),
                repeats=("ratio", "size")).reset_index()
    from layerbench import markdown

    return "\n".join(markdown.table(
        ["model", "size", "backend", "threads", "plan (recompute)", "seconds", "keras seconds",
         "ratio (median)", "repeats"],
        [[r.model, r.size, r.backend, r.threads, f"{r.plan} ({r.recompute:.3f})",
          f"{r.seconds:.2f}", f"{r.keras_seconds:.2f}", f"{r.ratio:.2f}", r.repeats]
         for r in med.itertuples()]))


def parse(argv):
    """The command's arguments.

    Parameters
    ----------
    argv : list of str
        The arguments after ``peer-compare``.

    Returns
    -------
    argparse.Namespace
        The parsed arguments.

    Raises
    ------
    SystemExit
        Status 2 for a bad argument (``--repeats`` below 1 included), 0 after ``--help``.
    """
    from layerbench.cli import parser

    p = parser("peer-compare", __doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    p.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--size", default="510x339", help="LR width x height")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tile", type=int, default=None,
                   help="force whole-model tiles (the old default was 256)")
    p.add_argument("--memory-budget", type=int, default=None,
                   help="super_resolve's memory_budget in bytes (default: its default)")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV of every timed run, appended row by row (replaced at the start)")
    p.add_argument("--md", type=Path, default=None,
                   help="markdown summary with provenance (commit, CPU, load average)")
    p.add_argument("--from", dest="source", type=Path, default=None,
                   help="summarise this CSV of an earlier (possibly partial) run; no timing")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats: expected an integer >= 1, received {args.repeats}")
    return args


def markdown(table, command: str) -> str:
    """The summary under a provenance header (what ran, on which commit and CPU, the load
    average range over the timed runs)."""
    from layerbench.provenance import cpu

    load = table["load1"] if "load1" in table else None
    if load is not None and load.notna().any():
        loads = f"{load.min():.1f}-{load.max():.1f} (1-minute load average, per timed run)"
    else:
        loads = "not recorded"
    info = cpu()
    if {"keras_intra_op", "keras_inter_op"} <= set(table):
        pools = "; ".join(
            f"{t} threads: {'/'.join(str(v) for v in sorted(set(g['keras_intra_op'])))} intra, "
            f"{'/'.join(str(v) for v in sorted(set(g['keras_inter_op'])))} inter"
            for t, g in table.groupby("threads"))
    else:
        pools = "not recorded"
    commit = ", ".join(sorted(set(table["commit"].astype(str)))) if "commit" in table \
        else "not recorded"
    return "\n".join([
        "# Backends against the Keras peer, side by side", "",
        "Each backend's `super_resolve` and `KerasPeer.super_resolve` alternated in one "
        "process (`layerbench/models/peer_compare.py`), one uint8 LR image, random weights "
        "(seeded initialisation), float32, `OMP_WAIT_POLICY=passive`. Ratio: backend time "
        "over the mean of the Keras runs before and after it; medians over the repeats "
        "(every timed run: the CSV beside this file).", "",
        f"- command: `{command}`", f"- commit: {commit}",
        f"- cpu: {info.get('model')} ({info.get('usable_cpus')} usable cores)",
        f"- load: {loads}",
        f"- Keras's TensorFlow pools (as TensorFlow reports them, per thread count): {pools}",
        "",
        summary(table), ""])


def main(argv: list[str] | None = None) -> None:
    """``layerbench peer-compare``: time the models on the backends and the Keras peer.

    Each thread count runs in a fresh worker process; the summary is printed (and written
    as Markdown with ``--md``). ``--from CSV`` summarises an earlier run without timing.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    """
    import pandas as pd

    raw = sys.argv[1:] if argv is None else argv
    args = parse(raw)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.source is not None:
        table = pd.read_csv(args.source)
        text = summary(table)
        if args.md is not None:
            args.md.write_text(markdown(table, f"layerbench peer-compare {' '.join(raw)}"))
        print(text)
        return
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("")
    rows = []
    for n in args.threads:
        cmd = [sys.executable, "-m", "layerbench.cli", "peer-compare", "--worker",
               "--threads", str(n), "--models", *args.models, "--backends", *args.backends,
               "--size", args.size, "--repeats", str(args.repeats)]
        if args.tile is not None:
            cmd += ["--tile", str(args.tile)]
        if args.memory_budget is not None:
            cmd += ["--memory-budget", str(args.memory_budget)]
        if args.out is not None:
            cmd += ["--out", str(args.out.resolve())]
        env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
        # cwd outside any checkout: ``python -m`` puts the cwd first on sys.path, and a source
        # tree there (no compiled extension in it) would shadow the installed package
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env,
                             cwd=tempfile.gettempdir())
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    table = pd.DataFrame(rows)
    if args.md is not None:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(markdown(table, f"layerbench peer-compare {' '.join(raw)}"))
    print(summary(table))

