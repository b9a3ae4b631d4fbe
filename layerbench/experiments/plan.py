"""``layerbench plan <overrides>``: an experiment's shards and what each will cost, before
running it.

For every shard the plan lists the LR size of its inputs, the models it runs, the estimated
core-hours and peak memory and whether it is already finished in ``output.root``. The
estimate comes from per-pixel costs measured once per machine by ``tools/fullsize_cost.py``
(:data:`COSTS`, with the machine and date it was measured on):

* time: for every SR model of the shard, ``core_seconds_per_lr_pixel`` x LR pixels x the
  recompute factor of the tile plan the run will use (:meth:`SRModel.tiling_plan` with the
  model's ``tile``: overlapping tiles compute some pixels more than once); plus the
  interpolation baselines and the scoring of every method per HR pixel;
* memory: the model's measured base (process, libraries, weights) plus the activations of
  what one forward holds at once (the tile plan's working set, scaled by the ratio of the
  measured growth to the planned working set on the measured input), plus the images; an
  MRI shard also holds the volumes its process keeps (up to the run's cache of the last
  few) and, while it reads one, :data:`LOAD_BYTES_PER_VOXEL` per voxel.

An MRI shard runs every selected non-blank slice at every angle (blank slices are skipped
by the run), so its cost is that of one slice times their number; the plan reads each
volume once (per intensity mapping) to count them, as the run's own check does before it
starts. Models of other presets than the measured ones are scaled by their parameter count
from the nearest measured preset of the same architecture (marked ``~``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from layerbench.data.errors import DataError
from layerbench.schema import Config

COSTS = Path(__file__).with_name("fullsize_costs.json")
GB = 1024**3
#: Transient bytes per voxel while an MRI volume is read and its intensities mapped
#: (:func:`layerbench.data.mri.load_subject_volume`: the raw array, its float64 copy and the
#: mapping's temporaries; tracemalloc peaks of 16.7 for [0, 1] floats and 24.8 for uint8,
#: reading an int16 NIfTI volume).
LOAD_BYTES_PER_VOXEL = 25


@dataclasses.dataclass
class ShardEstimate:
    """What one shard will cost.

    Parameters
    ----------
    key : str
        The shard's key (e.g. ``0801-x2``).
    lr_size : tuple of int
        LR height and width of one input.
    inputs : int
        Inputs the shard runs each model on (MRI: slices x angles; DIV2K: 1).
    models : list of str
        Labels of the SR models the shard runs.
    core_hours : float
        Estimated CPU time, in core-hours.
    peak_bytes : int
        Estimated peak resident memory of the process computing it.
    done : bool
        Already finished (verified) in ``output.root``.
    approximate : bool
        A model's cost was scaled from another preset's.
    """

    key: str
    lr_size: tuple[int, int]
    inputs: int
    models: list[str]
    core_hours: float
    peak_bytes: int
    done: bool
    approximate: bool = False


def compose(overrides: Sequence[str]) -> Config:
    """The validated config ``layerbench reproduce <overrides>`` would run.

    Parameters
    ----------
    overrides : sequence of str
        Hydra overrides (``experiment=div2k_thesis dataset.root=...``).

    Returns
    -------
    Config
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from layerbench import schema
    from layerbench.confdir import CONFIG_PATH

    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        return schema.validate(hydra_compose(config_name="config", overrides=list(overrides)))


def load_costs(path: str | Path | None = None) -> dict[str, Any]:
    """The measured per-pixel costs (:data:`COSTS` by default).

    Parameters
    ----------
    path : str or pathlib.Path, optional

    Returns
    -------
    dict
    """
    path = Path(path) if path is not None else COSTS
    try:
        costs = json.loads(path.read_text())
        assert isinstance(costs.get("backends"), dict)
    except (OSError, ValueError, AssertionError) as err:
        raise DataError(f"{path}: expected the costs JSON of tools/fullsize_cost.py, "
                        f"received an unreadable file ({type(err).__name__})") from err
    return costs


def image_size(path: Path) -> tuple[int, int]:
    """Height and width of an image file (a PNG's header only; other formats decoded).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    tuple of int
    """
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(h), int(w)
    from layerbench.data.images import read_rgb

    return tuple(read_rgb(path).shape[:2])


@functools.lru_cache(maxsize=16)
def _model(preset: str, overrides: str):
    from layerbench.models import preset as build

    return build(preset, backend="numpy", **json.loads(overrides))


def _model_cost(costs: dict, backend: str, preset: str, model,
                overridden: bool) -> tuple[dict, bool]:
    """The measured cost entry of ``preset``, or the nearest measured one of the same
    architecture scaled by parameter count (approximate)."""
    measured = costs["backends"][backend]["models"]
    if preset in measured and not overridden:
        return measured[preset], False
    from layerbench.models import PRESETS

    arch = PRESETS.get(preset, {}).get("arch")
    same = [p for p in measured if PRESETS.get(p, {}).get("arch") == arch] or list(measured)
    if not same:
        raise DataError(f"{COSTS.name}: expected measured costs for backend {backend!r}, "
                        "received none; run tools/fullsize_cost.py")
    ref = min(same, key=lambda p: abs(measured[p]["num_params"] - model.num_params()))
    ratio = model.num_params() / measured[ref]["num_params"]
    entry = dict(measured[ref])
    entry["core_seconds_per_lr_pixel"] *= ratio
    entry["activation_bytes_per_lr_pixel"] *= max(1.0, ratio ** 0.5)
    return entry, True


