"""Activation kernels: the reference formulas of ``backends.activations``.

Notes
-----
Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) dy``, with ``f``, ``f'`` and the value
of ``f'`` at a kink (``kink_rule``) taken from ``backends.activations.ACTIVATIONS[kind]``.
"""

from __future__ import annotations

from ..activations import ACTIVATIONS

__all__ = ["activation_forward", "activation_backward"]


def activation_forward(x, *, kind):
    """``y = f(x)``.

    Parameters
    ----------
    x : numpy.ndarray
        Input, any shape.
    kind : str
        A key of ``backends.activations.ACTIVATIONS``.

    Returns
    -------
    numpy.ndarray
        ``y``, the dtype of ``x``.
    """
    return ACTIVATIONS[kind].f(x)


def activation_backward(x, dy, *, kind):
    """``dx = f'(x) dy``.

    Parameters
    ----------
    x : numpy.ndarray
        The forward's input.
    dy : numpy.ndarray
        Upstream gradient.
    kind : str
        As in :func:`activation_forward`.

    Returns
    -------
    numpy.ndarray
        ``dx``.
    """
    return ACTIVATIONS[kind].df(x) * dy
