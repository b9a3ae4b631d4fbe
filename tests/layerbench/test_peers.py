"""The peer runtimes (:mod:`layerbench.runtimes`) compute what our models compute, each in
its own process, and ``layerbench compare-backends`` prints the side-by-side table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from backends.errors import SpecError
from layerbench import runtimes

SUBJECT = {"model": "edsr_small_x2", "size": [20, 14]}


def _installed(peer: str) -> bool:
    import importlib.util

    return importlib.util.find_spec({"keras": "tensorflow"}.get(peer, peer)) is not None


@pytest.mark.parametrize("peer", runtimes.PEERS)
def test_peer_computes_our_model(peer):
    """Same output as our numpy backend within the model budget against another runtime
    (checked in this process; the timings run in fresh ones)."""
    if not _installed(peer):
        pytest.skip(f"{peer} is not installed (extra `{peer if peer != 'keras' else 'tf'}`)")
    from backends.testing.tolerances import TF_FACTOR
    from layerbench.onnx_import import runtime_rtol

    model, x = runtimes.build_subject(SUBJECT)
    call, settings = runtimes._runner(peer, model, x, 1)
    theirs, ours = call(), model.predict(x)
    # TensorFlow adds its TF_FACTOR, as in the Keras peer's test
    extra = TF_FACTOR[np.dtype(np.float32)] if peer == "keras" else 1.0
    assert np.max(np.abs(theirs - ours)) <= runtime_rtol(model) * np.max(np.abs(ours)) * extra
    assert settings["version"]


def test_fresh_worker_reports_times_and_settings():
    res = runtimes.fresh({"subject": SUBJECT, "runtime": "numpy", "threads": 1,
                          "repeats": 2})
    assert len(res["seconds"]) == 2 and all(t > 0 for t in res["seconds"])
    assert res["settings"]["threads"] == 1
    # the OpenBLAS kernels the child ran, as threadpoolctl names them in a process like it
    probe = subprocess.run(
        [sys.executable, "-c", "import numpy, scipy.linalg.cython_blas\n"
         "from threadpoolctl import threadpool_info\n"
         "print('/'.join(sorted({i['architecture'] for i in threadpool_info()\n"
         "                       if i['internal_api'] == 'openblas'})))"],
        capture_output=True, text=True, check=True)
    assert res["settings"]["openblas"] == probe.stdout.strip()


def test_sgemm_peak_names_its_kernels():
    got = runtimes.sgemm_peak(1, size=256, repeats=1)
    assert got["gflops"] > 0
    assert got["openblas"] == runtimes.openblas_kernels()


@pytest.mark.parametrize("path, ours", [
    ("/v/lib/python3.11/site-packages/numpy.libs/libscipy_openblas64_-32a4.so", True),
    ("/v/lib/python3.11/site-packages/scipy.libs/libscipy_openblas-6cdc.so", True),
    ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", True),
    ("/opt/conda/lib/libopenblasp-r0.3.27.so", True),
    ("/v/lib/python3.11/site-packages/opencv_python_headless.libs/libopenblasp-r0.so", False),
    ("/v/lib/python3.11/site-packages/torch/lib/libopenblas.so", False),
])
def test_kernels_are_numpys_and_scipys_only(path, ours):
    # OpenCV's own OpenBLAS 0.3.15 calls a Zen 3 "Zen" where NumPy's calls it "Haswell"
    assert runtimes._numpy_or_scipy(path) is ours


def test_torch_module_dcr_shuffle_and_shortcut():
    pytest.importorskip("torch", reason="the torch peer (extra `torch`)")
    from layerbench import models

    model = models.wdsr_a(3, 1, 6, 2, res_scale=0.5, seed=4)
    x = np.random.default_rng(1).uniform(0, 255, (1, 9, 7, 3)).astype(np.float32)
    call, _ = runtimes._runner("torch", model, x, 1)
    np.testing.assert_allclose(call(), model.predict(x), rtol=0, atol=1e-3)


@pytest.mark.parametrize("bad", ["1x2x3", "ax2x3x4", "0x4x4x4"])
def test_parse_shape_names_the_option(bad):
    with pytest.raises(Exception, match="--shape"):
        runtimes.parse_shape(bad)


def test_compare_backends_command(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "t.csv"
    peers = [p for p in ("onnxruntime",) if _installed(p)]
    run = subprocess.run(
        [sys.executable, "-m", "layerbench", "compare-backends", "--layer", "conv", "--shape",
         "1x16x16x8", "--backends", "numpy", "--peers", *peers, "--rounds", "1",
         "--csv", str(out), "--format", "json"], capture_output=True, text=True, env=env,
        timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(run.stdout)["rows"]
    assert [r["runtime"] for r in rows] == ["numpy", *peers]
    assert all(r["gflops"] > 0 and 0 < r["of_sgemm_peak"] for r in rows)
    if peers:
        assert rows[1]["vs_best_peer"] == pytest.approx(1.0)
    assert out.read_text().startswith("subject,runtime,peer,threads,seconds")
    bad = subprocess.run([sys.executable, "-m", "layerbench", "compare-backends", "--model",
                          "nope"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_targets_say_met_and_not_met():
    from layerbench.compare_backends import targets

    row = {"runtime": "cython", "threads": 2, "vs_best_peer": 0.5, "of_sgemm_peak": 2.3,
           "rounds": [1.0, 1.1, 0.9]}
    lines = targets([{**row, "subject": "edsr_x2 510x339"},
                     {**row, "subject": "wdsr_a_x4 510x339"},
                     {**row, "subject": "wdsr_a_x4 64x48"}])
    assert lines[-2] == ("| edsr_x2 | cython | 2 | / best peer 0.50 <= 0.45: not met; "
                         "/ sgemm peak 2.30 >= 2.2: met |")
    assert lines[-1] == "| wdsr_a_x4 | cython | 2 | / best peer 0.50 <= 0.7: met |"
    assert targets([{**row, "subject": "edsr_x2 64x48"}]) == []
    few = targets([{**row, "subject": "wdsr_a_x4 510x339", "rounds": [1.0]}])
    assert few[-1] == ("| wdsr_a_x4 | cython | 2 | not judged: 1 round(s), the target asks "
                       "for 3 |")


def _fake_fresh(calls, fail=()):
    def fresh(task, env=None):
        calls.append((task["runtime"], task["threads"]))
        if task["runtime"] in fail:
            raise RuntimeError(f"{task['runtime']} failed: boom")
        return {"seconds": [0.5 if task["runtime"] == "keras" else 0.25], "settings": {},
                "checksum": 0.0, "load1": 0.1}
    return fresh


def test_killed_run_resumes_from_the_store(tmp_path, monkeypatch):
    """Rounds interleave runtimes (rotated each round); a rerun measures only what the
    store lacks, a half-written last line is ignored, and a failing runtime is stored and
    not retried in the later rounds of the same run (a rerun tries it once more)."""
    calls = []
    monkeypatch.setattr(runtimes, "fresh", _fake_fresh(calls, fail=("torch",)))
    path = tmp_path / "rounds.jsonl"
    subject = {"model": "m", "size": [4, 4]}
    runtimes.compare(subject, ["numpy", "keras", "torch"], (1,), rounds=2,
                     store=runtimes.Store(path))
    assert calls == [("numpy", 1), ("keras", 1), ("torch", 1), ("keras", 1), ("numpy", 1)]
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])  # killed mid-write
    calls.clear()
    rows = runtimes.compare(subject, ["numpy", "keras", "torch"], (1,), rounds=3,
                            store=runtimes.Store(path))
    assert calls == [("torch", 1), ("numpy", 1), ("numpy", 1), ("keras", 1)]
    by = {r["runtime"]: r for r in rows}
    assert by["keras"]["seconds"] == 0.5 and len(by["keras"]["rounds"]) == 3
    assert by["torch"]["seconds"] is None and "boom" in by["torch"]["error"]


ZEN5 = {"cpu": "AMD EPYC", "family": 26, "model": None, "simd": "AVX-512", "cores": 2,
        "python": "3.11.7"}


def test_a_store_takes_one_machines_rounds(tmp_path, monkeypatch):
    """The first round records the machine; rounds of another CPU are refused with both
    named (a median over two CPUs describes neither), and the store still renders."""
    calls = []
    monkeypatch.setattr(runtimes, "fresh", _fake_fresh(calls))
    monkeypatch.setattr(runtimes, "subject_flops", lambda subject: 1e9)
    monkeypatch.setattr(runtimes, "machine", lambda: dict(ZEN5, load1=0.5))
    path = tmp_path / "rounds.jsonl"
    subject = {"model": "m", "size": [4, 4]}
    runtimes.compare(subject, ["numpy"], (1,), rounds=1, store=runtimes.Store(path))
    assert runtimes.Store(path).machine()["family"] == 26
    zen3 = dict(ZEN5, family=25, model=1, simd="AVX2")
    monkeypatch.setattr(runtimes, "machine", lambda: zen3)
    with pytest.raises(SpecError, match=r"--state .*family 25 model 1, AVX2.*family 26, "
                       r"AVX-512"):
        runtimes.compare(subject, ["numpy"], (1,), rounds=2, store=runtimes.Store(path))
    assert calls == [("numpy", 1)]  # refused before the process started
    # what is stored is read and rendered on any machine
    from layerbench import compare_backends as cb

    rows = cb.rows(runtimes.Store(path))
    assert [r["runtime"] for r in rows] == ["numpy"]
    md = cb.markdown(rows, {"machine": runtimes.Store(path).machine(), "command": "c"})
    assert md.startswith("- machine: AMD EPYC (family 26, AVX-512), 2 cores, Python 3.11.7\n")
    # the same machine goes on; a record without a model number is compared on the rest
    monkeypatch.setattr(runtimes, "machine", lambda: dict(ZEN5, model=17))
    runtimes.compare(subject, ["numpy"], (1,), rounds=2, store=runtimes.Store(path))
    assert calls == [("numpy", 1), ("numpy", 1)]


def test_rounds_with_no_machine_take_no_more(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runtimes, "fresh", _fake_fresh(calls))
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"key": {"sgemm": 1}, "gflops": 1.0}) + "\n")
    with pytest.raises(SpecError, match="no machine recorded"):
        runtimes.compare({"model": "m", "size": [4, 4]}, ["numpy"], (1,), rounds=1,
                         store=runtimes.Store(path))
    assert calls == []


def test_machine_names_family_and_vector_width():
    m = runtimes.machine()
    assert m["cores"] == os.cpu_count() and m["cpu"]
    if platform.machine() == "x86_64" and os.path.exists("/proc/cpuinfo"):
        flags = open("/proc/cpuinfo").read()
        assert isinstance(m["family"], int)
        assert m["simd"] == ("AVX-512" if " avx512f" in flags else
                             "AVX2" if " avx2" in flags else m["simd"])


def test_table_rows_ratio_to_best_peer_and_roofline(monkeypatch):
    calls = []
    monkeypatch.setattr(runtimes, "fresh", _fake_fresh(calls))
    monkeypatch.setattr(runtimes, "subject_flops", lambda subject: 1e9)
    store = runtimes.Store()
    store.put({"sgemm": 1}, {"gflops": 2.0, "openblas": "SkylakeX"})
    from layerbench import compare_backends as cb

    got = cb.measure([{"model": "m", "size": [4, 4]}], ["numpy", "keras"], (1,), rounds=1,
                     repeats=1, roofline=True, store=store)
    by = {r["runtime"]: r for r in got}
    assert by["numpy"]["vs_best_peer"] == 0.5 and by["numpy"]["best_peer"] == "keras"
    assert by["numpy"]["gflops"] == 4.0 and by["numpy"]["of_sgemm_peak"] == 2.0
    assert cb.to_csv(got).splitlines()[1].startswith("m 4x4,numpy,False,1,0.25,0.5,keras,")
    header = {"machine": runtimes.machine(), "command": "c"}
    md = cb.markdown(got, header)
    assert ("(numpy float32 matrix product, OpenBLAS kernels SkylakeX): 2.0 GFLOP/s at 1 "
            "thread\n" in md)
    assert "\n- numpy: -; threads as in each row\n" in md
    # rows of one runtime measured under two settings: each set names its subjects
    other = [{**got[0], "subject": "n 2x2", "settings": {"version": "new", "threads": 1}}]
    md = cb.markdown(got + other, header)
    assert "\n- numpy (m 4x4): -; threads as in each row\n" in md
    assert "\n- numpy (n 2x2): version=new; threads as in each row\n" in md


def test_training_step_same_loss_as_torch():
    """One training step: our backend and the PyTorch peer see the same first loss (ours on
    normalised values, so scaled by the model's norm) and both change the weights."""
    pytest.importorskip("torch", reason="the torch peer (extra `torch`)")
    subject = {"train": "edsr_small_x2", "batch": 2, "patch": 6}
    ours, x = runtimes.build_subject(subject)
    before = {k: v.copy() for k, v in ours.params().items()}
    step, _ = runtimes._train_runner("numpy", ours, x, 1)
    theirs, _ = runtimes.build_subject(subject)
    tstep, settings = runtimes._train_runner("torch", theirs, x, 1)
    assert tstep() == pytest.approx(float(step()) * ours.norm, rel=1e-4)
    assert settings["optimizer"] == "torch.optim.Adam"
    assert any(np.any(before[k] != v) for k, v in ours.params().items())
    with pytest.raises(Exception, match="training-step runtime"):
        runtimes._train_runner("onnxruntime", theirs, x, 1)


def test_usage_aligns_every_command(capsys):
    from layerbench import cli

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("  ") and line.split()[0] in cli.COMMANDS]
    starts = {len(line) - len(line[2:].split(" ", 1)[1].lstrip()) for line in rows}
    assert len(rows) == len(cli.COMMANDS) and len(starts) == 1


