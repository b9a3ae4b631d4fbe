"""What every result file records: git sha, resolved config, package versions, CPU, threads."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("numpy", "scipy", "scikit-image", "opencv-python-headless", "nibabel", "pynrrd",
            "nilearn", "pandas", "pyarrow", "matplotlib", "hydra-core", "omegaconf", "numba",
            "tensorflow-cpu", "cython", "layerbench")


def git_sha(start: str | os.PathLike | None = None) -> dict[str, Any]:
    """``{"sha": ..., "dirty": bool}`` of the checkout holding this package (or ``start``);
    ``sha`` is ``"unknown"`` for an installed copy outside any git checkout."""
    where = Path(start) if start else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip() != ""
        return {"sha": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"sha": "unknown", "dirty": None}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def cpu() -> dict[str, Any]:
    model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"model": model, "machine": platform.machine(), "logical_cpus": os.cpu_count(),
            "usable_cpus": affinity, "hostname": platform.node()}


def collect(config: dict[str, Any], *, backend_info: dict[str, Any] | None = None,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance sidecar written next to every result table."""
    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS",
                                           "OMP_WAIT_POLICY", "TF_ENABLE_ONEDNN_OPTS",
                                           "SLURM_JOB_ID")}
    return {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git": git_sha(),
        "command": sys.argv,
        "config": config,
        "versions": versions(),
        "cpu": cpu(),
        "backend": backend_info or {},
        "environment": env,
        **(extra or {}),
    }
