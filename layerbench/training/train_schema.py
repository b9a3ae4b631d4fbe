"""Structured schema of ``conf/train.yaml``: unknown keys and wrong types are rejected.

The ``model`` config group (``layerbench train model=edsr_small_x2``) is not a directory of
YAML files: :func:`register` stores one :class:`ModelConfig` per trainable preset of
:data:`layerbench.models.presets.PRESETS` in Hydra's ConfigStore (see that module's
docstring for why the presets are the source).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from layerbench.models.presets import PRESETS
from layerbench.schema import BackendConfig, DatasetConfig, DegradeConfig

from .trainset import TRAINING, VALIDATION


@dataclass
class ModelConfig:
    """One model of the ``model`` group (fields unused by ``arch`` stay ``None``).

    Parameters
    ----------
    name : str, default "edsr_small_x2"
        The preset trained (the weights file's name).
    arch : {"edsr", "wdsr_a", "wdsr_b"}, default "edsr"
        The architecture.
    scale : int, default 2
        The SR factor.
    n_resblocks, n_feats, res_scale, expansion, border : optional
        The architecture's settings (null: the builder's default).
    """

    name: str = "edsr_small_x2"
    arch: str = "edsr"
    scale: int = 2
    n_resblocks: int | None = None
    n_feats: int | None = None
    res_scale: float | None = None
    expansion: int | None = None
    border: str | None = None


@dataclass
class DataConfig:
    """The training data (``data``).

    Parameters
    ----------
    kind : {"photo", "mri"}, default "photo"
        scikit-image photographs, or slices of ``dataset`` (``training.trainset_mri``).
    train, val : list of str
        Training and validation photographs.
    patch : int, default 32
        LR patch side.
    batch : int, default 16
        Patches per step.
    val_crop : int, default 192
        HR centre crop of the per-epoch validation PSNR.
    degrade : DegradeConfig
        MRI: the experiment's degradation.
    train_axes : list of int, default [0, 1]
        MRI: the slicing axes trained on.
    val_axis : int, default 2
        MRI: the validation slices' axis.
    val_slices : list of int, default [45, 85, 125]
        MRI: the validation slices.
    min_fg : float, default 0.5
        MRI: least non-zero fraction of an HR patch (20 draws, then any).
    """

    kind: str = "photo"  # photo: scikit-image images | mri: slices of `dataset` (trainset_mri)
    train: list[str] = field(default_factory=lambda: list(TRAINING))
    val: list[str] = field(default_factory=lambda: list(VALIDATION))
    patch: int = 32  # LR patch side
    batch: int = 16
    val_crop: int = 192  # HR centre crop used for the per-epoch validation PSNR
    # mri only: the MRI experiment's degradation, the training / validation slices
    degrade: DegradeConfig = field(default_factory=DegradeConfig)
    train_axes: list[int] = field(default_factory=lambda: [0, 1])
    val_axis: int = 2
    val_slices: list[int] = field(default_factory=lambda: [45, 85, 125])
    min_fg: float = 0.5  # least non-zero fraction of an HR patch (20 draws, then any)


@dataclass
class OptimConfig:
    """Adam and its learning-rate schedule (``optim``).

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate.
    beta1, beta2, epsilon : float, default 0.9, 0.999 and 1e-7
        Adam's constants (Keras' defaults).
    decay_every : int, default 0
        Steps between learning-rate decays (0: constant).
    decay : float, default 0.5
        Factor of each decay.
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    decay_every: int = 0  # steps; 0 = constant learning rate
    decay: float = 0.5


@dataclass
class TrainConfig:
    """The whole configuration of ``layerbench train``.

    Parameters
    ----------
    model : ModelConfig
        The model trained.
    data : DataConfig
        The training data.
    dataset : DatasetConfig
        MRI: where the volumes come from (``data.kind=mri``).
    init : str, optional
        Start from a shipped preset's weights (fine-tuning) or a ``.npz`` file.
    optim : OptimConfig
        The optimizer.
    backend : BackendConfig
        Kernels, threads and precision.
    seed : int, default 0
        Seed of the initialisation and the patch draws.
    steps : int, default 1000
        Training steps.
    epoch_steps : int, default 100
        Steps between validations and checkpoints.
    out_dir : str
        Where the checkpoint, weights and summary go.
    resume : bool, default True
        Continue from ``out_dir``'s checkpoint when there is one.
    progress : bool, default True
        Show a progress bar.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)  # data.kind=mri only
    init: str | None = None  # start from a shipped preset's weights (fine-tuning) or a .npz
    optim: OptimConfig = field(default_factory=OptimConfig)
    # conf/backend: name, threads, dtype (`backend=cython backend.threads=1`)
    backend: BackendConfig = field(default_factory=BackendConfig)
    seed: int = 0
    steps: int = 1000
    epoch_steps: int = 100  # validation and checkpoint after every epoch of this many steps
    out_dir: str = "results/runs/train/${model.name}"
    resume: bool = True
    progress: bool = True


def model_group() -> dict[str, ModelConfig]:
    """The ``model`` config group: every preset with parameters to train (not bicubic).

    Returns
    -------
    dict of str to ModelConfig
        Preset name to its config.
    """
    return {name: ModelConfig(name=name, **p) for name, p in PRESETS.items()
            if p["arch"] != "bicubic"}


def register() -> None:
    """Store the schema (``train_schema``) and the ``model`` group in Hydra's ConfigStore."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for name, node in model_group().items():
        store.store(group="model", name=name, node=node)