def _tool():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "keras_one_process.py"
    if not path.exists():
        pytest.skip("tools/keras_one_process.py is not here (the test runs from the checkout)")
    spec = importlib.util.spec_from_file_location("keras_one_process", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_process_factor_from_interleaved_rounds():
    tasks = []

    def fresh(task, env=None):
        tasks.append((task["runtime"], task.get("alternate")))
        shared = task.get("alternate") is not None
        out = {"seconds": [1.2 if shared else 1.0]}
        if shared:
            out["alternate_seconds"] = [0.55]
        elif task["runtime"] == "cython":
            out["seconds"] = [0.5]
        return out

    got = _tool().measure({"model": "m", "size": [4, 4]}, "cython", 2, 2, 1,
                          {"inter_op": 1}, fresh=fresh)
    assert tasks == [("keras", None), ("cython", None), ("keras", "cython")] * 2
    assert got["keras_factor"] == pytest.approx(1.2)
    assert got["ours_factor"] == pytest.approx(1.1)
    assert _tool().main(["--rounds", "0"]) == 2


def test_alternating_worker_times_both_in_one_process():
    peer = next((p for p in ("onnxruntime", "torch", "keras") if _installed(p)), None)
    if peer is None:
        pytest.skip("no peer runtime installed (extras onnx, torch, tf)")
    res = runtimes.fresh({"subject": SUBJECT, "runtime": peer, "threads": 1, "repeats": 2,
                          "alternate": "numpy"})
    assert len(res["seconds"]) == len(res["alternate_seconds"]) == 2
    assert min(res["alternate_seconds"]) > 0


def test_our_runner_keeps_its_thread_count_after_garbage_collection():
    """The thread count a worker sets for our backend holds until the process ends, even with
    no ``OMP_NUM_THREADS`` in the environment."""
    import gc

    pytest.importorskip("backends.cython_omp._conv", reason="the Cython extension is not built")
    from backends.cython_omp import get_threads, set_threads

    before = get_threads()
    run, x = runtimes.build_subject({"layer": "conv", "shape": [1, 6, 6, 2]}, "cython")
    want = 2 if before == 1 else 1
    try:
        runtimes._runner("cython", run, x, want)
        gc.collect()
        assert get_threads() == want
    finally:
        set_threads(before)
