"""DIV2K in its published layout, or the embedded scikit-image photographs.

Layout under ``root`` (as distributed)::

    DIV2K_{split}_HR/0801.png
    DIV2K_{split}_LR_bicubic/X2/0801x2.png
    DIV2K_{split}_LR_bicubic/X4/0801x4.png

``split`` is ``train`` or ``valid``. When an LR file is absent it is made from the HR image
with :func:`~layerbench.data.degrade.matlab_bicubic` and the record says so
(``lr_source="matlab_bicubic"`` instead of ``"file"``). HR images are mod-cropped to a
multiple of the scale before scoring, the usual SR convention.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .degrade import matlab_bicubic
from .errors import DataError
from .images import EMBEDDED, load_embedded, modcrop, read_rgb

SPLITS = ("train", "valid")


@dataclass(frozen=True)
class SRPair:
    """One HR image (mod-cropped to ``scale``) and its LR counterpart.

    Parameters
    ----------
    image : str
        The image's name (file stem or embedded name).
    scale : int
        The SR factor.
    hr : numpy.ndarray
        uint8 H x W x 3, H and W multiples of ``scale``.
    lr : numpy.ndarray
        uint8 ``(H / scale) x (W / scale) x 3``.
    lr_source : {"file", "matlab_bicubic"}
        DIV2K's ``LR_bicubic`` file, or made here from ``hr``.
    source : str
        The HR file's path, or ``"skimage:<name>"``.
    """

    image: str
    scale: int
    hr: np.ndarray
    lr: np.ndarray
    lr_source: str  # "file" (DIV2K LR_bicubic) or "matlab_bicubic" (made here)
    source: str  # path or "skimage:<name>"


def list_div2k(root: str | Path, split: str = "valid",
               images: Sequence[str] | None = None) -> list[Path]:
    """HR image paths of ``split`` under ``root``, sorted; ``images`` selects by stem.

    Parameters
    ----------
    root : str or Path
        The DIV2K root (holding ``DIV2K_{split}_HR``).
    split : {"valid", "train"}, default "valid"
        The split.
    images : sequence of str, optional
        File stems to keep (``"0801"``), in this order; default all.

    Returns
    -------
    list of Path
        The ``.png`` files.

    Raises
    ------
    DataError
        Unknown split, missing or empty HR directory, or a selected image not found.
    """
    if split not in SPLITS:
        raise DataError(f"dataset.split: expected one of {SPLITS}, received {split!r}")
    hr_dir = Path(root) / f"DIV2K_{split}_HR"
    if not hr_dir.is_dir():
        raise DataError(f"{hr_dir}: expected the DIV2K HR directory under dataset.root, "
                        "received a missing path")
    paths = sorted(p for p in hr_dir.iterdir() if p.suffix.lower() == ".png")
    if not paths:
        raise DataError(f"{hr_dir}: expected DIV2K HR .png files, received an empty directory")
    if images is not None:
        by_stem = {p.stem: p for p in paths}
        missing = [i for i in images if i not in by_stem]
        if missing:
            raise DataError(f"dataset.images: {missing} not found in {hr_dir}")
        paths = [by_stem[i] for i in images]
    return paths


def _lr_path(hr_path: Path, split: str, scale: int) -> Path:
    root = hr_path.parent.parent
    return root / f"DIV2K_{split}_LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"


def div2k_pairs(root: str | Path, scale: int, *, split: str = "valid",
                images: Sequence[str] | None = None) -> Iterator[SRPair]:
    """Yield HR/LR pairs from a DIV2K tree; LR files are checked against the HR size.

    Parameters
    ----------
    root : str or Path
        The DIV2K root.
    scale : int
        The SR factor.
    split : {"valid", "train"}, default "valid"
        The split.
    images : sequence of str, optional
        File stems to keep; default all.

    Yields
    ------
    SRPair
        One per image; the LR image from ``LR_bicubic/X{scale}`` when present, else made by
        :func:`~layerbench.data.degrade.matlab_bicubic`.

    Raises
    ------
    DataError
        As :func:`list_div2k`, an HR image smaller than ``scale`` x ``scale`` pixels, or an LR
        file whose size is not the HR size over ``scale``.
    """
    for hr_path in list_div2k(root, split, images):
        hr = read_rgb(hr_path)
        if min(hr.shape[:2]) < scale:
            raise DataError(f"{hr_path}: expected an HR image of at least {scale}x{scale} "
                            f"pixels for x{scale}, received {hr.shape[0]}x{hr.shape[1]}")
        hr = modcrop(hr, scale)
        lr_path = _lr_path(hr_path, split, scale)
        if lr_path.exists():
            lr = read_rgb(lr_path)
            want = (hr.shape[0] // scale, hr.shape[1] // scale)
            if lr.shape[:2] != want:
                raise DataError(f"{lr_path}: expected an LR image of {want[0]}x{want[1]} "
                                f"(HR {hr.shape[0]}x{hr.shape[1]} / {scale}), received "
                                f"{lr.shape[0]}x{lr.shape[1]}")
            yield SRPair(hr_path.stem, scale, hr, lr, "file", str(hr_path))
        else:
            yield SRPair(hr_path.stem, scale, hr, matlab_bicubic(hr, scale), "matlab_bicubic",
                         str(hr_path))


def embedded_pairs(scale: int, *, images: Sequence[str] | None = None) -> Iterator[SRPair]:
    """Yield HR/LR pairs from the scikit-image photographs, LR by MATLAB-style bicubic.

    Parameters
    ----------
    scale : int
        The SR factor.
    images : sequence of str, optional
        Names among ``EMBEDDED``; default all.

    Yields
    ------
    SRPair
        One per image, ``lr_source="matlab_bicubic"``.

    Examples
    --------
    >>> pair = next(embedded_pairs(4, images=["astronaut"]))
    >>> pair.hr.shape, pair.lr.shape, pair.source
    ((512, 512, 3), (128, 128, 3), 'skimage:astronaut')
    """
    for name in images if images is not None else EMBEDDED:
        hr = modcrop(load_embedded(name), scale)
        yield SRPair(name, scale, hr, matlab_bicubic(hr, scale), "matlab_bicubic",
                     f"skimage:{name}")


def image_names(kind: str, root: str | None, split: str,
                images: Sequence[str] | None) -> list[str]:
    """The image names a dataset config selects (used to plan shards).

    Parameters
    ----------
    kind : {"skimage", "div2k"}
        The dataset's kind.
    root : str or None
        The DIV2K root (``kind="div2k"``).
    split : str
        The DIV2K split.
    images : sequence of str or None
        The selection; None for all.

    Returns
    -------
    list of str
        Names, in order.

    Raises
    ------
    DataError
        A name is not an embedded image, or as :func:`list_div2k`.

    Examples
    --------
    >>> image_names("skimage", None, "valid", ["coffee", "rocket"])
    ['coffee', 'rocket']
    """
    if kind == "skimage":
        names = list(images) if images is not None else list(EMBEDDED)
        for n in names:
            if n not in EMBEDDED:
                raise DataError(f"dataset.images: expected names among {EMBEDDED}, "
                                f"received {n!r}")
        return names
    return [p.stem for p in list_div2k(root, split, images)]


def load_pair(kind: str, root: str | None, split: str, image: str, scale: int) -> SRPair:
    """One pair by name, from either source.

    Parameters
    ----------
    kind, root, split
        As in :func:`image_names`.
    image : str
        The image's name.
    scale : int
        The SR factor.

    Returns
    -------
    SRPair
        The pair.
    """
    if kind == "skimage":
        return next(embedded_pairs(scale, images=[image]))
    return next(div2k_pairs(root, scale, split=split, images=[image]))
