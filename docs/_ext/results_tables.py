"""Render the committed result tables (``results/tables/*.csv``) as Markdown tables.

The README and the documentation pages show the same tables; both come from here, so every
number in them is read from a committed CSV:

* the renderers (``equality``, ``peers``, ``div2k_gain``, ``mri_headline``, ``csv_table``)
  are plain functions of a results folder, used by the tests that check the README;
* the Sphinx directive ``results-table`` puts one of them into a page at build time::

      ```{results-table} peers
      ```

  or any CSV as it is: ``{results-table} csv`` with the option ``:file: mri_means.csv``
  (and optionally ``:columns: a,b,c`` and ``:where: weight=T2,scale=2``).
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "results" / "tables"

MODEL_LABELS = {
    "edsr_x2": "EDSR x2",
    "edsr_baseline_x2": "EDSR-baseline x2",
    "wdsr_a_x4": "WDSR-A x4",
}


def _rows(name: str, tables: Path | None = None) -> list[dict[str, str]]:
    path = (tables or TABLES) / name
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def equality(tables: Path | None = None) -> str:
    """Rows of the cross-check per backend: compared, passed within the tolerance table,
    skipped (a kernel the backend lacks) and failed.

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding ``crosscheck.csv`` (default: the committed ``results/tables``).

    Returns
    -------
    str
        A Markdown table, one row per backend and a total.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _rows("crosscheck.csv", tables):
        counts[row["backend"]][row["status"]] += 1
    body, total = [], defaultdict(int)
    for backend in sorted(counts):
        c = counts[backend]
        rows = sum(c.values())
        for key, value in (("rows", rows), *c.items()):
            total[key] += value
        body.append([f"`{backend}`", f"{rows:,}", f"{c['pass']:,}", f"{c['skip']:,}",
                     f"{c['fail']:,}"])
    body.append(["all", f"{total['rows']:,}", f"{total['pass']:,}", f"{total['skip']:,}",
                 f"{total['fail']:,}"])
    return _markdown(["backend", "rows", "pass", "skip", "fail"], body)


def peers(tables: Path | None = None, name: str = "peer_compare.csv") -> str:
    """Whole models against Keras, side by side: the median over repeats of our time / the
    Keras time, our median seconds in brackets, and the range of Keras' seconds.

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding the peer-compare CSV (default: the committed ``results/tables``).
    name : str
        File name of the CSV written by ``layerbench peer-compare``.

    Returns
    -------
    str
        A Markdown table, one row per model and thread count.
    """
    groups: dict[tuple[str, int], dict[str, list[dict[str, str]]]] = defaultdict(
        lambda: defaultdict(list))
    backends: list[str] = []
    for row in _rows(name, tables):
        groups[(row["model"], int(row["threads"]))][row["backend"]].append(row)
        if row["backend"] not in backends:
            backends.append(row["backend"])
    body = []
    for (model, threads), per_backend in groups.items():
        cells, keras = [], []
        for backend in backends:
            runs = per_backend.get(backend, [])
            if not runs:
                cells.append("-")
                continue
            ratio = statistics.median(float(r["ratio"]) for r in runs)
            seconds = statistics.median(float(r["seconds"]) for r in runs)
            cells.append(f"{ratio:.2f} ({seconds:.2f} s)")
            keras += [float(r["keras_seconds"]) for r in runs]
        body.append([MODEL_LABELS.get(model, model), str(threads), *cells,
                     f"{min(keras):.1f}-{max(keras):.1f}"])
    return _markdown(["model", "threads", *backends, "keras seconds"], body)


def peers_source(tables: Path | None = None, name: str = "peer_compare.csv") -> str:
    """Where the peer table's numbers come from: commits, repeats and the machine's load.

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding the peer-compare CSV (default: the committed ``results/tables``).
    name : str
        File name of the CSV written by ``layerbench peer-compare``.

    Returns
    -------
    str
        One sentence.
    """
    rows = _rows(name, tables)
    commits = sorted({r["commit"].replace("+dirty", " (with uncommitted edits)")
                      for r in rows})
    repeats = len({r["repeat"] for r in rows})
    loads = [float(r["load1"]) for r in rows if r.get("load1")]
    load = f", 1-minute load average {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    return (f"Measured at commit {', '.join(commits)}: {len(rows)} timed pairs, "
            f"{repeats} repeats{load}.")


