"""MRI training data: LR/HR patch pairs cut from brain slices, degraded as the MRI experiment.

HR slices are ``mri.get_slice(volume, i, axis, scale)`` of the uint8 volumes the MRI
experiment scores (same intensity rule, :func:`layerbench.data.mri.load_subject_volume`); the
LR slice is :func:`layerbench.data.degrade.blur_resize` of the whole HR slice with the
configured order / kernel / sigma (``cv2.resize(INTER_CUBIC)`` and ``cv2.GaussianBlur``: the
experiment's own function, so the model learns the degradation it is scored on). Grey is
replicated to RGB (the thesis fed its grey slices to RGB models that way).

**Split.** Training slices come from ``train_axes`` (default sagittal 0 and coronal 1); the
experiment scores the axial slices (axis 2). :func:`split_record` writes which slices were
trained on into the weights header, and :func:`check_split` (called by the MRI experiment)
refuses to score a model on a slice it trained on. Validation uses a few slices of
``val_axis`` that the experiment's grids do not score.

Patches are drawn per step from a generator seeded with ``(seed, step)`` (resumable like
:class:`.trainset.PatchSampler`): a slice with probability proportional to its head area, a
position whose HR patch is at least ``min_fg`` non-zero (up to 20 draws, then the last
draw), a random 90-degree rotation and horizontal flip.
"""

from __future__ import annotations

import numpy as np

from backends.errors import expected
from layerbench.data import degrade, mri

from .trainset import augment

MAX_DRAWS = 20


def _volumes(dataset, weights):
    d = dataset
    subjects = mri.subject_names(d.kind, d.root, d.subjects, weights)
    return [mri.load_subject_volume(d.kind, d.root, s, w, rule=d.intensity.rule,
                                    low=d.intensity.low, high=d.intensity.high)
            for s in subjects for w in weights]


def degrade_slice(hr: np.ndarray, scale: int, deg) -> np.ndarray:
    """The LR slice of the MRI experiment's clean protocol at angle 0.

    Parameters
    ----------
    hr : numpy.ndarray
        The HR slice.
    scale : int
        The SR factor.
    deg : object
        The degradation settings (``order``, ``ksize``, ``sigma``).

    Returns
    -------
    numpy.ndarray
        :func:`layerbench.data.degrade.blur_resize` of ``hr``.
    """
    return degrade.blur_resize(hr, scale, order=deg.order, ksize=deg.ksize, sigma=deg.sigma)


def slices_of(dataset, data, scale: int, axes, *, only=None):
    """``[(subject, weight, axis, index, source, hr, lr)]`` of the non-blank slices along ``axes``
    (``only``: just these indices).

    Parameters
    ----------
    dataset : object
        The dataset settings (kind, root, subjects, weights, intensity).
    data : object
        The training data settings (its ``degrade``).
    scale : int
        The SR factor.
    axes : iterable of int
        The slicing axes.
    only : iterable of int, optional
        Slice indices to keep.

    Returns
    -------
    list of tuple
        One tuple per non-blank slice.
    """
    out = []
    for vol in _volumes(dataset, list(dataset.weights)):
        src = vol.source
        for axis in axes:
            idx = range(vol.data.shape[axis]) if only is None else only
            for i in idx:
                hr = mri.get_slice(vol.data, i, axis, scale)
                if hr.any():
                    out.append((vol.subject, vol.weight, axis, i, src, hr,
                                degrade_slice(hr, scale, data.degrade)))
    return out


def rgb(img: np.ndarray) -> np.ndarray:
    """Grey to RGB by repeating the single channel three times.

    Parameters
    ----------
    img : numpy.ndarray
        ``(H, W)`` image.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` image.
    """
    return np.repeat(img[..., None], 3, axis=-1)


