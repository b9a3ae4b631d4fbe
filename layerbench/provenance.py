"""What every result file records: git sha, resolved config, package versions, CPU, threads,
and what decides the bits (:func:`bits`: BLAS kernel, CPU dispatch, build flags, lock)."""

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
    ``sha`` is ``"unknown"`` for an installed copy outside any git checkout.

    Parameters
    ----------
    start : str or os.PathLike, optional
        A directory inside the checkout (default: this package's).

    Returns
    -------
    dict
        ``sha`` and ``dirty`` (None when unknown).
    """
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
    """The Python version and the installed version of every package in ``PACKAGES``.

    Returns
    -------
    dict of str to str or None
        ``{"python": ..., package: version}``; None for a package that is not installed.
    """
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def cpu() -> dict[str, Any]:
    """The processor model and the CPU counts of this machine.

    Returns
    -------
    dict
        ``model`` (from ``/proc/cpuinfo`` where readable), ``machine`` (architecture),
        ``logical_cpus``, ``usable_cpus`` (this process's affinity, None where unknown)
        and ``hostname``.
    """
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


# Environment variables that select a dispatch path of the math libraries (recorded, never set).
DISPATCH_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENCV_CPU_DISABLE",
                "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "MKL_CBWR", "OMP_NUM_THREADS")


def blas() -> list[dict[str, Any]]:
    """The BLAS and OpenMP libraries loaded in this process (threadpoolctl): implementation,
    version, core type (OpenBLAS's kernel, e.g. ``Haswell``), threading layer and threads.

    Returns
    -------
    list of dict
        One per library: ``api``, ``library``, ``version``, ``core_type``, ``threading``,
        ``threads`` (empty when threadpoolctl is not installed).
    """
    try:
        import numpy  # noqa: F401  (loads numpy's BLAS, so it is reported)
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{"api": i.get("user_api"), "library": i.get("internal_api"),
             "version": i.get("version"), "core_type": i.get("architecture"),
             "threading": i.get("threading_layer"), "threads": i.get("num_threads"),
             "file": Path(i.get("filepath", "")).name}
            for i in threadpool_info()]


def opencv() -> dict[str, Any] | None:
    """OpenCV's CPU features: the ones it uses here (``enabled``) and its feature line
    (``cv2.getCPUFeaturesLine()``: baseline, ``*`` dispatched, ``?`` absent or disabled).

    Returns
    -------
    dict or None
        ``None`` when OpenCV is not installed.
    """
    try:
        import cv2
    except ImportError:
        return None
    line = cv2.getCPUFeaturesLine()
    # baseline features, and dispatched ones ("*"); "?" marks one absent or disabled
    # (OPENCV_CPU_DISABLE)
    enabled = [t.lstrip("*") for t in line.split() if not t.endswith("?")]
    return {"version": cv2.__version__, "enabled": enabled,
            "features_line": line}


def numba_target() -> dict[str, Any] | None:
    """The CPU Numba compiles for: ``NUMBA_CPU_NAME`` if set, else LLVM's host CPU.

    Returns
    -------
    dict or None
        ``{"cpu_name", "host_cpu", "version"}``; ``None`` when Numba is not installed.
    """
    try:
        import numba
        from llvmlite import binding
    except ImportError:
        return None
    host = binding.get_host_cpu_name()
    return {"cpu_name": numba.config.CPU_NAME or host, "host_cpu": host,
            "version": numba.__version__}


def extension_build() -> dict[str, Any] | None:
    """How the compiled (Cython + OpenMP) kernels were built: compiler flags and compiler,
    written by setup.py into ``backends/cython_omp/_buildinfo.py``.

    Returns
    -------
    dict or None
        ``None`` for a build that predates the record.
    """
    try:
        from backends.cython_omp import _buildinfo
    except ImportError:
        return None
    return dict(_buildinfo.BUILD)


def lock() -> str | None:
    """The lock file the environment was installed from and its SHA-256
    (``LAYERBENCH_LOCK``, set by ``nox -s tests`` / ``nox -s reproduce``).

    Returns
    -------
    str or None
        ``None`` for an environment not installed from the lock.
    """
    return os.environ.get("LAYERBENCH_LOCK") or None


def bits() -> dict[str, Any]:
    """What decides the output bits besides the code and the data: the BLAS kernel and
    threads, OpenCV's and Numba's CPU dispatch, the extension's build flags, the lock, and
    the environment variables that steer them.

    Returns
    -------
    dict
    """
    return {"blas": blas(), "opencv": opencv(), "numba": numba_target(),
            "extension": extension_build(), "lock": lock(),
            "environment": {k: os.environ.get(k) for k in DISPATCH_ENV}}


def summary(b: dict[str, Any]) -> str:
    """One line of :func:`bits` for a table header.

    Parameters
    ----------
    b : dict
        A :func:`bits` record.

    Returns
    -------
    str
        e.g. ``BLAS openblas 0.3.27 (Haswell, 2 threads); OpenCV 4.10.0 (AVX2 ...); Numba
        target znver3; extension -O3 -fopenmp -ffp-contract=off; lock sha256:...``.
    """
    parts = []
    for lib in b.get("blas") or []:
        if lib.get("api") == "blas":
            parts.append(f"BLAS {lib['library']} {lib['version']} ({lib['core_type']}, "
                         f"{lib['threads']} thread{'' if lib['threads'] == 1 else 's'})")
    if b.get("opencv"):
        parts.append(f"OpenCV {b['opencv']['version']} ({' '.join(b['opencv']['enabled'])})")
    if b.get("numba"):
        parts.append(f"Numba target {b['numba']['cpu_name']}")
    if b.get("extension"):
        parts.append(f"extension {' '.join(b['extension'].get('compile_args', []))}")
    parts.append(f"lock {b['lock']}" if b.get("lock") else "not installed from the lock")
    return "; ".join(parts)


def collect(config: dict[str, Any], *, backend_info: dict[str, Any] | None = None,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance sidecar written next to every result table.

    Parameters
    ----------
    config : dict
        The run's configuration.
    backend_info : dict, optional
        The backend's ``info()``.
    extra : dict, optional
        More entries, added last.

    Returns
    -------
    dict
        Creation time, git state, command line, configuration, package versions, CPU,
        backend, thread-related environment variables and the dispatch ``bits``.
    """
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
        "bits": bits(),
        **(extra or {}),
    }
