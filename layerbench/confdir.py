"""Where the Hydra configs live (the installed package ``layerbench.conf``, or ``conf/`` of a
source checkout run without installing, ``PYTHONPATH=.``) and where results go.

The results root is defined here once (:data:`RESULTS`, relative to the working directory);
every default path derives from it: :data:`RUNS` (shards, Hydra's run directories),
:data:`TABLES`, :data:`FIGURES`, :data:`ASV`. The configs in ``conf/`` interpolate it through
the ``results`` resolver: ``${results:runs}`` is ``results/runs``, ``${results:}`` the root.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from pathlib import Path

from omegaconf import OmegaConf

RESULTS = "results"


def results_path(*parts: str) -> str:
    """``RESULTS/part/...`` (the root itself without parts).

    Parameters
    ----------
    *parts : str
        Path parts; empty ones are skipped.

    Returns
    -------
    str
        The ``/``-joined path.

    Examples
    --------
    >>> results_path("tables", "", "div2k.csv") == RESULTS + "/tables/div2k.csv"
    True
    """
    return "/".join([RESULTS, *(p for p in parts if p)])


# the folders under a results root (``<out>/tables`` of ``layerbench report --out``, too)
TABLES_DIR, FIGURES_DIR = "tables", "figures"
RUNS = results_path("runs")
TABLES = results_path(TABLES_DIR)
FIGURES = results_path(FIGURES_DIR)
ASV = results_path("asv")

OmegaConf.register_new_resolver("results", results_path, replace=True)


def run_id() -> str:
    """``<pid>-<6 random hex digits>``: the suffix that keeps the Hydra directories of runs
    started in the same second apart (``${run_id:}`` in ``conf/config.yaml``; resolved once
    per run and shared by a multirun's jobs).

    Returns
    -------
    str
        The suffix.
    """
    return f"{os.getpid()}-{secrets.token_hex(3)}"


OmegaConf.register_new_resolver("run_id", run_id, use_cache=True, replace=True)


def conf_dir() -> Path:
    """The Hydra config directory: ``conf/`` beside this package in a source checkout (so a
    checkout runs its own configs even when another copy is installed), else the installed
    ``layerbench.conf`` package.

    Returns
    -------
    pathlib.Path
        The directory holding ``config.yaml``.
    """
    checkout = Path(__file__).resolve().parent.parent / "conf"
    if (checkout / "config.yaml").is_file() and (checkout / "crosscheck.yaml").is_file():
        return checkout
    spec = importlib.util.find_spec("layerbench.conf")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "conf"


CONFIG_PATH = str(conf_dir())
