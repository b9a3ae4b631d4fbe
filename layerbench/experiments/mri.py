"""The MRI experiment (thesis §3.3): degrade, rotate, super-resolve and score brain slices.

Per subject x weighting x scale (one shard), for every selected slice and angle:

1. ``hr = rotate(slice, angle)`` — the HR reference rotated about its centre (bilinear,
   zero border by default), so the input and the reference are rotated alike;
2. ``lr = blur_resize(hr, scale)`` — ``cv2.resize(INTER_CUBIC)`` to 1/scale and
   ``cv2.GaussianBlur(3, sigma=1)`` (order configurable, thesis order by default);
3. the baselines upscale the grey ``lr``; the SR models of this scale get it replicated to
   three channels;
4. PSNR/SSIM per output channel against ``hr`` (plus ``all``), the IoU between the brain
   mask of ``hr`` and that of the output, and the scores inside the HR mask.

Blank slices (all zero, outside the head) are skipped with a warning: PSNR is infinite there.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from layerbench import metrics
from layerbench.data import degrade, mri
from layerbench.schema import Config

from .methods import baseline, to_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    subject: str
    weight: str
    scale: int

    @property
    def key(self) -> str:
        return f"{self.subject}-{self.weight}-x{self.scale}"


def plan(cfg: Config) -> list[Task]:
    d = cfg.dataset
    subjects = mri.subject_names(d.kind, d.root, d.subjects, d.weights)
    return [Task(s, w, sc) for s in subjects for w in d.weights for sc in cfg.experiment.scales]


@functools.lru_cache(maxsize=2)
def _volume(kind, root, subject, weight, rule, low, high) -> mri.Volume:
    return mri.load_subject_volume(kind, root, subject, weight, rule=rule, low=low, high=high)


def slice_indices(cfg: Config, depth: int) -> list[int]:
    s = cfg.experiment.slices
    stop = depth if s.stop is None else min(s.stop, depth)
    return list(range(s.start, stop, s.step))


def _modulo(cfg: Config) -> int:
    return math.lcm(*cfg.experiment.scales)


def _mask_of(img: np.ndarray, channel: str) -> np.ndarray:
    if img.ndim == 2:
        return metrics.brain_mask(img)
    if channel == "all":
        return metrics.brain_mask(np.rint(img.mean(axis=2)).astype(np.uint8))
    return metrics.brain_mask(img[..., metrics.CHANNELS.index(channel)])


def run_shard(cfg: Config, task: Task, models: list) -> tuple[pd.DataFrame, dict]:
    """Rows for one subject/weighting/scale and the example images kept for the panels."""
    e, d = cfg.experiment, cfg.dataset
    vol = _volume(d.kind, d.root, task.subject, task.weight, d.intensity.rule, d.intensity.low,
                  d.intensity.high)
    slices = slice_indices(cfg, vol.data.shape[d.axis])
    methods = [(b, "baseline", baseline(b, task.scale), None) for b in e.baselines]
    methods += [(m.label, "sr", m, m) for m in models if m.scale == task.scale]
    example_angles = {e.angles[0], 108.0} & set(e.angles)
    rows, examples = [], {}
    grid = [(i, a) for i in slices for a in e.angles]
    for i, angle in tqdm(grid, desc=task.key, leave=False, disable=not cfg.output.progress):
        hr0 = mri.get_slice(vol.data, i, d.axis, _modulo(cfg))
        if not hr0.any():  # a blank slice: PSNR is infinite, SSIM undefined; scored nowhere
            if angle == e.angles[0]:
                log.warning("%s slice %d is blank: skipped", task.key, i)
            continue
        hr = degrade.rotate(hr0, angle, interpolation=e.rotation.interpolation,
                            border=e.rotation.border)
        lr = degrade.blur_resize(hr, task.scale, order=e.degrade.order, ksize=e.degrade.ksize,
                                 sigma=e.degrade.sigma)
        hr_mask = metrics.brain_mask(hr) if e.mask else None
        keep = i in e.examples and angle in example_angles
        tag = f"s{i:03d}_a{int(angle):03d}"
        if keep:
            examples[f"{tag}_hr"], examples[f"{tag}_lr"] = hr, lr
        for label, kind, fn, m in methods:
            t0 = time.perf_counter()
            out = fn(to_rgb(lr)) if kind == "sr" else fn(lr)
            seconds = time.perf_counter() - t0
            if keep:
                examples[f"{tag}_{label}"] = out
            for r in metrics.score_channels(hr, out, data_range=e.data_range, shave=e.shave,
                                            mask=hr_mask):
                if hr_mask is not None:
                    r["mask_iou"] = metrics.iou(hr_mask, _mask_of(out, r["channel"]))
                rows.append({
                    "subject": task.subject, "weight": task.weight,
                    "synthetic": vol.synthetic, "slice": i, "angle": float(angle),
                    "scale": task.scale, "method": label, "kind": kind,
                    "model_preset": m.preset if m else None,
                    "model_weights": m.weights if m else None,
                    "weights_sha256": m.weights_sha256 if m else None,
                    **r, "seconds": seconds,
                    "height": hr.shape[0], "width": hr.shape[1],
                    "source": vol.source, "intensity_rule": vol.intensity_rule,
                    "degrade": (f"{e.degrade.order}:GaussianBlur({e.degrade.ksize},"
                                f"sigma={e.degrade.sigma:g})+resize(INTER_CUBIC)"),
                    "rotation": f"warpAffine:{e.rotation.interpolation}:{e.rotation.border}",
                })
    return pd.DataFrame(rows), examples
