"""The benchmark report reads asv's result format and derives ratios and GFLOP/s correctly.

The asv results here are written by the test in asv 0.6's on-disk format (the values are
arbitrary inputs; the assertions recompute what the report must derive from them).
"""

from __future__ import annotations

import json

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from layerbench.report import bench as report  # noqa: E402

BACKENDS = ["'numpy'", "'cython'", "'numba'", "'tensorflow'"]
LAYER_BACKENDS = [*BACKENDS, "'tf_graph'"]
COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
           "samples", "profile"]


def _bench(name, param_names, params, unit="seconds", kind="time"):
    return {"name": name, "param_names": param_names, "params": params, "unit": unit,
            "type": kind, "version": "0"}


@pytest.fixture
def results(tmp_path):
    conv = _bench("layers.Conv.time_forward", ["case", "algo", "backend", "threads"],
                  [["'thesis_conv_s1'"], ["'im2col'", "'winograd'"], LAYER_BACKENDS, ["1", "2"]])
    model = _bench("models.Models.time_super_resolve", ["model", "size", "backend", "threads"],
                   [["'edsr_x2'"], ["'510x339'"], [*BACKENDS, "'keras'"], ["1", "2"]])
    sgemm = _bench("tracks.Sgemm.track_sgemm_gflops", ["threads"], [["1", "2"]],
                   unit="GFLOP/s", kind="track")
    benchmarks = {b["name"]: b for b in (conv, model, sgemm)}
    (tmp_path / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    # conv: backend b, threads t, algo a -> (index + 1) seconds; one skipped (None)
    conv_values = [float(i + 1) for i in range(20)]
    conv_values[5] = None
    model_values = [None, 300.0, None, 200.0, None, 400.0, None, 100.0, None, 250.0]
    run = {
        "commit_hash": "abc123", "env_name": "existing", "date": 1_700_000_000_000,
        "python": "python3", "params": {}, "result_columns": COLUMNS, "version": 2,
        "results": {
            conv["name"]: [conv_values, conv["params"], "0", 0, 1.0],
            model["name"]: [model_values, model["params"], "0", 0, 1.0],
            sgemm["name"]: [[100.0, 180.0], sgemm["params"], "0", 0, 1.0],
        },
    }
    machine = tmp_path / "box"
    machine.mkdir()
    (machine / "abc123-existing.json").write_text(json.dumps(run))
    (machine / "machine.json").write_text(json.dumps({"machine": "box", "cpu": "test cpu",
                                                      "num_cpu": "2", "version": 1}))
    return tmp_path, conv_values


def test_tidy_rows_ratios_and_gflops(results):
    path, conv_values = results
    run = report.pick_run(path)
    table, info = report.load_run(run, json.loads((path / "benchmarks.json").read_text()))
    assert info["cpu"] == "test cpu" and info["commit"] == "abc123"
    t = report.timings(table)
    conv = t[t["suite"] == "Conv"]
    assert len(conv) == 19  # the None is a skipped combination, not a row
    # product order: algo, backend, threads -> index
    def idx(algo, backend, threads):
        return (["im2col", "winograd"].index(algo) * 10
                + ["numpy", "cython", "numba", "tensorflow", "tf_graph"].index(backend) * 2
                + threads - 1)
    row = conv[(conv["algo"] == "winograd") & (conv["backend"] == "numba")
               & (conv["threads"] == 2)].iloc[0]
    # layers: the peer is the graph-mode tf_graph, the eager oracle a second ratio
    assert row["peer"] == "tf_graph"
    assert row["ratio_to_peer"] == pytest.approx(
        conv_values[idx("winograd", "numba", 2)] / conv_values[idx("winograd", "tf_graph", 2)])
    assert row["ratio_to_eager"] == pytest.approx(
        conv_values[idx("winograd", "numba", 2)] / conv_values[idx("winograd", "tensorflow", 2)])
    from backends.testing import PRESETS

    case = PRESETS["thesis_conv_s1"]
    n, h, w, c = case.input_shape
    flops = 2 * n * h * w * 9 * c * case.spec.filters  # 'same', stride 1
    assert row["gflops"] == pytest.approx(flops / row["value"] / 1e9)
    assert row["peak_fraction"] == pytest.approx(row["gflops"] / 180.0)


def test_models_are_compared_with_keras(results):
    """Whole models: the ratio is to the ``keras`` peer, not to the tensorflow backend."""
    path, _ = results
    table, _ = report.load_run(report.pick_run(path),
                               json.loads((path / "benchmarks.json").read_text()))
    t = report.timings(table)
    models = t[t["suite"] == "Models"].set_index("backend")
    assert set(models["peer"]) == {"keras"}
    assert models.loc["cython", "ratio_to_peer"] == pytest.approx(200.0 / 250.0)
    assert models.loc["tensorflow", "ratio_to_peer"] == pytest.approx(100.0 / 250.0)
    assert models.loc["keras", "ratio_to_peer"] == pytest.approx(1.0)
    md = report.summary_markdown(table, t, {"file": "x"})
    assert "| edsr_x2@510x339 | 2 | 300 s (1.20x) | 200 s (0.80x) | 400 s (1.60x) | " \
           "100 s (0.40x) | 250 s |" in md
    assert "| cython | edsr_x2@510x339 | - | super_resolve | 2 | <= 0.45 | 0.80 | not met |" in md
    # the roofline of a whole model: its direct-equivalent FLOPs over the time, / sgemm peak
    flops = report.model_flops("edsr_x2@510x339")
    cells = [f"{flops / s / 1e9:.1f} ({flops / s / 1e9 / 180:.2f}x)" for s in (300, 200)]
    assert f"| edsr_x2@510x339 | 2 | {cells[0]} | {cells[1]} |" in md  # numpy, cython


def test_build_writes_table_and_figures(results, tmp_path):
    path, _ = results
    out = tmp_path / "out"
    written = report.build(path, out)
    md = written["md"].read_text()
    assert "576.92" in md and "test cpu" in md
    assert "edsr_x2@510x339" in md
    csv = pd.read_csv(written["csv"])
    assert set(csv["backend"].dropna()) >= {"numpy", "tensorflow"}
    assert {"threads_conv_s1", "models"} <= set(written)
    for key in ("threads_conv_s1", "models"):
        assert written[key].stat().st_size > 0


def test_missing_results_say_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="nox -s bench"):
        report.pick_run(tmp_path)


