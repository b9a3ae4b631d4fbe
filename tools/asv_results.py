"""Give asv result files stable names: no local paths, one machine name per CPU model and core
count. Idempotent: run it after any ``asv run`` (``nox -s bench`` does) or after merging
result files written with the old naming.

Why. asv 0.6's ``existing`` environment (the one ``nox -s bench`` times, ``--python=same``) is
named after its interpreter's absolute path (``existing-py_work_venv_bin_python3``), and the
path is also a parameter (``params["python"]``). The dashboard keys a series on those
parameters, so every venv starts a new series and no line joins one commit to the next; and
the committed files carry local paths. asv has no option to rename it.

What it does, for every ``results/asv/<machine>/<commit>-<env>.json``:

- the environment becomes ``<type>-py<X.Y>`` (``existing-py3.11``; asv's own ``virtualenv``
  names already have this form) and ``python`` / ``params["python"]`` become ``X.Y``: the
  version in the interpreter path when it has one, else the running interpreter's (the tool
  runs in the environment that benchmarked, or, for old files, on the same Python);
- the machine becomes :func:`machine_name` of the file's own ``cpu`` and ``num_cpu``
  parameters (``intel-xeon-processor-2cpu``), so results of two CPUs filed under one name
  (``vm``) are split; its ``machine.json`` is written from those parameters;
- ``os`` keeps the kernel's version without its build suffix (``Linux 6.18.44-fc-v857`` ->
  ``Linux 6.18.44``) and ``ram`` is rounded to whole GiB: both are series keys too, and this
  VM reports another build suffix and a few hundred kB more or less RAM after a reboot, which
  left a new run alone in its own graph, off the machine's line;
- the file moves to ``<machine>/<commit[:8]>-<env>.json`` (asv's naming); when two files land
  on one name (one commit timed from two venvs), their benchmarks are merged, the later run
  winning per benchmark;
- any string left that starts with ``/`` is an error (it would be a local path).

Numbers, dates and commit hashes are kept as they are.

Usage: ``python tools/asv_results.py [results/asv]`` (prints what it moved)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE_KEYS = ("arch", "cpu", "machine", "num_cpu", "os", "ram")
# per-benchmark tables of a result file (asv 0.6 results format version 2)
PER_BENCHMARK = ("results", "benchmark_version", "started_at", "duration", "errors")


def machine_name(cpu: str, num_cpu: int | str) -> str:
    """``"Intel(R) Xeon(R) Processor"``, 2 -> ``"intel-xeon-processor-2cpu"``: the CPU model
    (as asv reads it from ``/proc/cpuinfo``) without trademarks, clock and punctuation, plus
    the core count."""
    model = re.sub(r"\((r|tm|c)\)|\bcpu\b|@.*$", " ", str(cpu).lower())
    slug = "-".join(re.findall(r"[a-z0-9.]+", model)).strip("-.") or "unknown-cpu"
    return f"{slug}-{int(num_cpu)}cpu"


def this_machine() -> dict:
    """asv's description of this host (the keys of ``machine.json``) with the derived name;
    the CPU with its family, model and widest vector instructions
    (:func:`layerbench.runtimes.cpu_label`), since a virtual machine's model name ("AMD
    EPYC") is the same for CPU generations that time differently."""
    from asv.machine import Machine

    from layerbench.runtimes import cpu_label, machine

    info = {k: str(v) for k, v in Machine.get_defaults().items() if k in MACHINE_KEYS}
    info["cpu"] = cpu_label({**machine(), "cpu": info["cpu"]})
    info["machine"] = machine_name(info["cpu"], info["num_cpu"])
    return info


def python_version(path: str) -> str:
    """``"/x/bin/python3.11"`` -> ``"3.11"``; a path without a version -> this interpreter's."""
    if re.fullmatch(r"\d+\.\d+", path):
        return path
    found = re.search(r"python(\d+\.\d+)", path)
    return found.group(1) if found else f"{sys.version_info[0]}.{sys.version_info[1]}"


def env_type(env_name: str) -> str:
    return env_name.split("-", 1)[0] or "existing"


def normalise(data: dict) -> dict:
    """One result file's content with stable machine, environment and python names."""
    out = dict(data)
    params = dict(data["params"])
    version = python_version(str(data.get("python") or params.get("python", "")))
    params["python"] = version
    params["machine"] = machine_name(params["cpu"], params["num_cpu"])
    params["os"] = re.sub(r"^(\S+ [0-9.]+)\S*$", r"\1", str(params.get("os", "")))
    if str(params.get("ram", "")).isdigit():
        params["ram"] = str(round(int(params["ram"]) / 2**30) * 2**30)
    out["params"], out["python"] = params, version
    out["env_name"] = f"{env_type(data['env_name'])}-py{version}"
    return out


def merge(old: dict, new: dict) -> dict:
    """Two runs of one commit, environment and machine: the later run wins per benchmark."""
    first, last = sorted((old, new), key=lambda d: d.get("date", 0))
    merged = dict(last)
    for key in PER_BENCHMARK:
        if key in first or key in last:
            merged[key] = {**first.get(key, {}), **last.get(key, {})}
    merged["durations"] = {**first.get("durations", {}), **last.get("durations", {})}
    return merged


def local_paths(value, where="") -> list[str]:
    """Every string in ``value`` that looks like an absolute local path."""
    if isinstance(value, str):
        return [f"{where}: {value}"] if value.startswith("/") else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in local_paths(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in local_paths(v, f"{where}[{i}]")]
    return []


def _dump(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=4, sort_keys=True) + "\n"
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def rewrite(results: Path) -> list[str]:
    """Rewrite every result file under ``results`` in place; returns ``"old -> new"`` lines
    for the files that moved (none on a second run)."""
    results = Path(results)
    files = sorted(p for p in results.glob("*/*.json") if p.name != "machine.json")
    loaded = [(p, json.loads(p.read_text())) for p in files]
    targets: dict[Path, dict] = {}
    moved = []
    for path, data in loaded:
        new = normalise(data)
        target = results / new["params"]["machine"] / f"{new['commit_hash'][:8]}-" \
                                                      f"{new['env_name']}.json"
        targets[target] = merge(targets[target], new) if target in targets else new
        if path != target:
            moved.append(f"{path.relative_to(results)} -> {target.relative_to(results)}")
    for target, data in targets.items():
        bad = local_paths(data)
        if bad:
            raise SystemExit(f"asv_results: {target} still holds local paths: {bad[:5]}")
        _dump(target, data)
        machine = {k: data["params"][k] for k in MACHINE_KEYS}
        _dump(target.parent / "machine.json", {**machine, "version": 1})
    for path, _ in loaded:
        if path not in targets:
            path.unlink()
    for folder in results.iterdir():
        if folder.is_dir() and not any(p.name != "machine.json" for p in folder.iterdir()):
            for p in folder.iterdir():
                p.unlink()
            folder.rmdir()
    bad = local_paths(json.loads((results / "benchmarks.json").read_text())) \
        if (results / "benchmarks.json").exists() else []
    if bad:
        raise SystemExit(f"asv_results: benchmarks.json holds local paths: {bad[:5]}")
    return moved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=ROOT / "results" / "asv")
    parser.add_argument("--machine-name", action="store_true",
                        help="print this host's derived machine name and exit")
    parser.add_argument("--cpu", action="store_true",
                        help="print this host's CPU as the machine records it and exit")
    args = parser.parse_args(argv)
    if args.machine_name:
        print(this_machine()["machine"])
        return
    if args.cpu:
        print(this_machine()["cpu"])
        return
    for line in rewrite(args.results):
        print(line)


if __name__ == "__main__":
    main()
