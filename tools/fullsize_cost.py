"""Measure the per-pixel cost ``layerbench plan`` estimates full-size runs from.

For each model preset (default: the thesis' ``edsr_x2`` and ``wdsr_a_x4``, untrained
weights: the arithmetic is the same) and backend, a fresh process builds the model, warms it
up on a tiny input, then runs one untiled ``predict`` on a small LR input and records

* ``core_seconds_per_lr_pixel``: wall seconds x threads / LR pixels (the median of
  ``--repeats`` forwards);
* ``base_bytes``: the process's resident set after building the model and the warm-up
  (Python, the libraries, the weights);
* ``activation_bytes_per_lr_pixel``: the growth of the peak resident set during the
  forward, per LR pixel (the plan scales it by the pixels a tile holds at once).

It also times the interpolation baselines and the scoring (``metrics.score_channels``) per
HR pixel, in this process at one thread. The numbers and the machine they were measured on
(host, CPU model, cores, date, versions) go to ``layerbench/experiments/fullsize_costs.json``.

``--full`` also runs one DIV2K-sized image (2040 x 1356 HR, an embedded photograph resized)
through the first preset end to end, as the experiment runs it (``super_resolve`` with its
default tile plan), and records its seconds, peak resident set and tiling plan under
``full_size``: the check of the per-pixel estimate at the size that matters.

Usage::

    python tools/fullsize_cost.py [--backends cython] [--threads 2] [--size 128x128] [--full]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "layerbench" / "experiments" / \
    "fullsize_costs.json"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def _status(field: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process in bytes (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the peak resident set (``VmHWM``) to the current one (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(preset: str, backend: str, threads: int, h: int, w: int, repeats: int) -> dict:
    """One preset on one backend, in this (fresh) process."""
    from backends import get_backend
    from layerbench.models import preset as build

    model = build(preset, backend=backend)
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 256, (1, h, w, 3)).astype(np.float32)
    with get_backend(backend).threads(threads):
        model.predict(lr[:, :16, :16])  # warm-up: kernels, caches
        # the peak so far includes building the model (random initialisation temporaries):
        # reset it, so the growth below is the forward's own
        exact = _reset_peak() and _status("VmRSS") is not None
        base = _status("VmRSS") if exact else _peak_bytes()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.predict(lr)
            times.append(time.perf_counter() - t0)
    peak = _status("VmHWM") if exact else _peak_bytes()
    seconds = float(np.median(times))
    return {"core_seconds_per_lr_pixel": seconds * threads / (h * w),
            "base_bytes": base, "activation_bytes_per_lr_pixel": max(0, peak - base) / (h * w),
            "threads": threads, "lr_size": [h, w], "seconds": times,
            "num_params": int(model.num_params())}


def baselines(hr_size: tuple[int, int] = (256, 384)) -> dict:
    """Core-seconds per HR pixel of one baseline upscale and of scoring one method."""
    from layerbench import metrics
    from layerbench.data import degrade

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (*hr_size, 3), dtype=np.uint8)
    px = hr_size[0] * hr_size[1]
    out = {}
    for scale in (2, 4):
        lr = degrade.matlab_bicubic(hr, scale)
        t0 = time.perf_counter()
        for name in ("nearest", "bicubic", "lanczos"):
            degrade.upscale(lr, scale, name)
        out[f"baseline_x{scale}"] = (time.perf_counter() - t0) / 3 / px
    t0 = time.perf_counter()
    metrics.score_channels(hr, hr[::-1].copy(), data_range=255)
    out["score"] = (time.perf_counter() - t0) / px
    return {"core_seconds_per_hr_pixel": out, "hr_size": list(hr_size)}


def full_size(preset: str, backend: str, threads: int) -> dict:
    """One 2040 x 1356 HR image (LR by bicubic) through ``preset`` as the experiment runs it."""
    import cv2

    from backends import get_backend
    from layerbench.data import degrade, images
    from layerbench.models import preset as build

    model = build(preset, backend=backend)
    hr = cv2.resize(images.load_embedded("astronaut"), (2040, 1356),
                    interpolation=cv2.INTER_CUBIC)
    lr = degrade.matlab_bicubic(hr, int(model.scale))
    plan = model.tiling_plan((1, *lr.shape), tile=None)
    with get_backend(backend).threads(threads):
        t0 = time.perf_counter()
        model.super_resolve(lr)
        seconds = time.perf_counter() - t0
    return {"preset": preset, "backend": backend, "threads": threads,
            "lr_size": list(lr.shape[:2]), "hr_size": list(hr.shape[:2]),
            "seconds": seconds, "peak_rss_bytes": _peak_bytes(),
            "tiling_plan": {"kind": plan.kind, "tile": plan.tile, "overlap": plan.overlap,
                            "recompute": plan.recompute, "working_set": plan.working_set}}


def _in_child(args: list[str]) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+", default=["edsr_x2", "wdsr_a_x4"])
    p.add_argument("--backends", nargs="+", default=["cython"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", default="128x128", help="LR height x width of the measured input")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--full", action="store_true", help="also one DIV2K-sized image")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        if kind == "full":
            print(json.dumps(full_size(rest[0], rest[1], int(rest[2]))))
        else:
            preset, backend, threads, h, w, repeats = rest
            print(json.dumps(child(preset, backend, int(threads), int(h), int(w),
                                   int(repeats))))
        return
    h, w = (int(v) for v in a.size.lower().split("x"))
    import layerbench

    costs = {"provenance": {
        "host": platform.node(), "cpu": _cpu(), "cores": len(os.sched_getaffinity(0)),
        "date": datetime.date.today().isoformat(), "python": platform.python_version(),
        "layerbench": layerbench.__version__, "numpy": np.__version__,
        "command": "python tools/fullsize_cost.py " + " ".join(argv or sys.argv[1:])},
        "backends": {}}
    for backend in a.backends:
        models = {}
        for preset in a.presets:
            models[preset] = _in_child(["model", preset, backend, str(a.threads), str(h),
                                        str(w), str(a.repeats)])
            print(f"{backend} {preset}: {models[preset]['core_seconds_per_lr_pixel']:.3g} "
                  "core-s per LR pixel", file=sys.stderr)
        costs["backends"][backend] = {"threads": a.threads, "models": models}
    costs["interpolation_and_scoring"] = baselines()
    if a.full:
        costs["full_size"] = _in_child(["full", a.presets[0], a.backends[0], str(a.threads)])
    a.out.write_text(json.dumps(costs, indent=1) + "\n")
    print(a.out)


if __name__ == "__main__":
    main()