def test_newest_run_per_benchmark(results):
    """A partial re-run replaces only the benchmarks it ran, each taken whole from one run."""
    path, _ = results
    machine = path / "box"
    first = json.loads((machine / "abc123-existing.json").read_text())
    rerun = {**first, "commit_hash": "def456", "date": first["date"] + 1,
             "results": {"layers.Conv.time_forward": [
                 [100.0] * 20, first["results"]["layers.Conv.time_forward"][1], "0", 0, 1.0]}}
    (machine / "def456-existing.json").write_text(json.dumps(rerun))
    benchmarks = json.loads((path / "benchmarks.json").read_text())
    table, info = report.load_newest(path, benchmarks)
    conv = table[table["suite"] == "Conv"]
    assert (conv["value"] == 100.0).all() and len(conv) == 20
    assert set(conv["commit"]) == {"def456"}
    models = table[table["suite"] == "Models"]
    assert set(models["commit"]) == {"abc123"} and sorted(models["value"]) == [
        100.0, 200.0, 250.0, 300.0, 400.0]
    assert info["commit"] == "abc123, def456"
    md = report.summary_markdown(table, report.timings(table), info)
    assert "measured at def456: Conv.time_forward" in md


def test_machine_comes_from_each_run(results):
    """machine.json is the newest ``asv machine`` record: a run made earlier on another host
    under the same machine name keeps its own CPU, and merged runs list both."""
    path, _ = results
    machine = path / "box"
    first = json.loads((machine / "abc123-existing.json").read_text())
    first["params"] = {"machine": "box", "cpu": "old cpu", "num_cpu": "2"}
    (machine / "abc123-existing.json").write_text(json.dumps(first))
    benchmarks = json.loads((path / "benchmarks.json").read_text())
    _, info = report.load_run(machine / "abc123-existing.json", benchmarks)
    assert info["cpu"] == "old cpu" and info["num_cpu"] == "2"

    rerun = {**first, "commit_hash": "def456", "date": first["date"] + 1,
             "params": {**first["params"], "cpu": "new cpu"},
             "results": {"layers.Conv.time_forward": first["results"]["layers.Conv.time_forward"]}}
    (machine / "def456-existing.json").write_text(json.dumps(rerun))
    _, info = report.load_newest(path, benchmarks)
    assert info["cpu"] == "old cpu, new cpu" and info["num_cpu"] == "2"
    assert info["commit"] == "abc123, def456"


def test_missing_peer_row_is_named_not_guessed(results, capsys):
    """A layer case whose tf_graph row is missing (skipped, failed, or an old result file
    from when the eager backend was the peer) gets no ratio, and the report names it."""
    path, conv_values = results
    machine = path / "box"
    run = json.loads((machine / "abc123-existing.json").read_text())
    values = run["results"]["layers.Conv.time_forward"][0]
    values[8] = None  # im2col, tf_graph, 1 thread
    (machine / "abc123-existing.json").write_text(json.dumps(run))
    benchmarks = json.loads((path / "benchmarks.json").read_text())
    table, info = report.load_run(report.pick_run(path), benchmarks)
    t = report.timings(table)
    lone = t[(t["algo"] == "im2col") & (t["threads"] == 1) & (t["backend"] != "tf_graph")]
    assert lone["ratio_to_peer"].isna().all()
    assert lone["ratio_to_eager"].notna().all()  # the eager row is there
    other = t[(t["algo"] == "im2col") & (t["threads"] == 2) & (t["backend"] == "numpy")]
    assert other["ratio_to_peer"].notna().all()
    missing = report.missing_peers(t)
    assert missing[["item", "algo", "threads", "peer"]].values.tolist() == [
        ["thesis_conv_s1", "im2col", 1, "tf_graph"]]
    md = report.summary_markdown(table, t, info)
    assert "Conv: no `tf_graph` row for thesis_conv_s1/im2col/forward@1t" in md
    assert "(no peer)" in md
    report.build(path, path / "out")
    assert "no `tf_graph` row for thesis_conv_s1/im2col/forward@1t" in capsys.readouterr().err


