"""The upscaling methods of an experiment: interpolation baselines and SR models.

A method is ``(label, scale, fn)`` with ``fn(lr_uint8) -> hr_uint8`` (or float in [0, 1] ->
float, unclipped, for the thesis' float pipeline); a grey LR slice is
replicated to three channels for the models (thesis §1.2.2) and kept grey for the baselines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerbench.data import degrade
from layerbench.schema import ConfigError, SRModelConfig


@dataclass
class SRMethod:
    """A loaded SR model with what the tables record about it.

    Parameters
    ----------
    label : str
        The method's name in the tables.
    preset : str
        The model preset.
    scale : int
        The SR factor.
    weights : {"pretrained", "random", "published"}
        Where the weights came from.
    weights_sha256 : str
        The weights file's hash.
    model : SRModel
        The model.
    tile : int or None, default 128
        Tile size of ``super_resolve`` (None: the memory budget decides).
    training : dict, optional
        The weights header's training summary.
    variants : list of str, optional
        MRI protocol variants it runs in (None: all).
    angles : list of float, optional
        MRI angles it is scored at (None: all).
    """

    label: str
    preset: str
    scale: int
    weights: str  # "pretrained", "random" or "published"
    weights_sha256: str
    model: Any = field(repr=False)
    tile: int | None = 128
    training: dict | None = field(default=None, repr=False)  # the weights header's summary
    variants: list[str] | None = None  # MRI protocol variants it runs in (None: all)
    angles: list[float] | None = None  # MRI angles it is scored at (None: all)

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        """uint8 LR in, uint8 HR out (clipped and rounded by ``super_resolve``); a float LR
        in [0, 1] gives the float output in [0, 1] units, unclipped (``predict`` on
        ``255 lr``, divided by 255): the thesis' float pipeline."""
        if lr.dtype == np.uint8:
            return self.model.super_resolve(lr, tile=self.tile)
        return self.model.predict(to_rgb(lr)[None] * 255.0, tile=self.tile)[0] / 255.0


def _params_hash(model) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.params().items()):
        h.update(k.encode())
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def load_model(i: int, m: SRModelConfig, *, backend: str, dtype: str, seed: int) -> SRMethod:
    """Build ``experiment.models[i]`` on ``backend``; pretrained weights must ship.

    Parameters
    ----------
    i : int
        Its index in ``experiment.models``, for messages.
    m : SRModelConfig
        Its configuration.
    backend : str
        The backend.
    dtype : str
        ``float32`` or ``float64``.
    seed : int
        Seed of random weights.

    Returns
    -------
    SRMethod
        The model with its record.

    Raises
    ------
    ConfigError
        Unknown preset, or ``pretrained`` weights that do not ship.
    """
    from layerbench import models
    from layerbench.models import weights_npz

    key = f"experiment.models[{i}]"
    if m.preset not in models.PRESETS:
        raise ConfigError(f"{key}.preset: expected one of {tuple(models.PRESETS)}, "
                          f"received {m.preset!r}")
    overrides = dict(m.overrides)
    if m.weights == "pretrained":
        names = models.pretrained_names()
        if m.preset not in names:
            raise ConfigError(f"{key}.preset: expected a preset with shipped weights "
                              f"{names} (or {key}.weights=random for a smoke run), "
                              f"received {m.preset!r}")
        model = models.pretrained(m.preset, backend=backend, dtype=dtype, **overrides)
        path = models.presets.WEIGHTS_DIR / f"{m.preset}.npz"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        training = weights_npz.read_header(path).get("training")
    elif m.weights == "published":
        from layerbench.data import fetch

        path = fetch.weights_path(m.preset)  # fetched and checked, or an error saying how
        model = models.preset(m.preset, backend=backend, dtype=dtype, seed=seed, **overrides)
        model.load_weights(path)
        digest, training = fetch.sha256_file(path), None
    else:
        model = models.preset(m.preset, backend=backend, dtype=dtype, seed=seed, **overrides)
        digest, training = "random:" + _params_hash(model), None
    return SRMethod(m.label, m.preset, int(model.scale), m.weights, digest, model, m.tile,
                    training, None if m.variants is None else list(m.variants),
                    None if m.angles is None else [float(a) for a in m.angles])


def baseline(name: str, scale: int):
    """``lr -> cv2.resize(lr, scale x, interpolation=name)``.

    Parameters
    ----------
    name : str
        ``nearest``, ``bilinear``, ``bicubic`` or ``lanczos``.
    scale : int
        The SR factor.

    Returns
    -------
    callable
        LR image to upscaled image (:func:`layerbench.data.degrade.upscale`).
    """

    def fn(lr: np.ndarray) -> np.ndarray:
        return degrade.upscale(lr, scale, name)

    return fn


def to_rgb(img: np.ndarray) -> np.ndarray:
    """Replicate a grey slice to three identical channels.

    Parameters
    ----------
    img : numpy.ndarray
        H x W (or already H x W x C, returned as it is).

    Returns
    -------
    numpy.ndarray
        H x W x 3.
    """
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
