"""Quiet logs and one progress bar per level.

Hydra sets the root logger to INFO, which lets other libraries' INFO lines (matplotlib's font
cache, PIL's plugin loading, numba, jax, TensorFlow's absl) into a run's output;
:func:`quiet_libraries` raises those loggers to WARNING (``layerbench`` calls it for every
command; ``--debug`` leaves them alone). :func:`inner_bars` says whether a nested progress bar
(the slices of one shard) may show: not in a Hydra multirun, whose jobs each show their own
shard bar, so that one bar per level is on screen.
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