def div2k_gain(tables: Path | None = None) -> str:
    """SR against bicubic on the held-out photographs (``div2k_sr_gain.csv``).

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding ``div2k_sr_gain.csv`` (default: the committed ``results/tables``).

    Returns
    -------
    str
        A Markdown table: scale, model, images, SR and bicubic PSNR / SSIM and the gain.
    """
    body = []
    for row in _rows("div2k_sr_gain.csv", tables):
        if row["images"] != "held out":
            continue
        body.append([f"x{row['scale']}", row["model"], row["n"],
                     f"{float(row['sr_psnr']):.2f} / {float(row['sr_ssim']):.3f}",
                     f"{float(row['bicubic_psnr']):.2f} / {float(row['bicubic_ssim']):.3f}",
                     f"{float(row['gain_db']):+.2f} dB"])
    return _markdown(["scale", "model", "held-out images", "SR (PSNR dB / SSIM)",
                      "bicubic", "gain"], body)


def mri_headline(tables: Path | None = None) -> str:
    """T1 means of bicubic and SR per protocol beside the thesis' own numbers
    (``mri_vs_thesis.csv``; SR shown as the mean over its three output channels).

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding ``mri_vs_thesis.csv`` (default: the committed ``results/tables``).

    Returns
    -------
    str
        A Markdown table: protocol, scale, bicubic and SR (PSNR dB / SSIM), the thesis'.
    """
    rows = [r for r in _rows("mri_vs_thesis.csv", tables) if r["weight"] == "T1"]
    by_key = {(r["variant"], r["scale"], r["method"]): r for r in rows}
    body = []
    for variant in dict.fromkeys(r["variant"] for r in rows):
        for scale in ("2", "4"):
            sr = next((r for (v, s, m), r in by_key.items()
                       if v == variant and s == scale and m != "bicubic"), None)
            bic = by_key.get((variant, scale, "bicubic"))
            if sr is None or bic is None:
                continue
            thesis = (f"{bic['thesis_psnr']} / {bic['thesis_ssim']}; "
                      f"{sr['method']} {sr['thesis_psnr'].replace(' (channels)', '')} / "
                      f"{sr['thesis_ssim'].replace(' (channels)', '')}")
            body.append([variant.replace("_", " "), f"x{scale}",
                         f"{float(bic['psnr']):.2f} / {float(bic['ssim']):.3f}",
                         f"{sr['method']} {float(sr['psnr']):.2f} / {float(sr['ssim']):.3f}",
                         thesis])
    return _markdown(["protocol", "scale", "bicubic", "SR", "the thesis (bicubic; SR)"], body)


def csv_table(name: str, columns: list[str] | None = None,
              tables: Path | None = None, where: dict[str, str] | None = None) -> str:
    """Any committed CSV as a Markdown table, cells as written in the file.

    Parameters
    ----------
    name : str
        File name under the results folder, e.g. ``"mri_means.csv"``.
    columns : list of str, optional
        The columns to show, in order (default: all).
    tables : pathlib.Path, optional
        The results folder (default: the committed ``results/tables``).
    where : dict of str to str, optional
        Keep only the rows whose cells equal these values (``{"weight": "T2"}``).

    Returns
    -------
    str
        A Markdown table.
    """
    rows = [r for r in _rows(name, tables)
            if all(r[k] == v for k, v in (where or {}).items())]
    header = columns or (list(rows[0]) if rows else [])
    return _markdown(header, [[r[c] for c in header] for r in rows])


RENDERERS = {"equality": equality, "peers": peers, "div2k_gain": div2k_gain,
             "mri_headline": mri_headline}
DOC_ONLY = {"peers_source": peers_source}  # rendered in the docs, not in the README


def setup(app):  # pragma: no cover - exercised by the docs build
    """Register the ``results-table`` directive with Sphinx.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.

    Returns
    -------
    dict
        Extension metadata (parallel-safe).
    """
    from docutils.parsers.rst import directives
    from sphinx.util.docutils import SphinxDirective

    class ResultsTable(SphinxDirective):
        """``results-table NAME``: a renderer of this module, or ``csv`` with ``:file:``."""

        required_arguments = 1
        option_spec = {"file": directives.unchanged, "columns": directives.unchanged,
                       "where": directives.unchanged}

        def run(self):
            name = self.arguments[0]
            if name == "csv":
                file = self.options["file"]
                columns = self.options.get("columns")
                where = dict(kv.split("=", 1) for kv in self.options.get("where", "").split(",")
                             if kv)
                text = csv_table(file, columns.split(",") if columns else None, where=where)
                self.env.note_dependency(str(TABLES / file))
            else:
                text = {**RENDERERS, **DOC_ONLY}[name]()
            self.env.note_dependency(str(TABLES))
            return self.parse_text_to_nodes(text)

    app.add_directive("results-table", ResultsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
