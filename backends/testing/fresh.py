"""Run code in a fresh interpreter: for thread knobs that a library fixes when it starts
(TensorFlow's and XLA's pools), which one process cannot test twice."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import backends

__all__ = ["fresh_python"]


def fresh_python(code: str, env: dict | None = None, *,
                 drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``code`` (dedented) in a new interpreter that imports this checkout's ``backends``.

    ``drop`` names environment variables to remove (a thread setting the caller's process
    carries); ``env`` adds or overrides variables. TensorFlow's import log is silenced.
    """
    full_env = {k: v for k, v in os.environ.items() if k not in drop}
    root = os.path.dirname(os.path.dirname(backends.__file__))
    path = [root, *filter(None, [full_env.get("PYTHONPATH")])]
    full_env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join(path), **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=300)
