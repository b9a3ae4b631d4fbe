"""Loss kernels, averaged over every element (``M = y.size``), ``e = y - t``.

Notes
-----
mse: ``mean(e^2)``, ``dL/dy = 2 e / M``; mae: ``mean(|e|)``, ``dL/dy = sign(e) / M``
(0 at e = 0, as TF); smooth_l1 (Huber, Keras): ``0.5 e^2`` if ``|e| <= delta`` else
``delta (|e| - delta / 2)``, ``dL/dy = e`` or ``delta sign(e)``, over M.
"""

from __future__ import annotations

import numpy as np

__all__ = ["loss_forward", "loss_backward"]


def loss_forward(y, t, *, kind, delta):
    """Mean loss over all elements, as a Python float.

    Parameters
    ----------
    y, t : numpy.ndarray
        Prediction and target, same shape and dtype.
    kind : {"mse", "mae", "smooth_l1"}
        The loss.
    delta : float
        Huber's switch point (``smooth_l1``).

    Returns
    -------
    float
        ``L``.
    """
    e = y - t
    if kind == "mse":
        v = e * e
    elif kind == "mae":
        v = np.abs(e)
    else:
        a = np.abs(e)
        q = np.minimum(a, y.dtype.type(delta))
        v = 0.5 * q * q + y.dtype.type(delta) * (a - q)
    return float(v.mean())


def loss_backward(y, t, *, kind, delta):
    """Gradient of the mean loss with respect to ``y``.

    Parameters
    ----------
    y, t, kind, delta
        As in :func:`loss_forward`.

    Returns
    -------
    numpy.ndarray
        ``dL/dy``.
    """
    e = y - t
    m = y.dtype.type(y.size)
    if kind == "mse":
        g = 2 * e
    elif kind == "mae":
        g = np.sign(e)
    else:
        g = np.clip(e, -y.dtype.type(delta), y.dtype.type(delta))
    return g / m
