"""``layerbench submit <overrides> --tasks N``: the shards of one experiment over a Slurm
array, then the report once.

``submit`` writes two batch scripts into ``--dir`` and submits them with ``sbatch`` (or only
writes them, ``--no-submit``):

* ``array.sbatch``: an array of ``N`` tasks on one shared results root. Task ``i`` runs
  ``python -m layerbench.experiments.slurm_array worker --task i --tasks N <overrides>``:
  the shards ``i, i+N, i+2N, ...`` of the experiment's plan first, then every other shard
  still unclaimed, each under the shard's lock (:mod:`.store`, a lease renewed by a
  heartbeat: :mod:`.lease`), so every shard is computed once, by whichever task claims it.
  A shard another live task holds is passed over; once a task has nothing left to claim it
  waits for those, so a task killed by ``scancel`` or a node failure loses only the shard it
  was computing: its lock goes stale (at once on its own host, after the lease elsewhere)
  and a task still running claims it again; if none is left, submitting the same command
  again does.
* ``finish.sbatch``: one job that starts when every array task has ended, whatever their
  state (``--dependency=afterany``). It checks every planned shard (:meth:`.Shard.verify`);
  when all are finished it builds the report (``report.out``) and exits 0, otherwise it
  names the unfinished shards, says to submit again (finished shards are not recomputed)
  and exits 1.

Each shard's provenance records the array task that computed it (``worker``:
``<array job>_<task>``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from layerbench.data.errors import DataError
from layerbench.schema import Config

log = logging.getLogger(__name__)

SCRIPT_ARRAY = "array.sbatch"
SCRIPT_FINISH = "finish.sbatch"
POLL_SECONDS = 1.0  # how often a worker with nothing to claim looks at the others' shards


def task_order(n: int, task: int, tasks: int) -> list[int]:
    """The order in which task ``task`` of ``tasks`` visits the ``n`` shards of a plan: its
    own (``task::tasks``), then the others from the next task's on.

    Parameters
    ----------
    n : int
        Shards in the plan.
    task : int
        This task, ``0 <= task < tasks``.
    tasks : int

    Returns
    -------
    list of int
        Every index of ``range(n)`` once.
    """
    if not 0 <= task < tasks:
        raise ValueError(f"--task: expected 0 <= task < {tasks}, received {task}")
    own = list(range(task, n, tasks))
    rest = [i for k in range(1, tasks) for i in range((task + k) % tasks, n, tasks)]
    return own + rest


def work(cfg: Config, task: int, tasks: int, *, steal: bool = True) -> list[str]:
    """Compute the unfinished shards task ``task`` of ``tasks`` claims; return their keys.

    Parameters
    ----------
    cfg : Config
        The experiment (the same for every task).
    task, tasks : int
        This task and the array's size.
    steal : bool
        After its own shards, also claim the others' unclaimed ones.

    Returns
    -------
    list of str
        Keys of the shards this task computed, in order.
    """
    import backends

    from . import runner
    from .methods import load_model
    from .store import remove_stale_temporaries

    shards = runner.plan_shards(cfg)
    runner.check_plan(cfg, [t for t, _ in shards])
    remove_stale_temporaries(runner.shard_dir(cfg))
    order = task_order(len(shards), task, tasks)
    if not steal:
        order = order[: len(range(task, len(shards), tasks))]
    module = runner.EXPERIMENTS[cfg.experiment.name]
    backend = backends.get_backend(cfg.backend.name)
    computed: list[str] = []
    models: list[Any] | None = None
    context: dict[str, Any] = {}
    pending = list(order)
    with backend.threads(cfg.backend.threads):
        while pending:
            left = []
            for i in pending:
                t, shard = shards[i]
                if shard.done():
                    continue
                if not shard.try_lock():
                    left.append(i)  # another worker's: done, or re-claimed if it dies
                    continue
                try:
                    if shard.done():
                        continue  # finished between the check and the lock
                    if models is None:  # loaded once, only when there is work
                        models = [load_model(k, m, backend=cfg.backend.name,
                                             dtype=cfg.backend.dtype, seed=cfg.seed)
                                  for k, m in enumerate(cfg.experiment.models)]
                        context = {"info": backend.info(), "config": dataclasses.asdict(cfg)}
                    runner._compute(cfg, module, t, shard, models, context)
                    if shard.done():
                        computed.append(shard.key)
                        print(f"computed {shard.key}", flush=True)
                finally:
                    shard.unlock()
            pending = left
            if pending:  # shards other workers hold: wait until they finish or their
                time.sleep(POLL_SECONDS)  # leases lapse (a killed worker's), then claim
    return computed


def finish(cfg: Config, *, report: bool = True) -> int:
    """Check every shard of the plan; build the report when all are finished.

    Parameters
    ----------
    cfg : Config
    report : bool
        Build the report (``report.runs`` -> ``report.out``) when complete.

    Returns
    -------
    int
        0 when every shard is finished (and the report built), 1 otherwise.
    """
    from . import runner

    shards = runner.plan_shards(cfg)
    missing = [s for _, s in shards if not s.done()]
    for s in missing:
        print(f"UNFINISHED {s.name}: {'; '.join(s.verify())}")
    if missing:
        print(f"{len(missing)} of {len(shards)} shards unfinished: submit the same command "
              "again (finished shards are not recomputed)")
        return 1
    print(f"all {len(shards)} shards finished")
    if report:
        from layerbench.report.build import build_report

        r = cfg.report
        paths = build_report(r.runs, r.out, formats=r.formats, dpi=r.dpi, workers=r.workers)
        print(f"report: wrote {len(paths)} files under {r.out}")
    return 0


def _command(action: str, overrides: list[str], shell_args: str = "") -> str:
    """The command line a batch script runs (``shell_args``: inserted unquoted, for the
    shell to expand)."""
    head = shlex.join([sys.executable, "-m", "layerbench.experiments.slurm_array", action])
    return " ".join(filter(None, [head, shell_args, "--", shlex.join(overrides)]))


def write_scripts(overrides: list[str], tasks: int, folder: Path, *, cfg: Config,
                  partition: str | None = None, time_min: int = 240,
                  mem_gb: float | None = None, account: str | None = None,
                  setup: list[str] | None = None) -> tuple[Path, Path]:
    """Write ``array.sbatch`` and ``finish.sbatch`` into ``folder``.

    Parameters
    ----------
    overrides : list of str
        The experiment's Hydra overrides (every task runs the same).
    tasks : int
        Array size.
    folder : pathlib.Path
        Where the scripts and the logs (``logs/``) go.
    cfg : Config
        The composed experiment (for the job name and threads).
    partition, account : str, optional
        Slurm partition and account.
    time_min : int
        Time limit of each task, minutes.
    mem_gb : float, optional
        Memory per task (default: Slurm's default).
    setup : list of str, optional
        Shell lines run before the worker (``module load ...``).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The array script and the finisher script.
    """
    folder = Path(folder).resolve()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    name = f"layerbench-{cfg.experiment.name}-{cfg.backend.name}"
    threads = cfg.backend.threads

    def header(job: str, extra: list[str]) -> list[str]:
        lines = ["#!/bin/bash", f"#SBATCH --job-name={job}", f"#SBATCH --chdir={Path.cwd()}",
                 "#SBATCH --ntasks=1",
                 f"#SBATCH --time={time_min}", *extra]
        if partition:
            lines.append(f"#SBATCH --partition={partition}")
        if account:
            lines.append(f"#SBATCH --account={account}")
        return lines

    env = ["export OMP_WAIT_POLICY=passive", "export TF_CPP_MIN_LOG_LEVEL=3",
           f"export PYTHONPATH={shlex.quote(os.environ.get('PYTHONPATH', ''))}"
           if os.environ.get("PYTHONPATH") else "", *(setup or [])]
    env = [e for e in env if e]
    array = header(name, [f"#SBATCH --array=0-{tasks - 1}",
                          f"#SBATCH --cpus-per-task={threads}",
                          *([f"#SBATCH --mem={int(mem_gb * 1024)}M"] if mem_gb else []),
                          f"#SBATCH --output={folder}/logs/%A_%a.out"])
    array += [*env, f"export OMP_NUM_THREADS={threads}",
              'export LAYERBENCH_WORKER="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
              _command("worker", overrides,
                       f'--task "${{SLURM_ARRAY_TASK_ID}}" --tasks {tasks}')]
    fin = header(f"{name}-finish", ["#SBATCH --cpus-per-task=1",
                                    f"#SBATCH --output={folder}/logs/finish_%j.out"])
    fin += [*env, _command("finish", overrides)]
    paths = folder / SCRIPT_ARRAY, folder / SCRIPT_FINISH
    for path, lines in zip(paths, (array, fin), strict=True):
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o755)
    return paths


def sbatch(script: Path, *args: str) -> str:
    """Submit ``script``; return the job id.

    Parameters
    ----------
    script : pathlib.Path
    *args : str
        More ``sbatch`` options (``--dependency=...``).

    Returns
    -------
    str
    """
    try:
        out = subprocess.run(["sbatch", "--parsable", *args, str(script)], capture_output=True,
                             text=True, check=False)
    except FileNotFoundError:
        raise DataError("sbatch: expected Slurm's sbatch on PATH, received none (use "
                        "--no-submit to write the scripts only)") from None
    if out.returncode != 0:
        raise DataError(f"sbatch {script.name}: exited {out.returncode}: "
                        f"{(out.stderr or out.stdout).strip()}")
    return out.stdout.strip().split(";")[0]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare ``layerbench submit``'s arguments.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the experiment, as for "
                                                "`layerbench reproduce`")
    p.add_argument("--tasks", type=int, required=True, help="array tasks (workers)")
    p.add_argument("--dir", type=Path, default=None,
                   help="scripts and logs (default: <output.root>/slurm)")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--account", default=None, help="Slurm account")
    p.add_argument("--time", type=int, default=240, help="time limit per task, minutes")
    p.add_argument("--mem-gb", type=float, default=None,
                   help="memory per task, GB (default: Slurm's; `layerbench plan` estimates "
                        "it)")
    p.add_argument("--setup", action="append", default=None,
                   help="a shell line run before each worker (repeatable)")
    p.add_argument("--no-submit", action="store_true",
                   help="write the scripts, print how to submit them, submit nothing")


def run(args: argparse.Namespace) -> None:
    """Write the scripts of ``args`` and submit them.

    Parameters
    ----------
    args : argparse.Namespace
    """
    from .plan import compose

    if args.tasks < 1:
        raise DataError(f"--tasks: expected an integer >= 1, received {args.tasks}")
    cfg = compose(args.overrides)
    if cfg.output.force:
        raise DataError("output.force: expected false for a Slurm array (every task would "
                        "recompute every shard); remove the shards to redo, or use a new "
                        "output.root")
    folder = args.dir if args.dir is not None else Path(cfg.output.root) / "slurm"
    array, fin = write_scripts(list(args.overrides), args.tasks, folder, cfg=cfg,
                               partition=args.partition, time_min=args.time,
                               mem_gb=args.mem_gb, account=args.account, setup=args.setup)
    if args.no_submit:
        print(f"{array}\n{fin}\nsubmit: job=$(sbatch --parsable {array}) && "
              f"sbatch --dependency=afterany:$job {fin}")
        return
    job = sbatch(array)
    done = sbatch(fin, f"--dependency=afterany:{job}")
    print(f"submitted array {job} ({args.tasks} tasks) and finisher {done}; logs in "
          f"{Path(folder).resolve() / 'logs'}")


def main(argv: list[str] | None = None) -> None:
    """``python -m layerbench.experiments.slurm_array worker|finish ... -- <overrides>``:
    what the batch scripts run.

    Parameters
    ----------
    argv : list of str, optional
    """
    p = argparse.ArgumentParser(prog="python -m layerbench.experiments.slurm_array")
    p.add_argument("action", choices=("worker", "finish"))
    p.add_argument("--task", type=int, default=0)
    p.add_argument("--tasks", type=int, default=1)
    p.add_argument("--no-steal", action="store_true")
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    a.overrides = argv[cut + 1:]
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    from .plan import compose

    cfg = compose(a.overrides)
    cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, progress=False))
    if a.action == "worker":
        keys = work(cfg, a.task, a.tasks, steal=not a.no_steal)
        print(f"task {a.task} of {a.tasks}: computed {len(keys)} shards")
        return
    raise SystemExit(finish(cfg))


if __name__ == "__main__":
    main()