def _forward(costs, backend, m, h: int, w: int) -> tuple[float, float, bool, float]:
    """(core-seconds, peak bytes, approximate, base bytes) of one forward of model config
    ``m`` on an LR input of ``h x w``."""
    model = _model(m.preset, json.dumps(dict(m.overrides), sort_keys=True))
    entry, approx = _model_cost(costs, backend, m.preset, model, bool(m.overrides))
    plan = model.tiling_plan((1, h, w, 3), tile=m.tile)
    seconds = entry["core_seconds_per_lr_pixel"] * h * w * plan.recompute
    small = entry["lr_size"]
    planned_small = model.tiling_plan((1, *small, 3), tile=None).working_set
    measured_small = entry["activation_bytes_per_lr_pixel"] * small[0] * small[1]
    if plan.working_set and planned_small:
        activations = plan.working_set * measured_small / planned_small
    else:  # forced tiles: what one tile with its overlap holds
        th, tw = plan.tile if plan.tile else (h, w)
        activations = entry["activation_bytes_per_lr_pixel"] * min(
            h * w, (th + 2 * plan.overlap) * (tw + 2 * plan.overlap))
    return seconds, entry["base_bytes"] + activations, approx, entry["base_bytes"]


def _per_hr_pixel(costs: dict, scale: int, n_baselines: int, n_methods: int) -> float:
    c = costs.get("interpolation_and_scoring", {}).get("core_seconds_per_hr_pixel", {})
    return n_baselines * c.get(f"baseline_x{scale}", 0.0) + n_methods * c.get("score", 0.0)


def _shard_estimate(cfg: Config, costs: dict, key: str, hr: tuple[int, int], scale: int,
                    inputs: int, models: list, done: bool,
                    angles_of: dict[str, int] | None = None,
                    volumes: tuple[int, int] = (0, 0)) -> ShardEstimate:
    """``volumes``: (bytes of the volumes a process holds, transient bytes of reading one)."""
    backend, e = cfg.backend.name, cfg.experiment
    h, w = hr[0] // scale, hr[1] // scale
    baselines = len(set(e.baselines) | {"bicubic"}) if e.name == "div2k" else len(e.baselines)
    seconds = inputs * _per_hr_pixel(costs, scale, baselines, baselines + len(models)) * \
        h * w * scale * scale
    peak, approx, base = 0.0, False, float("inf")
    for m in models:
        s, p, a, b = _forward(costs, backend, m, h, w)
        n = inputs if angles_of is None else angles_of[m.label]
        seconds += n * s
        peak, approx, base = max(peak, p), approx or a, min(base, b)
    if not models:
        peak = base = min(entry["base_bytes"] for entry in
                          costs["backends"][backend]["models"].values())
    peak += h * w * scale * scale * 3 * (baselines + len(models) + 2 * 8)  # images, scoring
    held, reading = volumes  # MRI: the volumes stay in memory beside the forward
    peak = held + max(peak, base + reading) if held or reading else peak
    return ShardEstimate(key, (h, w), inputs, [m.label for m in models], seconds / 3600,
                         int(peak), done, approx)


def estimate(cfg: Config, costs: dict | None = None) -> list[ShardEstimate]:
    """Every shard of ``cfg`` with its estimated cost.

    Parameters
    ----------
    cfg : Config
        A validated config (:func:`compose`).
    costs : dict, optional
        Measured costs (default: :func:`load_costs`).

    Returns
    -------
    list of ShardEstimate
        In plan order.

    Raises
    ------
    DataError
        The costs hold no measurement for ``backend.name``, or the data are missing.
    """
    from . import runner

    costs = costs if costs is not None else load_costs()
    backend = cfg.backend.name
    if backend not in costs["backends"]:
        raise DataError(f"backend.name: expected a backend with measured costs "
                        f"{sorted(costs['backends'])} (tools/fullsize_cost.py --backends "
                        f"{backend} measures it), received {backend!r}")
    shards = runner.plan_shards(cfg)
    runner.check_plan(cfg, [t for t, _ in shards])
    e, d = cfg.experiment, cfg.dataset
    out = []
    if e.name != "div2k":
        from . import mri, protocol

        first = protocol.variants(e)[0]
        # the run keeps its last few volumes (mri._volume's cache) for the next shards
        cached = min(mri._volume.cache_info().maxsize, len(
            {(t.subject, t.weight, (t.variant or first).conventions.intensity)
             for t, _ in shards}))
    for task, shard in shards:
        if e.name == "div2k":
            hr = _div2k_size(d.kind, d.root, d.split, task.image)
            hr = (hr[0] - hr[0] % task.scale, hr[1] - hr[1] % task.scale)
            models = [m for m in e.models if _scale(m) == task.scale]
            out.append(_shard_estimate(cfg, costs, task.key, hr, task.scale, 1, models,
                                       shard.done()))
        else:
            hr, slices, v, voxels = _mri_grid(cfg, task)
            held = cached * voxels * (8 if v.conventions.intensity == "float" else 1)
            models = [m for m in e.models if _scale(m) == task.scale
                      and (m.variants is None or v.label in m.variants)]
            angles = {m.label: slices * len(m.angles if m.angles is not None else v.angles)
                      for m in models}
            out.append(_shard_estimate(cfg, costs, task.key, hr, task.scale,
                                       slices * len(v.angles), models, shard.done(), angles,
                                       (held, voxels * LOAD_BYTES_PER_VOXEL)))
    return out


