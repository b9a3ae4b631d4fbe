"""``layerbench crosscheck``: cross-check every backend, write ``crosscheck.{csv,md}``.

All the work is in :mod:`backends.testing.crosscheck`; this module adds the config, a
progress bar, the markdown report (through :mod:`layerbench.markdown`, the one table writer:
``backends`` never imports ``layerbench``, so the library returns rows and the application
writes them up), the summary and the exit status (non-zero when any row fails or errors).
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from layerbench import markdown
from layerbench.confdir import CONFIG_PATH, TABLES


@dataclass
class CrosscheckConfig:
    """What ``conf/crosscheck.yaml`` may hold (struct: unknown keys are errors).

    Parameters
    ----------
    backends : list of str, optional
        Backends checked (default: every one that imports).
    dtypes : list of str
        ``float32`` and/or ``float64``.
    against : list of str
        The oracles: ``numpy`` (numpy_ref float64) and/or ``tensorflow``.
    cases : list of str, optional
        Names or globs of catalogue cases (default: all).
    seed : int, default 0
        Must be 0 (the cases seed their own data).
    output_dir : str
        Where the tables go.
    progress : bool, default True
        Show a progress bar.
    """

    backends: list[str] | None = None
    dtypes: list[str] = field(default_factory=lambda: ["float32", "float64"])
    against: list[str] = field(default_factory=lambda: ["numpy", "tensorflow"])
    cases: list[str] | None = None
    seed: int = 0
    output_dir: str = TABLES
    progress: bool = True


ConfigStore.instance().store(name="crosscheck_schema", node=CrosscheckConfig)


def select_cases(patterns):
    """Catalogue cases whose names match any of ``patterns`` (all when ``None``).

    Parameters
    ----------
    patterns : list of str or None
        Names or ``fnmatch`` globs.

    Returns
    -------
    list of Case
        The cases, in catalogue order.

    Raises
    ------
    ValueError
        A pattern matches no case.
    """
    from backends.testing import CASES, PRESETS

    if patterns is None:
        return list(CASES)
    pool = (*CASES, *PRESETS.values())
    chosen = [c for c in pool if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(c.name, p) for c in pool)]
    if unmatched:
        raise ValueError(f"cases: expected names or globs of catalogue cases, "
                         f"received {unmatched} (no match)")
    return chosen


def run(cfg: DictConfig) -> tuple[list[dict], dict[str, Path]]:
    """Run the cross-check of ``cfg`` and write the tables; return rows and file paths.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        Keys of :class:`CrosscheckConfig`.

    Returns
    -------
    rows : list of dict
        One row per case, backend, dtype and oracle.
    paths : dict of str to Path
        The tables written.

    Raises
    ------
    ValueError
        ``seed`` is not 0, or a dtype is not float32/float64.
    """
    import numpy as np

    from backends.testing import crosscheck as cc

    if cfg.seed != 0:
        raise ValueError("seed: expected 0 (run_case data are seeded per case; other seeds "
                         f"are not wired yet), received {cfg.seed!r}")
    dtypes = []
    for name in cfg.dtypes:
        if name not in ("float32", "float64"):
            raise ValueError(f"dtypes: expected float32 and/or float64, received {name!r}")
        dtypes.append(np.dtype(name))
    progress = None
    if cfg.progress:
        from tqdm import tqdm

        def progress(items):
            return tqdm(items, desc="crosscheck", unit="case", file=sys.stderr)

    backends = list(cfg.backends) if cfg.backends is not None else None
    rows = cc.crosscheck(select_cases(cfg.cases), backends=backends, dtypes=dtypes,
                         against=list(cfg.against), progress=progress)
    from backends.registry import get_backend
    from layerbench.provenance import collect

    names = sorted({r["backend"] for r in rows} | {r["against"] for r in rows})
    header = collect(OmegaConf.to_container(cfg, resolve=True),
                     backend_info={n: get_backend(n).info() for n in names})
    out = Path(cfg.output_dir)
    paths = {"csv": cc.write_csv(rows, out / "crosscheck.csv"),
             "md": write_markdown(rows, out / "crosscheck.md", header)}
    return rows, paths


def write_markdown(rows, path, header: dict | None = None) -> Path:
    """Provenance, a pass/fail summary per backend, per layer, and every non-passing row.

    Parameters
    ----------
    rows : list of dict
        The cross-check's rows.
    path : str or Path
        The Markdown file to write (atomically).
    header : dict, optional
        Provenance entries listed first.

    Returns
    -------
    Path
        ``path``.
    """
    from backends.testing.crosscheck import atomic_write, summarize

    lines = ["# Cross-check of the backends", ""]
    lines += ["Budgets: `backends/testing/tolerances.py`; `usage` = max over tensors of "
              "max|err| / atol. Oracle `numpy` = numpy_ref float64; oracle `tensorflow` = "
              "TensorFlow in the same dtype.", ""]
    if header:
        lines += ["## Provenance", ""] + [f"- {k}: `{v}`" for k, v in header.items()] + [""]
    lines += ["## Summary", ""]
    lines += markdown.table(
        ["backend", "dtype", "oracle", "rows", "pass", "fail", "skip", "error"],
        [[b, dt, o, sum(c.values()), c["pass"], c["fail"], c["skip"], c["error"]]
         for (b, dt, o), c in summarize(rows).items()])
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["layer"], r["backend"], r["dtype"], r["against"]), []).append(r)
    per_layer = []
    for (layer, b, dt, o), rs in sorted(groups.items()):
        usage = [r["max_abs_err"] / r["atol"] for r in rs
                 if r["status"] == "pass" and r["atol"] and r["atol"] > 0]
        worst = f"{max(usage):.3g}" if usage else "exact"
        npass = sum(r["status"] == "pass" for r in rs)
        per_layer.append([layer, b, dt, o, len(rs), npass, worst])
    lines += ["", "## Per layer", ""]
    lines += markdown.table(["layer", "backend", "dtype", "oracle", "rows", "pass",
                             "worst usage"], per_layer)
    bad = [r for r in rows if r["status"] != "pass"]
    lines += ["", f"## Rows that did not pass ({len(bad)})", ""]
    if bad:
        lines += markdown.table(
            ["case", "backend", "dtype", "oracle", "tensor", "status", "detail"],
            [[r["case"], r["backend"], r["dtype"], r["against"], r["tensor"], r["status"],
              markdown.escape(r["detail"])] for r in bad])
    else:
        lines.append("None.")
    return atomic_write(Path(path), lambda fh: fh.write("\n".join(lines) + "\n"))


def summary_lines(rows) -> list[str]:
    """Per backend, dtype and oracle: counts of pass, fail, skip and error.

    Parameters
    ----------
    rows : list of dict
        Cross-check rows with ``status``.

    Returns
    -------
    list of str
        A header line and one line per group.
    """
    from backends.testing.crosscheck import summarize

    lines = [f"{'backend':12} {'dtype':8} {'oracle':11} {'pass':>6} {'fail':>6} {'skip':>6} "
             f"{'error':>6}"]
    for (b, dt, o), c in summarize(rows).items():
        lines.append(f"{b:12} {dt:8} {o:11} {c['pass']:6d} {c['fail']:6d} {c['skip']:6d} "
                     f"{c['error']:6d}")
    return lines


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="crosscheck")
def main(cfg: DictConfig) -> None:
    """Hydra entry point.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        The composed configuration.
    """
    rows, paths = run(cfg)
    print("\n".join(summary_lines(rows)))
    print(f"wrote {paths['csv']} and {paths['md']}")
    bad = [r for r in rows if r["status"] in ("fail", "error")]
    if bad:
        for r in bad[:20]:
            print(f"FAIL {r['case']} {r['backend']} {r['dtype']} vs {r['against']} "
                  f"{r['tensor']}: {r['detail']}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
