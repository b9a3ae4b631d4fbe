"""Failures of the report: one named error for the user, and the failure of a report built at
the end of a run, kept until the command returns.

Hydra turns an exception raised in a callback into a warning and carries on, so a report that
fails at the end of ``layerbench reproduce`` would leave the command's exit status 0. The
report callback records the failure here instead (:func:`record`); the entry point raises it
once Hydra has returned (:func:`raise_recorded`), and the command fails with one line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from backends.errors import LayerbenchError


class ReportError(LayerbenchError, RuntimeError):
    """The report could not be written: an output path is not a writable directory, a disk
    is full, a file cannot be replaced."""


_recorded: list[BaseException] = []


@contextlib.contextmanager
def report_errors(out: str | os.PathLike) -> Iterator[None]:
    """Turn an ``OSError`` of writing the report under ``out`` into a :class:`ReportError`
    naming the path and the reason; any other exception (a bug) passes unchanged.

    Parameters
    ----------
    out : str or os.PathLike
        The report's output root, for the message.

    Yields
    ------
    None
    """
    try:
        yield
    except OSError as err:
        reason = str(err) or type(err).__name__
        raise ReportError(f"the report under {os.fspath(out)} failed (expected writable "
                          f"directories there): {reason}") from err


def record(err: BaseException) -> None:
    """Keep ``err``, the failure of a report built by the end-of-run callback.

    Parameters
    ----------
    err : BaseException
        The exception the report raised.
    """
    _recorded.append(err)


def raise_recorded() -> None:
    """Raise the first recorded report failure, if any (and forget them all).

    Raises
    ------
    BaseException
        The recorded failure: a :class:`ReportError` for a path that cannot be written,
        the original exception otherwise.
    """
    if _recorded:
        err = _recorded[0]
        _recorded.clear()
        raise err