class MRIPatchSampler:
    """Random aligned LR/HR patches from MRI slices (see the module docstring).

    Parameters
    ----------
    dataset : layerbench.schema.DatasetConfig
        Volumes (``mni152`` embedded or ``mri_dir``) and their intensity rule.
    data : layerbench.training.train_schema.DataConfig
        ``patch`` (LR side), ``batch``, ``degrade``, ``train_axes``, ``min_fg``.
    scale, seed : int
    """

    def __init__(self, dataset, data, scale: int, seed: int):
        self.slices = slices_of(dataset, data, scale, data.train_axes)
        p = data.patch
        small = [(s[2], s[3]) for s in self.slices if min(s[6].shape) < p]
        if small:
            raise ValueError(expected("data.patch", f"<= the LR size of every slice "
                                      f"(axis, index: {small[:3]})", p))
        self.scale, self.patch, self.batch, self.seed = scale, p, data.batch, seed
        self.min_fg, self.kind = data.min_fg, dataset.kind
        area = np.array([np.count_nonzero(s[5]) for s in self.slices], dtype=np.float64)
        self.weights = area / area.sum()

    def record(self) -> dict:
        """Which slices were trained on (for the weights header and :func:`check_split`).

        Returns
        -------
        dict
            As :func:`split_record`.
        """
        return split_record(self.slices, self.kind)

    def batch_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(lr, hr)`` float64 NHWC RGB batches in [0, 255] for training step ``step``.

        Parameters
        ----------
        step : int
            The training step; the draws depend on it and the sampler's seed only.

        Returns
        -------
        lr, hr : numpy.ndarray
            Grey patches replicated to RGB; HR patches hold at least ``min_fg`` foreground.
        """
        rng = np.random.default_rng([self.seed, step])
        p, s = self.patch, self.scale
        lrs, hrs = [], []
        for _ in range(self.batch):
            *_, hr_img, lr_img = self.slices[rng.choice(len(self.slices), p=self.weights)]
            for _ in range(MAX_DRAWS):
                i = int(rng.integers(0, lr_img.shape[0] - p + 1))
                j = int(rng.integers(0, lr_img.shape[1] - p + 1))
                b = hr_img[i * s : (i + p) * s, j * s : (j + p) * s]
                if np.count_nonzero(b) >= self.min_fg * b.size:
                    break
            a, b = augment(rng, lr_img[i : i + p, j : j + p], b)
            lrs.append(rgb(a))
            hrs.append(rgb(b))
        return np.stack(lrs).astype(np.float64), np.stack(hrs).astype(np.float64)


def split_record(slices, kind: str) -> dict:
    """The trained slices: ``{"kind", "sources": {"subject/weight": source},
    "subjects": {subject: {weight: {axis: [indices]}}}}``.

    Parameters
    ----------
    slices : iterable of tuple
        As :func:`slices_of` gives them.
    kind : str
        The dataset's kind.

    Returns
    -------
    dict
        The record stored in the weights header.
    """
    rec: dict = {}
    sources: dict = {}
    for subject, weight, axis, i, src, *_ in slices:
        rec.setdefault(subject, {}).setdefault(weight, {}).setdefault(str(axis), []).append(i)
        sources[f"{subject}/{weight}"] = src
    return {"kind": kind, "sources": sources, "subjects": rec}


def check_split(label: str, training: dict | None, *, kind: str, source: str, subject: str,
                weight: str, axis: int, slices) -> None:
    """Refuse to score a model on slices its weights header says it trained on.

    A model trained on other data (photos) or another dataset source passes.

    Parameters
    ----------
    label : str
        The model's label, for the message.
    training : dict or None
        The weights header's training summary.
    kind, source, subject, weight : str
        The volume scored.
    axis : int
        The slicing axis.
    slices : iterable of int
        The slices scored.

    Raises
    ------
    ValueError
        A scored slice is one the model trained on (the message names the model and them).
    """
    split = (training or {}).get("split")
    if not split or split["kind"] != kind or split["sources"].get(
            f"{subject}/{weight}") != source:
        return  # trained on other data: nothing of this volume was seen
    trained = split["subjects"].get(subject, {}).get(weight, {}).get(str(axis), [])
    overlap = sorted(set(trained) & set(int(i) for i in slices))
    if overlap:
        raise ValueError(
            f"{label}: expected held-out slices, received slices its model card says it "
            f"trained on: subject {subject!r} {weight} axis {axis} slices {overlap[:10]}"
            f"{' ...' if len(overlap) > 10 else ''} ({len(overlap)} of {len(list(slices))}); "
            f"score another axis or retrain without them")
