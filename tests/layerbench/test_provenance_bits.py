"""Provenance records what decides the bits: BLAS kernel and threads, OpenCV's and Numba's
CPU dispatch, the extension's build flags, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from layerbench import provenance


def test_bits_record_blas_core_type_and_threads():
    blas = [b for b in provenance.bits()["blas"] if b["api"] == "blas"]
    assert blas, "threadpoolctl found no BLAS in a process that imported numpy"
    assert all(b["core_type"] and b["threads"] >= 1 and b["version"] for b in blas)


def test_lock_hash_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAYERBENCH_LOCK", "locks/py311.txt sha256:abc")
    assert provenance.bits()["lock"] == "locks/py311.txt sha256:abc"
    assert "lock locks/py311.txt sha256:abc" in provenance.summary(provenance.bits())
    monkeypatch.delenv("LAYERBENCH_LOCK")
    assert provenance.bits()["lock"] is None


def test_opencv_disabled_feature_is_recorded():
    code = "import json; from layerbench import provenance; print(json.dumps(provenance.opencv()))"
    env_off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ, "OPENCV_CPU_DISABLE": "AVX2"})
    off = json.loads(env_off.stdout)
    assert "AVX2" not in off["enabled"]
    assert "AVX2?" in off["features_line"]


def test_numba_target_and_collect_carries_bits():
    target = provenance.numba_target()
    assert target["cpu_name"] and target["host_cpu"]
    assert "bits" in provenance.collect({})

