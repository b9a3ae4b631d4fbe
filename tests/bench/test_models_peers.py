"""The asv ``Models`` peers (ONNX Runtime, OpenVINO, PyTorch, Keras) run in a process that
never builds our model nor starts our backends: the model is converted in a child process
and loaded from files."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = {"keras": "tensorflow", "onnxruntime": "onnxruntime", "openvino": "openvino",
           "torch": "torch"}

# Run in a fresh interpreter: an xdist worker may hold any module already. Constructing a
# Network or entering a backend's thread setting raises; after setup and one timed call the
# compiled backends must not be loaded.
CODE = """
import json, sys
import backends.network as network

def refuse(*a, **k):
    raise AssertionError("our model was built in the peer's process")

network.Network.__init__ = refuse
import bench.models as m

out = {}
for peer in sys.argv[1:]:
    b = m.Models()
    b.setup("edsr_baseline_x2", "510x339", peer, 1)
    y = b.run()
    b.teardown()
    out[peer] = [list(y.shape), str(y.dtype)]
out["loaded"] = sorted(k for k in sys.modules
                       if k.startswith(("numba", "backends.cython_omp", "backends.numba_jit")))
print(json.dumps(out))
"""


def test_peer_setup_builds_no_model_of_ours(tmp_path):
    peers = [p for p, mod in MODULES.items() if importlib.util.find_spec(mod) is not None]
    if not peers:
        pytest.skip("no peer runtime is installed (extras tf, onnx, openvino, torch)")
    env = dict(os.environ, LAYERBENCH_BENCH_TINY="1", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]))
    out = subprocess.run([sys.executable, "-c", CODE, *peers], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got.pop("loaded") == []
    # tiny mode: a 16x12 LR image, x2
    assert got == {p: [[24, 32, 3], "uint8"] for p in peers}


def test_report_ratio_is_to_the_best_peer():
    """Whole models: the ratio is to the fastest peer of the same key, named in ``peer``."""
    import pandas as pd

    from layerbench.report.bench import timings

    key = {"suite": "Models", "kind": "time", "item": "m@1x1", "algo": "",
           "direction": "super_resolve", "threads": 1, "benchmark": "models.Models.x",
           "unit": "seconds"}
    table = pd.DataFrame([{**key, "backend": b, "value": v} for b, v in
                          (("cython", 1.0), ("keras", 4.0), ("openvino", 2.0),
                           ("torch", 8.0))])
    t = timings(table).set_index("backend")
    assert (t["peer"] == "openvino").all()
    assert t.loc["cython", "ratio_to_peer"] == 0.5 and t.loc["keras", "ratio_to_peer"] == 2.0
