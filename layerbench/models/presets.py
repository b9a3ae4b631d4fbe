"""Named model configurations (thesis models and the small models the package ships).

:data:`PRESETS` is the one source of model presets. The training command's Hydra ``model``
group (``layerbench train model=edsr_x2``) is derived from it: ``train_schema.register``
stores one structured node per trainable preset in Hydra's ConfigStore, where the
composition finds it exactly as it found ``conf/model/<name>.yaml`` (same defaults-list
entry, same ``model.n_feats=...`` overrides, the same composed config). The other way round,
reading the presets from YAML files, would make this library (``models.preset``, the
experiments' ``preset:`` names, the schema's check of them) depend on the application's
config directory and a YAML reader at import, and would give every preset without a file
(bicubic, the MRI ``*_scratch`` runs) a second, different home.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backends.errors import WeightsError, expected

from .bicubic import bicubic
from .edsr import edsr
from .wdsr import wdsr_a, wdsr_b

BUILDERS = {"edsr": edsr, "wdsr_a": wdsr_a, "wdsr_b": wdsr_b, "bicubic": bicubic}

PRESETS: dict[str, dict] = {
    # thesis EDSR_x2: 40,729,603 parameters
    "edsr_x2": {"arch": "edsr", "scale": 2, "n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},
    "edsr_baseline_x2": {"arch": "edsr", "scale": 2, "n_resblocks": 16, "n_feats": 64,
                         "res_scale": 1.0},
    "edsr_baseline_x4": {"arch": "edsr", "scale": 4, "n_resblocks": 16, "n_feats": 64,
                         "res_scale": 1.0},
    # thesis WDSR_x4_A: 3,564,528 parameters
    "wdsr_a_x4": {"arch": "wdsr_a", "scale": 4, "n_resblocks": 32, "n_feats": 32,
                  "expansion": 6, "res_scale": 1.0},
    # small models trained here and shipped in weights/ (see weights/README.md)
    "edsr_small_x2": {"arch": "edsr", "scale": 2, "n_resblocks": 6, "n_feats": 32,
                      "res_scale": 1.0},
    "wdsr_a_small_x4": {"arch": "wdsr_a", "scale": 4, "n_resblocks": 6, "n_feats": 24,
                        "expansion": 4, "res_scale": 1.0},
    "bicubic_x2": {"arch": "bicubic", "scale": 2},
    "bicubic_x3": {"arch": "bicubic", "scale": 3},
    "bicubic_x4": {"arch": "bicubic", "scale": 4},
}
# the same architectures trained on brain MRI slices (weights/README.md, "MRI"): the shipped
# fine-tuned ones and, for the comparison, the runs from scratch with the same steps
for _name, _base in (("edsr_mri_x2", "edsr_small_x2"), ("wdsr_a_mri_x4", "wdsr_a_small_x4"),
                     ("edsr_mri_x2_scratch", "edsr_small_x2"),
                     ("wdsr_a_mri_x4_scratch", "wdsr_a_small_x4")):
    PRESETS[_name] = dict(PRESETS[_base])

WEIGHTS_DIR = Path(__file__).with_name("weights")


def build(arch: str, *, backend="numpy", dtype=np.float32, seed: int = 0, **config):
    """Build ``arch`` (a key of :data:`BUILDERS`) with ``config``.

    Parameters
    ----------
    arch : str
        ``"edsr"``, ``"wdsr_a"``, ``"wdsr_b"`` or ``"bicubic"``.
    backend : str, default "numpy"
        The backend the model's layers run on.
    dtype : float32 or float64, default float32
        The model's dtype.
    seed : int, default 0
        Seed of the parameter initialisation.
    **config
        The builder's keyword arguments (``scale``, ``n_resblocks``, ``n_feats``, ...).

    Returns
    -------
    SRModel or BicubicModel
        The untrained model.

    Raises
    ------
    ValueError
        ``arch`` is not a known architecture.
    """
    if arch not in BUILDERS:
        raise ValueError(expected("arch", f"one of {tuple(BUILDERS)}", arch))
    return BUILDERS[arch](**config, backend=backend, dtype=dtype, seed=seed)


def preset(name: str, *, backend="numpy", dtype=np.float32, seed: int = 0, **overrides):
    """Build the preset ``name`` (untrained unless you load weights).

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`.
    backend : str, default "numpy"
        The backend the model's layers run on.
    dtype : float32 or float64, default float32
        The model's dtype.
    seed : int, default 0
        Seed of the parameter initialisation.
    **overrides
        Entries replacing those of the preset (e.g. ``n_resblocks=2``).

    Returns
    -------
    SRModel or BicubicModel
        The model, named ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a preset.

    Examples
    --------
    >>> model = preset("edsr_small_x2")
    >>> model.scale, model.num_params()
    (2, 158979)
    >>> preset("edsr_small_x2", n_resblocks=1).num_params()
    66499
    """
    if name not in PRESETS:
        raise ValueError(expected("preset", f"one of {tuple(PRESETS)}", name))
    config = {**PRESETS[name], **overrides}
    model = build(config.pop("arch"), backend=backend, dtype=dtype, seed=seed, **config)
    model.name = name
    return model


def pretrained_names() -> tuple[str, ...]:
    """Presets whose trained weights ship with the package (``weights/{name}.npz``).

    Returns
    -------
    tuple of str
        Sorted preset names.

    Examples
    --------
    >>> "edsr_small_x2" in pretrained_names()
    True
    """
    return tuple(sorted(p.stem for p in WEIGHTS_DIR.glob("*.npz") if p.stem in PRESETS))


def pretrained(name: str, *, backend="numpy", dtype=np.float32, **overrides):
    """The preset ``name`` with its shipped weights loaded.

    Parameters
    ----------
    name : str
        One of :func:`pretrained_names`.
    backend : str, default "numpy"
        The backend the model's layers run on.
    dtype : float32 or float64, default float32
        The model's dtype.
    **overrides
        Preset entries to replace; they must still fit the shipped weights.

    Returns
    -------
    SRModel
        The trained model.

    Raises
    ------
    WeightsError
        ``name`` has no shipped weights, or the weights do not fit the overridden model.

    Examples
    --------
    >>> import numpy as np
    >>> model = pretrained("edsr_small_x2")
    >>> model.super_resolve(np.zeros((8, 8, 3), np.uint8)).shape
    (16, 16, 3)
    """
    names = pretrained_names()
    if name not in names:
        raise WeightsError(expected("pretrained model", f"one of {names}", name))
    model = preset(name, backend=backend, dtype=dtype, **overrides)
    model.load_weights(WEIGHTS_DIR / f"{name}.npz")
    return model
