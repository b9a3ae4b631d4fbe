"""Verified shards under faults: SIGKILLs at seeded moments, damaged files of every kind,
two runs on one output root, and ``layerbench verify``.

The runner and the store are the real ones; the experiment is a tiny one registered for these
tests (6 shards of 300 seeded rows plus an example array, milliseconds each), so that writing
dominates a run and the kills land in the middle of writes, and 24 kills cost seconds. The real
experiments are killed and resumed end to end in tests/e2e/test_multirun_resume.py.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import select
import shutil
import signal
import time
import types

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from layerbench import cli, schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import lease, runner, store

N_SHARDS, ROWS = 6, 300
KILLS = 24
KILL_SEED = 2026


@dataclasses.dataclass(frozen=True)
class _Task:
    index: int

    @property
    def key(self) -> str:
        return f"part{self.index}"


def _plan(cfg):
    return [_Task(i) for i in range(N_SHARDS)]


def _run_shard(cfg, task, models):
    rng = np.random.default_rng(task.index)
    table = pd.DataFrame({"part": task.index, "row": np.arange(ROWS), "channel": "all",
                          "value": rng.standard_normal(ROWS),
                          "label": [f"r{i % 7}" for i in range(ROWS)]})
    return table, {"example": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)}


TINY = types.SimpleNamespace(plan=_plan, run_shard=_run_shard)


@pytest.fixture(autouse=True)
def tiny_experiment(monkeypatch):
    monkeypatch.setitem(runner.EXPERIMENTS, "tiny", TINY)
    monkeypatch.setattr(runner, "POLL_SECONDS", 0.02)


def _cfg(root, *, force=False):
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        raw = compose(config_name="config", overrides=[
            "experiment=div2k_smoke", "experiment.models=[]", f"output.root={root}",
            "output.progress=false", f"output.force={str(force).lower()}"])
    cfg = schema.validate(raw)
    cfg.experiment.name = "tiny"
    return cfg


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["part", "row"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run's table and its output root (copy it before changing it)."""
    root = tmp_path_factory.mktemp("reference") / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(runner.EXPERIMENTS, "tiny", TINY)
        _child(_cfg(root)).join()
        table = _sorted(store.load_tables(root))
    assert len(table) == N_SHARDS * ROWS
    return table, root


class _Child:
    def __init__(self, process):
        self.process = process

    def join(self):
        self.process.join(120)
        assert self.process.exitcode == 0, f"run exited with {self.process.exitcode}"


def _run_quietly(cfg, log_path=None, events=None):
    import contextlib
    import io

    if log_path is not None:  # record which shards this run computed
        compute = runner._compute

        def logged(cfg, module, task, shard, models, context):
            compute(cfg, module, task, shard, models, context)
            with open(log_path, "a") as f:
                f.write(f"{shard.key}\n")

        runner._compute = logged
    if events is not None:  # tell the parent each time a file write starts
        atomic = store._atomic

        def announced(path, write, suffix):
            os.write(events, b"w")
            atomic(path, write, suffix)

        store._atomic = announced
    with contextlib.redirect_stdout(io.StringIO()):
        runner.run_experiment(cfg)


def _child(cfg, log_path=None, events=None) -> _Child:
    p = multiprocessing.get_context("fork").Process(target=_run_quietly,
                                                    args=(cfg, log_path, events))
    p.start()
    return _Child(p)


def _kill_during_write(cfg, n_write: int, delay: float) -> bool:
    """Run ``cfg`` in a child; SIGKILL it ``delay`` s after its ``n_write``-th file write
    starts. False if the run finished first."""
    r, w = os.pipe()
    child = _child(cfg, events=w)
    os.close(w)
    seen = 0
    try:
        while seen < n_write:
            if not select.select([r], [], [], 60)[0]:
                child.process.kill()
                pytest.fail(f"the run wrote nothing for 60 s after {seen} writes")
            chunk = os.read(r, n_write - seen)
            if not chunk:  # the child exited: fewer writes than n_write
                break
            seen += len(chunk)
    finally:
        os.close(r)
    killed = seen >= n_write
    if killed:
        time.sleep(delay)
        os.kill(child.process.pid, signal.SIGKILL)
    child.process.join(60)
    return killed and child.process.exitcode == -signal.SIGKILL


