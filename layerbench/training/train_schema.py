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
    """One model of the ``model`` group (fields unused by ``arch`` stay ``None``)."""

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
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    decay_every: int = 0  # steps; 0 = constant learning rate
    decay: float = 0.5


@dataclass
class TrainConfig:
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
    """The ``model`` config group: every preset with parameters to train (not bicubic)."""
    return {name: ModelConfig(name=name, **p) for name, p in PRESETS.items()
            if p["arch"] != "bicubic"}


def register() -> None:
    """Store the schema (``train_schema``) and the ``model`` group in Hydra's ConfigStore."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for name, node in model_group().items():
        store.store(group="model", name=name, node=node)
