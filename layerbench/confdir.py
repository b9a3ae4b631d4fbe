"""Where the Hydra configs live: the installed package ``layerbench.conf``, or ``conf/`` of a
source checkout run without installing (``PYTHONPATH=.``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def conf_dir() -> Path:
    spec = importlib.util.find_spec("layerbench.conf")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "conf"


CONFIG_PATH = str(conf_dir())
