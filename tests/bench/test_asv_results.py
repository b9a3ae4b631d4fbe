"""tools/asv_results.py keeps one machine's runs on one dashboard line."""

import importlib.util
from pathlib import Path

import pytest

from layerbench import runtimes

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("asv_results", ROOT / "tools" / "asv_results.py")
asv_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(asv_results)


def _run(os_name, ram):
    return {"commit_hash": "0" * 40, "env_name": "existing-py_work_venv_bin_python3.11",
            "python": "/work/venv/bin/python3.11",
            "params": {"arch": "x86_64", "cpu": "Intel(R) Xeon(R) Processor", "num_cpu": "2",
                       "os": os_name, "ram": ram, "python": "/work/venv/bin/python3.11",
                       "machine": "vm"}}


def test_reboots_of_one_vm_share_the_series_keys():
    """A kernel build suffix and a few hundred kB of RAM that move between boots (seen:
    v657 / v857, 25276510208 / 25276059648 B) must not start a new graph."""
    a = asv_results.normalise(_run("Linux 6.18.44-fc-v657", "25276510208"))
    b = asv_results.normalise(_run("Linux 6.18.44-fc-v857", "25276059648"))
    assert a["params"] == b["params"]
    assert a["params"]["os"] == "Linux 6.18.44"
    assert a["params"]["ram"] == str(24 * 2**30)
    assert a["params"]["machine"] == "intel-xeon-processor-2cpu"
    assert a["env_name"] == "existing-py3.11"


def test_other_kernels_and_memory_stay_apart():
    a = asv_results.normalise(_run("Linux 6.18.44-fc-v657", "25276510208"))
    c = asv_results.normalise(_run("Linux 6.19.1", str(48 * 2**30)))
    assert a["params"]["os"] != c["params"]["os"] and a["params"]["ram"] != c["params"]["ram"]


def test_this_machine_names_the_cpu_generation():
    """Two CPU generations behind one model name ("AMD EPYC") get two machine names."""
    pytest.importorskip("asv")
    info = asv_results.this_machine()
    m = runtimes.machine()
    assert info["cpu"] == runtimes.cpu_label({**m, "cpu": info["cpu"].split(" (")[0]})
    assert info["machine"] == asv_results.machine_name(info["cpu"], info["num_cpu"])
    if m["family"] is not None:
        assert f"-family-{m['family']}-" in info["machine"]
    zen5 = runtimes.cpu_label({"cpu": "AMD EPYC", "family": 26, "model": None,
                               "simd": "AVX-512"})
    zen3 = runtimes.cpu_label({"cpu": "AMD EPYC", "family": 25, "model": 1, "simd": "AVX2"})
    assert asv_results.machine_name(zen5, 2) == "amd-epyc-family-26-avx-512-2cpu"
    assert asv_results.machine_name(zen3, 2) == "amd-epyc-family-25-model-1-avx2-2cpu"
