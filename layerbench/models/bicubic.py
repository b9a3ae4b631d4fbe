"""Bicubic upscaling with the model interface (the baseline every model must beat).

Keys' cubic convolution with ``a = -0.5`` (MATLAB ``imresize`` for upscaling): output pixel
``j`` samples the input at ``u = (j + 0.5) / s - 0.5`` with weights
``k(t) = (a+2)|t|^3 - (a+3)|t|^2 + 1`` for ``|t| <= 1``, ``a|t|^3 - 5a|t|^2 + 8a|t| - 4a``
for ``1 < |t| < 2``, 0 beyond; edge pixels are replicated. Separable: rows, then columns.
"""

from __future__ import annotations

import numpy as np

from backends.errors import SpecError, WeightsError, expected

from .model import SRModel

A = -0.5


def cubic(t: np.ndarray) -> np.ndarray:
    """Keys' kernel ``k(t)`` with ``a = -0.5`` (the formula of the module docstring).

    Parameters
    ----------
    t : numpy.ndarray
        Distances in input pixels.

    Returns
    -------
    numpy.ndarray
        The weights, 0 for ``|t| >= 2``.

    Examples
    --------
    >>> cubic(np.array([0.0, 0.5, 1.0, 2.0])).tolist()
    [1.0, 0.5625, 0.0, 0.0]
    """
    t = np.abs(t)
    near = ((A + 2) * t - (A + 3)) * t * t + 1
    far = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _matrix(n: int, scale: int) -> np.ndarray:
    """(scale n, n) interpolation matrix of one axis, replicated edges folded in."""
    u = (np.arange(n * scale) + 0.5) / scale - 0.5
    left = np.floor(u).astype(int) - 1
    m = np.zeros((n * scale, n))
    for k in range(4):
        idx = left + k
        w = cubic(u - idx)
        np.add.at(m, (np.arange(n * scale), np.clip(idx, 0, n - 1)), w)
    return m


def _down_matrix(n: int, scale: int) -> np.ndarray:
    """(n // scale, n) antialiased downscaling matrix: the kernel stretched by ``scale``
    (``k(t / s) / s``, 4 s taps), rows normalised to 1, replicated edges folded in."""
    m_out = n // scale
    u = (np.arange(m_out) + 0.5) * scale - 0.5
    taps = np.arange(-2 * scale, 2 * scale + 1)
    idx = np.floor(u).astype(int)[:, None] + taps[None, :]
    w = cubic((u[:, None] - idx) / scale)
    w /= w.sum(axis=1, keepdims=True)
    m = np.zeros((m_out, n))
    np.add.at(m, (np.repeat(np.arange(m_out), taps.size), np.clip(idx, 0, n - 1).ravel()),
              w.ravel())
    return m


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Antialiased bicubic downscaling of an H x W x C uint8 image (MATLAB ``imresize``
    convention), rounded back to uint8; H and W are cropped to multiples of ``scale``.

    Parameters
    ----------
    image : numpy.ndarray
        H x W x C image in [0, 255].
    scale : int
        The integer factor.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H // scale) x (W // scale) x C``.
    """
    x = np.asarray(image, dtype=np.float64)
    mh, mw = _down_matrix(x.shape[0], scale), _down_matrix(x.shape[1], scale)
    y = np.einsum("ih,hwc,jw->ijc", mh, x, mw, optimize=True)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def upscale(x: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscaling of NHWC ``x`` (float64 out, unclipped).

    Parameters
    ----------
    x : numpy.ndarray
        NHWC image(s).
    scale : int
        The integer factor.

    Returns
    -------
    numpy.ndarray
        Float64 ``(N, scale H, scale W, C)``.

    Examples
    --------
    >>> upscale(np.full((1, 2, 2, 1), 7.0), 2).shape   # a constant stays constant
    (1, 4, 4, 1)
    >>> float(upscale(np.full((1, 2, 2, 1), 7.0), 2).max())
    7.0
    """
    x = np.asarray(x, dtype=np.float64)
    mh, mw = _matrix(x.shape[1], scale), _matrix(x.shape[2], scale)
    return np.einsum("ih,nhwc,jw->nijc", mh, x, mw, optimize=True)


class BicubicModel(SRModel):
    """Bicubic interpolation behind the :class:`SRModel` interface; no parameters.

    Parameters
    ----------
    scale : int
        The integer factor.
    dtype : float32 or float64, default float32
        The dtype of ``forward``'s output.
    """

    def __init__(self, scale: int, dtype=np.float32):
        self.net = None
        self.arch = self.name = "bicubic"
        self.config = {"scale": scale}
        self.scale = scale
        self.mean = np.zeros(3)
        self.norm = 1.0
        self.pad = 0
        self._dtype = np.dtype(dtype)

    @property
    def dtype(self):
        return self._dtype

    @property
    def backend(self):
        return None

    def params(self):
        return {}

    def num_params(self) -> int:
        return 0

    def receptive_radius(self) -> int:
        return 2

    def predict(self, x, *, tile=None, overlap=None, band_bytes=None, memory_budget=None,
                progress=None):
        y = upscale(x, self.scale)
        if progress is not None:
            progress(1, 1)
        return y

    def forward(self, x, *, training=False):
        return upscale(x, self.scale).astype(self.dtype)

    def load_weights(self, path):
        raise WeightsError(expected("weights for 'bicubic'", "none (it has no parameters)", path))

    def __repr__(self):
        return f"<BicubicModel x{self.scale}>"


def bicubic(scale: int = 2, *, backend=None, dtype=np.float32, seed: int = 0) -> BicubicModel:
    """Bicubic upscaling by an integer ``scale`` with the model interface.

    Parameters
    ----------
    scale : int, default 2
        The integer factor, ``>= 1``.
    backend, seed
        Accepted for symmetry with the other builders and ignored: it is plain NumPy.
    dtype : float32 or float64, default float32
        The dtype of ``forward``'s output.

    Returns
    -------
    BicubicModel
        The model.

    Raises
    ------
    SpecError
        ``scale`` is not an integer ``>= 1``.

    Examples
    --------
    >>> model = bicubic(3)
    >>> model.super_resolve(np.zeros((4, 5, 3), np.uint8)).shape
    (12, 15, 3)
    """
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise SpecError(expected("scale", "an integer >= 1", scale))
    return BicubicModel(scale, dtype)
