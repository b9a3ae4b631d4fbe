"""Quiet logs and one progress bar per level.

Hydra sets the root logger to INFO, which lets other libraries' INFO lines (matplotlib's font
cache, PIL's plugin loading, numba, jax, TensorFlow's absl) into a run's output;
:func:`quiet_libraries` raises those loggers to WARNING (``layerbench`` calls it for every
command; ``--debug`` leaves them alone). :func:`inner_bars` says whether a nested progress bar
(the slices of one shard) may show: not in a Hydra multirun, whose jobs each show their own
shard bar, so that one bar per level is on screen. :func:`outer_bar` says whether that shard
bar shows: not when the multirun's launcher runs jobs side by side in other processes
(joblib, submitit), whose bars would overwrite each other.
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


def inner_bars(progress: bool) -> bool:
    """Whether a nested progress bar shows: ``progress`` is on and this is not a multirun job.

    Parameters
    ----------
    progress : bool
        The run's ``progress`` setting.

    Returns
    -------
    bool
    """
    return bool(progress) and not in_multirun()


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


def outer_bar(progress: bool) -> bool:
    """Whether a run's top-level progress bar shows: ``progress`` is on and no other job
    writes its bar to the same terminal at the same time (:func:`parallel_jobs`).

    Parameters
    ----------
    progress : bool
        The run's ``progress`` setting.

    Returns
    -------
    bool
    """
    return bool(progress) and not parallel_jobs()