def test_models_never_take_the_layer_peer(results):
    """Without a keras row a model has no ratio; neither tf_graph nor tensorflow stands in."""
    path, _ = results
    machine = path / "box"
    run = json.loads((machine / "abc123-existing.json").read_text())
    values = run["results"]["models.Models.time_super_resolve"][0]
    run["results"]["models.Models.time_super_resolve"][0] = values[:9] + [None]
    (machine / "abc123-existing.json").write_text(json.dumps(run))
    table, _ = report.load_run(report.pick_run(path),
                               json.loads((path / "benchmarks.json").read_text()))
    t = report.timings(table)
    models = t[t["suite"] == "Models"]
    assert models["ratio_to_peer"].isna().all() and models["ratio_to_eager"].isna().all()
    assert report.missing_peers(t)["peer"].tolist() == ["keras"]


def test_new_conv_algorithms_have_their_own_rows(tmp_path):
    """``winograd4`` and ``auto`` rows of ``layers.Conv`` get their own ratios (to the peer's
    row of the same algorithm), sections and targets; ``auto`` cells name the algorithm
    ``layers.ConvAutoChoice`` tracked for the same case, backend and threads."""
    algos = ["'im2col'", "'winograd'", "'winograd4'", "'auto'"]
    backends = ["'cython'", "'numba'", "'tf_graph'"]
    conv = _bench("layers.Conv.time_forward", ["case", "algo", "backend", "threads"],
                  [["'edsr_small'"], algos, backends, ["1", "2"]])
    choice = _bench("layers.ConvAutoChoice.track_choice", ["case", "backend", "threads"],
                    [["'edsr_small'"], ["'cython'", "'numba'"], ["1", "2"]],
                    unit="index: 0 im2col, 1 winograd, 2 winograd4", kind="track")
    benchmarks = {b["name"]: b for b in (conv, choice)}
    (tmp_path / "benchmarks.json").write_text(json.dumps({**benchmarks, "version": 2}))
    # algo a, backend b, threads t -> 1 + index seconds (product order); tf_graph 100 s
    values = [100.0 if b == 2 else float(1 + i)
              for i, (a, b, t) in enumerate(
                  (a, b, t) for a in range(4) for b in range(3) for t in range(2))]
    run = {"commit_hash": "abc123", "env_name": "existing", "date": 1_700_000_000_000,
           "python": "python3", "params": {}, "result_columns": COLUMNS, "version": 2,
           "results": {conv["name"]: [values, conv["params"], "0", 0, 1.0],
                       choice["name"]: [[2.0, 2.0, 1.0, 0.0], choice["params"], "0", 0, 1.0]}}
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "abc123-existing.json").write_text(json.dumps(run))
    table, info = report.load_run(report.pick_run(tmp_path), benchmarks)
    t = report.timings(table)
    assert set(t["algo"]) == {"im2col", "winograd", "winograd4", "auto"}
    row = t[(t["algo"] == "winograd4") & (t["backend"] == "cython") & (t["threads"] == 2)]
    assert row["ratio_to_peer"].item() == pytest.approx(values[2 * 6 + 1] / 100.0)
    auto = t[t["algo"] == "auto"].set_index(["backend", "threads"])["auto_choice"]
    assert auto.to_dict() == {("cython", 1): "winograd4", ("cython", 2): "winograd4",
                              ("numba", 1): "winograd", ("numba", 2): "im2col",
                              ("tf_graph", 1): "", ("tf_graph", 2): ""}
    assert (t.loc[t["algo"] != "auto", "auto_choice"] == "").all()
    md = report.summary_markdown(table, t, info)
    assert "## Convolution forward with Winograd F(4x4,3x3)" in md
    assert "## Convolution forward with auto" in md
    cython_auto = values[3 * 6 + 1]
    assert f"| edsr_small | 2 | {cython_auto:.3g} s ({cython_auto / 100:.2f}x) [winograd4] |" in md
    assert "| cython | edsr_small | auto | forward | 1 | <= 1 |" in md
    assert "| numba | edsr_small | winograd4 | forward | 2 | <= 1.25 |" in md
    assert "| ConvAutoChoice.track_choice | edsr_small |  | numba |  | 2 | im2col | algorithm |" \
        in md
    report.build(tmp_path, tmp_path / "out")  # figures and csv take the new rows too
    csv = pd.read_csv(tmp_path / "out" / "tables" / "bench_summary.csv")
    assert set(csv["algo"].dropna()) >= {"winograd4", "auto"}
