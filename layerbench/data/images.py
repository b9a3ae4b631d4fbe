"""RGB image files and the natural images embedded in scikit-image.

The embedded set stands in for DIV2K when no dataset root is configured: the RGB photographs
that ship inside scikit-image and need no download (``EMBEDDED``). They are 300-1000 px on a
side, not 2K, and there are eight of them, not 100: results on them are not DIV2K numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .errors import DataError

EMBEDDED: tuple[str, ...] = (
    "astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
    "motorcycle_left", "motorcycle_right",
)


def load_embedded(name: str) -> np.ndarray:
    """One embedded scikit-image RGB photograph as a uint8 HxWx3 array.

    Parameters
    ----------
    name : str
        One of ``EMBEDDED``.

    Returns
    -------
    numpy.ndarray
        uint8 H x W x 3, C-contiguous.

    Raises
    ------
    DataError
        ``name`` is not an embedded image.

    Examples
    --------
    >>> load_embedded("astronaut").shape
    (512, 512, 3)
    """
    import skimage.data as skd

    if name not in EMBEDDED:
        raise DataError(f"dataset.images: expected names among {EMBEDDED}, received {name!r}")
    if name.startswith("motorcycle_"):
        left, right, _ = skd.stereo_motorcycle()
        img = left if name.endswith("left") else right
    else:
        img = getattr(skd, name)()
    return np.ascontiguousarray(img[..., :3], dtype=np.uint8)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an 8-bit image file as RGB uint8 HxWx3 (grey files are replicated).

    Parameters
    ----------
    path : str or os.PathLike
        A PNG or JPEG file (anything OpenCV decodes); an alpha channel is dropped.

    Returns
    -------
    numpy.ndarray
        uint8 H x W x 3 in RGB order.

    Raises
    ------
    DataError
        The file is missing, cannot be decoded, or is not 8-bit.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: expected an image file, received a missing path")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{path}: expected a readable PNG/JPEG image, the file is corrupt "
                        "or not an image")
    if img.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit image, received dtype {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(img)


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop bottom/right so both spatial sizes are multiples of ``scale`` (the SR convention).

    Parameters
    ----------
    img : numpy.ndarray
        H x W (x C) image.
    scale : int
        The SR factor.

    Returns
    -------
    numpy.ndarray
        A view of ``img``.

    Examples
    --------
    >>> modcrop(np.zeros((7, 10, 3)), 3).shape
    (6, 9, 3)
    """
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]
