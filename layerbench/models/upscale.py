"""Super-resolve images and volumes of any common pixel type with an :class:`SRModel`.

The models compute on RGB in [0, 255] units. :func:`upscale_array` converts what it is given
to that, super-resolves and converts back, so the result has the input's dtype, value range
and channel layout:

============  ==================================================================
input dtype   value range mapped to the model's [0, 255]
============  ==================================================================
uint8         [0, 255] as is (the result equals :meth:`SRModel.super_resolve`)
uint16        [0, 65535], ``x * 255 / 65535``
float         [0, 1] when every value lies in it, else the image's [min, max]
other ints    the image's [min, max] (e.g. int16 MRI volumes)
============  ==================================================================

``value_range=(lo, hi)`` overrides the table (:func:`upscale_volume` passes the whole
volume's range so that every slice is mapped alike). The model output is clipped to the
range, mapped back, and rounded half to even for integer dtypes.

Channels: grey ``H x W`` (or ``H x W x 1``) is replicated to RGB and the output's channel
mean is returned; RGB runs as is; an alpha channel (grey+alpha or RGBA) is upscaled
bicubically (:func:`layerbench.models.bicubic.upscale`) and reattached.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backends.errors import ShapeError, expected

from . import inference
from .bicubic import upscale as bicubic_upscale

Progress = Callable[[int, int], object]


class Bar:
    """A tqdm bar as a ``progress(done, total)`` callback (``progress=True``).

    Parameters
    ----------
    desc, unit : str
        The bar's label and unit.
    **kwargs
        Passed to ``tqdm.tqdm`` (e.g. ``disable=None``: only on a terminal).
    """

    def __init__(self, desc: str, unit: str, **kwargs):
        import sys

        from tqdm.auto import tqdm

        self.bar = tqdm(total=None, desc=desc, unit=unit, leave=False, file=sys.stderr,
                        **kwargs)

    def __call__(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()
        if done >= total:
            self.bar.close()


def _callback(progress, desc: str, unit: str) -> Progress | None:
    if progress is True:
        return Bar(desc, unit)
    return progress or None


def dtype_range(image: np.ndarray) -> tuple[float, float]:
    """The range of ``image``'s dtype that maps to the model's [0, 255] (module table).

    Parameters
    ----------
    image : numpy.ndarray
        Any integer or floating-point array.

    Returns
    -------
    tuple of float
        ``(lo, hi)``; ``lo == hi`` for a constant image of a type without a fixed range.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return 0.0, 255.0
    if image.dtype == np.uint16:
        return 0.0, 65535.0
    if image.dtype.kind not in "iuf" or image.size == 0:
        raise TypeError(expected("image.dtype", "an integer or floating-point dtype",
                                 image.dtype))
    lo, hi = float(np.min(image)), float(np.max(image))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(expected("image values", "finite numbers", "NaN or infinity"))
    if image.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return lo, hi


