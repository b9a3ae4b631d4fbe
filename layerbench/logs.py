"""Quiet logs and one progress bar per level.

Hydra sets the root logger to INFO, which lets other libraries' INFO lines (matplotlib's font
cache, PIL's plugin loading, numba, jax, TensorFlow's absl) into a run's output;
:func:`quiet_libraries` raises those loggers to WARNING (``layerbench`` calls it for every
command; ``--debug`` leaves them alone). :func:`show_bar` keeps one progress bar per level on
screen: a nested bar (the slices of one shard) not in a Hydra multirun, whose jobs each show
their own shard bar; the shard bar not when the multirun's launcher runs jobs side by side in
other processes (joblib, submitit), whose bars would overwrite each other.
"""

from __future__ import annotations

import logging

# libraries whose INFO messages are not about the user's run
LIBRARIES = ("matplotlib", "PIL", "numba", "h5py", "absl", "jax", "tensorflow", "fsspec",
             "urllib3", "asyncio", "pooch", "nibabel")


def quiet_libraries(level: int = logging.WARNING) -> None:
    """Raise the loggers of :data:`LIBRARIES` to at least ``level``.

    Parameters
    ----------
    level : int
        The lowest level still shown for those libraries (default WARNING).
    """
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        if logger.level < level:
            logger.setLevel(level)


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun (``-m``).

    Returns
    -------
    bool
    """
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except (ImportError, ValueError):
        return False


def parallel_jobs() -> bool:
    """Whether this is a multirun job whose launcher runs jobs side by side (any launcher
    but Hydra's basic one, which runs them one after the other in this process).

    Returns
    -------
    bool
    """
    if not in_multirun():
        return False
    from hydra.core.hydra_config import HydraConfig

    target = str(HydraConfig.get().launcher.get("_target_", ""))
    return not target.endswith("BasicLauncher")


def show_bar(progress: bool, *, nested: bool = False) -> bool:
    """Whether a progress bar shows: ``progress`` is on, and no other bar of its level is on
    the same terminal: a nested bar (the slices of one shard) not in a multirun job, whose
    own shard bar is the level above; a top-level bar not when jobs run side by side
    (:func:`parallel_jobs`).

    Parameters
    ----------
    progress : bool
        The run's ``progress`` setting.
    nested : bool
        The bar sits below another bar of the same run.

    Returns
    -------
    bool
    """
    return bool(progress) and not (in_multirun() if nested else parallel_jobs())
