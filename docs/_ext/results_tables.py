"""Render the committed result tables (``results/tables/*.csv``) as Markdown tables.

The README and the documentation pages show the same tables; both come from here, so every
number in them is read from a committed CSV:

* the renderers (``equality``, ``peers``, ``div2k_gain``, ``mri_headline``, ``csv_table``)
  are plain functions of a results folder, used by the tests that check the README;
* the Sphinx directive ``results-table`` puts one of them into a page at build time::

      ```{results-table} peers
      ```

  or any CSV as it is: ``{results-table} csv`` with the option ``:file: mri_means.csv``
  (and optionally ``:columns: a,b,c`` and ``:where: weight=T2,scale=2``); ``:dir: NAME``
  renders another machine's tables, in ``results/tables/NAME``.
"""

from __future__ import annotations

import csv
import re
import sys
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


PEERS_CSV = "peers.csv"
NO_PEERS = ("No peer table is committed yet: `nox -s peers` measures it into "
            "`results/tables/peers.csv`.")


def peers(tables: Path | None = None, name: str = PEERS_CSV) -> str:
    """Whole models against the best peer, per model and thread count: the peer set named,
    the fastest peer and its seconds, and for each of our backends its time / the best
    peer's time with its seconds and the roofline (direct-equivalent GFLOP/s over the sgemm
    peak).

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding the CSV written by ``layerbench compare-backends`` (``nox -s peers``;
        default: the committed ``results/tables``).
    name : str
        The CSV's file name.

    Returns
    -------
    str
        A sentence naming the peers and a Markdown table; a sentence saying how to measure
        it when the CSV is not there.
    """
    path = (tables or TABLES) / name
    if not path.exists():
        return NO_PEERS
    rows = _rows(name, tables)
    peer_names = sorted({r["runtime"] for r in rows if r["peer"] == "True"})
    ours = list(dict.fromkeys(r["runtime"] for r in rows if r["peer"] != "True"))
    groups: dict[tuple[str, int], dict[str, dict[str, str]]] = defaultdict(dict)
    for r in rows:
        groups[(r["subject"], int(r["threads"]))][r["runtime"]] = r
    rounds = sorted({len(r["rounds"].strip("[]").split(",")) for r in rows})
    body = []
    for (subject, threads), per in groups.items():
        model, _, size = subject.partition(" ")
        best = per.get(next(iter(per.values()))["best_peer"])
        cells = []
        for b in ours:
            r = per.get(b)
            if r is None or not r["vs_best_peer"]:
                cells.append("-" if r is None else f"({float(r['seconds']):.2f} s)")
                continue
            roof = (f", {float(r['gflops']):.0f} GFLOP/s = {float(r['of_sgemm_peak']):.2f}x "
                    "sgemm" if r["of_sgemm_peak"] else "")
            cells.append(f"{float(r['vs_best_peer']):.2f} ({float(r['seconds']):.2f} s{roof})")
        peer_cell = f"{best['runtime']} {float(best['seconds']):.2f} s" if best else "-"
        body.append([f"{MODEL_LABELS.get(model, model)} {size}".strip(), str(threads),
                     peer_cell, *cells])
    span = str(rounds[0]) if len(rounds) == 1 else f"{rounds[0]}-{rounds[-1]}"
    intro = (f"Peers: {', '.join(peer_names) or 'none measured'}; each runtime in its own "
             f"fresh process, median of {span} interleaved rounds. A cell: our time / the "
             "best peer's time at the same thread "
             "count (our seconds, direct-equivalent GFLOP/s and their ratio to the measured "
             "sgemm peak).")
    return intro + "\n\n" + _markdown(["model", "threads", "best peer", *ours], body)


def peers_source(tables: Path | None = None, name: str = PEERS_CSV) -> str:
    """Where the peer table's numbers come from: commits, rounds and the machine's load.

    Parameters
    ----------
    tables : pathlib.Path, optional
        Folder holding the CSV (default: the committed ``results/tables``).
    name : str
        The CSV's file name.

    Returns
    -------
    str
        One sentence (empty when the CSV is not there).
    """
    if not ((tables or TABLES) / name).exists():
        return ""
    rows = _rows(name, tables)
    md = (tables or TABLES) / Path(name).with_suffix(".md")
    md = md.relative_to(ROOT) if md.is_relative_to(ROOT) else md
    commits = sorted({c.replace("+dirty", " (with uncommitted edits)")
                      for r in rows for c in r["commit"].split()})
    loads = [float(r["load1"]) for r in rows if r.get("load1")]
    load = f"; 1-minute load average up to {max(loads):.1f}" if loads else ""
    return (f"Measured at commit {', '.join(commits)}: {len(rows)} rows{load}; the machine, "
            f"the command and every runtime's settings and version head `{md}`.")


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


README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- results-table (\w+) -->\n)(.*?)(\n<!-- /results-table -->)", re.S)


def update_readme(path: Path = README, tables: Path | None = None) -> list[str]:
    """Re-render every block of ``path`` between ``<!-- results-table NAME -->`` and
    ``<!-- /results-table -->`` with the renderer ``NAME`` (:data:`RENDERERS`).

    Parameters
    ----------
    path : pathlib.Path
        The Markdown file (default: the README).
    tables : pathlib.Path, optional
        The results folder (default: the committed ``results/tables``).

    Returns
    -------
    list of str
        The names of the blocks whose text changed.
    """
    text = path.read_text()
    changed = []

    def render(m):
        new = RENDERERS[m.group(2)](tables)
        if new != m.group(3):
            changed.append(m.group(2))
        return m.group(1) + new + m.group(4)

    path.write_text(BLOCK.sub(render, text))
    return changed


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
                       "where": directives.unchanged, "dir": directives.unchanged}

        def run(self):
            name = self.arguments[0]
            if name == "csv":
                file = self.options["file"]
                columns = self.options.get("columns")
                where = dict(kv.split("=", 1) for kv in self.options.get("where", "").split(",")
                             if kv)
                text = csv_table(file, columns.split(",") if columns else None, where=where)
                self.env.note_dependency(str(TABLES / file))
            elif "dir" in self.options:  # another machine's tables, in a folder of theirs
                text = {**RENDERERS, **DOC_ONLY}[name](TABLES / self.options["dir"])
            else:
                text = {**RENDERERS, **DOC_ONLY}[name]()
            self.env.note_dependency(str(TABLES))
            return self.parse_text_to_nodes(text)

    app.add_directive("results-table", ResultsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # python docs/_ext/results_tables.py --update-readme
    if sys.argv[1:] != ["--update-readme"]:
        sys.exit("usage: python docs/_ext/results_tables.py --update-readme")
    names = update_readme()
    print(f"README.md: re-rendered {', '.join(names)}" if names
          else "README.md: every rendered table is current")
