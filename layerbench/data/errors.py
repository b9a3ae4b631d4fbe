"""The one error type of the data layer."""

from __future__ import annotations

from backends.errors import LayerbenchError


class DataError(LayerbenchError, ValueError):
    """A data file or directory is missing, empty, unreadable or has the wrong shape.

    The message always names the path (or the config key) and says what was expected.
    """
