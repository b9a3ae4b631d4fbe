"""The MRI experiment (thesis §3.3): degrade, rotate, super-resolve and score brain slices.

Per protocol variant x subject x weighting x scale (one shard), for every selected slice and
angle. The ``clean`` protocol (:mod:`layerbench.experiments.protocol`):

1. ``hr = rotate(slice, angle)`` — the HR reference rotated about its centre (bilinear,
   zero border by default), so the input and the reference are rotated alike;
2. ``lr = blur_resize(hr, scale)`` — ``cv2.resize(INTER_CUBIC)`` to 1/scale and
   ``cv2.GaussianBlur(3, sigma=1)`` (order configurable, thesis order by default);
3. the baselines upscale the grey ``lr``; the SR models of this scale get it replicated to
   three channels;
4. PSNR/SSIM per output channel against ``hr`` (plus ``all``), the IoU between the brain
   mask of ``hr`` and that of the output, and the scores inside the HR mask.

The ``thesis`` protocol (the thesis' own) works on [0, 1] floats: ``lr = blur_resize(slice)`` is
rotated by the angle, the output is min-max scaled (bicubic per slice, SR per slice and
channel, unclipped before that) and rotated back by ``-angle``, then scored against the
unrotated slice (PSNR range 1, SSIM range 2). Each baseline appears twice: unrotated (its
label, computed once per slice and identical at every angle, as in the thesis' per-slice
table) and through the same rotate/back path (``<label>_rotback``). It adds the "post-BET"
scores (``psnr_post_bet``: HR mask applied to both images, whole image scored) beside our
inside-the-mask ones (``psnr_masked``). The min-max scaling is applied to the output as the
model wrote it (in the rotated frame), before the rotation back.

Blank slices (all zero, outside the head) are skipped: PSNR is infinite there.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from layerbench import logs, metrics
from layerbench.data import degrade, mri
from layerbench.data.errors import DataError
from layerbench.schema import Config, SliceConfig
from layerbench.training.trainset_mri import check_split

from . import protocol
from .methods import baseline, to_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """One shard of the MRI experiment.

    Parameters
    ----------
    subject : str
        The subject.
    weight : str
        The weighting.
    scale : int
        The SR factor.
    variant : Variant, optional
        The protocol variant (None: the experiment's clean protocol).
    """

    subject: str
    weight: str
    scale: int
    variant: protocol.Variant | None = None  # None: the clean protocol of the experiment

    @property
    def key(self) -> str:
        base = f"{self.subject}-{self.weight}-x{self.scale}"
        label = "clean" if self.variant is None else self.variant.label
        return base if label == "clean" else f"{label}-{base}"


def plan(cfg: Config) -> list[Task]:
    """One task per subject x weighting x protocol variant x scale (weighting-major, so the
    volume caches serve every variant of a weighting in turn).

    Parameters
    ----------
    cfg : Config
        The validated configuration (``dataset`` subjects and weightings, the experiment's
        variants and scales).

    Returns
    -------
    list of Task
        The shards, in that order.
    """
    d = cfg.dataset
    subjects = mri.subject_names(d.kind, d.root, d.subjects, d.weights)
    variants = protocol.variants(cfg.experiment)
    return [Task(s, w, sc, v) for s in subjects for w in d.weights for v in variants
            if v.weights is None or w in v.weights for sc in cfg.experiment.scales]


def check_plan(cfg: Config, tasks: list[Task]) -> None:
    """Refuse, before any work, a plan whose slice range selects no slice of a volume.

    Every (subject, weighting, variant) of ``tasks`` must select at least one slice, and at
    least one non-blank one, along ``dataset.axis`` (each volume is read once,
    :func:`volume_profile`).

    Parameters
    ----------
    cfg : Config
    tasks : list of Task

    Raises
    ------
    DataError
        Naming the slice setting, the volume and the valid range of indices.
    """
    e, d = cfg.experiment, cfg.dataset
    seen = set()
    for task in tasks:
        v = task.variant or protocol.variants(e)[0]
        c = v.conventions
        key = (task.subject, task.weight, v.label)
        if key in seen:
            continue
        seen.add(key)
        shape, slices, scored = task_slices(cfg, task)
        depth = shape[d.axis]
        sc = v.slice_config()
        own = tuple(v.slices) != (e.slices.start, e.slices.stop, e.slices.step)
        setting = f"variant {v.label!r} slices" if own else "experiment.slices"
        what = (f"{setting} {{start: {sc.start}, stop: {sc.stop}, step: {sc.step}}}"
                if c.slices == "range" else f"{setting} (non-blank slices, step {sc.step})")
        where = (f"{task.subject} {task.weight} ({depth} slices along dataset.axis="
                 f"{d.axis}; valid indices 0..{depth - 1})")
        if not slices:
            raise DataError(f"{what}: expected a range that selects slices of {where}, "
                            "received one that selects none")
        if not scored:
            raise DataError(f"{what}: expected at least one non-blank slice of {where}, "
                            f"received only blank ones (slices {_brief(slices)})")


def nonblank(volume: np.ndarray, axis: int) -> np.ndarray:
    """Which slices of ``volume`` along ``axis`` hold a non-zero voxel.

    One reduction over the volume, whatever its memory order (taking the slices one by one
    copies a Fortran-ordered volume, as NIfTI files are, once per slice).

    Parameters
    ----------
    volume : numpy.ndarray
        3-D volume.
    axis : int
        The slicing axis.

    Returns
    -------
    numpy.ndarray
        Bool, one entry per slice: ``volume.take(i, axis).any()``.

    Examples
    --------
    >>> v = np.zeros((2, 3, 4)); v[1, 2, 1] = 5.0
    >>> nonblank(v, axis=2).tolist()
    [False, True, False, False]
    """
    return np.asarray(volume).any(axis=tuple(a for a in range(volume.ndim) if a != axis))


@functools.lru_cache(maxsize=256)
def volume_profile(kind: str, root: str | None, subject: str, weight: str, rule: str,
                   low: float, high: float, intensity: str, axis: int
                   ) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """The shape of one subject/weighting's volume and its non-blank slices along ``axis``,
    as the run sees them (after the intensity mapping; read once, then remembered).

    Parameters
    ----------
    kind, root, subject, weight
        As in :func:`layerbench.data.mri.load_subject_volume`.
    rule, low, high, intensity
        The intensity mapping (``dataset.intensity`` and the variant's convention).
    axis : int
        ``dataset.axis``.

    Returns
    -------
    shape : tuple of int
        The volume's shape.
    nonblank : tuple of bool
        Per slice along ``axis``: holds a non-zero voxel (:func:`nonblank`).
    """
    vol = mri.load_subject_volume(kind, root, subject, weight, rule=rule, low=low, high=high,
                                  intensity=intensity)
    return tuple(vol.data.shape), tuple(nonblank(vol.data, axis).tolist())


def task_slices(cfg: Config, task: Task) -> tuple[tuple[int, ...], list[int], list[int]]:
    """The slices a shard selects and those it scores (:func:`run_shard` skips the blank
    ones), from :func:`volume_profile`.

    Parameters
    ----------
    cfg : Config
        The validated configuration.
    task : Task
        The shard.

    Returns
    -------
    shape : tuple of int
        The volume's shape.
    selected : list of int
        :func:`slice_indices` of the task's variant.
    scored : list of int
        The non-blank ones among ``selected``.
    """
    d = cfg.dataset
    v = task.variant or protocol.variants(cfg.experiment)[0]
    shape, flags = volume_profile(d.kind, d.root, task.subject, task.weight,
                                  d.intensity.rule, d.intensity.low, d.intensity.high,
                                  v.conventions.intensity, d.axis)
    selected = slice_indices(cfg, shape[d.axis], v.conventions.slices,
                             slices=v.slice_config(), blank=[not f for f in flags])
    return shape, selected, [i for i in selected if flags[i]]


def _brief(indices: list[int]) -> str:
    return ", ".join(map(str, indices)) if len(indices) <= 6 else (
        f"{indices[0]}, {indices[1]}, ..., {indices[-1]}")


@functools.lru_cache(maxsize=4)
def _volume(kind, root, subject, weight, rule, low, high, intensity) -> mri.Volume:
    return mri.load_subject_volume(kind, root, subject, weight, rule=rule, low=low, high=high,
                                   intensity=intensity)


def slice_indices(cfg: Config, depth: int, rule: str = "range",
                  volume: np.ndarray | None = None, slices: SliceConfig | None = None,
                  blank: Sequence[bool] | None = None) -> list[int]:
    """``range``: ``range(start, stop, step)`` of ``slices`` (default ``experiment.slices``);
    ``nonblank``: every slice of ``range(0, depth, step)`` holding a non-zero voxel of
    ``volume``.

    Parameters
    ----------
    cfg : Config
        The configuration (``experiment.slices``, ``dataset.axis``).
    depth : int
        Slices along the axis.
    rule : {"range", "nonblank"}, default "range"
        The slice rule.
    volume : numpy.ndarray, optional
        The volume (``nonblank`` needs it or ``blank``).
    slices : SliceConfig, optional
        The range (default ``experiment.slices``).
    blank : sequence of bool, optional
        Per slice: all zero (instead of ``volume``; e.g. from :func:`volume_profile`).

    Returns
    -------
    list of int
        Slice indices.
    """
    s = cfg.experiment.slices if slices is None else slices
    if rule == "nonblank":
        if blank is None:
            blank = ~nonblank(volume, cfg.dataset.axis)
        return [i for i in range(0, depth, s.step) if not blank[i]]
    stop = depth if s.stop is None else min(s.stop, depth)
    return list(range(s.start, stop, s.step))


def _modulo(cfg: Config) -> int:
    return math.lcm(*cfg.experiment.scales)


def training_kind(training: dict | None) -> str:
    """What a model's weights header says it was trained on: ``photo`` (the shipped photo
    models), ``mri_finetune`` / ``mri_scratch`` (:mod:`layerbench.training.trainset_mri`,
    started from a photo model's weights or not), ``untrained`` (seeded random weights).

    Parameters
    ----------
    training : dict or None
        The weights header's training summary.

    Returns
    -------
    str
        One of the four kinds.

    Examples
    --------
    >>> training_kind(None), training_kind({"data": {"kind": "mri"}, "init": "edsr_small_x2"})
    ('untrained', 'mri_finetune')
    """
    if not training:
        return "untrained"
    if training.get("data", {}).get("kind") == "mri":
        return "mri_finetune" if training.get("init") else "mri_scratch"
    return "photo"


def _mask_of(img: np.ndarray, channel: str) -> np.ndarray:
    if img.ndim == 2:
        return metrics.brain_mask(img)
    if channel == "all":
        mean = img.mean(axis=2)
        return metrics.brain_mask(np.rint(mean).astype(np.uint8) if img.dtype == np.uint8
                                  else mean)
    return metrics.brain_mask(img[..., metrics.CHANNELS.index(channel)])


def minmax(img: np.ndarray) -> np.ndarray:
    """``(x - min) / (max - min)`` per channel of an HxW or HxWxC float image (the thesis'
    per-slice scaling of its float outputs; a constant channel maps to 0).

    Parameters
    ----------
    img : numpy.ndarray
        H x W or H x W x C float image.

    Returns
    -------
    numpy.ndarray
        Each channel scaled to [0, 1].

    Examples
    --------
    >>> minmax(np.array([[1.0, 3.0], [5.0, 5.0]])).tolist()
    [[0.0, 0.5], [1.0, 1.0]]
    """
    axes = (0, 1)
    lo = img.min(axis=axes, keepdims=True)
    span = img.max(axis=axes, keepdims=True) - lo
    return (img - lo) / np.where(span > 0, span, 1.0)


def _finish(out: np.ndarray, c: protocol.Conventions) -> np.ndarray:
    return minmax(out) if c.intensity == "float" else out


def _score(hr: np.ndarray, out: np.ndarray, hr_mask: np.ndarray | None,
           c: protocol.Conventions, shave: int) -> list[dict]:
    """Score rows per channel: whole image, inside the HR mask, mask IoU, post-BET."""
    scores = metrics.score_channels(hr, out, data_range=c.psnr_range, shave=shave,
                                    mask=hr_mask, ssim_range=c.ssim_range)
    if hr_mask is None:
        return scores
    if c.post_bet and hr_mask.any():  # an empty mask (edge slices): NaN, not +inf
        post = metrics.post_bet(hr, out, hr_mask, data_range=c.psnr_range,
                                ssim_range=c.ssim_range)
        for r, p in zip(scores, post, strict=True):
            r["psnr_post_bet"], r["ssim_post_bet"] = p["psnr"], p["ssim"]
    elif c.post_bet:
        for r in scores:
            r["psnr_post_bet"] = r["ssim_post_bet"] = float("nan")
    for r in scores:
        r["mask_iou"] = metrics.iou(hr_mask, _mask_of(out, r["channel"]))
    return scores


def run_shard(cfg: Config, task: Task, models: list) -> tuple[pd.DataFrame, dict]:
    """Rows for one variant/subject/weighting/scale and the example images kept for figures.

    Parameters
    ----------
    cfg : Config
        The validated configuration.
    task : Task
        The shard.
    models : list of SRMethod
        The loaded SR models; those of another scale or variant are skipped.

    Returns
    -------
    rows : pandas.DataFrame
        One row per slice, angle, method and channel with the scores and the conventions.
    examples : dict
        ``{(slice, angle, name): image}``, stored by :class:`~.store.Examples`.

    Raises
    ------
    ValueError
        An MRI-trained model would be scored on a slice it trained on.
    """
    e, d = cfg.experiment, cfg.dataset
    v = task.variant or protocol.variants(e)[0]
    c = v.conventions
    vol = _volume(d.kind, d.root, task.subject, task.weight, d.intensity.rule, d.intensity.low,
                  d.intensity.high, c.intensity)
    slices = slice_indices(cfg, vol.data.shape[d.axis], c.slices, vol.data, v.slice_config())
    # the scored slice nearest to each configured example (a variant's own grid, e.g. the
    # thesis' every 20th non-blank slice, need not hold the example slices themselves)
    example_slices = {min(slices, key=lambda s: (abs(s - x), s)) for x in e.examples} if (
        slices) else set()
    back = c.rotation == "back"
    methods = [(b, "baseline", baseline(b, task.scale), None) for b in e.baselines]
    if back:
        methods += [(f"{b}_rotback", "baseline", baseline(b, task.scale), None)
                    for b in e.baselines]
    models = [m for m in models if m.scale == task.scale and (
        getattr(m, "variants", None) is None or v.label in m.variants)]
    methods += [(m.label, "sr", m, m) for m in models]
    for m in models:  # a model trained on MRI is scored only on slices it did not train on
        check_split(m.label, getattr(m, "training", None), kind=d.kind, source=vol.source,
                    subject=task.subject, weight=task.weight, axis=d.axis, slices=slices)
    example_angles = {v.angles[0], float(e.example_angle)} & set(v.angles)
    rot = {"interpolation": e.rotation.interpolation, "border": e.rotation.border}
    fixed = {
        "protocol": v.protocol, "variant": v.label, **protocol.describe(c),
        "subject": task.subject, "weight": task.weight, "synthetic": vol.synthetic,
        "scale": task.scale, "source": vol.source, "intensity_rule": vol.intensity_rule,
        "degrade": (f"{c.order}:GaussianBlur({e.degrade.ksize},sigma={e.degrade.sigma:g})"
                    "+resize(INTER_CUBIC)"),
        "rotation": f"warpAffine:{e.rotation.interpolation}:{e.rotation.border}",
    }
    rows, examples = [], {}
    grid = [(i, a) for i in slices for a in v.angles]
    unrotated: dict[str, tuple[np.ndarray, float]] = {}
    hr0, at, mask0 = None, None, None
    for i, angle in tqdm(grid, desc=task.key, leave=False,
                         disable=not logs.show_bar(cfg.output.progress, nested=True)):
        if at != i:  # one slice, every angle
            hr0, at = mri.get_slice(vol.data, i, d.axis, _modulo(cfg)), i
            mask0 = metrics.brain_mask(hr0) if e.mask and back and hr0.any() else None
        if not hr0.any():  # a blank slice: PSNR is infinite, SSIM undefined; scored nowhere
            if angle == v.angles[0]:
                log.warning("%s slice %d is blank: skipped", task.key, i)
            continue
        if back:  # the thesis: degrade the unrotated slice, rotate the LR input only
            hr = hr0
            lr = degrade.rotate(degrade.blur_resize(hr0, task.scale, order=c.order,
                                                    ksize=e.degrade.ksize,
                                                    sigma=e.degrade.sigma), angle, **rot)
        else:
            hr = degrade.rotate(hr0, angle, **rot)
            lr = degrade.blur_resize(hr, task.scale, order=c.order, ksize=e.degrade.ksize,
                                     sigma=e.degrade.sigma)
        # the thesis scores against the unrotated HR: one mask per slice
        hr_mask = mask0 if back else metrics.brain_mask(hr) if e.mask else None
        keep = i in example_slices and angle in example_angles
        pos = (i, float(angle))  # examples are keyed by (slice, angle, name): data
        if i in example_slices and back:
            examples[(*pos, "lr")] = lr  # the LR input at every angle (thesis fig.)
        if keep:
            examples[(*pos, "hr")], examples[(*pos, "lr")] = hr, lr
        for label, kind, fn, m in methods:
            if getattr(m, "angles", None) is not None and float(angle) not in m.angles:
                continue  # a model scored at some angles only (experiment.models[*].angles)
            once = back and kind == "baseline" and not label.endswith("_rotback")
            if once and angle != v.angles[0] and label in unrotated:
                out, seconds, scores = unrotated[label]  # identical at every angle
            else:
                t0 = time.perf_counter()
                if once:  # the thesis' per-slice bicubic: from the unrotated LR
                    out = _finish(fn(degrade.blur_resize(
                        hr0, task.scale, order=c.order, ksize=e.degrade.ksize,
                        sigma=e.degrade.sigma)), c)
                else:
                    out = _finish(fn(to_rgb(lr)) if kind == "sr" else fn(lr), c)
                    if back:
                        out = degrade.rotate(out, -angle, **rot)
                seconds = time.perf_counter() - t0
                scores = _score(hr, out, hr_mask, c, e.shave)
                if once:
                    unrotated[label] = (out, seconds, scores)
            if keep:
                examples[(*pos, label)] = out
            for r in scores:
                rows.append({
                    **fixed, "slice": i, "angle": float(angle), "method": label, "kind": kind,
                    "model_preset": m.preset if m else None,
                    "model_training": training_kind(m.training) if m else "none",
                    "model_weights": m.weights if m else None,
                    "weights_sha256": m.weights_sha256 if m else None,
                    **r, "seconds": seconds, "height": hr.shape[0], "width": hr.shape[1],
                    "data_range": c.psnr_range,
                })
    return pd.DataFrame(rows), examples
