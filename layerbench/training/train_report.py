"""Model-card material from training runs: validation curves (figure) and a history table.

    layerbench train-report OUT.png RUN_DIR [RUN_DIR ...]
    layerbench train-report --control MODEL [MODEL ...]

The first reads ``RUN_DIR/summary.json`` (written by ``layerbench train``), writes the figure
and prints a markdown table of the validation PSNR every ``every`` steps beside the run's
bicubic. ``--control`` scores shipped models on the held-out *photographs* degraded the MRI
way (:func:`degradation_control`): a model that learned the degradation gains there too, one
that memorised the brain volume does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from matplotlib.figure import Figure


def load(run_dir) -> dict:
    """Read a training run's ``summary.json``.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run directory.

    Returns
    -------
    dict
        The summary, with ``run`` set to the directory's name.
    """
    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    summary["run"] = Path(run_dir).name
    return summary


def validation_curves(runs: list[dict]) -> Figure:
    """Validation PSNR vs step of each run (one panel per model), bicubic dotted.

    Parameters
    ----------
    runs : list of dict
        Run summaries (``model``, ``run``, ``history``, ``val_bicubic_psnr``, ``init``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per model.
    """
    models = list(dict.fromkeys(r["model"] for r in runs))
    fig = Figure(figsize=(5.2 * len(models), 3.6), layout="constrained")
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, model in zip(axes, models, strict=True):
        for r in (r for r in runs if r["model"] == model):
            h = r["history"]
            ax.plot([x["step"] for x in h], [x["val_psnr"] for x in h], marker="o", ms=3,
                    label=f"{r['run']} ({'fine-tuned' if r.get('init') else 'from scratch'})")
        ax.axhline(r["val_bicubic_psnr"], color="goldenrod", ls=":", label="bicubic")
        ax.set_xlabel("training step")
        ax.set_ylabel("validation PSNR (dB)")
        ax.set_title(model)
        ax.legend(fontsize=8)
    fig.suptitle("Validation PSNR on held-out axial slices (not scored by the experiment)")
    return fig


def history_table(runs: list[dict], every: int = 200) -> str:
    """Markdown table of validation PSNR per step, one column per run.

    Parameters
    ----------
    runs : list of dict
        Summaries from ``load``.
    every : int, default 200
        Row spacing in steps (each run's last step is always a row).

    Returns
    -------
    str
        The Markdown table.
    """
    steps = sorted({x["step"] for r in runs for x in r["history"]
                    if x["step"] % every == 0 or x["step"] == r["steps"]})
    from layerbench import markdown

    rows = []
    for r in runs:
        by = {x["step"]: x["val_psnr"] for x in r["history"]}
        rows.append([r["run"], f"{r['val_bicubic_psnr']:.2f}",
                     *(f"{by[s]:.2f}" if s in by else "" for s in steps),
                     f"{r['wall_time_s']:.0f} s"])
    return markdown.text(["run", "bicubic", *steps, "wall time"], rows)


def degradation_control(names, photos=None) -> str:
    """PSNR/SSIM of shipped models and cv2 bicubic on held-out photographs (grey, replicated
    to RGB) degraded by the MRI experiment's default ``blur_resize`` (resize, then Gaussian
    blur 3x3, sigma 1); ``scale`` border pixels shaved. A markdown table.

    Parameters
    ----------
    names : iterable of str
        Shipped model names.
    photos : iterable of str, optional
        scikit-image samples (default ``VALIDATION``).

    Returns
    -------
    str
        The Markdown table.
    """
    import numpy as np

    from layerbench.data import degrade
    from layerbench.models.presets import pretrained

    from .evaluate import scores
    from .trainset import VALIDATION, load_image
    from .trainset_mri import rgb

    rows = []
    for name in names:
        model = pretrained(name)
        s = model.scale
        for photo in photos or VALIDATION:
            grey = np.rint(load_image(photo).mean(axis=2)).astype(np.uint8)
            hr = grey[: grey.shape[0] // s * s, : grey.shape[1] // s * s]
            lr = degrade.blur_resize(hr, s)
            p, ss = scores(model.super_resolve(rgb(lr)), rgb(hr), s)
            pb, sb = scores(rgb(degrade.upscale(lr, s, "bicubic")), rgb(hr), s)
            rows.append([name, photo, f"{p:.2f}", f"{pb:.2f}", f"{p - pb:+.2f}", f"{ss:.4f}",
                         f"{sb:.4f}"])
    from layerbench import markdown

    return markdown.text(["model", "image", "PSNR dB", "bicubic PSNR dB", "gain dB", "SSIM",
                          "bicubic SSIM"], rows)


def main(argv=None) -> None:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` when omitted.
    """
    from layerbench.cli import parser

    ap = parser("train-report", __doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[2],
                usage="%(prog)s OUT.png RUN_DIR [RUN_DIR ...]\n"
                      "       %(prog)s --control MODEL [MODEL ...]")
    ap.add_argument("--control", action="store_true",
                    help="score the models named by ARG on held-out photos degraded the MRI way")
    ap.add_argument("args", nargs="+", metavar="ARG",
                    help="OUT.png RUN_DIR [RUN_DIR ...]; with --control: MODEL [MODEL ...]")
    a = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if a.control:
        print(degradation_control(a.args))
        return
    if len(a.args) < 2:
        ap.error("expected OUT.png and at least one RUN_DIR")
    out, dirs = Path(a.args[0]), a.args[1:]
    runs = [load(d) for d in dirs]
    validation_curves(runs).savefig(out, dpi=90, metadata={"Software": None})
    print(history_table(runs))

