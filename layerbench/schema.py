"""Structured configs of ``layerbench reproduce``: unknown keys and bad values are rejected.

Two layers of checking:

1. The dataclasses below are registered in Hydra's ConfigStore as ``layerbench_schema``, the
   first entry of ``conf/config.yaml``'s defaults list: OmegaConf then refuses unknown keys
   (``Key 'foo' not in 'DatasetConfig'``) and values of the wrong type while composing.
2. :func:`validate` checks ranges and choices and raises :class:`ConfigError` naming the
   full key, what was expected and what was received.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, ListConfig, OmegaConf

from backends.errors import LayerbenchError, expected
from backends.registry import BACKEND_NAMES
from layerbench.confdir import RESULTS, RUNS

__all__ = ["Config", "ConfigError", "expected", "register", "report_of", "validate",
           "validate_report"]

EXPERIMENTS = ("div2k", "mri")
DATASET_KINDS = ("skimage", "div2k", "mni152", "mri_dir")
BACKENDS = BACKEND_NAMES  # the registry's table
DTYPES = ("float32", "float64")
BASELINES = ("nearest", "bilinear", "bicubic", "lanczos")
DEGRADE_ORDERS = ("resize_then_blur", "blur_then_resize")
ROT_INTERP = ("nearest", "bilinear", "bicubic", "lanczos")
ROT_BORDERS = ("constant", "reflect", "replicate")
INTENSITY_RULES = ("percentile", "minmax")
WEIGHTINGS = ("T1", "T2")
MODEL_WEIGHTS = ("pretrained", "random", "published")
PROTOCOLS = ("clean", "thesis")  # MRI scoring protocols (layerbench/experiments/protocol.py)
INTENSITIES = ("uint8", "float")
ROTATION_PROTOCOLS = ("reference", "back")
SLICE_RULES = ("range", "nonblank")
REPORT_FORMATS = ("png", "pdf", "svg")


class ConfigError(LayerbenchError, ValueError):
    """A config value is out of range or not one of the allowed choices."""


@dataclass
class BackendConfig:
    """The ``backend`` group: which kernels run, with how many threads, in which precision.

    Parameters
    ----------
    name : str, default "numpy"
        A backend of the registry (``BACKENDS``).
    threads : int, default 1
        Threads of the backend's one knob.
    dtype : {"float32", "float64"}, default "float32"
        The models' precision.
    """

    name: str = "numpy"
    threads: int = 1
    dtype: str = "float32"


@dataclass
class IntensityConfig:
    """How MRI intensities map to uint8 (``dataset.intensity``; see ``data.mri.to_uint8``).

    Parameters
    ----------
    rule : {"percentile", "minmax"}, default "percentile"
        How the range is chosen.
    low, high : float, default 0.0 and 99.5
        The percentiles of the ``percentile`` rule.
    """

    rule: str = "percentile"
    low: float = 0.0
    high: float = 99.5


@dataclass
class DatasetConfig:
    """The ``dataset`` group: where the images or volumes come from.

    Parameters
    ----------
    kind : {"skimage", "div2k", "mni152", "mri_dir"}, default "skimage"
        The embedded photographs, a DIV2K tree, the embedded MNI152 template, or a directory of
        NIfTI/NRRD volumes.
    root : str, optional
        The DIV2K root or the volumes' directory (required for ``div2k`` and ``mri_dir``).
    split : {"valid", "train"}, default "valid"
        The DIV2K split.
    images : list of str, optional
        The images to use (default: all).
    subjects : list of str, optional
        The MRI subjects to use (default: all).
    weights : list of str, default ["T1", "T2"]
        The MRI weightings.
    axis : int, default 2
        The MRI slicing axis.
    intensity : IntensityConfig
        The MRI intensity mapping.
    """

    kind: str = "skimage"
    root: str | None = None
    split: str = "valid"
    images: list[str] | None = None
    subjects: list[str] | None = None
    weights: list[str] = field(default_factory=lambda: ["T1", "T2"])
    axis: int = 2
    intensity: IntensityConfig = field(default_factory=IntensityConfig)


@dataclass
class SliceConfig:
    """A range of slice indices, ``range(start, stop, step)``.

    Parameters
    ----------
    start : int, default 0
        First slice.
    stop : int, optional
        End (exclusive; default: the volume's depth).
    step : int, default 1
        Stride.
    """

    start: int = 0
    stop: int | None = None
    step: int = 1


@dataclass
class DegradeConfig:
    """The MRI degradation (:func:`layerbench.data.degrade.blur_resize`).

    Parameters
    ----------
    order : {"resize_then_blur", "blur_then_resize"}, default "resize_then_blur"
        Which comes first.
    ksize : int, default 3
        Side of the Gaussian kernel.
    sigma : float, default 1.0
        Its standard deviation in pixels.
    """

    order: str = "resize_then_blur"
    ksize: int = 3
    sigma: float = 1.0


@dataclass
class RotationConfig:
    """The MRI rotation (:func:`layerbench.data.degrade.rotate`).

    Parameters
    ----------
    interpolation : {"nearest", "bilinear", "bicubic", "lanczos"}, default "bilinear"
        OpenCV's interpolation.
    border : {"constant", "reflect", "replicate"}, default "constant"
        What fills the uncovered pixels.
    """

    interpolation: str = "bilinear"
    border: str = "constant"


@dataclass
class ConventionsConfig:
    """MRI protocol conventions switched from the protocol's own (null = keep it).

    Parameters
    ----------
    order : {"resize_then_blur", "blur_then_resize"}, optional
        The degradation's order.
    intensity : {"uint8", "float"}, optional
        The intensity pipeline.
    psnr_range, ssim_range : float, optional
        The metrics' data ranges.
    rotation : {"reference", "back"}, optional
        Rotate the HR reference with the input, or rotate the output back.
    post_bet : bool, optional
        Score post-BET (HR brain mask applied to both images).
    slices : {"range", "nonblank"}, optional
        The slice rule.
    """

    order: str | None = None  # resize_then_blur | blur_then_resize
    intensity: str | None = None  # uint8 | float
    psnr_range: float | None = None
    ssim_range: float | None = None
    rotation: str | None = None  # reference | back
    post_bet: bool | None = None
    slices: str | None = None  # range | nonblank


@dataclass
class VariantConfig:
    """A protocol variant run in the same MRI job under its own label.

    Parameters
    ----------
    label : str, default "thesis"
        The variant's name in the tables.
    protocol : {"clean", "thesis"}, default "thesis"
        The protocol it starts from.
    conventions : ConventionsConfig
        Conventions switched from that protocol's.
    weights : list of str, optional
        Weightings (null: ``dataset.weights``).
    angles : list of float, optional
        Angles (null: ``experiment.angles``).
    slices : SliceConfig, optional
        Slices (null: ``experiment.slices``; the nonblank rule uses its step).
    """

    label: str = "thesis"
    protocol: str = "thesis"
    conventions: ConventionsConfig = field(default_factory=ConventionsConfig)
    weights: list[str] | None = None  # null: dataset.weights
    angles: list[float] | None = None  # null: experiment.angles
    slices: SliceConfig | None = None  # null: experiment.slices (nonblank rule: its step)


@dataclass
class SRModelConfig:
    """One entry of ``experiment.models``: an SR model scored beside the baselines.

    Parameters
    ----------
    label : str, default "EDSR"
        The method's name in the tables.
    preset : str, default "edsr_small_x2"
        A model preset.
    weights : {"pretrained", "random", "published"}, default "pretrained"
        The shipped weights, seeded untrained weights (smoke runs), or the publisher's file
        (fetched by ``layerbench data fetch weights <preset>``).
    overrides : dict
        Preset entries to replace.
    tile : int, optional, default 128
        Tile size of ``super_resolve`` (null: the memory budget decides).
    variants : list of str, optional
        MRI protocol variants it is scored in (null: all).
    angles : list of float, optional
        MRI angles it is scored at (null: all of the variant's).
    """

    label: str = "EDSR"
    preset: str = "edsr_small_x2"
    # shipped weights, "random" (seeded, untrained: smoke tests) or "published" (the
    # publisher's file fetched by `layerbench data fetch weights <preset>`)
    weights: str = "pretrained"
    overrides: dict[str, Any] = field(default_factory=dict)
    tile: int | None = 128
    # MRI: the protocol variant labels this model is scored in and the angles it is scored at
    # (null: every variant / every angle of the variant), to keep the main job's time when a
    # model is only needed in some tables
    variants: list[str] | None = None
    angles: list[float] | None = None


@dataclass
class ExperimentConfig:
    """The ``experiment`` group: what is computed and how it is scored.

    Parameters
    ----------
    name : {"div2k", "mri"}, default "div2k"
        The experiment.
    scales : list of int, default [2, 4]
        The SR factors.
    baselines : list of str, default ["nearest", "bicubic", "lanczos"]
        Interpolation baselines (``BASELINES``).
    models : list of SRModelConfig
        The SR models.
    angles : list of float, default [0.0]
        MRI rotation angles in degrees.
    slices : SliceConfig
        MRI slices scored.
    degrade : DegradeConfig
        The MRI degradation.
    rotation : RotationConfig
        The MRI rotation.
    mask : bool, default True
        MRI: make brain masks (scores inside the mask, post-BET scores).
    shave : int, default 0
        Border pixels removed before scoring.
    data_range : float, default 255.0
        PSNR's peak value (and SSIM's under the clean protocol).
    examples : list of int
        MRI slices kept as images for the panels.
    crop : int, default 96
        Side of the DIV2K crop panels in HR pixels.
    crop_images : list of str, optional
        DIV2K images that keep crop panels (null: all).
    protocol : {"clean", "thesis"}, default "clean"
        The MRI scoring protocol.
    conventions : ConventionsConfig
        Conventions switched from the protocol's own.
    variants : list of VariantConfig
        More MRI protocol variants run in the same job.
    example_angle : float, default 18.0
        MRI angle of the example figures.
    """

    name: str = "div2k"
    scales: list[int] = field(default_factory=lambda: [2, 4])
    baselines: list[str] = field(default_factory=lambda: ["nearest", "bicubic", "lanczos"])
    models: list[SRModelConfig] = field(default_factory=list)
    angles: list[float] = field(default_factory=lambda: [0.0])
    slices: SliceConfig = field(default_factory=SliceConfig)
    degrade: DegradeConfig = field(default_factory=DegradeConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    mask: bool = True
    shave: int = 0
    data_range: float = 255.0
    examples: list[int] = field(default_factory=list)  # MRI slices kept as images for panels
    crop: int = 96  # DIV2K crop panel side in HR pixels
    crop_images: list[str] | None = None  # DIV2K images that keep crop panels (null: all)
    protocol: str = "clean"  # MRI scoring protocol: clean | thesis
    conventions: ConventionsConfig = field(default_factory=ConventionsConfig)
    variants: list[VariantConfig] = field(default_factory=list)  # more MRI protocol variants
    example_angle: float = 18.0  # MRI angle of the example figures (the thesis showed 18)


@dataclass
class OutputConfig:
    """The ``output`` group: where shards go and how they are computed.

    Parameters
    ----------
    root : str
        The runs' root directory.
    force : bool, default False
        Recompute shards that are already done.
    progress : bool, default True
        Show a progress bar.
    workers : int, default 1
        Processes computing shards (each with ``backend.threads`` threads).
    """

    root: str = RUNS
    force: bool = False
    progress: bool = True
    workers: int = 1  # processes computing shards (each with backend.threads threads)


@dataclass
class ReportConfig:
    """The ``report`` group: which runs are summarised and where the tables and figures go.

    Parameters
    ----------
    runs : str
        The runs' root directory read.
    out : str
        The results directory written (``tables/`` and ``figures/``).
    formats : list of str, default ["png", "pdf"]
        Figure formats (``REPORT_FORMATS``).
    dpi : int, default 110
        Resolution of raster figures.
    workers : int, default 1
        Processes saving figures.
    """

    runs: str = RUNS
    out: str = RESULTS
    formats: list[str] = field(default_factory=lambda: ["png", "pdf"])
    dpi: int = 110
    workers: int = 1  # processes saving figures


@dataclass
class Config:
    """The whole configuration of ``layerbench reproduce``.

    Parameters
    ----------
    backend : BackendConfig
        Kernels, threads and precision.
    dataset : DatasetConfig
        The data.
    experiment : ExperimentConfig
        What is computed and scored.
    output : OutputConfig
        Where shards go.
    report : ReportConfig
        The report built at the end.
    report_on_end : bool, default True
        Build the report when the run (or multirun) ends.
    seed : int, default 0
        Seed of random model weights.
    """

    backend: BackendConfig = field(default_factory=BackendConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    report_on_end: bool = True
    seed: int = 0


def register() -> None:
    """Register the schemas (idempotent); ``conf/config.yaml`` names ``layerbench_schema``."""
    cs = ConfigStore.instance()
    cs.store(name="layerbench_schema", node=Config)
    cs.store(name="report_schema", node=ReportConfig)


register()


def _choice(key: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(expected(key, f"one of {choices}", value))


def _positive(key: str, value: Any, minimum: int = 1) -> None:
    if value < minimum:
        raise ConfigError(expected(key, f"an integer >= {minimum}", value))


def _unknown_keys(node: Any, cls: type, prefix: str) -> None:
    """Reject keys a dataclass does not declare (``+key=value`` overrides get past struct mode)."""
    hints = typing.get_type_hints(cls)
    for key in node.keys():
        name = f"{prefix}{key}"
        if key not in hints:
            raise ConfigError(expected(name, f"a key of {cls.__name__} {sorted(hints)}",
                                       f"unknown key {key!r}"))
        hint, value = hints[key], node[key]
        args = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)]
        if dataclasses.is_dataclass(hint) and isinstance(value, DictConfig):
            _unknown_keys(value, hint, name + ".")
        elif args and isinstance(value, ListConfig):
            for i, item in enumerate(value):
                if isinstance(item, DictConfig):
                    _unknown_keys(item, args[0], f"{name}[{i}].")


def _check_model_scales(e: ExperimentConfig) -> None:
    """With SR models configured, every scale needs one (else its SR rows would silently be
    missing from the tables)."""
    from layerbench.models.presets import PRESETS

    if not e.models:
        return
    for i, m in enumerate(e.models):
        _choice(f"experiment.models[{i}].preset", m.preset, tuple(PRESETS))
        for j, a in enumerate(m.angles or []):
            if not 0 <= a < 360:
                raise ConfigError(expected(f"experiment.models[{i}].angles[{j}]",
                                           "degrees in [0, 360)", a))
    have = {int(m.overrides.get("scale", PRESETS[m.preset].get("scale"))) for m in e.models}
    for i, s in enumerate(e.scales):
        if s not in have:
            raise ConfigError(expected(f"experiment.scales[{i}]",
                                       f"a scale of a configured model {sorted(have)}", s))


def _validate_conventions(key: str, c: ConventionsConfig) -> None:
    if c.order is not None:
        _choice(f"{key}.order", c.order, DEGRADE_ORDERS)
    if c.intensity is not None:
        _choice(f"{key}.intensity", c.intensity, INTENSITIES)
    for name in ("psnr_range", "ssim_range"):
        v = getattr(c, name)
        if v is not None and v <= 0:
            raise ConfigError(expected(f"{key}.{name}", "a value > 0 or null", v))
    if c.rotation is not None:
        _choice(f"{key}.rotation", c.rotation, ROTATION_PROTOCOLS)
    if c.slices is not None:
        _choice(f"{key}.slices", c.slices, SLICE_RULES)


def _validate_protocols(e: ExperimentConfig, d: DatasetConfig) -> None:
    _choice("experiment.protocol", e.protocol, PROTOCOLS)
    _validate_conventions("experiment.conventions", e.conventions)
    if not 0 <= e.example_angle < 360:
        raise ConfigError(expected("experiment.example_angle", "degrees in [0, 360)",
                                   e.example_angle))
    labels = [e.protocol] + [v.label for v in e.variants]
    if len(set(labels)) != len(labels):
        raise ConfigError(expected("experiment.variants[*].label", "labels distinct from each "
                                   f"other and from experiment.protocol ({e.protocol!r})",
                                   labels))
    for i, v in enumerate(e.variants):
        key = f"experiment.variants[{i}]"
        _choice(f"{key}.protocol", v.protocol, PROTOCOLS)
        _validate_conventions(f"{key}.conventions", v.conventions)
        for j, w in enumerate(v.weights or []):
            _choice(f"{key}.weights[{j}]", w, tuple(d.weights))
        if v.slices is not None:
            _positive(f"{key}.slices.step", v.slices.step)
            _positive(f"{key}.slices.start", v.slices.start, 0)
        for j, a in enumerate(v.angles or []):
            if not 0 <= a < 360:
                raise ConfigError(expected(f"{key}.angles[{j}]", "degrees in [0, 360)", a))


def validate(cfg: DictConfig | Config) -> Config:
    """Check ranges and choices of a composed config; return it as a typed :class:`Config`.

    Parameters
    ----------
    cfg : omegaconf.DictConfig or Config
        The composed configuration.

    Returns
    -------
    Config
        The typed configuration.

    Raises
    ------
    ConfigError
        A key is unknown, or a value is out of range or not an allowed choice (the message
        names the full key, the expectation and the value).
    """
    if isinstance(cfg, DictConfig):
        _unknown_keys(cfg, Config, "")
    c: Config = OmegaConf.to_object(cfg) if isinstance(cfg, DictConfig) else cfg
    b, d, e = c.backend, c.dataset, c.experiment
    _choice("backend.name", b.name, BACKENDS)
    _positive("backend.threads", b.threads)
    _positive("output.workers", c.output.workers)
    validate_report(c.report, "report.")
    _choice("backend.dtype", b.dtype, DTYPES)
    _choice("experiment.name", e.name, EXPERIMENTS)
    _choice("dataset.kind", d.kind, DATASET_KINDS)
    want = ("skimage", "div2k") if e.name == "div2k" else ("mni152", "mri_dir")
    if d.kind not in want:
        raise ConfigError(expected("dataset.kind", f"one of {want} for experiment "
                                   f"{e.name!r}", d.kind))
    if d.kind in ("div2k", "mri_dir") and not d.root:
        raise ConfigError(expected("dataset.root", f"a directory for dataset.kind={d.kind!r}",
                                   d.root))
    _choice("dataset.split", d.split, ("train", "valid"))
    if not d.weights:
        raise ConfigError(expected("dataset.weights", f"a non-empty list among {WEIGHTINGS}",
                                   d.weights))
    for i, w in enumerate(d.weights):
        _choice(f"dataset.weights[{i}]", w, WEIGHTINGS)
    _choice("dataset.axis", d.axis, (0, 1, 2))
    _choice("dataset.intensity.rule", d.intensity.rule, INTENSITY_RULES)
    if not 0 <= d.intensity.low < d.intensity.high <= 100:
        raise ConfigError(expected("dataset.intensity.low/high", "0 <= low < high <= 100",
                                   (d.intensity.low, d.intensity.high)))
    if not e.scales:
        raise ConfigError(expected("experiment.scales", "a non-empty list of 2, 3 or 4",
                                   e.scales))
    for i, s in enumerate(e.scales):
        _choice(f"experiment.scales[{i}]", s, (2, 3, 4))
    for i, m in enumerate(e.baselines):
        _choice(f"experiment.baselines[{i}]", m, BASELINES)
    if not e.angles:
        raise ConfigError(expected("experiment.angles", "a non-empty list of degrees", e.angles))
    for i, a in enumerate(e.angles):
        if not 0 <= a < 360:
            raise ConfigError(expected(f"experiment.angles[{i}]", "degrees in [0, 360)", a))
    _positive("experiment.slices.step", e.slices.step)
    _positive("experiment.slices.start", e.slices.start, 0)
    if e.slices.stop is not None and e.slices.stop <= e.slices.start:
        raise ConfigError(expected("experiment.slices.stop", f"> start ({e.slices.start}) or "
                                   "null", e.slices.stop))
    _choice("experiment.degrade.order", e.degrade.order, DEGRADE_ORDERS)
    if e.degrade.ksize < 1 or e.degrade.ksize % 2 == 0:
        raise ConfigError(expected("experiment.degrade.ksize", "an odd integer >= 1",
                                   e.degrade.ksize))
    if e.degrade.sigma <= 0:
        raise ConfigError(expected("experiment.degrade.sigma", "a value > 0", e.degrade.sigma))
    _choice("experiment.rotation.interpolation", e.rotation.interpolation, ROT_INTERP)
    _choice("experiment.rotation.border", e.rotation.border, ROT_BORDERS)
    _positive("experiment.shave", e.shave, 0)
    if e.data_range <= 0:
        raise ConfigError(expected("experiment.data_range", "a value > 0", e.data_range))
    _positive("experiment.crop", e.crop, 8)
    labels = [m.label for m in e.models]
    if len(set(labels)) != len(labels):
        raise ConfigError(expected("experiment.models[*].label", "distinct labels", labels))
    _check_model_scales(e)
    for i, m in enumerate(e.models):
        _choice(f"experiment.models[{i}].weights", m.weights, MODEL_WEIGHTS)
        if m.label in BASELINES:
            raise ConfigError(expected(f"experiment.models[{i}].label",
                                       f"a name other than the baselines {BASELINES}", m.label))
        if m.tile is not None:
            _positive(f"experiment.models[{i}].tile", m.tile)
    _validate_protocols(e, d)
    return c


def validate_report(r: ReportConfig, prefix: str = "") -> ReportConfig:
    """Check the report's settings.

    Parameters
    ----------
    r : ReportConfig
        The settings.
    prefix : str, default ""
        Where they sit, for messages: ``report.`` in a run's config, nothing in
        ``conf/report.yaml``.

    Returns
    -------
    ReportConfig
        ``r``.

    Raises
    ------
    ConfigError
        ``workers`` or ``dpi`` is not positive, or a format is unknown.
    """
    _positive(f"{prefix}workers", r.workers)
    _positive(f"{prefix}dpi", r.dpi)
    for i, f in enumerate(r.formats):
        _choice(f"{prefix}formats[{i}]", f, REPORT_FORMATS)
    return r


def report_of(cfg: DictConfig) -> ReportConfig:
    """The ``report`` node of a run's composed config, resolved and checked by
    :func:`validate` (unknown keys, types, ranges).

    Only that node is taken, on the schema's defaults for the rest: a multirun's base config
    (what Hydra passes to ``on_multirun_end``) leaves out the swept overrides, so its other
    nodes need not form a valid run (``-m experiment=mri dataset=mri_dir,mni152``).

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        A run's composed configuration.

    Returns
    -------
    ReportConfig
        The checked report settings.

    Raises
    ------
    ConfigError
        As :func:`validate`.
    """
    _unknown_keys(cfg.report, ReportConfig, "report.")
    report = OmegaConf.to_container(cfg.report, resolve=True)
    return validate(OmegaConf.merge(OmegaConf.structured(Config), {"report": report})).report
