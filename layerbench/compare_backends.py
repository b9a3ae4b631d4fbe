"""``layerbench compare-backends``: one layer or model across our backends and the peer
runtimes, side by side, each in its own fresh process (:mod:`layerbench.runtimes`).

A separate command rather than an option of ``measure``: ``measure`` times our backends in
one process (and measures memory); this command starts a fresh process per runtime and round,
which is what comparing runtimes that own thread pools needs.
"""

from __future__ import annotations

import csv
import io
import json
import os

from backends.errors import SpecError, expected
from layerbench import runtimes


def _installed_peers() -> list[str]:
    import importlib.util

    modules = {"keras": "tensorflow", "onnxruntime": "onnxruntime", "openvino": "openvino",
               "torch": "torch"}
    return [p for p in runtimes.PEERS if importlib.util.find_spec(modules[p]) is not None]


def add_arguments(p) -> None:
    """Declare the arguments of ``layerbench compare-backends`` on the parser ``p``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--layer", choices=["conv"], help="one layer: a 3x3 'same' convolution "
                      "with as many filters as input channels")
    what.add_argument("--model", "--models", nargs="+", metavar="MODEL",
                      help="shipped models or presets (`layerbench models`)")
    p.add_argument("--shape", default="1x128x128x64", help="NxHxWxC input of --layer")
    p.add_argument("--size", default="128x96", help="LR width x height of --model's input")
    p.add_argument("--backends", nargs="*", default=None,
                   help="our backends (default: every available one but the oracles)")
    p.add_argument("--peers", nargs="*", default=None, choices=list(runtimes.PEERS),
                   help="peer runtimes (default: every installed one)")
    p.add_argument("--threads", nargs="+", type=int, default=[1], help="thread counts")
    p.add_argument("--rounds", type=int, default=3,
                   help="fresh processes per runtime and thread count (median reported)")
    p.add_argument("--repeats", type=int, default=1, help="timed calls per process")
    p.add_argument("--no-roofline", action="store_true",
                   help="skip measuring the sgemm peak (the roofline column)")
    p.add_argument("--train-step", action="store_true",
                   help="time one training step of --model (forward, mean absolute error, "
                   "backward, Adam) instead of inference; peers: keras (train_on_batch), "
                   "torch")
    p.add_argument("--batch", type=int, default=16, help="--train-step: LR patches per step")
    p.add_argument("--patch", type=int, default=48, help="--train-step: LR patch side")
    p.add_argument("--state", default=None, metavar="PATH",
                   help="JSON-lines file of every process's result: a rerun skips what it "
                   "holds (a killed run continues) and the tables cover every subject in it")
    p.add_argument("--format", choices=["md", "csv", "json"], default="md",
                   help="what to print")
    p.add_argument("--csv", default=None, metavar="PATH", help="also write the rows as CSV")
    p.add_argument("--md", default=None, metavar="PATH", help="also write the Markdown table")


COLUMNS = ("subject", "runtime", "peer", "threads", "seconds", "vs_best_peer", "best_peer",
           "gflops", "of_sgemm_peak", "sgemm_peak_gflops", "rounds", "load1", "commit",
           "settings")


def label(subject: dict) -> str:
    """The table's name of a subject: ``"edsr_x2 510x339"``, ``"conv 1x128x128x64"`` or
    ``"edsr_baseline_x2 train b16 p48"``.

    Parameters
    ----------
    subject : dict
        As :func:`layerbench.runtimes.build_subject`.

    Returns
    -------
    str
    """
    if "layer" in subject:
        return f"{subject['layer']} " + "x".join(map(str, subject["shape"]))
    if "train" in subject:
        return f"{subject['train']} train b{subject['batch']} p{subject['patch']}"
    return f"{subject['model']} {subject['size'][0]}x{subject['size'][1]}"


def peak(store: runtimes.Store, threads: int) -> float:
    """The sgemm peak at ``threads`` (:func:`layerbench.runtimes.sgemm_peak`), measured once
    per store.

    Parameters
    ----------
    store : layerbench.runtimes.Store
    threads : int

    Returns
    -------
    float
        GFLOP/s.
    """
    key = {"sgemm": threads}
    got = store.get(key)
    if got is None:
        store.check_machine()
        got = store.put(key, {**runtimes.sgemm_peak(threads),
                              "load1": os.getloadavg()[0]})
    return got["gflops"]


def measure(subjects: list[dict], runtime_names: list[str], threads, *, rounds: int,
            repeats: int, roofline: bool, store: runtimes.Store | None = None,
            progress=None) -> list[dict]:
    """Measure what ``store`` lacks (:func:`layerbench.runtimes.compare` per subject) and
    return :func:`rows` of everything in it.

    Parameters
    ----------
    subjects : list of dict
        As :func:`layerbench.runtimes.build_subject`.
    runtime_names : list of str
    threads : sequence of int
    rounds, repeats : int
    roofline : bool
        Measure the sgemm peak per thread count.
    store : layerbench.runtimes.Store, optional
        Earlier results (a resumed run) and where new ones go.
    progress : callable, optional
        Called with each new store entry.

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`.
    """
    store = runtimes.Store() if store is None else store
    if roofline:
        for n in threads:
            peak(store, n)
    for subject in subjects:
        runtimes.compare(subject, runtime_names, threads, rounds=rounds, repeats=repeats,
                         store=store, progress=progress)
    return rows(store)


def rows(store: runtimes.Store) -> list[dict]:
    """The table of every subject in ``store``: per (subject, runtime, threads) the median
    time, the ratio to the best peer at the same subject and thread count, the
    direct-equivalent GFLOP/s and its ratio to the sgemm peak.

    Parameters
    ----------
    store : layerbench.runtimes.Store

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`, plus ``error`` (a runtime whose every process failed has
        ``seconds`` None).
    """
    entries = list(store.entries.values())
    peaks = {e["key"]["sgemm"]: e["gflops"] for e in entries if "sgemm" in e["key"]}
    kernels = {e["key"]["sgemm"]: e.get("openblas", "not recorded") for e in entries
               if "sgemm" in e["key"]}
    got = runtimes.aggregate([e for e in entries if "subject" in e["key"]])
    flops: dict[str, float] = {}
    out = []
    for r in got:
        name = label(r["subject"])
        if r["seconds"] is not None and name not in flops:
            flops[name] = runtimes.subject_flops(r["subject"])
        peers = [p for p in got if p["peer"] and p["subject"] == r["subject"]
                 and p["threads"] == r["threads"] and p["seconds"] is not None]
        best = min(peers, key=lambda p: p["seconds"]) if peers else None
        gflops = flops[name] / r["seconds"] / 1e9 if r["seconds"] else None
        pk = peaks.get(r["threads"])
        out.append({
            "subject": name, "runtime": r["runtime"], "peer": r["peer"],
            "threads": r["threads"], "seconds": r["seconds"],
            "vs_best_peer": r["seconds"] / best["seconds"] if best and r["seconds"] else None,
            "best_peer": best["runtime"] if best else None, "gflops": gflops,
            "of_sgemm_peak": gflops / pk if gflops and pk else None, "sgemm_peak_gflops": pk,
            "sgemm_peak_openblas": kernels.get(r["threads"]),
            "rounds": r["rounds"], "load1": r["load1"], "commit": r["commit"],
            "settings": r["settings"], "error": r["error"]})
    return out


#: (model, backend) -> the largest time / best-peer time that meets the target (510x339).
TARGETS: dict[tuple[str, str], float] = {
    **{(m, "cython"): 0.7 for m in ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")},
    **{(m, "numba"): 0.85 for m in ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")},
    ("edsr_x2", "cython"): 0.45,
}
#: (model, backend) -> the smallest direct-equivalent GFLOP/s / sgemm peak that meets it.
ROOFLINE_TARGETS: dict[tuple[str, str], float] = {("edsr_x2", "cython"): 2.2}
#: Fewest fresh-process rounds a target is judged on.
MIN_ROUNDS = 3


def targets(rows: list[dict]) -> list[str]:
    """Markdown lines saying, per row with a target (:data:`TARGETS`,
    :data:`ROOFLINE_TARGETS`; models at 510x339 only), whether it is met.

    Parameters
    ----------
    rows : list of dict
        From :func:`measure`; a row measured in fewer than :data:`MIN_ROUNDS` rounds is
        "not judged".

    Returns
    -------
    list of str
        Empty when no row has a target.
    """
    lines = []
    for r in rows:
        model, _, size = r["subject"].partition(" ")
        if size != "510x339":
            continue
        key = (model, r["runtime"])
        if key not in TARGETS and key not in ROOFLINE_TARGETS:
            continue
        if len(r["rounds"]) < MIN_ROUNDS:
            lines.append(f"| {model} | {r['runtime']} | {r['threads']} | not judged: "
                         f"{len(r['rounds'])} round(s), the target asks for {MIN_ROUNDS} |")
            continue
        checks = []
        if key in TARGETS and r["vs_best_peer"] is not None:
            ok = r["vs_best_peer"] <= TARGETS[key]
            checks.append(f"/ best peer {r['vs_best_peer']:.2f} <= {TARGETS[key]}: "
                          f"{'met' if ok else 'not met'}")
        if key in ROOFLINE_TARGETS and r["of_sgemm_peak"] is not None:
            ok = r["of_sgemm_peak"] >= ROOFLINE_TARGETS[key]
            checks.append(f"/ sgemm peak {r['of_sgemm_peak']:.2f} >= "
                          f"{ROOFLINE_TARGETS[key]}: {'met' if ok else 'not met'}")
        if checks:
            lines.append(f"| {model} | {r['runtime']} | {r['threads']} | "
                         f"{'; '.join(checks)} |")
    if not lines:
        return []
    return ["", "Targets:", "", "| model | backend | threads | target |", "|---|---|---|---|",
            *lines]


def _fmt(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


# Settings that follow the thread count of a row (not listed once per runtime).
_THREAD_SETTINGS = ("threads", "intra_op")


def markdown(rows: list[dict], header: dict) -> str:
    """The rows as a Markdown table under a header naming machine, threads and versions.

    Parameters
    ----------
    rows : list of dict
        From :func:`measure`.
    header : dict
        ``machine`` (:func:`layerbench.runtimes.machine`, None if not recorded),
        ``command`` and optionally ``state`` (the state file the rows come from).

    Returns
    -------
    str
    """
    m = header["machine"]
    ok = [r for r in rows if r["seconds"] is not None]
    loads = [r["load1"] for r in ok if r["load1"] is not None]
    commits = sorted({c for r in ok for c in r["commit"].split()})
    peaks = {r["threads"]: r["sgemm_peak_gflops"] for r in ok if r["sgemm_peak_gflops"]}
    kernels = sorted({r["sgemm_peak_openblas"] for r in ok if r["sgemm_peak_gflops"]})
    lines = [f"- machine: {runtimes.machine_line(m) if m else 'not recorded'}",
             f"- command: `{header['command']}`" + (
                 f"; the rows are every subject of `{header['state']}`, whichever command "
                 "measured it" if header.get("state") else ""),
             f"- measured at commit {', '.join(commits) or '-'}; 1-minute load average at "
             f"the end of each process: " + (f"{min(loads):.2f}-{max(loads):.2f}"
                                             if loads else "-"),
             "- sgemm peak (numpy float32 matrix product, OpenBLAS kernels "
             f"{', '.join(kernels) or '-'}): " + (", ".join(
                 f"{v:.1f} GFLOP/s at {n} thread{'s' if n > 1 else ''}"
                 for n, v in sorted(peaks.items())) or "not measured"),
             "- each row: median over fresh processes (one per round), rounds interleaved "
             "across runtimes; time / best peer at the same thread count; GFLOP/s of the "
             "direct-equivalent arithmetic (Winograd counted as the direct convolution; a "
             "training step as three forwards) and its ratio to the sgemm peak", ""]
    # a runtime's settings but its thread counts, which each row states; where its rows
    # were measured under different settings (another version, OpenBLAS kernel...), each
    # set with the subjects it covers
    versions: dict[str, dict[str, list[str]]] = {}
    for r in ok:
        same = {a: b for a, b in sorted(r["settings"].items()) if a not in _THREAD_SETTINGS}
        text = ", ".join(f"{a}={b}" for a, b in same.items()) or "-"
        subjects = versions.setdefault(r["runtime"], {}).setdefault(text, [])
        if r["subject"] not in subjects:
            subjects.append(r["subject"])
    for k, sets in versions.items():
        if len(sets) == 1:
            lines.append(f"- {k}: {next(iter(sets))}; threads as in each row")
        else:
            lines += [f"- {k} ({', '.join(subjects)}): {text}; threads as in each row"
                      for text, subjects in sets.items()]
    lines += ["", "| subject | runtime | threads | seconds | / best peer | GFLOP/s | "
              "/ sgemm peak | rounds |", "|---|---|---|---|---|---|---|---|"]
    for r in ok:
        name = f"{r['runtime']} (peer)" if r["peer"] else r["runtime"]
        lines.append(f"| {r['subject']} | {name} | {r['threads']} | {r['seconds']:.4g} | "
                     f"{_fmt(r['vs_best_peer'], '.2f')} | {_fmt(r['gflops'], '.1f')} | "
                     f"{_fmt(r['of_sgemm_peak'], '.2f')} | {len(r['rounds'])} |")
    failed = [r for r in rows if r["error"]]
    if failed:
        lines += ["", "Failed (not in the table):", ""]
        lines += [f"- {r['subject']}, {r['runtime']}, {r['threads']} thread(s): "
                  f"{r['error']}" for r in failed]
    lines += targets(ok)
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    """The measured rows as CSV (``rounds`` and ``settings`` as JSON; failed runtimes left
    out).

    Parameters
    ----------
    rows : list of dict

    Returns
    -------
    str
    """
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        if r["seconds"] is None:
            continue
        w.writerow({**{k: r[k] for k in COLUMNS}, "rounds": json.dumps(r["rounds"]),
                    "settings": json.dumps(r["settings"], sort_keys=True)})
    return buf.getvalue()


def run(a) -> None:
    """Measure and print the table (``--format``), writing ``--csv``/``--md`` if given.

    Parameters
    ----------
    a : argparse.Namespace
        Parsed by :func:`add_arguments`.
    """
    import sys

    from layerbench.onnx_import import _default_backends

    for opt, v in (("--rounds", a.rounds), ("--repeats", a.repeats), ("--batch", a.batch),
                   ("--patch", a.patch)):
        if v < 1:
            raise SpecError(expected(opt, "an integer >= 1", v))
    if min(a.threads) < 1:
        raise SpecError(expected("--threads", "integers >= 1", a.threads))
    if a.train_step and not a.model:
        raise SpecError(expected("--train-step", "--model MODEL", "--layer"))
    if a.layer:
        subjects = [{"layer": a.layer, "shape": list(runtimes.parse_shape(a.shape))}]
    else:
        from layerbench.onnx_export import load_model

        size = list(runtimes.parse_size(a.size))
        for m in a.model:
            load_model(m)  # an unknown name stops here, before any process starts
        subjects = [{"train": m, "batch": a.batch, "patch": a.patch} if a.train_step
                    else {"model": m, "size": size} for m in a.model]
    backends = _default_backends() if a.backends is None else a.backends
    peers = _installed_peers() if a.peers is None else a.peers
    if a.train_step:
        if a.peers is None:
            peers = [p for p in peers if p in runtimes.TRAIN_PEERS]
        wrong = [p for p in peers if p not in runtimes.TRAIN_PEERS]
        if wrong:
            raise SpecError(expected("--peers with --train-step",
                                     f"some of {list(runtimes.TRAIN_PEERS)}", wrong))
    if not backends and not peers:
        raise SpecError(expected("--backends/--peers", "at least one runtime", "none"))
    store = runtimes.Store(a.state)

    def progress(e):
        k = e["key"]
        what = e.get("error") or f"{min(e['seconds']):.4g} s"
        print(f"compare-backends: {label(k['subject'])} {k['runtime']} threads {k['threads']} "
              f"round {k['round'] + 1}: {what}", file=sys.stderr, flush=True)

    got = measure(subjects, backends + peers, a.threads, rounds=a.rounds, repeats=a.repeats,
                  roofline=not a.no_roofline, store=store, progress=progress)
    header = {"machine": store.machine(),
              "command": "layerbench compare-backends " + " ".join(sys.argv[2:]),
              "state": a.state}
    md, table = markdown(got, header), to_csv(got)
    if a.csv:
        with open(a.csv, "w") as f:
            f.write(table)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.format == "json":
        print(json.dumps({"machine": header["machine"], "rows": got}, indent=1))
    else:
        print(md if a.format == "md" else table, end="")
