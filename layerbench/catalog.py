"""``layerbench models``: every model preset and shipped weight file, with what it expects.

One row per preset of :data:`layerbench.models.PRESETS`: architecture, scale, parameters,
whether trained weights ship with the package (and the file's SHA-256), the data they were
trained on, the degradation they expect, and their scores on held-out data: the photo
models' final validation PSNR on the held-out photos (from the weight file's header), the
MRI models' gain over bicubic on the clean MNI152 slices (from
``results/tables/mri_trained_models.csv`` when that table is present).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

from layerbench.confdir import TABLES

MRI_TABLE = "mri_trained_models.csv"
COLUMNS = ("name", "architecture", "scale", "parameters", "weights", "training_data",
           "degradation", "held_out", "sha256")

# the thesis presets take weights from their authors' releases (load_weights .pt / .h5)
THESIS = {"edsr_x2", "edsr_baseline_x2", "edsr_baseline_x4", "wdsr_a_x4"}


def _describe(config: dict) -> str:
    arch = config["arch"]
    if arch == "bicubic":
        return "bicubic (Keys a=-0.5)"
    extra = f", expansion {config['expansion']}" if "expansion" in config else ""
    return (f"{arch.upper().replace('_', '-')}, {config['n_resblocks']} blocks, "
            f"{config['n_feats']} features{extra}")


def _header(path: Path) -> dict:
    from layerbench.models.weights_npz import read_header

    return read_header(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mri_scores(tables: Path) -> dict[str, str]:
    """``{preset: "T1 +7.67 dB, T2 +9.77 dB"}`` from the clean rows of the MRI table."""
    path = tables / MRI_TABLE
    if not path.is_file():
        return {}
    scores: dict[str, list[str]] = {}
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            if r.get("variant") == "clean":
                scores.setdefault(r["preset"], []).append(
                    f"{r['weight']} {float(r['gain_db']):+.2f} dB")
    return {k: "MNI152 clean slices vs bicubic: " + ", ".join(v) for k, v in scores.items()}


def entries(tables: str | Path = TABLES) -> list[dict]:
    """One dict per preset with the keys of :data:`COLUMNS`.

    Parameters
    ----------
    tables : path-like
        The results tables directory holding ``mri_trained_models.csv`` (optional).

    Returns
    -------
    list of dict
        ``weights`` is the shipped file's name or ``None``; ``sha256`` its hash or ``None``;
        ``held_out`` a sentence, or ``None`` when no held-out score is known.
    """
    from layerbench.models import PRESETS, preset, pretrained_names
    from layerbench.models.presets import WEIGHTS_DIR

    shipped = set(pretrained_names())
    mri = _mri_scores(Path(tables))
    rows = []
    for name, config in PRESETS.items():
        row = {"name": name, "architecture": _describe(config), "scale": config["scale"],
               "parameters": preset(name).num_params(), "weights": None,
               "training_data": None, "degradation": None, "held_out": None, "sha256": None}
        if config["arch"] == "bicubic":
            row.update(training_data="none (fixed kernel)", degradation="any")
        elif name in THESIS:
            row.update(training_data="DIV2K (authors' release; load_weights .pt/.h5)",
                       degradation="bicubic (MATLAB imresize)")
        if name in shipped:
            path = WEIGHTS_DIR / f"{name}.npz"
            train = _header(path).get("training", {})
            data = train.get("data", {})
            row.update(weights=path.name, sha256=_sha256(path))
            if data.get("kind") == "mri":
                d = data.get("degrade", {})
                init = (train.get("init") or "random init").split(" (")[0]
                row.update(
                    training_data=f"MNI152 {'+'.join(data['dataset']['weights'])} slices, "
                                  f"{train['steps']} steps from {init}",
                    degradation=f"resize then {d.get('ksize')}x{d.get('ksize')} Gaussian "
                                f"sigma {d.get('sigma')}")
                row["held_out"] = mri.get(name)
            else:
                row.update(training_data=f"scikit-image photos ({len(data.get('train', []))}"
                                         f" images), {train.get('steps')} steps",
                           degradation="antialiased bicubic (MATLAB imresize)")
                if train.get("history"):
                    row["held_out"] = (
                        f"{', '.join(data.get('val', []))}: "
                        f"{train['history'][-1]['val_psnr']:.2f} dB PSNR "
                        f"(bicubic {train['val_bicubic_psnr']:.2f} dB)")
        elif name.endswith("_scratch"):
            row.update(training_data="comparison run only (weights not shipped)",
                       held_out=mri.get(name))
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (``-`` for unknown cells).

    Parameters
    ----------
    rows : list of dict
        Rows with the keys of :data:`COLUMNS`, as :func:`entries` gives them.

    Returns
    -------
    str
        The header, the separator and one line per row.

    Examples
    --------
    >>> row = dict.fromkeys(COLUMNS)
    >>> row.update(name="bicubic_x2", architecture="bicubic", scale=2, parameters=0)
    >>> print(table([row]).splitlines()[2])
    | bicubic_x2 | bicubic | 2 | 0 | - | - | - | - | - |
    """
    from layerbench import markdown

    def cell(row, key):
        v = row[key]
        if v is None:
            return "-"
        if key == "parameters":
            return f"{v:,}"
        if key == "sha256":
            return v[:16]
        return str(v)

    return markdown.text(COLUMNS, ([cell(r, k) for k in COLUMNS] for r in rows))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments on ``p``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of objects (full SHA-256) instead of the table")
    p.add_argument("--tables", type=Path, default=Path(TABLES),
                   help=f"results tables read for held-out scores ({MRI_TABLE})")


def run(a: argparse.Namespace) -> None:
    """Print the catalogue as a table, or JSON with ``--json``.

    Parameters
    ----------
    a : argparse.Namespace
        The arguments :func:`add_arguments` declares.
    """
    rows = entries(a.tables)
    print(json.dumps(rows, indent=1) if a.json else table(rows), end="" if not a.json else "\n")
