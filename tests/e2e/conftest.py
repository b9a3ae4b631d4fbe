"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import os
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
