"""A small DIV2K-layout tree made from the embedded photographs, and DIV2K's archives of it.

For trying the real-data path without the real data (tests, the cluster walkthrough): the
same folders and file names as DIV2K (:mod:`layerbench.data.div2k`), HR images cut from the
embedded scikit-image photographs and their LR images made with MATLAB-style bicubic, and
the zip archives DIV2K distributes (``DIV2K_valid_HR.zip`` holds ``DIV2K_valid_HR/0801.png``;
``DIV2K_valid_LR_bicubic_X2.zip`` holds ``DIV2K_valid_LR_bicubic/X2/0801x2.png``). These
are not DIV2K images and their scores are not DIV2K numbers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .degrade import matlab_bicubic
from .images import EMBEDDED, load_embedded, modcrop


def make_tree(root: str | Path, names: Sequence[str] = ("0801", "0802"), *,
              split: str = "valid", scales: Sequence[int] = (2, 4),
              size: tuple[int, int] | None = (48, 64)) -> Path:
    """Write a DIV2K-layout tree under ``root``.

    Parameters
    ----------
    root : str or pathlib.Path
    names : sequence of str
        Image stems (DIV2K's are ``0801`` ... ``0900`` for ``valid``).
    split : str
        ``valid`` or ``train``.
    scales : sequence of int
        Bicubic LR scales to write.
    size : (int, int), optional
        HR height and width; each image is resized from the next embedded photograph
        (``None``: the photograph's own size, cropped to a multiple of every scale).

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    root = Path(root)
    hr_dir = root / f"DIV2K_{split}_HR"
    hr_dir.mkdir(parents=True, exist_ok=True)
    step = int(np.lcm.reduce([int(s) for s in scales])) if scales else 1
    for i, name in enumerate(names):
        photo = load_embedded(EMBEDDED[i % len(EMBEDDED)])
        hr = photo if size is None else cv2.resize(photo, (size[1], size[0]),
                                                   interpolation=cv2.INTER_AREA)
        hr = modcrop(hr, step)
        cv2.imwrite(str(hr_dir / f"{name}.png"), cv2.cvtColor(hr, cv2.COLOR_RGB2BGR))
        for s in scales:
            lr_dir = root / f"DIV2K_{split}_LR_bicubic" / f"X{s}"
            lr_dir.mkdir(parents=True, exist_ok=True)
            lr = matlab_bicubic(hr, s)
            cv2.imwrite(str(lr_dir / f"{name}x{s}.png"), cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    return root


def make_archives(tree: str | Path, out: str | Path, *, split: str = "valid",
                  scales: Sequence[int] = (2, 4)) -> dict[str, Path]:
    """Zip a tree of :func:`make_tree` into DIV2K's archives.

    Parameters
    ----------
    tree : str or pathlib.Path
        The tree's root.
    out : str or pathlib.Path
        Folder for the archives.
    split : str
    scales : sequence of int

    Returns
    -------
    dict of str to pathlib.Path
        ``{archive name: path}``.
    """
    tree, out = Path(tree), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = {f"DIV2K_{split}_HR.zip": f"DIV2K_{split}_HR"}
    folders.update({f"DIV2K_{split}_LR_bicubic_X{s}.zip": f"DIV2K_{split}_LR_bicubic/X{s}"
                    for s in scales})
    made = {}
    for name, folder in folders.items():
        with zipfile.ZipFile(out / name, "w", zipfile.ZIP_STORED) as z:
            z.write(tree / folder, folder + "/")
            for p in sorted((tree / folder).iterdir()):
                z.write(p, f"{folder}/{p.name}")
        made[name] = out / name
    return made
