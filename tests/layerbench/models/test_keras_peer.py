"""The benchmark peer (:class:`layerbench.models.keras_peer.KerasPeer`) computes what our
models compute: same architecture, our weights copied in, same uint8 contract."""

import numpy as np
import pytest

from backends.errors import SpecError
from layerbench import models

BUILDERS = {
    "edsr_x2": lambda: models.edsr(2, 2, 8, 0.1, seed=1),
    "edsr_x4": lambda: models.edsr(4, 1, 6, 1.0, seed=2),
    "wdsr_a_x4": lambda: models.wdsr_a(4, 2, 8, 3, seed=3),
    "wdsr_a_x3_symmetric_res_scale": lambda: models.wdsr_a(3, 2, 6, 2, res_scale=0.5,
                                                           border="symmetric", seed=4),
    "wdsr_b_x2": lambda: models.wdsr_b(2, 2, 10, 4, seed=5),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_peer_equals_model(name, km, model_close):
    model = BUILDERS[name]()
    peer = km.KerasPeer(model)
    x = np.random.default_rng(6).uniform(0, 255, (1, 13, 9, 3)).astype(np.float32)
    model_close(peer.predict(x), model.predict(x), model=model, dtype=np.float32,
                against="tensorflow")
    image = np.random.default_rng(7).integers(0, 256, (11, 14, 3), dtype=np.uint8)
    ours, theirs = model.super_resolve(image), peer.super_resolve(image)
    assert theirs.dtype == np.uint8 and theirs.shape == ours.shape
    # float32 outputs within the model budget can round to neighbouring uint8 levels only
    # where a value sits at a half
    assert np.max(np.abs(theirs.astype(int) - ours.astype(int))) <= 1


def test_peer_refuses_bicubic(km):
    with pytest.raises(SpecError, match="model.arch"):
        km.build_like(models.bicubic(2))


def test_peer_compare_runs_side_by_side(km, tmp_path):
    """``layerbench peer-compare`` on a small preset and image: one worker process per
    thread count, a row per backend and repeat, the ratio is the backend's time over the
    mean of the Keras runs around it."""
    import os
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "peer.csv"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        [sys.executable, "-m", "layerbench.cli", "peer-compare", "--models", "edsr_small_x2",
         "--backends", "numpy", "cython", "--threads", "1", "--size", "20x12", "--repeats",
         "2", "--out", str(out), "--md", str(tmp_path / "peer.md")], capture_output=True,
        text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    table = pd.read_csv(out)
    assert table["load1"].notna().all() and table["commit"].notna().all()
    md = (tmp_path / "peer.md").read_text()
    assert "- load: " in md and "(1-minute load average" in md
    assert "| edsr_small_x2 | 20x12 | cython | 1 | untiled (1.000) |" in md
    assert sorted(zip(table["backend"], table["repeat"], strict=True)) == [
        ("cython", 0), ("cython", 1), ("numpy", 0), ("numpy", 1)]
    assert (table["threads"] == 1).all() and (table["plan"] == "untiled").all()
    # the Keras peer ran with the pools TensorFlow reports at the requested count (a dropped
    # ``threads(1)`` context used to reset them to the default, 2 on two cores)
    assert (table["keras_intra_op"] == 1).all() and (table["keras_inter_op"] == 1).all()
    assert "per thread count): 1 threads: 1 intra, 1 inter" in md
    assert table["ratio"].to_numpy() == pytest.approx(
        (table["seconds"] / table["keras_seconds"]).to_numpy())
    assert "| edsr_small_x2 | 20x12 | cython | 1 | untiled (1.000) |" in run.stdout


def test_peer_compare_keeps_rows_of_a_stopped_run(km, tmp_path):
    """Rows reach the CSV as they are measured: a run stopped part-way (here: a CSV with
    only its first rows) is summarised by ``--from``."""
    import subprocess
    import sys

    import pandas as pd

    rows = pd.DataFrame([
        {"model": "wdsr_a_x4", "size": "510x339", "backend": b, "threads": 2, "repeat": 0,
         "seconds": s, "keras_seconds": 10.0, "ratio": s / 10.0, "plan": "untiled",
         "recompute": 1.0, "tile": "None", "memory_budget": None, "load1": 3.5,
         "commit": "abc12345"} for b, s in (("cython", 9.0), ("numba", 12.0))])
    csv = tmp_path / "partial.csv"
    rows.to_csv(csv, index=False)
    run = subprocess.run([sys.executable, "-m", "layerbench.cli", "peer-compare", "--from",
                          str(csv), "--md", str(tmp_path / "p.md")], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| wdsr_a_x4 | 510x339 | numba | 2 | untiled (1.000) | 12.00 | 10.00 | 1.20 | 1 |" \
        in run.stdout
    md = (tmp_path / "p.md").read_text()
    assert "abc12345" in md and "3.5-3.5" in md


def test_peer_compare_worker_sizes_keras_pools_for_its_whole_run(km):
    """In a fresh process (TensorFlow not started), the worker's whole run sees TensorFlow's
    pools configured at ``--threads``: ``threads(1)`` is held, not entered and dropped (a
    dropped context is garbage collected at once and its exit restored the default)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json\n"
        "import tensorflow as tf\n"
        "from layerbench.models import peer_compare as pc\n"
        "pc._run = lambda args, n: [{\n"
        "    'intra': tf.config.threading.get_intra_op_parallelism_threads(),\n"
        "    'inter': tf.config.threading.get_inter_op_parallelism_threads()}]\n"
        "print(json.dumps(pc.worker(pc.parse(['--worker', '--threads', '1']))))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [{"intra": 1, "inter": 1}]
