"""Benchmark report: asv's results JSON -> ``results/tables/bench_summary.{md,csv}`` and
``results/figures/bench_*.png``.

``layerbench bench-report [--results results/asv] [--out results] [--machine NAME]
[--commit SHA]`` (arguments: :mod:`layerbench.cli`; ``python -m layerbench.report.bench`` is
the same command)

The tidy table has one row per benchmark, parameter combination and backend: ``suite``
(asv class), ``kind`` (time/track/peakmem), ``item`` (layer, conv case or ``model@size``),
``algo``, ``direction`` (forward/backward/super_resolve), ``backend``, ``threads``, ``value`` and
``unit``. Derived columns: ``peer`` and ``ratio_to_peer`` (time over the peer's time for the
same item, algo, direction and threads: < 1 is faster than the peer; the peer of whole models
is the fastest of :data:`MODEL_PEERS` (Keras, ONNX Runtime, OpenVINO, PyTorch); of layers
``tf_graph``, the layer's ``tf.nn`` ops in graph mode, :data:`LAYER_PEER`; NaN where the peer
has no row, listed by :func:`missing_peers`), ``ratio_to_eager`` (layers: time over the
``tensorflow`` backend's, the eager oracle), ``auto_choice`` (``algo == "auto"`` rows: the
algorithm it ran, from ``layers.ConvAutoChoice``), and for convolutions
``gflops`` (direct-convolution FLOPs ``2 N Ho Wo kh kw Cin F`` per second, twice that for
backward) and ``peak_fraction`` (over the measured sgemm GFLOP/s at the same threads).
Skipped and failed combinations (asv stores no number) are left out.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from backends.registry import display_order
from layerbench import markdown
from layerbench.compare_backends import TARGETS as MODEL_TARGETS
from layerbench.confdir import FIGURES_DIR, TABLES_DIR

# The thesis' "average time on a 510x339 image" (slides; C++/OpenMP, hardware unstated)
THESIS_SECONDS = {"edsr_x2@510x339": 576.92, "wdsr_a_x4@510x339": 46.35}
ITEM_PARAMS = ("layer", "case", "model", "target")
# The peer each suite is compared with (``ratio_to_peer``): whole models against the same
# model in Keras as a Keras user runs it (bench/models.py); layers against the layer's tf.nn
# ops in graph mode (bench/graph_peer.py). The ``tensorflow`` backend (eager tf.nn ops,
# NumPy in and out) is the tests' oracle: layer rows also get ``ratio_to_eager`` against it.
PEERS = {"Models": "keras"}
# Whole models have several peers (bench/models.py): a model row's ratio is to the fastest
# of them for the same key, and ``peer`` names it.
MODEL_PEERS = ("keras", "onnxruntime", "openvino", "torch")
LAYER_PEER = "tf_graph"
ORACLE = "tensorflow"
PEER_NAMES = (*MODEL_PEERS, LAYER_PEER)
HEADLINE = ("thesis_conv_s1", "thesis_conv_s2", "thesis_maxpool3", "thesis_maxpool30",
            "thesis_shuffle6_b2", "edsr_body", "edsr_small")


# Performance targets (time / the peer's time, same run, threads 1 and 2):
# (item, algo, direction, backend, largest ratio that meets it, note). A forward target
# holds for the backend's convolution; every algorithm is listed so that a reader sees
# which one meets it (the "aim 0.8 with Winograd" is the cython body row; ``auto``
# is what the models run).
_CONV_FWD = ("edsr_body", "edsr_small")
# The forward algorithms of ``layers.Conv`` (its ``algo`` parameter), in report order:
# im2col, Winograd F(2x2,3x3) and F(4x4,3x3), and ``auto``, the fastest of them per shape
# and thread count (backends/autotune.py).
CONV_ALGOS = ("im2col", "winograd", "winograd4", "auto")
ALGO_SECTIONS = {"winograd": "Winograd F(2x2,3x3)", "winograd4": "Winograd F(4x4,3x3)",
                 "auto": "auto (the algorithm it chose in brackets)"}
# ``layers.ConvAutoChoice`` tracks which algorithm ``auto`` ran, as an index into
# ``Conv2D(algo="auto").algos()`` of a 3x3 stride-1 kernel
AUTO_CHOICE = "layers.ConvAutoChoice.track_choice"
TARGETS = [
    *[(item, algo, "forward", "cython", 1.0, "")
      for item in _CONV_FWD for algo in CONV_ALGOS],
    ("edsr_body", "winograd", "forward", "cython", 0.8, "aim"),
    # backward has no algorithm parameter (Winograd is forward-only): algo ""
    *[(item, "", "backward", "cython", 1.5, "") for item in ("edsr_body", "edsr_small")],
    ("thesis_conv_s2", "im2col", "forward", "cython", 1.2, ""),
    ("thesis_conv_s2", "", "backward", "cython", 1.2, ""),
    ("thesis_maxpool3", "", "forward", "cython", 1.0, ""),
    ("thesis_maxpool3", "", "backward", "cython", 0.5, ""),
    ("thesis_shuffle6_b2", "", "forward", "cython", 0.5, ""),
    ("thesis_shuffle6_b2", "", "backward", "cython", 0.5, ""),
    *[(item, algo, "forward", "numba", 1.25, "")
      for item in _CONV_FWD for algo in CONV_ALGOS],
    *[(item, "", "backward", "numba", 1.75, "") for item in ("edsr_body", "edsr_small")],
    ("thesis_maxpool3", "", "forward", "numba", 1.0, ""),
    ("thesis_maxpool3", "", "backward", "numba", 0.5, ""),
    ("thesis_shuffle6_b2", "", "forward", "numba", 0.5, ""),
    ("thesis_shuffle6_b2", "", "backward", "numba", 0.5, ""),
    # whole models through super_resolve's default path against the fastest peer: the
    # targets of compare-backends, judged there on medians of fresh-process rounds
    *[(f"{model}@510x339", "", "super_resolve", backend, limit, "")
      for (model, backend), limit in MODEL_TARGETS.items()],
]


def targets(t: pd.DataFrame) -> pd.DataFrame:
    """One row per target and thread count: the measured ratio and whether it meets it."""
    rows = []
    for item, algo, direction, backend, limit, note in TARGETS:
        sel = t[(t["item"] == item) & (t["algo"] == algo) & (t["direction"] == direction)
                & (t["backend"] == backend)]
        for r in sel.itertuples():
            ratio = r.ratio_to_peer
            rows.append({"item": item, "algo": algo, "direction": direction,
                         "backend": backend, "threads": r.threads, "target": limit,
                         "note": note, "ratio_to_peer": ratio,
                         "ratio_to_eager": r.ratio_to_eager,
                         "met": bool(ratio <= limit) if np.isfinite(ratio) else None})
    return pd.DataFrame(rows)


def _value(raw: str):
    """asv stores parameter values as their ``repr``."""
    try:
        return json.loads(raw.replace("'", '"'))
    except (json.JSONDecodeError, AttributeError):
        return raw


def result_files(results_dir: Path, machine: str | None = None) -> list[Path]:
    """The asv result files under ``results_dir`` (``machine.json`` excluded).

    Parameters
    ----------
    results_dir : pathlib.Path
        asv's results directory.
    machine : str, optional
        Only this machine's results.

    Returns
    -------
    list of pathlib.Path
        The JSON result files.
    """
    files = [p for p in Path(results_dir).glob("*/*.json") if p.name != "machine.json"]
    if machine is not None:
        files = [p for p in files if p.parent.name == machine]
    return files


def pick_run(results_dir: Path, machine: str | None = None, commit: str | None = None) -> Path:
    """The newest result file (of ``machine``/``commit`` when given)."""
    files = result_files(results_dir, machine)
    if commit is not None:
        files = [p for p in files if json.loads(p.read_text())["commit_hash"].startswith(commit)]
    if not files:
        raise FileNotFoundError(
            f"results: expected asv result files under {results_dir} (machine={machine!r}, "
            f"commit={commit!r}), found none; run `nox -s bench` first")
    return max(files, key=lambda p: json.loads(p.read_text()).get("date", 0))


MACHINE_KEYS = ("arch", "cpu", "num_cpu", "os", "ram")


def load_run(path: Path, benchmarks: dict) -> tuple[pd.DataFrame, dict]:
    """Tidy rows of one asv result file, and the run's provenance."""
    run = json.loads(Path(path).read_text())
    columns = run["result_columns"]
    rows = []
    for name, entry in run["results"].items():
        record = dict(zip(columns, entry, strict=False))
        meta = benchmarks.get(name)
        if meta is None:  # a benchmark that no longer exists
            continue
        module, suite, method = name.rsplit(".", 2)
        kind, _, direction = method.partition("_")
        values = record["result"] if isinstance(record["result"], list) else [record["result"]]
        params = record.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        for combo, value in zip(combos, values, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            p = {k: _value(v) for k, v in zip(meta["param_names"], combo, strict=True)}
            item = next((str(p[k]) for k in ITEM_PARAMS if k in p), suite)
            if "size" in p:
                item = f"{item}@{p['size']}"
            rows.append({
                "benchmark": name, "module": module, "suite": suite, "kind": kind,
                "direction": direction, "item": item, "algo": p.get("algo", ""),
                "backend": p.get("backend", ""), "threads": p.get("threads", np.nan),
                "dtype": p.get("dtype", ""), "cache": p.get("cache", ""),
                "value": float(value), "unit": meta.get("unit", ""),
            })
    table = pd.DataFrame(rows)
    if not table.empty:
        table["threads"] = table["threads"].astype("Int64")
    # The run's own record of the machine first: machine.json is the newest `asv machine`,
    # which may describe a later host under the same machine name.
    machine_file = Path(path).parent / "machine.json"
    machine = json.loads(machine_file.read_text()) if machine_file.exists() else {}
    params = run.get("params") or {}
    info = {
        "machine": Path(path).parent.name,
        **{k: params.get(k, machine.get(k)) for k in MACHINE_KEYS if k in params or k in machine},
        "commit": run.get("commit_hash", ""), "python": run.get("python", ""),
        "env": run.get("env_name", ""),
        "commit date": dt.datetime.fromtimestamp(run.get("date", 0) / 1000, dt.UTC).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "file": str(path),
    }
    return table, info


def load_newest(results_dir: Path, benchmarks: dict, machine: str | None = None
                ) -> tuple[pd.DataFrame, dict]:
    """Every benchmark's rows from the newest run of the machine that measured it.

    A partial re-run (``asv run --bench ...`` after a change) then replaces just the
    benchmarks it ran; a benchmark is always taken whole from one run, so its ratios to
    TensorFlow stay measured side by side. The ``commit`` column says which run each row
    comes from.
    """
    files = result_files(results_dir, machine)
    if not files:
        pick_run(results_dir, machine)  # raises the explanatory FileNotFoundError
    runs = sorted(files, key=lambda p: json.loads(p.read_text()).get("date", 0))
    # results of several machines (tools/asv_results.py names one per CPU model and core
    # count) are never mixed: without --machine, the machine of the newest run
    runs = [p for p in runs if p.parent == runs[-1].parent]
    parts, infos = [], []
    for order, path in enumerate(runs):
        table, info = load_run(path, benchmarks)
        parts.append(table.assign(commit=info["commit"][:8], _order=order))
        infos.append(info)
    table = pd.concat(parts, ignore_index=True)
    newest = table.groupby("benchmark")["_order"].transform("max")
    table = table[table["_order"] == newest].drop(columns="_order").reset_index(drop=True)
    used = [i for k, i in enumerate(infos) if k in set(newest)]
    # one value where the runs agree; per run, in run order, where they differ (a commit,
    # or the CPU when a later run came from another host under the same machine name)
    info = {}
    for key in used[-1]:
        values = [str(i.get(key, "")) for i in used]
        short = [v[:8] for v in values] if key == "commit" else values
        info[key] = short[0] if len(set(short)) == 1 else ", ".join(short)
    return table, info


def conv_flops(item: str, direction: str) -> float:
    """FLOPs of a GEMM-like preset (``backends.testing.PRESETS``, a spec whose
    ``gemm_like`` is set: the convolutions) as its spec states them
    (:meth:`backends.specs.Stated.flops`); NaN for anything else, whose FLOP rate the sgemm
    peak does not bound."""
    from backends.testing import PRESETS

    if "@" in item:  # a whole model on a W x H image (bench/models.py)
        return model_flops(item)
    case = PRESETS.get(item)
    if case is None or not case.spec.gemm_like:
        return np.nan
    which = "backward" if direction == "backward" else "forward"
    return float(case.spec.flops(case.input_shape, which))


@functools.cache
def model_flops(item: str) -> float:
    """Direct-equivalent FLOPs of a model item ``"name@WxH"`` on one W x H image
    (:func:`layerbench.runtimes.subject_flops`: every convolution's ``spec.flops``, Winograd
    counted as the direct convolution it replaces); NaN for a name that is not a preset.

    Parameters
    ----------
    item : str
        e.g. ``"edsr_x2@510x339"``.

    Returns
    -------
    float
    """
    from layerbench import runtimes
    from layerbench.models import presets

    name, size = item.split("@", 1)
    if name not in presets.PRESETS:
        return np.nan
    return runtimes.subject_flops({"model": name, "size": list(runtimes.parse_size(size))})


KEY = ["suite", "item", "algo", "direction", "threads"]


def timings(table: pd.DataFrame) -> pd.DataFrame:
    """Time rows with ``peer``, ``ratio_to_peer``, ``ratio_to_eager``, ``gflops`` and
    ``peak_fraction``. A row whose peer has no row for the same key (skipped, failed, or a
    result file from before the peer existed) gets NaN, never another backend's time:
    :func:`missing_peers` lists them."""
    t = table[table["kind"] == "time"].copy()
    t["peer"] = t["suite"].map(PEERS).fillna(LAYER_PEER)
    mp = t[(t["suite"] == "Models") & t["backend"].isin(MODEL_PEERS)]
    if not mp.empty:
        best = mp.loc[mp.groupby(KEY, dropna=False)["value"].idxmin()].set_index(KEY)[
            "backend"]
        models = t["suite"] == "Models"
        t.loc[models, "peer"] = [best.get(k, PEERS["Models"]) for k in
                                 t.loc[models, KEY].itertuples(index=False, name=None)]
    peer = t[t["backend"] == t["peer"]].set_index(KEY)["value"].rename("peer_seconds")
    t = t.join(peer, on=KEY)
    t["ratio_to_peer"] = t["value"] / t["peer_seconds"]
    eager = t[(t["backend"] == ORACLE) & (t["suite"] != "Models")].set_index(KEY)["value"]
    t = t.join(eager.rename("eager_seconds"), on=KEY)
    t["ratio_to_eager"] = t["value"] / t["eager_seconds"]
    t = t.drop(columns=["eager_seconds"])
    t["auto_choice"] = _auto_choices(table, t)
    t["gflops"] = [conv_flops(i, d) for i, d in zip(t["item"], t["direction"], strict=True)]
    t["gflops"] = t["gflops"] / t["value"] / 1e9
    peak = table[table["benchmark"] == "tracks.Sgemm.track_sgemm_gflops"]
    peak = peak.set_index("threads")["value"]
    # float NaN where no sgemm row has the thread count (a run of the Conv group only):
    # the Int64 threads would otherwise give pandas' NA, which the cells cannot test
    t["peak_fraction"] = (t["gflops"] / t["threads"].map(peak)).to_numpy(dtype=float,
                                                                        na_value=np.nan)
    return t.drop(columns=["peer_seconds"]).reset_index(drop=True)


def auto_algos() -> tuple[str, ...]:
    """What ``layers.ConvAutoChoice``'s index refers to: the algorithms ``auto`` chooses
    among for a 3x3 stride-1 kernel, in the spec's order."""
    from backends import specs

    return specs.Conv2D(filters=1, algo="auto").algos()


def _auto_choices(table: pd.DataFrame, t: pd.DataFrame) -> pd.Series:
    """For each ``algo == "auto"`` time row, the algorithm ``auto`` ran (from the
    :data:`AUTO_CHOICE` track of the same case, backend and threads); "" elsewhere or when
    the track has no row."""
    names = auto_algos()
    picks = table[table["benchmark"] == AUTO_CHOICE]
    chosen = {(r.item, r.backend, r.threads): names[int(r.value)]
              for r in picks.itertuples() if 0 <= int(r.value) < len(names)}
    return pd.Series([chosen.get((r.item, r.backend, r.threads), "") if r.algo == "auto"
                      else "" for r in t.itertuples()], index=t.index, dtype=object)


def missing_peers(t: pd.DataFrame) -> pd.DataFrame:
    """The keys (suite, item, algo, direction, threads) timed by some backend but not by
    their peer: their ``ratio_to_peer`` is NaN, and the report says so."""
    lone = t[t["ratio_to_peer"].isna() & (t["backend"] != t["peer"])]
    return lone.groupby([*KEY, "peer"], sort=False, dropna=False).size().reset_index()[
        [*KEY, "peer"]]


def missing_peer_lines(t: pd.DataFrame) -> list[str]:
    """Markdown bullets for :func:`missing_peers` (empty when every key has its peer)."""
    lone = missing_peers(t)
    if lone.empty:
        return []
    out = [f"**No ratio for {len(lone)} case(s): the peer has no row** (skipped or failed "
           "there, or the result file predates the peer; re-run the benchmark):", ""]
    for (suite, peer), g in lone.groupby(["suite", "peer"], sort=False):
        cases = sorted({"/".join(str(v) for v in (r.item, r.algo, r.direction) if v)
                        + f"@{r.threads}t" for r in g.itertuples()})
        shown = ", ".join(cases[:12]) + (f", ... ({len(cases)} in all)" if len(cases) > 12
                                          else "")
        out.append(f"- {suite}: no `{peer}` row for {shown}")
    return out + [""]


def _fmt_seconds(s: float) -> str:
    if not np.isfinite(s):
        return ""
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def _cell(row) -> str:
    if row is None:
        return "skip"
    text = _fmt_seconds(row["value"])
    if row["backend"] != row["peer"]:
        ratio = row["ratio_to_peer"]
        text += f" ({ratio:.2f}x)" if np.isfinite(ratio) else " (no peer)"
    if row.get("auto_choice"):
        text += f" [{row['auto_choice']}]"
    return text


def _tracked(value: float, unit: str, benchmark: str = "") -> tuple[str, str]:
    if benchmark == AUTO_CHOICE:
        names = auto_algos()
        index = int(value)
        return (names[index] if 0 <= index < len(names) else f"{value:g}"), "algorithm"
    if unit == "bytes":
        return f"{value / 2**20:.0f}", "MiB (process peak RSS)"
    return f"{value:.4g}", unit


def _gflops_cell(row) -> str:
    if row is None:
        return "skip"
    text = f"{row['gflops']:.1f}"
    if np.isfinite(row["peak_fraction"]):
        frac = row["peak_fraction"]  # a whole model past the peak: Winograd's rate
        text += f" ({frac:.2f}x)" if row["suite"] == "Models" else f" ({frac:.0%})"
    return text


def _backend_grid(t: pd.DataFrame, backends: list[str], label_cols: list[str],
                  cell=_cell) -> list[str]:
    """One row per ``label_cols`` key, one column per backend that has a row in ``t``."""
    backends = [b for b in backends if b in set(t["backend"])]
    rows = []
    for key, group in t.groupby(label_cols, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        by = {r["backend"]: r for _, r in group.iterrows()}
        rows.append([*key, *(cell(by.get(b)) for b in backends)])
    return markdown.table([*label_cols, *backends], rows)


def summary_markdown(table: pd.DataFrame, t: pd.DataFrame, info: dict) -> str:
    """The benchmark summary page: method, machine and run, then the tables.

    Parameters
    ----------
    table : pandas.DataFrame
        Every row of the run (from :func:`load_newest` or :func:`load_run`).
    t : pandas.DataFrame
        The time rows with their ratios to the peer (from :func:`timings`).
    info : dict
        The run's provenance (machine, commit, versions); ``file`` names the result file.

    Returns
    -------
    str
        Markdown: the method paragraph, the machine and run, the rows without a peer, the
        headline layers, the performance targets, the layer peer against the eager
        oracle and the per-backend grids.
    """
    backends = [b for b in display_order() if b in set(table["backend"])]
    lines = ["# Benchmark summary", "",
             "Generated by `python -m layerbench.report.bench` from asv's results "
             f"(`{info['file']}`). Times are asv's medians, float32; `(0.50x)` is the time "
             "over the peer's for the same case, algorithm and threads (< 1: faster than "
             "the peer). The peer of whole models is the fastest of `keras`, `onnxruntime`, "
             "`openvino` and `torch` for the same case and threads, each at its best in its "
             "own process (`bench/models.py`, `layerbench/runtimes.py`); the `tensorflow` "
             "backend (`tf.nn` "
             "ops layer by layer through the protocol) is the tests' oracle, listed for the "
             "record. The peer of layers is `tf_graph`: the layer's `tf.nn` ops in graph "
             "mode (`tf.function` with a fixed input signature, traced once before timing, "
             "tensors in and out; backward runs TensorFlow's registered gradient ops on the "
             "forward's kept tensors; `bench/graph_peer.py`). `(no peer)`: the peer has no "
             "row for that case (listed below). `skip` is a "
             "combination asv skipped or that failed. TensorFlow runs with its defaults "
             "(oneDNN on unless `TF_ENABLE_ONEDNN_OPTS=0` was set; "
             "`nox -s bench` does not set it). Thread counts are each backend's one knob "
             "(`backend.threads(n)`: OpenMP/Numba/TF pools and BLAS).", "",
             "## Machine and run", ""]
    lines += [f"- {k}: {v}" for k, v in info.items() if k != "file"]
    if "commit" in table and table["commit"].nunique() > 1:
        for sha, group in table.groupby("commit", sort=False):
            names = sorted({b.split(".", 1)[1] for b in group["benchmark"]})
            lines.append(f"- measured at {sha}: {', '.join(names)}")
    lines.append("")
    lines += missing_peer_lines(t)

    order = {n: i for i, n in enumerate(HEADLINE)}
    head = t[t["item"].isin(HEADLINE) & t["algo"].isin(["", "im2col"])].copy()
    head = head.sort_values(["item", "direction", "threads"],
                            key=lambda s: s.map(order) if s.name == "item" else s)
    lines += ["## Headline layers (thesis shapes, EDSR body conv; im2col)", ""]
    lines += _backend_grid(head, backends, ["item", "direction", "threads"]) + [""]

    tg = targets(t)
    if not tg.empty:
        lines += ["## Performance targets (time / peer time: layers / tf_graph, "
                  "models / the best peer)", "",
                  "A model row here is asv's sample of one call per process; the model "
                  "targets are judged on the medians of at least 3 rounds of fresh "
                  "processes in `results/tables/peers.md` (`nox -s peers`).", ""]
        rows = [[r.backend, r.item, r.algo or "-", r.direction, r.threads,
                 f"<= {r.target:g}" + (f" ({r.note})" if r.note else ""),
                 f"{r.ratio_to_peer:.2f}" if np.isfinite(r.ratio_to_peer) else "no peer row",
                 {True: "met", False: "not met", None: "?"}[r.met],
                 f"{r.ratio_to_eager:.2f}" if np.isfinite(r.ratio_to_eager) else ""]
                for r in tg.itertuples()]
        lines += markdown.table(["backend", "case", "algo", "direction", "threads", "target",
                            "ratio", "", "vs eager tensorflow"], rows) + [""]

    peer_vs_eager = t[(t["backend"] == LAYER_PEER) & np.isfinite(t["ratio_to_eager"])
                      & t["item"].isin(HEADLINE)]
    if not peer_vs_eager.empty:
        lines += ["## The layer peer against the eager oracle (tf_graph time / tensorflow "
                  "time)", ""]
        rows = [[r.item, r.algo or "-", r.direction, r.threads, _fmt_seconds(r.value),
                 f"{r.ratio_to_eager:.2f}"]
                for r in peer_vs_eager.sort_values(["item", "algo", "direction",
                                                    "threads"]).itertuples()]
        lines += markdown.table(["case", "algo", "direction", "threads", "tf_graph", "ratio"],
                           rows) + [""]

    for algo, title in ALGO_SECTIONS.items():
        rows = t[t["algo"] == algo]
        if not rows.empty:
            lines += [f"## Convolution forward with {title}", ""]
            lines += _backend_grid(rows, backends, ["item", "threads"]) + [""]

    models = t[t["suite"] == "Models"].copy()
    if not models.empty:
        lines += ["## Models (super_resolve on one uint8 LR image, default path; ratios to "
                  "the best peer)", "",
                  "Thesis: EDSR 576.92 s, WDSR 46.35 s on 510x339 (C++/OpenMP, hardware "
                  "unstated).", "",
                  "Each cell is one asv sample: one timed call in one fresh process, after "
                  "one untimed call. A single sample moves with whatever else the machine "
                  "does at that moment; the medians of interleaved rounds in "
                  "`results/tables/peers.md` (`nox -s peers`) are the comparison to quote.",
                  ""]
        grid = _backend_grid(models, backends, ["item", "threads"])
        thesis = ["thesis"] + [f"{THESIS_SECONDS[i]:.2f} s" if i in THESIS_SECONDS else ""
                               for i, _ in models.groupby(["item", "threads"], sort=False).size()
                               .index]
        grid[0] += " thesis |"
        grid[1] += "---|"
        for k in range(2, len(grid)):
            grid[k] += f" {thesis[k - 1]} |"
        lines += grid + [""]
        rated = models[np.isfinite(models["gflops"])]
        if not rated.empty:
            lines += ["Roofline: direct-equivalent GFLOP/s of each model (every convolution's "
                      "arithmetic as the direct convolution, Winograd included, over the "
                      "time) and in brackets its ratio to the sgemm peak at the same threads "
                      "(below).", ""]
            lines += _backend_grid(rated, backends, ["item", "threads"],
                                   cell=_gflops_cell) + [""]

    conv = t[np.isfinite(t["gflops"]) & (t["suite"] != "Models")]
    if not conv.empty:
        peak = table[table["benchmark"] == "tracks.Sgemm.track_sgemm_gflops"]
        lines += ["## Convolution GFLOP/s against the measured sgemm peak", ""]
        lines += [f"- sgemm (numpy float32, n = 4096) at {int(r.threads)} thread(s): "
                  f"{r.value:.1f} GFLOP/s" for r in peak.itertuples()] + [""]
        lines += ["Direct-convolution FLOPs per second (Winograd: effective rate), and in "
                  "brackets the fraction of the sgemm peak at the same threads.", ""]
        conv = conv.sort_values(["item", "algo", "direction", "threads"])
        lines += _backend_grid(conv, backends, ["item", "algo", "direction", "threads"],
                               cell=_gflops_cell) + [""]

    small = t[t["suite"] == "Layers"]
    if not small.empty:
        lines += ["## Every layer, small shape (8x64x64x32)", ""]
        lines += _backend_grid(small, backends, ["item", "direction", "threads"]) + [""]

    tracks = table[table["kind"].isin(["track", "peakmem"])
                   & (table["benchmark"] != "tracks.Sgemm.track_sgemm_gflops")]
    if not tracks.empty:
        lines += ["## Tracked numbers", ""]
        rows = [[r.benchmark.split(".", 1)[1], r.item if r.item != r.suite else "",
                 r.algo, r.backend, r.dtype or r.cache,
                 "" if pd.isna(r.threads) else int(r.threads),
                 *_tracked(r.value, r.unit, r.benchmark)]
                for r in tracks.itertuples()]
        lines += markdown.table(["benchmark", "item", "algo", "backend", "dtype/cache", "threads",
                            "value", "unit"], rows) + [""]
    return "\n".join(lines)


def build(results_dir: Path, out_dir: Path, machine: str | None = None,
          commit: str | None = None) -> dict[str, Path]:
    """Write the table (md, csv) and the figures; return their paths."""
    from . import bench_figures

    benchmarks = json.loads((Path(results_dir) / "benchmarks.json").read_text())
    if commit is None:
        table, info = load_newest(results_dir, benchmarks, machine)
    else:
        table, info = load_run(pick_run(results_dir, machine, commit), benchmarks)
        table["commit"] = info["commit"][:8]
    t = timings(table)
    for line in missing_peer_lines(t)[2:-1]:
        print(f"bench-report: warning: {line[2:]}", file=sys.stderr)
    tables, figures = Path(out_dir) / TABLES_DIR, Path(out_dir) / FIGURES_DIR
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    written = {"md": tables / "bench_summary.md", "csv": tables / "bench_summary.csv"}
    written["md"].write_text(summary_markdown(table, t, info) + "\n")
    tracks = table[table["kind"] != "time"].assign(ratio_to_peer=np.nan, ratio_to_eager=np.nan,
                                                   gflops=np.nan, peak_fraction=np.nan)
    full = pd.concat([t, tracks], ignore_index=True)
    for k, v in info.items():
        if k not in full:  # keep the per-row commit of a merged report
            full[k] = v
    full.to_csv(written["csv"], index=False)
    for name, fig in bench_figures.all_figures(t, THESIS_SECONDS).items():
        target = figures / f"bench_{name}.png"
        fig.savefig(target, dpi=120)
        written[name] = target
    return written


if __name__ == "__main__":  # the command line is `layerbench bench-report` (layerbench.cli)
    from layerbench.cli import main

    main(["bench-report", *sys.argv[1:]])