def _to_model(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if lo == 0.0 and hi == 255.0:
        return x
    span = hi - lo if hi > lo else 1.0
    return (np.asarray(x, dtype=np.float64) - lo) * (255.0 / span)


def _from_model(y: np.ndarray, lo: float, hi: float, dtype: np.dtype) -> np.ndarray:
    """``y`` in model units (float, unclipped) back to ``dtype`` over ``[lo, hi]``."""
    if dtype == np.uint8 and lo == 0.0 and hi == 255.0:
        np.rint(y, out=y)
        return np.clip(y, 0, 255, out=y).astype(np.uint8)
    np.clip(y, 0.0, 255.0, out=y)
    span = hi - lo if hi > lo else 1.0
    out = y * (span / 255.0) + lo
    if dtype.kind in "iu":
        np.rint(out, out=out)
        info = np.iinfo(dtype)
        np.clip(out, info.min, info.max, out=out)
    return out.astype(dtype)


def upscale_array(model, image: np.ndarray, *, tile: int | None = None,
                  memory_budget: int | None = inference.MEMORY_BUDGET,
                  value_range: tuple[float, float] | None = None,
                  progress: Progress | bool | None = None) -> np.ndarray:
    """Super-resolve one image of any supported dtype and channel layout.

    Parameters
    ----------
    model : SRModel
        E.g. ``models.pretrained("edsr_small_x2")``.
    image : numpy.ndarray
        ``H x W`` (grey), ``H x W x C`` with C in 1 (grey), 2 (grey + alpha), 3 (RGB) or 4
        (RGBA); uint8, uint16, any other integer or a float dtype (module table).
    tile, memory_budget : int or None
        As in :meth:`SRModel.super_resolve`.
    value_range : (float, float), optional
        The input values mapped to the model's [0, 255] (default: by dtype, module table).
    progress : callable or bool, optional
        Called as ``progress(done, total)`` after each tile of the model run; ``True``: a
        progress bar on stderr.

    Returns
    -------
    numpy.ndarray
        ``scale H x scale W`` with the input's channel count and dtype.

    Raises
    ------
    backends.errors.ShapeError
        Another number of dimensions or channels, or an empty image.
    TypeError
        Not a numeric dtype.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)) \
            or 0 in image.shape:
        raise ShapeError(expected("image.shape", "(H, W) or (H, W, C) with C in 1..4 and "
                                  "H, W >= 1", image.shape))
    lo, hi = value_range if value_range is not None else dtype_range(image)
    channels = 1 if image.ndim == 2 else image.shape[2]
    planes = image if image.ndim == 3 else image[..., None]
    n_colour = 3 if channels >= 3 else 1
    colour = planes[..., :n_colour]
    alpha = planes[..., n_colour] if channels in (2, 4) else None
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    x = _to_model(np.ascontiguousarray(colour), lo, hi)
    y = model.predict(x[None], tile=tile, memory_budget=memory_budget,
                      progress=_callback(progress, "tiles", "tile"))[0]
    if channels <= 2:
        y = y.mean(axis=2, keepdims=True)
    parts = [y]
    if alpha is not None:
        a = _to_model(np.ascontiguousarray(alpha), lo, hi)
        parts.append(bicubic_upscale(np.asarray(a, np.float64)[None, ..., None],
                                     model.scale)[0])
    y = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)
    out = _from_model(y, lo, hi, image.dtype)
    return out[..., 0] if image.ndim == 2 else out


def upscale_volume(model, volume: np.ndarray, *, tile: int | None = None,
                   memory_budget: int | None = inference.MEMORY_BUDGET,
                   progress: Progress | bool | None = None) -> np.ndarray:
    """Super-resolve a 3-D volume slice by slice in its first two axes.

    Each slice ``volume[:, :, k]`` goes through :func:`upscale_array` with the whole
    volume's value range (so that slices map alike), grey in, grey out.

    Parameters
    ----------
    model : SRModel
    volume : numpy.ndarray
        ``X x Y x Z``, any numeric dtype (NIfTI voxel data).
    tile, memory_budget : int or None
        As in :meth:`SRModel.super_resolve`.
    progress : callable or bool, optional
        Called as ``progress(done, total)`` after each slice; ``True``: a progress bar on
        stderr.

    Returns
    -------
    numpy.ndarray
        ``scale X x scale Y x Z``, the input's dtype.
    """
    volume = np.asarray(volume)
    if volume.ndim != 3 or 0 in volume.shape:
        raise ShapeError(expected("volume.shape", "(X, Y, Z) with every size >= 1",
                                  volume.shape))
    lo_hi = dtype_range(volume)
    s = model.scale
    progress = _callback(progress, "slices", "slice")
    out = np.empty((volume.shape[0] * s, volume.shape[1] * s, volume.shape[2]), volume.dtype)
    for k in range(volume.shape[2]):
        out[:, :, k] = upscale_array(model, volume[:, :, k], tile=tile,
                                     memory_budget=memory_budget, value_range=lo_hi)
        if progress is not None:
            progress(k + 1, volume.shape[2])
    return out


def scaled_affine(affine: np.ndarray, scale: int) -> np.ndarray:
    """The voxel-to-world affine of a volume upscaled ``scale`` times in its first two axes.

    Output voxel ``i'`` covers ``1/scale`` of input voxel ``i = (i' + 1/2) / scale - 1/2``
    (the same field of view, centres shifted half a new voxel in), so
    ``A' = A @ M`` with ``M = diag(1/s, 1/s, 1, 1)`` and translation ``1/(2s) - 1/2`` in the
    first two axes.

    Parameters
    ----------
    affine : numpy.ndarray
        4 x 4 voxel-to-world matrix (NIfTI ``sform``/``qform``).
    scale : int

    Returns
    -------
    numpy.ndarray
        The 4 x 4 affine of the upscaled volume.
    """
    m = np.eye(4)
    m[0, 0] = m[1, 1] = 1.0 / scale
    m[0, 3] = m[1, 3] = 0.5 / scale - 0.5
    return np.asarray(affine, dtype=np.float64) @ m
