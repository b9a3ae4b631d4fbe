"""Error types of the layer library.

Every message names the offending parameter and says what was expected and what was
received, so a user can fix the call without reading the source.
"""

from __future__ import annotations


class LayerbenchError(Exception):
    """Base class of every error raised on purpose by ``backends``."""


class SpecError(LayerbenchError, ValueError):
    """A layer specification holds an invalid hyper-parameter."""


class ShapeError(LayerbenchError, ValueError):
    """An array has the wrong rank or the wrong size along some axis."""


class DTypeError(LayerbenchError, TypeError):
    """An array has a dtype other than the one the layer was built for."""


class NonFiniteError(LayerbenchError, ValueError):
    """An array that must be finite holds NaN or infinity."""


class StateError(LayerbenchError, RuntimeError):
    """A method was called out of order (e.g. ``backward`` before ``forward``)."""


class NotSupportedError(LayerbenchError, NotImplementedError):
    """A backend does not implement a spec/algorithm combination (never a silent fallback)."""


class BackendUnavailableError(LayerbenchError, ImportError):
    """A backend cannot be imported on this machine (missing package or extension)."""


class WeightsError(LayerbenchError, ValueError):
    """A parameter file does not match the model (missing key, wrong shape, bad header)."""


def expected(param: str, what: str, received: object) -> str:
    """Format the one message style we use: ``param: expected <what>, received <value>``.

    Parameters
    ----------
    param : str
        The parameter's name (dotted for a field: ``Conv2D.filters``).
    what : str
        What is expected.
    received : object
        The value received (shown with ``repr``).

    Returns
    -------
    str
        The message.

    Examples
    --------
    >>> expected("Conv2D.filters", "an integer >= 1", 0)
    'Conv2D.filters: expected an integer >= 1, received 0'
    """
    return f"{param}: expected {what}, received {received!r}"


class LayoutError(LayerbenchError, ValueError):
    """An array is not C-contiguous (kernels read raw NHWC memory)."""
