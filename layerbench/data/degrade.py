"""Degradations and interpolation baselines of the thesis experiments.

* :func:`matlab_bicubic` — MATLAB ``imresize(img, 1/s, 'bicubic')`` with antialiasing, the
  kernel used to make DIV2K's ``LR_bicubic`` images (used only when those files are absent).
* :func:`blur_resize` — the MRI degradation of the thesis: ``cv2.resize(INTER_CUBIC)`` and
  ``cv2.GaussianBlur(ksize=3, sigma=1)``, in the order configured (thesis §3.3: resize first).
* :func:`rotate` — rotation about the image centre with ``cv2.warpAffine``.
* :func:`upscale` — the nearest / bicubic / Lanczos baselines through ``cv2.resize``.

:func:`matlab_bicubic` takes and returns uint8 arrays. :func:`blur_resize`, :func:`rotate` and
:func:`upscale` take uint8 or float (float32/float64) HxW or HxWxC arrays and return the same
dtype (floats unclipped: cubic overshoot is kept, as in the thesis' float pipeline);
none modifies its input.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from backends.errors import expected

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
}
ORDERS = ("resize_then_blur", "blur_then_resize")


def _check_uint8(name: str, img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim not in (2, 3):
        received = getattr(img, "dtype", type(img).__name__), getattr(img, "shape", None)
        raise ValueError(expected(name, "a uint8 HxW or HxWxC array", received))


def _check_image(name: str, img: np.ndarray) -> None:
    ok = isinstance(img, np.ndarray) and img.ndim in (2, 3) and img.dtype in (
        np.uint8, np.float32, np.float64)
    if not ok:
        received = getattr(img, "dtype", type(img).__name__), getattr(img, "shape", None)
        raise ValueError(expected(name, "a uint8, float32 or float64 HxW or HxWxC array",
                                  received))


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic with a = -0.5 (MATLAB's):
    k(x) = 1.5|x|^3 - 2.5|x|^2 + 1 for |x| <= 1, -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 for 1 < |x| <= 2.
    """
    a = np.abs(x)
    a2, a3 = a * a, a * a * a
    return (1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1) + (
        -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0
    ) * ((a > 1) & (a <= 2))


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of MATLAB's antialiased bicubic resize along one axis.

    Output pixel j (1-based) sits at u = j/s + (1 - 1/s)/2 in input coordinates (s = n_out/n_in);
    when shrinking, the kernel is stretched to h(x) = s k(s x) (width 4/s) to low-pass first.
    Weights are normalised to sum to one; out-of-range taps mirror symmetrically.
    """
    s = n_out / n_in
    width = 4.0 / s if s < 1 else 4.0
    j = np.arange(1, n_out + 1, dtype=np.float64)
    u = j / s + 0.5 * (1.0 - 1.0 / s)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    dist = u[:, None] - idx
    w = s * _cubic(s * dist) if s < 1 else _cubic(dist)
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return m


def matlab_bicubic(img: np.ndarray, scale: int) -> np.ndarray:
    """Downscale by an integer ``scale`` like MATLAB ``imresize(img, 1/scale, 'bicubic')``.

    Rows are resized first, then columns (MATLAB's order for equal scales), in float64; the
    result is rounded half away from zero and clipped to uint8 as MATLAB does.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 H x W (x C) image, at least ``scale`` pixels on each side.
    scale : int
        The integer factor, ``>= 1``.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H // scale) x (W // scale) (x C)``.

    Raises
    ------
    ValueError
        ``img`` is not uint8 or too small, or ``scale`` is not an integer ``>= 1``.
    """
    _check_uint8("img", img)
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(expected("scale", "an integer >= 1", scale))
    h, w = img.shape[:2]
    if h < scale or w < scale:
        raise ValueError(expected("img", f"at least {scale}x{scale} pixels", img.shape))
    x = img.astype(np.float64)
    x = np.tensordot(_resize_matrix(h, h // scale), x, axes=(1, 0))
    x = np.moveaxis(np.tensordot(_resize_matrix(w, w // scale), x, axes=(1, 1)), 0, 1)
    return np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), 0, 255).astype(np.uint8)


def blur_resize(img: np.ndarray, scale: int, *, order: str = "resize_then_blur",
                ksize: int = 3, sigma: float = 1.0) -> np.ndarray:
    """The thesis' MRI low-resolution acquisition model.

    ``cv2.resize(img, (w // scale, h // scale), interpolation=INTER_CUBIC)`` and
    ``cv2.GaussianBlur(ksize=(ksize, ksize), sigmaX=sigmaY=sigma)`` (default border
    ``BORDER_REFLECT_101``), applied in ``order``. The thesis text (§3.3 and the defense slides)
    blurs the LR image after the resize, hence the default.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 or float H x W (x C) image.
    scale : int
        The integer factor.
    order : {"resize_then_blur", "blur_then_resize"}, default "resize_then_blur"
        Which comes first.
    ksize : int, default 3
        Side of the Gaussian kernel (odd).
    sigma : float, default 1.0
        Standard deviation of the Gaussian, in pixels, both axes.

    Returns
    -------
    numpy.ndarray
        ``(H // scale) x (W // scale) (x C)``, the dtype of ``img``.

    Raises
    ------
    ValueError
        ``img`` is not an image of a supported dtype, or ``order`` is unknown.

    Examples
    --------
    >>> blur_resize(np.full((8, 6), 50, np.uint8), 2).shape
    (4, 3)
    """
    _check_image("img", img)
    if order not in ORDERS:
        raise ValueError(expected("degrade.order", f"one of {ORDERS}", order))
    h, w = img.shape[:2]
    size = (w // scale, h // scale)

    def blur(x):
        return cv2.GaussianBlur(x, (ksize, ksize), sigmaX=sigma, sigmaY=sigma)

    def resize(x):
        return cv2.resize(x, size, interpolation=cv2.INTER_CUBIC)

    return resize(blur(img)) if order == "blur_then_resize" else blur(resize(img))


def rotate(img: np.ndarray, angle: float, *, interpolation: str = "bilinear",
           border: str = "constant") -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees about the pixel-grid centre, same size.

    ``cv2.warpAffine`` with ``cv2.getRotationMatrix2D(((w-1)/2, (h-1)/2), angle, 1)``; corners
    leaving the frame are cut, uncovered pixels follow ``border`` (``constant`` = 0, the MRI
    background). Angle 0 returns an exact copy.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 or float H x W (x C) image.
    angle : float
        Degrees, counter-clockwise.
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos"}, default "bilinear"
        OpenCV's interpolation.
    border : {"constant", "reflect", "replicate"}, default "constant"
        What fills the pixels the rotated image does not cover.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``img``.

    Raises
    ------
    ValueError
        ``img`` is not an image of a supported dtype, or an option is unknown.

    Examples
    --------
    >>> img = np.arange(9, dtype=np.float32).reshape(3, 3)
    >>> rotate(img, 90, interpolation="nearest").tolist()   # the top row becomes the left column
    [[2.0, 5.0, 8.0], [1.0, 4.0, 7.0], [0.0, 3.0, 6.0]]
    """
    _check_image("img", img)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(expected("rotation.interpolation", f"one of {tuple(INTERPOLATIONS)}",
                                  interpolation))
    if border not in BORDERS:
        raise ValueError(expected("rotation.border", f"one of {tuple(BORDERS)}", border))
    if angle % 360 == 0:
        return img.copy()
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(angle), 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=INTERPOLATIONS[interpolation],
                          borderMode=BORDERS[border], borderValue=0)


def upscale(img: np.ndarray, scale: int, method: str) -> np.ndarray:
    """Upscale by ``scale`` with ``cv2.resize``: ``nearest``, ``bilinear``, ``bicubic``
    (OpenCV's a = -0.75 kernel, as the thesis used) or ``lanczos`` (8x8 Lanczos-4).

    Parameters
    ----------
    img : numpy.ndarray
        uint8 or float H x W (x C) image.
    scale : int
        The integer factor.
    method : {"nearest", "bilinear", "bicubic", "lanczos"}
        The interpolation.

    Returns
    -------
    numpy.ndarray
        ``(scale H) x (scale W) (x C)``, the dtype of ``img`` (floats unclipped).

    Raises
    ------
    ValueError
        ``img`` is not an image of a supported dtype, or ``method`` is unknown.

    Examples
    --------
    >>> upscale(np.array([[0, 255]], np.uint8), 2, "nearest").tolist()
    [[0, 0, 255, 255], [0, 0, 255, 255]]
    """
    _check_image("img", img)
    if method not in INTERPOLATIONS:
        raise ValueError(expected("method", f"one of {tuple(INTERPOLATIONS)}", method))
    h, w = img.shape[:2]
    out = cv2.resize(img, (w * scale, h * scale), interpolation=INTERPOLATIONS[method])
    return out.reshape(h * scale, w * scale, *img.shape[2:])
