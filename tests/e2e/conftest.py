"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

import backends


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    """The environment of a ``python -m layerbench.cli`` child: this checkout first on
    ``PYTHONPATH``, quiet TensorFlow, no spinning OpenMP threads, one-line errors."""
    env = dict(os.environ, OMP_WAIT_POLICY="passive", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("LAYERBENCH_DEBUG", None)
    env.pop("HYDRA_FULL_ERROR", None)
    src = Path(backends.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def slurm_cluster(request):
    """``(slurm_local module, state folder)`` of a Slurm on this host started by
    ``tools/slurm_local.py`` for the module's tests (``SLURM_NODES`` of the module: nodes,
    default 1) and stopped after them; skips with the reason when Slurm cannot be started
    here."""
    path = Path(__file__).resolve().parents[2] / "tools" / "slurm_local.py"
    if not path.exists():
        pytest.skip("tools/slurm_local.py is not here (the test runs from the checkout)")
    spec = importlib.util.spec_from_file_location("slurm_local", path)
    slurm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(slurm)
    # a short path: munge's socket lives in it (unix socket paths are limited to 108 bytes)
    state = Path(tempfile.mkdtemp(prefix="lb-slurm-"))
    try:
        slurm.start(state, getattr(request.module, "SLURM_NODES", 1))
    except slurm.Unavailable as err:
        slurm.stop(state)
        pytest.skip(f"Slurm cannot be started here: {err}")
    yield slurm, state
    slurm.stop(state)
