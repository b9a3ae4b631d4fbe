"""``layerbench train``: train a model through the layer protocol (any backend).

Each step: random LR/HR patches (flips, 90-degree rotations; seeded per step), ``forward``,
mean absolute error (L1) against the normalised HR patch, ``backward``, one Adam ``update``.
After every epoch (``epoch_steps`` steps): validation PSNR on held-out images and an atomic
checkpoint; a rerun with the same ``out_dir`` resumes from it and gives the same weights as
an uninterrupted run. The final weights go to ``{out_dir}/{model.name}.npz``.

    layerbench train model=edsr_small_x2 backend=cython backend.threads=1 steps=3000
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from backends import Adam, LossFunction, specs
from backends.errors import WeightsError, expected
from layerbench.data.degrade import upscale
from layerbench.models.bicubic import bicubic
from layerbench.models.presets import build

from . import checkpoint
from .train_schema import TrainConfig, register
from .trainset import PatchSampler, pair

log = logging.getLogger(__name__)


def psnr(a: np.ndarray, b: np.ndarray, shave: int) -> float:
    """PSNR in dB of uint8 RGB images over all channels, ``shave`` border pixels ignored.

    Parameters
    ----------
    a, b : numpy.ndarray
        The two images, same shape.
    shave : int
        Border pixels ignored on each side (``>= 1``).

    Returns
    -------
    float
        ``10 log10(255^2 / MSE)``.
    """
    a = a[shave:-shave, shave:-shave].astype(np.float64)
    b = b[shave:-shave, shave:-shave].astype(np.float64)
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def model_from_config(cfg: TrainConfig):
    """Build the model a training config describes.

    Parameters
    ----------
    cfg : TrainConfig
        The validated training config (its ``model``, ``backend`` and ``seed``).

    Returns
    -------
    SRModel
        The freshly initialised model.
    """
    m = {k: v for k, v in asdict(cfg.model).items() if v is not None}
    name, arch = m.pop("name"), m.pop("arch")
    b = cfg.backend
    model = build(arch, backend=b.name, dtype=np.dtype(b.dtype), seed=cfg.seed, **m)
    model.name = name
    return model


def validation_set(names, scale: int, crop: int):
    """Centre crops (HR ``crop`` x ``crop``, rounded to the scale) of held-out images.

    Parameters
    ----------
    names : iterable of str
        scikit-image sample names.
    scale : int
        The SR factor.
    crop : int
        HR side of the crop.

    Returns
    -------
    list of (str, numpy.ndarray, numpy.ndarray)
        ``(name, lr, hr)`` per image.
    """
    out = []
    for name in names:
        lr, hr = pair(name, scale)
        c = crop // scale
        i, j = (lr.shape[0] - c) // 2, (lr.shape[1] - c) // 2
        out.append((name, lr[i : i + c, j : j + c], hr[i * scale : (i + c) * scale,
                                                        j * scale : (j + c) * scale]))
    return out


def validate(model, vals) -> float:
    """Mean PSNR of ``model`` over validation pairs.

    Parameters
    ----------
    model : SRModel
        The model under training.
    vals : iterable of tuple
        ``(name, lr, hr)`` image triples.

    Returns
    -------
    float
        Mean PSNR in dB, with a border of ``model.scale`` pixels shaved (see ``psnr``).
    """
    return float(np.mean([psnr(model.super_resolve(lr, tile=None), hr, model.scale)
                          for _, lr, hr in vals]))


def _init_weights(model, init: str) -> str:
    """Load the starting weights of a fine-tuning run: a shipped preset's or a file's."""
    from layerbench.models.presets import WEIGHTS_DIR, pretrained_names

    path = WEIGHTS_DIR / f"{init}.npz" if init in pretrained_names() else Path(init)
    if not path.is_file():
        raise WeightsError(expected("init", f"one of {pretrained_names()} or the path of a "
                                    ".npz file", init))
    model.load_weights(path)
    return f"{init} (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]})"


def _data(cfg: TrainConfig, scale: int):
    """The sampler, the validation set, the bicubic validation PSNR and the data summary."""
    d = cfg.data
    summary = {"kind": d.kind, "patch": d.patch, "batch": d.batch}
    if d.kind == "photo":
        sampler = PatchSampler(d.train, scale, d.patch, d.batch, cfg.seed)
        vals = validation_set(d.val, scale, d.val_crop)
        summary.update(train=list(d.train), val=list(d.val))
        return sampler, vals, validate(bicubic(scale), vals), summary
    if d.kind != "mri":
        raise ValueError(expected("data.kind", "'photo' or 'mri'", d.kind))
    from . import trainset_mri

    sampler = trainset_mri.MRIPatchSampler(cfg.dataset, d, scale, cfg.seed)
    if d.val_axis in d.train_axes:
        raise ValueError(expected("data.val_axis", f"an axis not in data.train_axes "
                                  f"{list(d.train_axes)}", d.val_axis))
    vals = [(f"{s[0]}/{s[1]}/axis{s[2]}/{s[3]}", trainset_mri.rgb(s[6]), trainset_mri.rgb(s[5]))
            for s in trainset_mri.slices_of(cfg.dataset, d, scale, [d.val_axis],
                                            only=d.val_slices)]
    bic = float(np.mean([psnr(trainset_mri.rgb(upscale(lr[..., 0], scale, "bicubic")), hr,
                              scale) for _, lr, hr in vals]))
    ds = cfg.dataset
    summary.update(
        dataset={"kind": ds.kind, "root": ds.root, "weights": list(ds.weights),
                 "intensity": asdict(ds.intensity)},
        degrade=asdict(d.degrade), train_axes=list(d.train_axes), min_fg=d.min_fg,
        augment="rot90 x hflip", channels="grey replicated to RGB",
        val=[v[0] for v in vals], val_baseline="cv2 INTER_CUBIC (the experiment's bicubic)")
    return sampler, vals, bic, summary


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) training as configured; return the run summary.

    Parameters
    ----------
    cfg : TrainConfig
        The validated configuration; ``cfg.resume`` continues from ``out_dir``'s checkpoint.

    Returns
    -------
    dict
        The run summary (model, backend, steps, data, optimizer, the history of loss and
        validation PSNR, wall time), also written to ``summary.json`` and into the
        header of the ``<model>.npz`` weights in ``out_dir``.
    """
    model = model_from_config(cfg)
    init = _init_weights(model, cfg.init) if cfg.init else None
    o = cfg.optim
    adam = Adam(lr=o.lr, beta1=o.beta1, beta2=o.beta2, epsilon=o.epsilon)
    loss = LossFunction(specs.Loss(kind="mae"), backend=cfg.backend.name, dtype=model.dtype)
    sampler, vals, bicubic_psnr, data_summary = _data(cfg, model.scale)
    log.info("validation PSNR of bicubic: %.3f dB", bicubic_psnr)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.npz"
    step, history, elapsed = 0, [], 0.0
    if cfg.resume and ckpt.exists():
        header = checkpoint.load(ckpt, model, adam)
        step, history, elapsed = header["step"], header["history"], header["elapsed"]
        log.info("resumed from %s at step %d", ckpt, step)
    with model.backend.threads(cfg.backend.threads):
        bar = _progress(cfg, step)
        t0 = time.perf_counter() - elapsed
        losses = []
        while step < cfg.steps:
            if o.decay_every:
                adam.lr = o.lr * o.decay ** (step // o.decay_every)
            lr, hr = sampler.batch_at(step)
            y = model.forward(model.normalise(lr), training=True)
            target = ((hr - model.mean) / model.norm).astype(model.dtype)
            losses.append(loss.forward(y, target))
            model.backward(loss.backward())
            model.update(adam)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if step % cfg.epoch_steps == 0 or step == cfg.steps:
                row = {"step": step, "loss": float(np.mean(losses)),
                       "val_psnr": validate(model, vals), "elapsed_s": time.perf_counter() - t0}
                history.append(row)
                losses = []
                log.info("step %d loss %.4f val PSNR %.3f dB (%.0f s)", step, row["loss"],
                         row["val_psnr"], row["elapsed_s"])
                checkpoint.save(ckpt, model, adam, step=step,
                                meta={"history": history, "elapsed": row["elapsed_s"]})
        bar.close()
    summary = {
        "model": model.name, "backend": cfg.backend.name, "dtype": cfg.backend.dtype,
        "threads": cfg.backend.threads,
        "steps": step, "seed": cfg.seed, "wall_time_s": history[-1]["elapsed_s"] if history else 0,
        "data": data_summary, "init": init,
        "optim": asdict(o), "val_bicubic_psnr": bicubic_psnr, "history": history,
    }
    if hasattr(sampler, "record"):
        summary["split"] = sampler.record()
    model.save_weights(out / f"{model.name}.npz", training=summary)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _progress(cfg: TrainConfig, start: int):
    from tqdm import tqdm

    return tqdm(total=cfg.steps, initial=start, disable=not cfg.progress, unit="step",
                desc=cfg.model.name, mininterval=5.0)


def to_schema(cfg: DictConfig) -> TrainConfig:
    """Merge ``cfg`` into the schema (raising on unknown keys / bad types).

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        The composed Hydra configuration.

    Returns
    -------
    TrainConfig
        The typed configuration.
    """
    schema = OmegaConf.structured(TrainConfig)
    # a "+key=value" override slips past the merge of typed nodes: compare the keys
    _check_keys(OmegaConf.to_container(cfg, resolve=False),
                OmegaConf.to_container(schema, resolve=False), "")
    return OmegaConf.to_object(OmegaConf.merge(schema, cfg))


def _check_keys(given: dict, allowed: dict, prefix: str) -> None:
    from omegaconf.errors import ConfigKeyError

    for key, value in given.items():
        if key not in allowed:
            raise ConfigKeyError(f"train config: unknown key {prefix}{key!r}; expected one "
                                 f"of {sorted(allowed)}")
        if isinstance(value, dict) and isinstance(allowed[key], dict):
            _check_keys(value, allowed[key], f"{prefix}{key}.")


register()


def main() -> None:
    """Hydra entry point of training (reads the command line)."""
    import hydra

    from layerbench.confdir import CONFIG_PATH

    @hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
    def _run(cfg: DictConfig) -> None:
        train(to_schema(cfg))

    _run()
