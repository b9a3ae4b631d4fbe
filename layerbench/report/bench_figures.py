"""Benchmark figures, pure functions of the timing table of :mod:`.bench` (``Figure`` out).

- :func:`time_vs_threads`: one layer, forward and backward, time against threads per backend
  (the thesis' layer figures);
- :func:`model_times`: each model's time per backend next to the thesis' seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from backends.registry import colours, labels

BACKEND_COLOURS = colours()  # backends and peers in the registry's order
BACKEND_LABELS = labels()
THREAD_FIGURES = {
    "conv_s1": "thesis_conv_s1", "conv_s2": "thesis_conv_s2",
    "maxpool3": "thesis_maxpool3", "maxpool30": "thesis_maxpool30",
    "shuffle6": "thesis_shuffle6_b2",
}
TITLES = {
    "thesis_conv_s1": "conv 3x3 s1, 100 filters, 16x512x512x3",
    "thesis_conv_s2": "conv 3x3 s2, 100 filters, 16x512x512x3",
    "thesis_maxpool3": "max-pool 3x3 s1, 16x512x512x3",
    "thesis_maxpool30": "max-pool 30x30 s20, 16x512x512x3",
    "thesis_shuffle6_b2": "pixel shuffle x6, 2x512x512x108",
}


def time_vs_threads(t: pd.DataFrame, item: str) -> Figure:
    """Forward and backward time of ``item`` against threads, one line per backend (im2col
    for convolutions).

    Parameters
    ----------
    t : pandas.DataFrame
        The timing rows.
    item : str
        The benchmarked layer.

    Returns
    -------
    matplotlib.figure.Figure
        Forward and backward panels.
    """
    rows = t[(t["item"] == item) & t["algo"].isin(["", "im2col"])]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, direction in zip(axes, ("forward", "backward"), strict=True):
        d = rows[rows["direction"] == direction]
        for backend in [b for b in BACKEND_COLOURS if b in set(d["backend"])]:
            g = d[d["backend"] == backend].sort_values("threads")
            ax.plot(g["threads"], g["value"], "o-", label=BACKEND_LABELS[backend],
                    color=BACKEND_COLOURS.get(backend))
        ax.set_title(direction)
        ax.set_xlabel("threads")
        ax.set_xticks(sorted(rows["threads"].dropna().unique()))
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("time [s]")
    axes[0].legend()
    fig.suptitle(TITLES.get(item, item))
    return fig


def model_times(t: pd.DataFrame, thesis: dict[str, float]) -> Figure:
    """Per model and input size, each backend's time at its largest measured thread count,
    with the thesis' seconds where the thesis gives one.

    Parameters
    ----------
    t : pandas.DataFrame
        The timing rows.
    thesis : dict of str to float
        The thesis' seconds per model item.

    Returns
    -------
    matplotlib.figure.Figure
        Grouped bars, one group per model item.
    """
    m = t[t["suite"] == "Models"]
    m = m.loc[m.groupby(["item", "backend"])["threads"].idxmax()]
    items = sorted(m["item"].unique())
    backends = [b for b in BACKEND_COLOURS if b in set(m["backend"])]
    fig = Figure(figsize=(max(6, 1.6 * len(items)), 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / (len(backends) + 1)
    x = np.arange(len(items))
    for k, backend in enumerate(backends):
        b = m[m["backend"] == backend].set_index("item").reindex(items)
        ax.bar(x + k * width, b["value"], width, label=BACKEND_LABELS[backend],
               color=BACKEND_COLOURS[backend])
    th = [thesis.get(i, np.nan) for i in items]
    ax.bar(x + len(backends) * width, th, width, label="thesis", color="grey", hatch="//")
    ax.set_xticks(x + width * len(backends) / 2, items, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("time [s] (largest thread count measured)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def all_figures(t: pd.DataFrame, thesis: dict[str, float]) -> dict[str, Figure]:
    """Every figure the data allow, by file stem (``thesis``: the thesis' seconds per model
    item, for :func:`model_times`).

    Parameters
    ----------
    t : pandas.DataFrame
        The timing rows (``report.bench.timings``).
    thesis : dict of str to float
        The thesis' seconds per model item.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        File stem to figure.
    """
    out = {}
    for name, item in THREAD_FIGURES.items():
        if (t["item"] == item).any():
            out[f"threads_{name}"] = time_vs_threads(t, item)
    if (t["suite"] == "Models").any():
        out["models"] = model_times(t, thesis)
    return out
