"""``layerbench submit``: the array script's per-task command lines, run here in two
processes on one results root, compute every shard once and give the tables of a serial run;
the finisher checks every shard, then builds the report."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import backends
from layerbench import cli
from layerbench.data.div2k_tree import make_tree
from layerbench.experiments import plan, runner, slurm_array
from layerbench.experiments.store import load_tables

RUN_COLUMNS = ["seconds"]  # the shard's wall time describes the run, not its result


def test_task_order_visits_every_shard_once_own_ones_first():
    for n, tasks in ((7, 3), (2, 4), (6, 1)):
        orders = [slurm_array.task_order(n, t, tasks) for t in range(tasks)]
        for t, order in enumerate(orders):
            assert sorted(order) == list(range(n))
            own = list(range(t, n, tasks))
            assert order[: len(own)] == own
    with pytest.raises(ValueError, match="--task: expected 0 <= task < 2"):
        slurm_array.task_order(5, 2, 2)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("div2k"), ["0801", "0802", "0803"],
                     size=(48, 64))


def _overrides(tree, root):
    return ["experiment=div2k_smoke", "dataset=div2k", f"dataset.root={tree}",
            "dataset.images=null", "experiment.crop_images=['0801']", f"output.root={root}",
            "report.formats=[png]", "report.workers=1", "report_on_end=false"]


def _env(task: int) -> dict[str, str]:
    env = dict(os.environ, SLURM_ARRAY_JOB_ID="42", SLURM_ARRAY_TASK_ID=str(task),
               TF_CPP_MIN_LOG_LEVEL="3")
    src = Path(backends.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def test_two_array_tasks_equal_a_serial_run_and_the_finisher_reports(tree, tmp_path,
                                                                      monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "array"
    cli.main(["submit", *_overrides(tree, root), "--tasks", "2", "--no-submit",
              "--dir", str(tmp_path / "slurm")])
    array, fin = tmp_path / "slurm" / "array.sbatch", tmp_path / "slurm" / "finish.sbatch"
    assert "#SBATCH --array=0-1" in array.read_text()
    # what Slurm would run: the same script, twice at once, SLURM_ARRAY_TASK_ID 0 and 1
    procs = [subprocess.Popen(["bash", str(array)], cwd=tmp_path, env=_env(t),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for t in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
    computed = [[line.split()[1] for line in out.splitlines() if line.startswith("computed ")]
                for out, _ in outs]
    cfg = plan.compose(_overrides(tree, root))
    keys = [s.key for _, s in runner.plan_shards(cfg)]
    assert sorted(computed[0] + computed[1]) == sorted(keys)  # each shard once
    workers = {json.loads(s.path(".json").read_text())["worker"]
               for _, s in runner.plan_shards(cfg)}
    assert workers <= {"42_0", "42_1"} and workers

    serial_cfg = plan.compose(_overrides(tree, tmp_path / "serial"))
    runner.run_experiment(serial_cfg)
    a, b = (load_tables(r).drop(columns=RUN_COLUMNS) for r in (root, tmp_path / "serial"))
    order = ["image", "scale", "method", "channel"]
    pd.testing.assert_frame_equal(a.sort_values(order).reset_index(drop=True),
                                  b.sort_values(order).reset_index(drop=True),
                                  check_exact=True)

    done = subprocess.run(["bash", str(fin)], cwd=tmp_path, env=_env(0), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "all 6 shards finished" in done.stdout
    assert (Path(cfg.report.out) / "tables" / "div2k_interpolation.md").is_file()


def test_the_finisher_names_unfinished_shards(tree, tmp_path, capsys):
    cfg = plan.compose(_overrides(tree, tmp_path / "runs"))
    assert slurm_array.finish(cfg, report=False) == 1
    out = capsys.readouterr().out
    assert out.count("UNFINISHED") == 6 and "submit the same command again" in out


def test_force_is_refused_for_an_array(tree, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["submit", *_overrides(tree, tmp_path), "output.force=true", "--tasks", "2",
                  "--no-submit"])
    assert done.value.code == 2
    assert "output.force: expected false" in capsys.readouterr().err
