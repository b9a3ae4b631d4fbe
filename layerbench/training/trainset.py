"""Training data from the natural images bundled with scikit-image (no download).

High-resolution images are cropped to a multiple of the scale; the low-resolution image is
their antialiased bicubic downscaling (:func:`layerbench.models.bicubic.downscale`), rounded
to uint8. Grey images are replicated to RGB. Patches are drawn per step from a generator seeded with
``(seed, step)``, so a resumed run sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import numpy as np

from backends.errors import expected
from layerbench.models.bicubic import downscale

# Held out for validation and the model card: never used for training.
VALIDATION = ("chelsea", "coffee", "rocket")
TRAINING = (
    "astronaut", "camera", "motorcycle_left", "motorcycle_right", "hubble_deep_field",
    "immunohistochemistry", "retina", "colorwheel", "brick", "grass", "gravel", "moon",
    "coins", "clock", "page",
)


def load_image(name: str) -> np.ndarray:
    """A scikit-image sample image as uint8 H x W x 3.

    Parameters
    ----------
    name : str
        A ``skimage.data`` sample (``motorcycle_left``/``right`` for the stereo pair).

    Returns
    -------
    numpy.ndarray
        uint8 H x W x 3 (grey samples replicated).

    Raises
    ------
    ValueError
        ``name`` is not a sample.
    """
    from skimage import data

    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = data.stereo_motorcycle()
        im = left if name == "motorcycle_left" else right
    elif hasattr(data, name) and name not in ("download_all", "data_dir"):
        im = getattr(data, name)()
    else:
        raise ValueError(expected("image", "a scikit-image sample name", name))
    if im.ndim == 2:
        im = np.repeat(im[:, :, None], 3, axis=2)
    return np.ascontiguousarray(im[:, :, :3]).astype(np.uint8)


def pair(name: str, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lr, hr)`` uint8 images with ``hr.shape == scale * lr.shape``.

    Parameters
    ----------
    name : str
        A scikit-image sample.
    scale : int
        The SR factor; the LR image is ``layerbench.models.bicubic.downscale`` of the HR.

    Returns
    -------
    lr, hr : numpy.ndarray
        uint8 H x W x 3 each.
    """
    hr = load_image(name)
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    hr = np.ascontiguousarray(hr[:h, :w])
    return downscale(hr, scale), hr


def augment(rng: np.random.Generator, a: np.ndarray, b: np.ndarray):
    """The same random 90-degree rotation and horizontal flip of an LR patch ``a`` and its HR
    patch ``b`` (two draws from ``rng``: rotation, then flip).

    Parameters
    ----------
    rng : numpy.random.Generator
        The draws' source.
    a, b : numpy.ndarray
        LR and HR patches.

    Returns
    -------
    a, b : numpy.ndarray
        The transformed views.
    """
    k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
    a, b = np.rot90(a, k), np.rot90(b, k)
    return (a[:, ::-1], b[:, ::-1]) if flip else (a, b)


class PatchSampler:
    """Random aligned LR/HR patches with flips and 90-degree rotations.

    Parameters
    ----------
    names : sequence of str
        Training images.
    scale : int
    patch : int
        LR patch size (the HR patch is ``scale * patch``).
    batch : int
    seed : int
    """

    def __init__(self, names, scale: int, patch: int, batch: int, seed: int):
        self.pairs = [pair(n, scale) for n in names]
        small = [n for n, (lr, _) in zip(names, self.pairs, strict=True)
                 if min(lr.shape[:2]) < patch]
        if small:
            raise ValueError(expected("patch", f"<= the LR size of every image ({small})", patch))
        self.scale, self.patch, self.batch, self.seed = scale, patch, batch, seed
        # draw images in proportion to their area, so every pixel is equally likely
        areas = np.array([lr.shape[0] * lr.shape[1] for lr, _ in self.pairs], dtype=np.float64)
        self.weights = areas / areas.sum()

    def batch_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(lr, hr)`` float64 NHWC batches in [0, 255] for training step ``step``.

        Parameters
        ----------
        step : int
            The training step (with the sampler's seed, it fixes the draws).

        Returns
        -------
        lr, hr : numpy.ndarray
            ``(batch, patch, patch, 3)`` and ``(batch, scale patch, scale patch, 3)``.
        """
        rng = np.random.default_rng([self.seed, step])
        p, s = self.patch, self.scale
        lrs, hrs = [], []
        for _ in range(self.batch):
            lr, hr = self.pairs[rng.choice(len(self.pairs), p=self.weights)]
            i = int(rng.integers(0, lr.shape[0] - p + 1))
            j = int(rng.integers(0, lr.shape[1] - p + 1))
            a, b = augment(rng, lr[i : i + p, j : j + p],
                           hr[i * s : (i + p) * s, j * s : (j + p) * s])
            lrs.append(a)
            hrs.append(b)
        return np.stack(lrs).astype(np.float64), np.stack(hrs).astype(np.float64)