def _scale(m) -> int:
    from layerbench.models import PRESETS

    return int(m.overrides.get("scale", PRESETS[m.preset]["scale"]))


def _div2k_size(kind: str, root: str | None, split: str, image: str) -> tuple[int, int]:
    if kind == "skimage":
        from layerbench.data.images import load_embedded

        return tuple(load_embedded(image).shape[:2])
    return image_size(Path(root) / f"DIV2K_{split}_HR" / f"{image}.png")


def _mri_grid(cfg: Config, task) -> tuple[tuple[int, int], int, Any, int]:
    """(slice HR size, slices the shard scores, variant, voxels) of an MRI task: the
    non-blank selected slices, as :func:`.mri.run_shard` runs them (each volume read
    once)."""
    from . import mri, protocol

    d = cfg.dataset
    v = task.variant or protocol.variants(cfg.experiment)[0]
    shape, _, scored = mri.task_slices(cfg, task)
    # a slice is rot90(take(volume, i, axis)) cropped to a multiple of the scales
    w, h = (int(n) - int(n) % mri._modulo(cfg) for i, n in enumerate(shape) if i != d.axis)
    return (h, w), len(scored), v, math.prod(shape)


def render(cfg: Config, estimates: list[ShardEstimate], costs: dict) -> str:
    """The plan as text: one line per shard, then the totals.

    Parameters
    ----------
    cfg : Config
    estimates : list of ShardEstimate
    costs : dict

    Returns
    -------
    str
    """
    prov = costs.get("provenance", {})
    d = cfg.dataset
    where = f"{d.kind} {d.root}" if getattr(d, "root", None) else d.kind
    todo = [s for s in estimates if not s.done]
    lines = [f"experiment {cfg.experiment.name} on {cfg.backend.name} "
             f"(backend.threads={cfg.backend.threads}), dataset {where}, output.root "
             f"{cfg.output.root}: {len(estimates)} shards, {len(estimates) - len(todo)} "
             "finished",
             f"costs measured on {prov.get('host', '?')} ({prov.get('cpu', '?')}, "
             f"{prov.get('cores', '?')} cores) on {prov.get('date', '?')}",
             "",
             f"{'shard':<34} {'LR input':>11} {'inputs':>7} {'core-h':>8} {'peak GB':>8}  "
             "models"]
    for s in estimates:
        mark = "~" if s.approximate else " "
        lines.append(f"{s.key:<34} {s.lr_size[1]:>5}x{s.lr_size[0]:<5} {s.inputs:>7} "
                     f"{s.core_hours:>7.3f}{mark} {s.peak_bytes / GB:>8.2f}  "
                     f"{','.join(s.models) or '-'}{'  (finished)' if s.done else ''}")
    total = sum(s.core_hours for s in todo)
    peak = max((s.peak_bytes for s in todo), default=0)
    threads = cfg.backend.threads
    lines += ["", f"to run: {len(todo)} shards, {total:.2f} core-hours ({total / threads:.2f} "
              f"hours at backend.threads={threads}); peak memory per shard "
              f"{peak / GB:.2f} GB"]
    if cfg.experiment.name == "mri":
        lines.append("inputs: the non-blank selected slices of the volume x the angles")
    if any(s.approximate for s in estimates):
        lines.append("~: scaled by parameter count from a measured preset")
    return "\n".join(lines)


def add_arguments(p) -> None:
    """Declare ``layerbench plan``'s arguments.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("overrides", nargs="*",
                   help="Hydra overrides, as for `layerbench reproduce`")
    p.add_argument("--costs", type=Path, default=None,
                   help="measured costs JSON (default: the package's fullsize_costs.json)")
    p.add_argument("--json", action="store_true", help="print the estimates as JSON")


def run(args) -> None:
    """Print the plan of ``args.overrides``.

    Parameters
    ----------
    args : argparse.Namespace
    """
    cfg = compose(args.overrides)
    costs = load_costs(args.costs)
    estimates = estimate(cfg, costs)
    if args.json:
        print(json.dumps([dataclasses.asdict(s) for s in estimates], indent=1))
    else:
        print(render(cfg, estimates, costs))
