"""Run an experiment shard by shard: resume, force, atomic writes, provenance, summary."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

import backends
from layerbench import logs, provenance
from layerbench.data.errors import DataError
from layerbench.schema import Config

from . import div2k, lease, mri
from .methods import load_model
from .store import Shard, config_hash, remove_stale_locks, remove_stale_temporaries

log = logging.getLogger(__name__)
EXPERIMENTS = {"div2k": div2k, "mri": mri}
WORKER_ENV = lease.WORKER_ENV  # a Slurm array task's name, recorded in each shard it computes


def result_settings(cfg: Config) -> dict[str, Any]:
    """Everything that changes a shard's rows (threads and output options do not).

    Parameters
    ----------
    cfg : Config
        A run's validated configuration, threads and output options included.

    Returns
    -------
    dict
        ``experiment``, ``dataset``, the backend's ``name`` and ``dtype``, and ``seed``:
        what the shards' configuration hash covers.
    """
    c = dataclasses.asdict(cfg)
    if c["experiment"].get("crop_images") is None:  # the default: shard names as before it
        c["experiment"].pop("crop_images", None)
    return {"experiment": c["experiment"], "dataset": c["dataset"],
            "backend": {k: c["backend"][k] for k in ("name", "dtype")}, "seed": c["seed"]}


def shard_dir(cfg: Config) -> Path:
    """The folder of a run's shards: ``<output.root>/<experiment>/<backend>``.

    Parameters
    ----------
    cfg : Config
        The validated configuration.

    Returns
    -------
    pathlib.Path
        Not created here.
    """
    return Path(cfg.output.root) / cfg.experiment.name / cfg.backend.name


def plan_shards(cfg: Config) -> list[tuple[Any, Shard]]:
    """Every task of the experiment with the shard that stores its result.

    Parameters
    ----------
    cfg : Config
        The validated configuration.

    Returns
    -------
    list of (task, Shard)
        The experiment's ``plan(cfg)``, each task paired with its shard under
        :func:`shard_dir`, keyed by the task and the hash of :func:`result_settings`
        (so a changed setting never reuses an old shard).
    """
    module = EXPERIMENTS[cfg.experiment.name]
    digest = config_hash(result_settings(cfg))
    return [(t, Shard(shard_dir(cfg), t.key, digest)) for t in module.plan(cfg)]


def check_plan(cfg: Config, tasks: list[Any]) -> None:
    """Refuse, before any work, a plan that would produce no rows: no shard at all, or
    (MRI) a slice range outside a volume (:func:`.mri.check_plan`).

    Parameters
    ----------
    cfg : Config
    tasks : list
        The planned tasks (:func:`plan_shards`).

    Raises
    ------
    DataError
        Naming the setting and what it has to select.
    """
    d = cfg.dataset
    if not tasks:
        scope = (f"dataset.weights={list(d.weights)} with the experiment's protocol variants"
                 if cfg.experiment.name == "mri" else
                 f"dataset.images={d.images}, dataset.split={d.split!r}")
        raise DataError(f"experiment {cfg.experiment.name!r}: expected at least one shard, "
                        f"received an empty plan ({scope}, experiment.scales="
                        f"{list(cfg.experiment.scales)})")
    check = getattr(EXPERIMENTS[cfg.experiment.name], "check_plan", None)
    if check is not None:
        check(cfg, tasks)


def run_experiment(cfg: Config) -> pd.DataFrame:
    """Run every unfinished shard of ``cfg``; return the rows of all its shards.

    A shard is finished when it passes :meth:`Shard.verify` (its sidecar lists each file's
    size, checksum and rows and they match); a started shard that fails it is logged by name
    with what is wrong and recomputed. ``output.force`` recomputes finished shards too. A
    shard is computed only under its lock: a shard locked by another live run is left to it,
    and this run waits for it (or takes it over if that run dies), so two runs on one output
    root compute each shard once and both return every row.

    Parameters
    ----------
    cfg : Config
        The validated configuration; ``output`` says where the shards go and whether
        finished ones are recomputed.

    Returns
    -------
    pandas.DataFrame
        The rows of every shard of the plan.

    Raises
    ------
    DataError
        The plan is empty or selects nothing (:func:`check_plan`), or every shard finished
        with zero rows.
    """
    shards = plan_shards(cfg)
    check_plan(cfg, [t for t, _ in shards])
    stale = remove_stale_temporaries(shard_dir(cfg))
    remove_stale_locks(shard_dir(cfg))
    todo = []
    for task, shard in shards:
        problems = shard.verify()
        if problems and shard.started():
            log.warning("shard %s is broken and will be recomputed: %s", shard.name,
                        "; ".join(problems))
        if cfg.output.force or problems:
            todo.append((task, shard))
    log.info("%s on %s: %d shards, %d finished, %d to run%s, under %s", cfg.experiment.name,
             cfg.backend.name, len(shards), len(shards) - len(todo), len(todo),
             f" (removed {stale} stale temporary files)" if stale else "",
             shard_dir(cfg).resolve())  # output.root as given may hold '..' or a link
    workers = min(cfg.output.workers, len(todo))
    if workers > 1:
        _run_workers(cfg, todo, workers)
    elif todo:
        _run_here(cfg, todo)
    tables = [s.read_table() for _, s in shards if s.done()]
    result = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if result.empty:  # every shard finished with zero rows: nothing was scored
        raise DataError(f"experiment {cfg.experiment.name!r}: expected rows, received "
                        f"{len(shards)} shards with 0 rows each under {shard_dir(cfg)} "
                        "(nothing was scored: check the slices or images the settings "
                        "select)")
    print(summary(result))
    return result


def _run_here(cfg: Config, todo: list[tuple[Any, Shard]]) -> None:
    """Compute ``todo`` in this process (models loaded once, ``backend.threads`` threads)."""
    module = EXPERIMENTS[cfg.experiment.name]
    backend = backends.get_backend(cfg.backend.name)
    with backend.threads(cfg.backend.threads):
        models = [load_model(i, m, backend=cfg.backend.name, dtype=cfg.backend.dtype,
                             seed=cfg.seed) for i, m in enumerate(cfg.experiment.models)]
        context = {"info": backend.info(), "config": dataclasses.asdict(cfg)}
        _run_locked(cfg, module, todo, models, context)


def _worker(cfg: Config, keys: list[str]) -> None:
    """One of ``output.workers`` processes: every shard named in ``keys``, in plan order."""
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    wanted = set(keys)
    _run_here(cfg, [(t, s) for t, s in plan_shards(cfg) if s.key in wanted])


def _run_workers(cfg: Config, todo: list[tuple[Any, Shard]], workers: int) -> None:
    """Compute ``todo`` in ``workers`` fresh processes (spawned: no OpenMP or BLAS state is
    inherited), each loading the models and running ``backend.threads`` threads.

    Every worker walks the whole list; the shard locks (one owner per shard, as for two
    runs on one output root) split it dynamically, so a worker takes the next free shard
    whenever it finishes one. A shard's rows do not depend on the process that computes it.
    Under ``output.force`` the finished shards are cleaned here first, so that no worker
    recomputes a shard the other one has just written.
    """
    if cfg.output.force:
        for _, shard in todo:
            if shard.try_lock():
                shard.clean()
                shard.unlock()
        cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, force=False))
    cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, progress=False))
    log.info("%d workers x %d thread(s)", workers, cfg.backend.threads)
    keys = [shard.key for _, shard in todo]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for f in [pool.submit(_worker, cfg, keys) for _ in range(workers)]:
            f.result()


POLL_SECONDS = 0.2  # how often a run looks at shards another run is computing


def _run_locked(cfg, module, todo, models, context) -> None:
    """Compute each shard of ``todo`` under its lock; wait for those other runs hold."""
    pending, force = list(todo), cfg.output.force
    bar = tqdm(total=len(todo), desc=f"{cfg.experiment.name}/{cfg.backend.name}",
               disable=not logs.show_bar(cfg.output.progress))
    waiting_logged = set()
    while pending:
        progressed, left = False, []
        for task, shard in pending:
            if not force and shard.done():  # finished meanwhile by another run
                bar.update()
                progressed = True
                continue
            if not shard.try_lock():
                if shard.key not in waiting_logged:
                    # expected between the workers of one run: not worth a line each
                    say = log.debug if cfg.output.workers > 1 else log.info
                    say("shard %s is being computed by %s; waiting for it", shard.name,
                        shard.lock_owner())
                    waiting_logged.add(shard.key)
                left.append((task, shard))
                continue
            try:
                if force or not shard.done():
                    _compute(cfg, module, task, shard, models, context)
            finally:
                shard.unlock()
            bar.update()
            progressed = True
        pending = left
        force = False  # a shard another run finished while we waited is not redone
        if pending and not progressed:
            time.sleep(POLL_SECONDS)
    bar.close()


def _compute(cfg, module, task, shard, models, context) -> None:
    t0 = time.perf_counter()
    table, examples = module.run_shard(cfg, task, models)
    table = _with_run_columns(table, cfg, shard)
    prov = provenance.collect(context["config"], backend_info=context["info"], extra={
        "shard": shard.key, "rows": len(table),
        "seconds": round(time.perf_counter() - t0, 3),
        **({"worker": w} if (w := os.environ.get(WORKER_ENV)) else {}),
        "models": [{"label": m.label, "preset": m.preset, "scale": m.scale,
                    "weights": m.weights, "weights_sha256": m.weights_sha256,
                    "num_params": m.model.num_params()} for m in models],
        **_protocol_record(task),
    })
    if not shard.holds_lock():  # frozen past the lease: another worker took the shard over
        log.warning("shard %s: the lock was taken over while this worker was stopped; its "
                    "result is discarded", shard.name)
        return
    shard.clean()
    shard.write(table, prov, examples)


def _protocol_record(task: Any) -> dict[str, Any]:
    """The protocol variant of an MRI shard and its conventions, for the provenance."""
    v = getattr(task, "variant", None)
    if v is None:
        return {}
    return {"protocol": {"name": v.protocol, "variant": v.label,
                         "conventions": dataclasses.asdict(v.conventions),
                         "angles": list(v.angles)}}


def _with_run_columns(table: pd.DataFrame, cfg: Config, shard: Shard) -> pd.DataFrame:
    table = table.copy()
    table.insert(0, "experiment", cfg.experiment.name)
    table.insert(1, "dataset", cfg.dataset.kind)
    table.insert(2, "backend", cfg.backend.name)
    table.insert(3, "dtype", cfg.backend.dtype)
    table.insert(4, "threads", cfg.backend.threads)
    if "data_range" not in table:  # MRI rows carry their protocol's own range
        table["data_range"] = cfg.experiment.data_range
    table["shave"] = cfg.experiment.shave
    table["shard"] = shard.base.name
    return table


def summary(table: pd.DataFrame) -> str:
    """Mean PSNR/SSIM per method, scale (and weighting) on the whole image (channel all).

    Parameters
    ----------
    table : pandas.DataFrame
        A run's rows.

    Returns
    -------
    str
        The means as text (``"no results"`` for an empty table).
    """
    if table.empty:
        return "no results"
    t = table[table["channel"] == "all"]
    keys = [k for k in ("experiment", "backend", "variant", "weight", "scale", "method")
            if k in t]
    cols = [c for c in ("psnr", "ssim", "psnr_masked", "ssim_masked", "mask_iou") if c in t]
    agg = t.groupby(keys, dropna=False)[cols].mean().round(4)
    agg["n"] = t.groupby(keys, dropna=False).size()
    return "\n" + agg.to_string() + "\n"
