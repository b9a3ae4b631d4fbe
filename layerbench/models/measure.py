"""Forward time and peak memory of the models on a thesis-sized input (510 x 339 LR).

    layerbench measure time wdsr_a_x4 --backends numpy cython numba tensorflow
    layerbench measure rss edsr_x2 --backend tensorflow --tile none

``time`` runs every backend in one process, interleaved, and reports the median of
``--repeats`` forwards (after one warm-up); weights are the same (deterministic
initialisation). ``rss`` does one ``super_resolve`` in a fresh subprocess at ``--threads``
and reports its peak resident set size (``ru_maxrss`` of the child): ``--tile default`` (the
default) is what users call, ``super_resolve`` with its defaults (the tile plan of the default
memory budget); ``--tile none`` the plain :meth:`backends.Network.predict`; a number forces
whole-model tiles of that size.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from .presets import preset

SHAPE = (339, 510)  # LR height, width (the thesis' DIV2K inputs at x2: 1020 x 678 HR)


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*SHAPE, 3), dtype=np.uint8)


def forward_times(name: str, backends, *, repeats: int = 3, threads: int = 1,
                  warmup: int = 1) -> dict:
    """Median wall time (s) of one forward of ``name`` per backend, interleaved rounds.

    Parameters
    ----------
    name : str
        A model preset.
    backends : iterable of str
        Backend names.
    repeats : int, default 3
        Timed rounds.
    threads : int, default 1
        Threads of every backend.
    warmup : int, default 1
        Untimed rounds first (JIT compilation, graph building, caches).

    Returns
    -------
    dict
        Per backend: ``median_s``, ``runs_s`` and ``threads``.
    """
    from backends import get_backend

    x = _image()[None].astype(np.float64)
    models = {b: preset(name, backend=b) for b in backends}
    times = {b: [] for b in backends}
    for r in range(repeats + warmup):
        for b, m in models.items():
            with get_backend(b).threads(threads):
                t0 = time.perf_counter()
                m.predict(x)
                dt = time.perf_counter() - t0
            if r >= warmup:  # warm-up rounds: JIT compilation, TF graph building, caches
                times[b].append(dt)
    return {b: {"median_s": float(np.median(t)), "runs_s": t, "threads": threads}
            for b, t in times.items()}


def _rss_child(name: str, backend: str, tile: str, threads: int) -> None:
    from backends import get_backend

    model = preset(name, backend=backend)
    image = _image()
    with get_backend(backend).threads(threads):
        t0 = time.perf_counter()
        if tile == "none":
            xn = model.normalise(image[None].astype(np.float64))
            model.net.predict(xn)
        elif tile == "default":
            model.super_resolve(image)
        else:
            model.super_resolve(image, tile=int(tile))
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    plan = getattr(model, "last_plan", None)
    print(json.dumps({"model": name, "backend": backend, "tile": tile, "threads": threads,
                      "plan": getattr(plan, "kind", None), "peak_rss_mib": peak,
                      "wall_s": wall}))


def peak_rss(name: str, backend: str, tile: str, threads: int = 1) -> dict:
    """Peak RSS (MiB) of one ``super_resolve`` in a fresh process.

    Parameters
    ----------
    name : str
        A model preset.
    backend : str
        The backend.
    tile : str
        The tiling setting passed to the child (``--tile``).
    threads : int, default 1
        Threads of the backend.

    Returns
    -------
    dict
        The child's JSON report.
    """
    cmd = [sys.executable, "-m", "layerbench.cli", "measure", "_rss", name, "--backend",
           backend, "--tile", str(tile), "--threads", str(threads)]
    # cwd outside any checkout: ``python -m`` puts the cwd first on sys.path, and a source
    # tree there (no compiled extension in it) would shadow the installed package
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` when omitted.
    """
    from layerbench.cli import list_option, parser

    ap = parser("measure", __doc__.split("\n\n")[0])
    # "_rss" is the child process of "rss", not for users: accepted, not listed
    ap.add_argument("what", choices=["time", "rss", "_rss"], metavar="{time,rss}",
                    help="time: forward seconds per backend; rss: peak memory of one "
                         "super_resolve in a fresh process")
    ap.add_argument("model", help="a model preset (`layerbench models`)")
    ap.add_argument("--backends", nargs="+", default=["numpy", "tensorflow"],
                    help="backends timed by `time`")
    ap.add_argument("--backend", default="numpy", help="backend measured by `rss`")
    ap.add_argument("--tile", default="default",
                    help="default: super_resolve's defaults; none: plain predict; N: tiles")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per backend")
    ap.add_argument("--threads", type=int, default=1, help="threads of the backend")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls first")
    args = ap.parse_args(argv)
    if args.what == "time":
        res = forward_times(args.model, list_option(args.backends, "--backends"),
                            repeats=args.repeats,
                            threads=args.threads, warmup=args.warmup)
        print(json.dumps({"model": args.model, "input": SHAPE, **res}))
    elif args.what == "rss":
        print(json.dumps(peak_rss(args.model, args.backend, args.tile, args.threads)))
    else:
        _rss_child(args.model, args.backend, args.tile, args.threads)

