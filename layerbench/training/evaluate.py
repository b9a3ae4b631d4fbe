"""Score models against bicubic on the held-out images (the numbers of the model card).

PSNR and SSIM on RGB uint8 images, ``scale`` border pixels shaved (as EDSR's evaluation);
SSIM is scikit-image's ``structural_similarity(data_range=255, channel_axis=-1)``.

    layerbench evaluate edsr_small_x2 wdsr_a_small_x4 [--backend numpy]
"""

from __future__ import annotations

import numpy as np

from layerbench.models.bicubic import bicubic
from layerbench.models.presets import preset, pretrained

from .trainset import VALIDATION, pair


def scores(sr: np.ndarray, hr: np.ndarray, shave: int) -> tuple[float, float]:
    """``(psnr_db, ssim)`` of uint8 images with ``shave`` border pixels ignored.

    Parameters
    ----------
    sr, hr : numpy.ndarray
        Output and reference, uint8 H x W x 3.
    shave : int
        Border pixels ignored on each side.

    Returns
    -------
    psnr_db, ssim : float
        scikit-image's PSNR (range 255) and SSIM (channels averaged).
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = sr[shave:-shave, shave:-shave], hr[shave:-shave, shave:-shave]
    return (float(peak_signal_noise_ratio(b, a, data_range=255)),
            float(structural_similarity(b, a, data_range=255, channel_axis=-1)))


def evaluate(model, names=VALIDATION) -> list[dict]:
    """One row per image: PSNR/SSIM of ``model`` and of bicubic, and the margins.

    Parameters
    ----------
    model : SRModel
        The model scored.
    names : iterable of str, default ``VALIDATION``
        Held-out scikit-image samples.

    Returns
    -------
    list of dict
        ``image``, ``size``, ``psnr``, ``ssim``, their bicubic values and gains.
    """
    rows = []
    base = bicubic(model.scale)
    for name in names:
        lr, hr = pair(name, model.scale)
        p, s = scores(model.super_resolve(lr), hr, model.scale)
        pb, sb = scores(base.super_resolve(lr), hr, model.scale)
        rows.append({"image": name, "size": f"{hr.shape[1]}x{hr.shape[0]}", "psnr": p,
                     "ssim": s, "bicubic_psnr": pb, "bicubic_ssim": sb,
                     "psnr_gain": p - pb, "ssim_gain": s - sb})
    return rows


def markdown(name: str, rows: list[dict]) -> str:
    """Markdown table of a model's PSNR against bicubic, per data set.

    Parameters
    ----------
    name : str
        The model's name (first cell).
    rows : list of dict
        Evaluation rows with ``psnr`` and ``bicubic_psnr``.

    Returns
    -------
    str
        The Markdown table.
    """
    from layerbench import markdown

    def line(label, r, gain):  # None: the blank first cell under the model's name
        return [None, label, f"{r['psnr']:.2f}", f"{r['bicubic_psnr']:.2f}", gain,
                f"{r['ssim']:.4f}", f"{r['bicubic_ssim']:.4f}"]

    mean = {k: np.mean([r[k] for r in rows]) for k in ("psnr", "bicubic_psnr", "psnr_gain",
                                                       "ssim", "bicubic_ssim")}
    return "\n".join(markdown.table(
        [name, "image (HR)", "PSNR dB", "bicubic PSNR dB", "gain dB", "SSIM", "bicubic SSIM"],
        [*(line(f"{r['image']} ({r['size']})", r, f"{r['psnr_gain']:+.2f}") for r in rows),
         line("**mean**", mean, f"**{mean['psnr_gain']:+.2f}**")]))


def main(argv=None) -> None:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` when omitted.
    """
    from layerbench.cli import parser

    ap = parser("evaluate", __doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="shipped model names (or a path with --weights)")
    ap.add_argument("--backend", default="numpy", help="backend the models run on")
    ap.add_argument("--weights", help="score this .npz instead of the shipped weights")
    args = ap.parse_args(argv)
    for name in args.names:
        if args.weights:
            model = preset(name, backend=args.backend)
            model.load_weights(args.weights)
        else:
            model = pretrained(name, backend=args.backend)
        print(markdown(name, evaluate(model)))