def _accepted_are_whole(root, reference_table) -> int:
    """Every shard the store accepts equals the reference rows; return how many."""
    shards = store.finished_shards(root)
    for s in shards:
        part = int(s.key.removeprefix("part"))
        want = reference_table[reference_table["part"] == part].reset_index(drop=True)
        got = _sorted(s.read_table())
        pd.testing.assert_frame_equal(got[want.columns], want)
        assert s.read_examples().at()["example"].shape == (32, 32, 3)
    return len(shards)


def test_sigkill_at_seeded_moments_never_leaves_an_accepted_broken_shard(tmp_path, reference):
    """SIGKILL after a seeded number of file writes (each shard writes 4 files) plus a
    seeded delay of 0-4 ms (a file write takes ~1-3 ms here): every killed state is checked
    (an accepted shard is whole and equal to the reference), then one plain run finishes."""
    table, _ = reference
    root = tmp_path / "runs"
    rng = np.random.default_rng(KILL_SEED)
    configs = {f: _cfg(root, force=f) for f in (False, True)}
    kills = runs = mid_write = 0
    while kills < KILLS and runs < 3 * KILLS:
        runs += 1
        # two of three runs recompute everything (force): there is always writing to hit;
        # the third resumes, so recomputing broken shards is killed too
        cfg = configs[runs % 3 != 0]
        if _kill_during_write(cfg, int(rng.integers(1, 4 * N_SHARDS + 1)),
                              float(rng.uniform(0.0, 0.004))):
            kills += 1
        broken = store.verify_tree(root)
        mid_write += any(".tmp" in name or "sidecar missing" in " ".join(p)
                         for name, p in broken.items())
        _accepted_are_whole(root, table)
    assert kills >= KILLS, f"only {kills} of {runs} runs were killed before they finished"
    _child(configs[False]).join()
    assert _accepted_are_whole(root, table) == N_SHARDS
    pd.testing.assert_frame_equal(_sorted(store.load_tables(root)), table)
    assert store.verify_tree(root) == {}
    print(f"\n{kills} SIGKILLs in {runs} runs, {mid_write} left a half-written shard; "
          f"0 broken shards accepted")
    assert mid_write >= KILLS // 2, f"only {mid_write} kills left a half-written shard"


def _damage(path, how: str, seed: int = 0) -> None:
    data = bytearray(path.read_bytes())
    if how == "empty":
        data = bytearray()
    elif how == "truncate":
        data = data[: len(data) // 2]
    else:  # garble: same size, 8 bytes changed
        rng = np.random.default_rng(seed)
        for i in rng.choice(len(data), 8, replace=False):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "empty", "garble"])
@pytest.mark.parametrize("ext", [".parquet", ".csv", ".npz", ".json"])
def test_damaged_file_is_reported_by_name_and_recomputed(tmp_path, reference, caplog, ext,
                                                         how):
    table, finished = reference
    root = tmp_path / "runs"
    shutil.copytree(finished, root)
    cfg = _cfg(root)
    victim = store.finished_shards(root)[3]
    _damage(victim.path(ext), how)
    broken = store.verify_tree(root)
    assert list(broken) == [str(victim.base)], broken
    assert victim.path(ext).name in " ".join(broken[str(victim.base)]) or ext == ".json"
    with caplog.at_level("WARNING", logger=runner.__name__):
        _run_quietly(cfg)
    assert str(victim.base) in caplog.text and "recomputed" in caplog.text
    assert store.verify_tree(root) == {}
    pd.testing.assert_frame_equal(_sorted(store.load_tables(root)), table)


