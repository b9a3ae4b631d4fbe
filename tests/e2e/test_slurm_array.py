"""A real Slurm array: ``layerbench submit --tasks 3`` on a two-node cluster (two ``slurmd`` on
this host, ``tools/slurm_local.py start --nodes 2``) runs the shards of one experiment on a
DIV2K-layout tree (embedded photographs): every shard computed exactly once, by a named task;
the tables equal a local run's; one task cancelled while it holds a shard, and the run complete
after submitting the same command again; ``layerbench verify`` clean. When Slurm cannot be
started the test skips with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import backends
from layerbench.data.div2k_tree import make_tree

RUN_COLUMNS = ["seconds"]
IMAGES = ["0801", "0802", "0803", "0804"]
SHARDS = len(IMAGES) * 2  # x scales 2, 4
SLURM_NODES = 2  # the conftest's cluster: two slurmd on this host, one core each


def _env(extra: dict | None = None) -> dict[str, str]:
    env = dict(extra or os.environ, OMP_WAIT_POLICY="passive", TF_CPP_MIN_LOG_LEVEL="3",
               LAYERBENCH_LOCK_INTERVAL="1")
    src = Path(backends.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def _overrides(tree: Path, root: Path) -> list[str]:
    return ["experiment=div2k_smoke", "dataset=div2k", f"dataset.root={tree}",
            "dataset.images=null", "experiment.crop_images=['0801']", f"output.root={root}",
            "report.formats=[png]", "report.workers=1", "report_on_end=false"]


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerbench.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _wait_idle(env: dict, limit: float = 600) -> None:
    t0 = time.monotonic()
    while True:
        q = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True,
                           text=True)
        if q.returncode == 0 and not q.stdout.strip():
            return
        assert time.monotonic() - t0 < limit, f"jobs still queued: {q.stdout}"
        time.sleep(0.5)


def _submit(tree: Path, root: Path, tmp: Path, env: dict) -> tuple[str, str]:
    out = _cli(["submit", *_overrides(tree, root), "--tasks", "3", "--time", "20",
                "--mem-gb", "1", "--dir", str(tmp / "slurm")], env, tmp)
    assert out.returncode == 0, out.stderr[-2000:]
    words = out.stdout.split()
    return words[words.index("array") + 1], words[words.index("finisher") + 1].rstrip(";")


def test_an_array_computes_each_shard_once_and_survives_a_cancelled_task(slurm_cluster,
                                                                        tmp_path):
    slurm, state = slurm_cluster
    env = _env(slurm.env(state))
    tree = make_tree(tmp_path / "DIV2K", IMAGES, size=(192, 256))
    root = tmp_path / "runs"
    array, finisher = _submit(tree, root, tmp_path, env)

    # cancel task 1 while it holds a shard: its lock names it
    cancelled = None
    t0 = time.monotonic()
    while cancelled is None and time.monotonic() - t0 < 300:
        for lock in root.rglob("*.lock"):
            try:
                owner = json.loads(lock.read_text())
            except (OSError, ValueError):
                continue
            if owner.get("worker") == f"{array}_1":
                subprocess.run(["scancel", f"{array}_1"], env=env, check=True)
                cancelled = lock.name[: -len(".lock")]
                break
        time.sleep(0.02)
    _wait_idle(env)
    logs = tmp_path / "slurm" / "logs"
    first = (logs / f"finish_{finisher}.out").read_text()
    if cancelled is None:
        pytest.fail("task 1 never held a shard:\n" + first)

    # whatever the first round left unfinished, the same command again completes it
    again, finisher2 = _submit(tree, root, tmp_path, env)
    _wait_idle(env)
    final = (logs / f"finish_{finisher2}.out").read_text()
    assert f"all {SHARDS} shards finished" in final, first + final

    computed = []
    for log in logs.glob("*_*.out"):
        if not log.name.startswith("finish_"):
            computed += [ln.split()[1] for ln in log.read_text().splitlines()
                         if ln.startswith("computed ")]
    assert len(computed) == len(set(computed)) == SHARDS, sorted(computed)
    workers = [json.loads(p.read_text())["worker"] for p in root.rglob("*.json")
               if ".tmp" not in p.name]
    assert len(workers) == SHARDS
    assert {w.split("_")[0] for w in workers} <= {array, again}

    # the scheduler's record: the first array ran on both nodes
    records = [r for r in (state / "jobcomp.log").read_text().splitlines()
               if f"ArrayJobId={array} " in r]
    nodes = {r.split("NodeList=")[1].split()[0] for r in records}
    assert nodes == set(slurm.node_names(SLURM_NODES)), records

    verify = _cli(["verify", str(root)], env, tmp_path)
    assert verify.returncode == 0, verify.stdout[-2000:]

    local = tmp_path / "local"
    res = _cli(["reproduce", *_overrides(tree, local)], _env(), tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]

    def tables(r: Path) -> pd.DataFrame:
        found = sorted(p for p in r.rglob("*.parquet") if ".tmp" not in p.name)
        t = pd.concat([pd.read_parquet(p) for p in found], ignore_index=True)
        order = ["image", "scale", "method", "channel"]
        return t.drop(columns=RUN_COLUMNS).sort_values(order).reset_index(drop=True)

    pd.testing.assert_frame_equal(tables(root), tables(local), check_exact=True)
