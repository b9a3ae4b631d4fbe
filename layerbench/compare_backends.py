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
    what.add_argument("--model", nargs="+", metavar="MODEL",
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
    p.add_argument("--format", choices=["md", "csv", "json"], default="md",
                   help="what to print")
    p.add_argument("--csv", default=None, metavar="PATH", help="also write the rows as CSV")
    p.add_argument("--md", default=None, metavar="PATH", help="also write the Markdown table")


COLUMNS = ("subject", "runtime", "peer", "threads", "seconds", "vs_best_peer", "gflops",
           "of_sgemm_peak", "sgemm_peak_gflops", "rounds", "settings")


def measure(subjects: list[dict], names: list[str], runtime_names: list[str], threads,
            *, rounds: int, repeats: int, roofline: bool) -> list[dict]:
    """Rows of :func:`layerbench.runtimes.compare` for every subject, with the ratio to the
    best peer at the same thread count and the roofline (GFLOP/s over the sgemm peak).

    Parameters
    ----------
    subjects : list of dict
        As :func:`layerbench.runtimes.build_subject`.
    names : list of str
        A label per subject.
    runtime_names : list of str
    threads : sequence of int
    rounds, repeats : int
    roofline : bool
        Measure the sgemm peak per thread count.

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`.
    """
    peak = {n: runtimes.sgemm_peak(n) if roofline else None for n in threads}
    rows = []
    for name, subject in zip(names, subjects, strict=True):
        got = runtimes.compare(subject, runtime_names, threads, rounds=rounds, repeats=repeats)
        for n in threads:
            peers = [r["seconds"] for r in got if r["peer"] and r["threads"] == n]
            best = min(peers) if peers else None
            for r in (r for r in got if r["threads"] == n):
                rows.append({
                    "subject": name, "runtime": r["runtime"], "peer": r["peer"],
                    "threads": n, "seconds": r["seconds"],
                    "vs_best_peer": r["seconds"] / best if best else None,
                    "gflops": r["gflops"],
                    "of_sgemm_peak": r["gflops"] / peak[n] if peak[n] else None,
                    "sgemm_peak_gflops": peak[n], "rounds": r["rounds"],
                    "settings": r["settings"]})
    return rows


#: (model, backend) -> the largest time / best-peer time that meets the target (510x339).
TARGETS: dict[tuple[str, str], float] = {
    **{(m, "cython"): 0.7 for m in ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")},
    **{(m, "numba"): 0.85 for m in ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")},
    ("edsr_x2", "cython"): 0.45,
}
#: (model, backend) -> the smallest direct-equivalent GFLOP/s / sgemm peak that meets it.
ROOFLINE_TARGETS: dict[tuple[str, str], float] = {("edsr_x2", "cython"): 2.2}


def targets(rows: list[dict]) -> list[str]:
    """Markdown lines saying, per row with a target (:data:`TARGETS`,
    :data:`ROOFLINE_TARGETS`; models at 510x339 only), whether it is met.

    Parameters
    ----------
    rows : list of dict
        From :func:`measure`.

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


def markdown(rows: list[dict], header: dict) -> str:
    """The rows as a Markdown table under a header naming machine, threads and versions.

    Parameters
    ----------
    rows : list of dict
        From :func:`measure`.
    header : dict
        ``machine`` (:func:`layerbench.runtimes.machine`) and ``command``.

    Returns
    -------
    str
    """
    m = header["machine"]
    lines = [f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
             f"1-minute load average {m['load1']:.2f} at the start",
             f"- command: `{header['command']}`",
             "- each row: median over fresh processes (one per round), rounds interleaved "
             "across runtimes; time / best peer at the same thread count; GFLOP/s of the "
             "direct-equivalent arithmetic (Winograd counted as the direct convolution) and "
             "its ratio to the sgemm peak", ""]
    versions = {}
    for r in rows:
        versions.setdefault(r["runtime"], r["settings"])
    lines += [f"- {k}: " + ", ".join(f"{a}={b}" for a, b in v.items())
              for k, v in versions.items()]
    lines += ["", "| subject | runtime | threads | seconds | / best peer | GFLOP/s | "
              "/ sgemm peak |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        name = f"{r['runtime']} (peer)" if r["peer"] else r["runtime"]
        lines.append(f"| {r['subject']} | {name} | {r['threads']} | {r['seconds']:.4g} | "
                     f"{_fmt(r['vs_best_peer'], '.2f')} | {r['gflops']:.1f} | "
                     f"{_fmt(r['of_sgemm_peak'], '.2f')} |")
    lines += targets(rows)
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV (``rounds`` and ``settings`` as JSON).

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
        w.writerow({**r, "rounds": json.dumps(r["rounds"]),
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

    for opt, v in (("--rounds", a.rounds), ("--repeats", a.repeats)):
        if v < 1:
            raise SpecError(expected(opt, "an integer >= 1", v))
    if min(a.threads) < 1:
        raise SpecError(expected("--threads", "integers >= 1", a.threads))
    if a.layer:
        subjects = [{"layer": a.layer, "shape": list(runtimes.parse_shape(a.shape))}]
        names = [f"{a.layer} {a.shape}"]
    else:
        from layerbench.onnx_export import load_model

        size = list(runtimes.parse_size(a.size))
        for m in a.model:
            load_model(m)  # an unknown name stops here, before any process starts
        subjects = [{"model": m, "size": size} for m in a.model]
        names = [f"{m} {a.size}" for m in a.model]
    backends = _default_backends() if a.backends is None else a.backends
    peers = _installed_peers() if a.peers is None else a.peers
    if not backends and not peers:
        raise SpecError(expected("--backends/--peers", "at least one runtime", "none"))
    rows = measure(subjects, names, backends + peers, a.threads, rounds=a.rounds,
                   repeats=a.repeats, roofline=not a.no_roofline)
    header = {"machine": runtimes.machine(),
              "command": "layerbench compare-backends " + " ".join(sys.argv[2:])}
    md, table = markdown(rows, header), to_csv(rows)
    if a.csv:
        with open(a.csv, "w") as f:
            f.write(table)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    if a.format == "json":
        print(json.dumps({"machine": header["machine"], "rows": rows}, indent=1))
    else:
        print(md if a.format == "md" else table, end="")
