"""The DIV2K experiment: interpolation baselines and SR models against the HR image.

Per image x scale (one shard): the LR image (DIV2K's ``LR_bicubic`` file, or MATLAB-style
bicubic when absent) is upscaled by every baseline and by every SR model of that scale and
scored per RGB channel and on the whole image. A crop of ``experiment.crop`` HR pixels where
bicubic errs most is kept from every method for the panels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from layerbench import metrics
from layerbench.data import div2k
from layerbench.schema import Config

from .methods import baseline


@dataclass(frozen=True)
class Task:
    """One shard of the DIV2K experiment.

    Parameters
    ----------
    image : str
        The image's name.
    scale : int
        The SR factor.
    """

    image: str
    scale: int

    @property
    def key(self) -> str:
        return f"{self.image}-x{self.scale}"


def plan(cfg: Config) -> list[Task]:
    """The tasks of a DIV2K experiment: one per image and scale.

    Parameters
    ----------
    cfg : Config
        The validated configuration.

    Returns
    -------
    list of Task
        ``Task(image, scale)`` for every selected image and configured scale.
    """
    d = cfg.dataset
    names = div2k.image_names(d.kind, d.root, d.split, d.images)
    return [Task(n, s) for n in names for s in cfg.experiment.scales]


def worst_crop(hr: np.ndarray, test: np.ndarray, size: int) -> tuple[int, int, int]:
    """Top-left ``(y, x)`` and side of the ``size`` square with the largest squared error.

    Parameters
    ----------
    hr : numpy.ndarray
        The reference, H x W x C.
    test : numpy.ndarray
        The image compared.
    size : int
        The square's side (at most the image's).

    Returns
    -------
    y, x, side : int
        Top-left corner and side.
    """
    size = min(size, *hr.shape[:2])
    err = ((hr.astype(np.float64) - test.astype(np.float64)) ** 2).mean(axis=2)
    local = ndi.uniform_filter(err, size=size, mode="constant")
    h, w = err.shape
    half = size // 2
    inner = local[half : h - size + half + 1, half : w - size + half + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return int(y), int(x), size


def run_shard(cfg: Config, task: Task, models: list) -> tuple[pd.DataFrame, dict]:
    """Score every baseline and every SR model of ``task.scale`` on one DIV2K image.

    Parameters
    ----------
    cfg : Config
        The validated configuration (``experiment`` and ``dataset`` are read).
    task : Task
        The image and the scale of this shard.
    models : list
        The loaded SR models; those of another scale are skipped.

    Returns
    -------
    rows : pandas.DataFrame
        One row per method and channel (and the whole image): the scores of
        ``layerbench.metrics.score_channels``, the seconds the method took, the image size
        and where the LR image came from.
    examples : dict
        ``crop_yx_size`` (the crop of the largest bicubic error, ``[y, x, side]``), ``HR``
        and every method's output, cropped there: the images kept for the panels.
    """
    e, d = cfg.experiment, cfg.dataset
    pair = div2k.load_pair(d.kind, d.root, d.split, task.image, task.scale)
    methods = [(b, "baseline", baseline(b, task.scale), None) for b in e.baselines]
    if "bicubic" not in e.baselines:
        methods.append(("bicubic", "baseline", baseline("bicubic", task.scale), None))
    methods += [(m.label, "sr", m, m) for m in models if m.scale == task.scale]
    rows, outputs = [], {}
    for label, kind, fn, m in methods:
        t0 = time.perf_counter()
        out = fn(pair.lr)
        seconds = time.perf_counter() - t0
        outputs[label] = out
        for r in metrics.score_channels(pair.hr, out, data_range=e.data_range, shave=e.shave):
            rows.append({
                "image": task.image, "scale": task.scale, "method": label, "kind": kind,
                "model_preset": m.preset if m else None,
                "model_weights": m.weights if m else None,
                "weights_sha256": m.weights_sha256 if m else None,
                **r, "seconds": seconds, "height": pair.hr.shape[0],
                "width": pair.hr.shape[1], "lr_source": pair.lr_source, "source": pair.source,
            })
    if e.crop_images is not None and task.image not in e.crop_images:
        return pd.DataFrame(rows), {}
    y, x, s = worst_crop(pair.hr, outputs["bicubic"], e.crop)
    examples = {"crop_yx_size": np.array([y, x, s])}
    examples["HR"] = pair.hr[y : y + s, x : x + s]
    for label, out in outputs.items():
        examples[label] = out[y : y + s, x : x + s]
    return pd.DataFrame(rows), examples