def test_two_runs_on_one_root_compute_each_shard_once(tmp_path, reference):
    table, _ = reference
    root, log = tmp_path / "runs", tmp_path / "computed.txt"
    cfg = _cfg(root)
    children = [_child(cfg, log), _child(cfg, log)]
    for c in children:
        c.join()
    computed = log.read_text().split()
    assert sorted(computed) == sorted(f"part{i}" for i in range(N_SHARDS)), computed
    assert not list(root.rglob("*.lock"))
    pd.testing.assert_frame_equal(_sorted(store.load_tables(root)), table)


def test_a_live_lock_is_respected_and_a_dead_one_taken_over(tmp_path):
    shard = store.Shard(tmp_path, "part0", "abc")
    assert shard.try_lock()
    assert not shard.try_lock()  # held by this (live) process
    other = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    other.start()
    try:
        shard.path(".lock").write_text(json.dumps(
            {"pid": other.pid, "host": os.uname().nodename, "time": time.time()}))
        assert not shard.lock_is_stale() and not shard.try_lock()
    finally:
        other.kill()
        other.join()
    assert shard.lock_is_stale() and shard.try_lock()  # its owner is dead
    shard.path(".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "time": 0}))
    assert not shard.lock_is_stale()
    old = time.time() - lease.stale_after({}) - 1
    os.utime(shard.path(".lock"), (old, old))
    assert shard.lock_is_stale()


def test_verify_command_names_what_is_broken(tmp_path, capsys, reference):
    root = tmp_path / "runs"
    shutil.copytree(reference[1], root)
    with pytest.raises(SystemExit) as ok:
        cli.main(["verify", str(root)])
    assert ok.value.code == 0
    victim = store.finished_shards(root)[0]
    _damage(victim.path(".csv"), "truncate")
    (victim.base.parent / "stray.parquet.layerbench.tmp-x1y2z3w4.parquet").write_bytes(b"x")
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:
        cli.main(["verify", str(root)])
    out = capsys.readouterr().out
    assert bad.value.code == 1
    assert victim.path(".csv").name in out and "stray.parquet" in out
    with pytest.raises(SystemExit) as missing:  # a user error: one line, status 2
        cli.main(["verify", str(tmp_path / "nowhere")])
    assert missing.value.code == 2 and "nowhere" in capsys.readouterr().err


def test_a_dead_runs_lock_on_a_finished_shard_is_removed(tmp_path, reference):
    """A run killed after its sidecar was written but before it unlocked leaves a stale lock
    on a finished shard; the next run removes it (found by the kill loop above)."""
    root = tmp_path / "runs"
    shutil.copytree(reference[1], root)
    dead = multiprocessing.get_context("fork").Process(target=int)
    dead.start()
    dead.join()
    shard = store.finished_shards(root)[0]
    shard.path(".lock").write_text(json.dumps(
        {"pid": dead.pid, "host": os.uname().nodename, "time": time.time()}))
    assert list(store.verify_tree(root)) == [str(shard.path(".lock"))]
    _run_quietly(_cfg(root))
    assert store.verify_tree(root) == {}


# -- shards bound to their names, sidecars to their contents --------------------------------

def _finished_copy(tmp_path, reference):
    root = tmp_path / "runs"
    shutil.copytree(reference[1], root)
    return root, store.finished_shards(root)


def _named_and_recomputed(root, victim, words, caplog, reference) -> None:
    broken = store.verify_tree(root)
    assert list(broken) == [str(victim.base)], broken
    text = " ".join(broken[str(victim.base)])
    assert all(w in text for w in words), text
    with caplog.at_level("WARNING", logger=runner.__name__):
        _run_quietly(_cfg(root))
    assert str(victim.base) in caplog.text and "recomputed" in caplog.text
    assert store.verify_tree(root) == {}
    pd.testing.assert_frame_equal(_sorted(store.load_tables(root)), reference[0])


def test_a_shard_copied_over_another_is_named_and_recomputed(tmp_path, reference, caplog):
    """Every file of part1 copied onto part0's names (as T2's onto T1's): each file matches
    the copied sidecar, but the sidecar names another shard."""
    root, shards = _finished_copy(tmp_path, reference)
    source, victim = shards[1], shards[0]
    for ext in (*store.DATA_SUFFIXES, store.SIDECAR):
        shutil.copy(source.path(ext), victim.path(ext))
    _named_and_recomputed(root, victim, ["the sidecar of shard part1", "copied"], caplog,
                          reference)


def test_a_sidecar_garbled_into_valid_json_is_named(tmp_path, reference, caplog):
    """4 bytes of a value in the middle of the sidecar changed; it still parses."""
    root, shards = _finished_copy(tmp_path, reference)
    victim = shards[2]
    text = victim.path(store.SIDECAR).read_text()
    at = text.index('": "', len(text) // 3) + 4
    garbled = text[:at] + "n/78" + text[at + 4:]
    json.loads(garbled)
    victim.path(store.SIDECAR).write_text(garbled)
    _named_and_recomputed(root, victim, ["own checksum"], caplog, reference)


@pytest.mark.parametrize("files", [[".parquet"], [".parquet", ".csv"], ["../x/.parquet"]])
def test_a_sidecar_listing_other_files_is_named(tmp_path, reference, caplog, files):
    """A sidecar (with a valid checksum of its own) listing only some files, the others
    deleted, or a name with '/': the files a shard has are fixed by the code."""
    root, shards = _finished_copy(tmp_path, reference)
    victim = shards[4]
    record = store.read_sidecar(victim.path(store.SIDECAR))
    listed = {ext: record["files"].get(ext, record["files"][".parquet"]) for ext in files}
    for ext in set(store.DATA_SUFFIXES) - set(files):
        victim.path(ext).unlink()
    victim.path(store.SIDECAR).write_text(store.sidecar_text({**record, "files": listed}))
    _named_and_recomputed(root, victim, ["lists files", "a shard has exactly"], caplog,
                          reference)


def test_an_old_sidecar_without_its_checksum_is_recomputed(tmp_path, reference, caplog):
    root, shards = _finished_copy(tmp_path, reference)
    victim = shards[5]
    record = store.read_sidecar(victim.path(store.SIDECAR))
    victim.path(store.SIDECAR).write_text(json.dumps(record))
    _named_and_recomputed(root, victim, ["older layerbench"], caplog, reference)


def test_only_the_stores_own_temporaries_are_removed(tmp_path, reference):
    root, shards = _finished_copy(tmp_path, reference)
    folder = shards[0].base.parent
    mine = folder / f"{shards[0].path('.csv').name}.layerbench.tmp-a1B2c3D4.csv"
    users = [folder / "notes.tmp.txt", folder / "part0.x.tmp", folder / "sub" / "a.tmp1"]
    for p in (mine, *users):
        p.parent.mkdir(exist_ok=True)
        p.write_text("x")
    assert list(store.verify_tree(root)) == [str(mine)]
    _run_quietly(_cfg(root))
    assert not mine.exists() and all(p.read_text() == "x" for p in users)
    assert store.verify_tree(root) == {}


def test_a_run_whose_shards_are_all_empty_is_an_error(tmp_path, monkeypatch):
    from layerbench.data.errors import DataError

    monkeypatch.setitem(runner.EXPERIMENTS, "tiny", types.SimpleNamespace(
        plan=_plan, run_shard=lambda cfg, task, models: (pd.DataFrame({"value": []}), None)))
    with pytest.raises(DataError, match="0 rows each"):
        runner.run_experiment(_cfg(tmp_path / "runs"))


# -- locks: broken or stale, never a crash or an endless wait -------------------------------

def _finishes(cfg, seconds: float = 60.0) -> None:
    """Run ``cfg`` in a child: it must finish within ``seconds`` (a run that waits on a
    lock nobody holds would wait forever)."""
    child = _child(cfg)
    child.process.join(seconds)
    if child.process.is_alive():
        child.process.kill()
        child.process.join()
        pytest.fail(f"the run still waited after {seconds} s")
    assert child.process.exitcode == 0


@pytest.mark.parametrize("text", ["5", "[]", "null"])
def test_a_lock_that_is_not_a_json_object_is_broken_not_a_crash(tmp_path, reference, capsys,
                                                                 text):
    root, shards = _finished_copy(tmp_path, reference)
    lock = shards[0].path(store.LOCK)
    lock.write_text(text)
    assert store.verify_tree(root) == {str(lock): [
        f"broken lock (expected a JSON object, found {text!r})"]}
    with pytest.raises(SystemExit) as status:
        cli.main(["verify", str(root)])
    assert status.value.code == 1 and "broken lock" in capsys.readouterr().out
    shards[1].clean()  # the run has a shard to compute
    _finishes(_cfg(root))
    assert store.verify_tree(root) == {} and not lock.exists()


def _live_unrelated_process():
    other = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    other.start()
    return other


def test_a_lock_of_a_reused_pid_is_stale(tmp_path, reference):
    """The lock's pid runs, but another process than the one that took the lock: its start
    time differs from the recorded one (pid reuse). The run takes the shard over."""
    if store.process_start(os.getpid()) is None:
        pytest.skip("process start times are read from Linux /proc")
    root, shards = _finished_copy(tmp_path, reference)
    shards[0].clean()
    other = _live_unrelated_process()
    try:
        record = {"pid": other.pid, "host": os.uname().nodename, "time": time.time(),
                  "start": store.process_start(other.pid)}
        shards[0].path(store.LOCK).write_text(json.dumps(record))
        assert not shards[0].lock_is_stale()  # its real owner: live
        record["start"] = record["start"] + "0"  # the owner started at another time
        shards[0].path(store.LOCK).write_text(json.dumps(record))
        assert "now runs another process" in shards[0].lock_problem()
        _finishes(_cfg(root))
    finally:
        other.kill()
        other.join()
    assert store.verify_tree(root) == {}


def test_an_old_lock_without_start_time_naming_a_live_pid_is_stale(tmp_path, reference):
    """The reproduction: a 7-hour-old lock (no recorded start time) whose pid now runs an
    unrelated process on this host made the run wait forever."""
    root, shards = _finished_copy(tmp_path, reference)
    shards[0].clean()
    other = _live_unrelated_process()
    try:
        lock = shards[0].path(store.LOCK)
        lock.write_text(json.dumps({"pid": other.pid, "host": os.uname().nodename,
                                    "time": time.time() - 7 * 3600}))
        old = time.time() - 7 * 3600
        os.utime(lock, (old, old))
        assert "not renewed for 252" in shards[0].lock_problem()  # 7 h: 25200 s
        assert list(store.verify_tree(root)) == [str(lock)]
        _finishes(_cfg(root))
    finally:
        other.kill()
        other.join()
    assert store.verify_tree(root) == {}


def test_a_lock_records_its_owners_start_and_keeps_unknown_fields_readable(tmp_path):
    shard = store.Shard(tmp_path, "part0", "abc")
    assert shard.try_lock()
    owner = shard.lock_owner()
    assert owner["pid"] == os.getpid() and owner["start"] == store.process_start(os.getpid())
    shard.path(store.LOCK).write_text(json.dumps({**owner, "lease": 30, "heartbeat": 1.0}))
    assert not shard.lock_is_stale()  # fields added later do not break the lock
    shard.unlock()
    assert not shard.path(store.LOCK).exists()


def test_the_run_shows_its_resolved_output_folder(tmp_path, caplog):
    """``output.root`` may hold '..': the run names the folder it really writes to."""
    (tmp_path / "a").mkdir()
    with caplog.at_level("INFO", logger=runner.__name__):
        _run_quietly(_cfg(tmp_path / "a" / ".." / "runs"))
    where = (tmp_path / "runs" / "tiny" / "numpy").resolve()
    assert f"under {where}" in caplog.text and (where / "part0.lock").parent.is_dir()
