"""
A smoke experiment, from run to plot
====================================

``experiment=div2k_smoke`` runs the DIV2K-style pipeline on two photographs with tiny
*untrained* models, in seconds: data, models, scoring, shard tables and the report. Its SR
scores mean nothing (the weights are random); the interpolation baselines are real. Here it
runs in a temporary folder and its interpolation table is plotted.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

out = Path(tempfile.mkdtemp(prefix="layerbench-smoke-"))
command = [sys.executable, "-c", "from layerbench.cli import main; main()", "reproduce",
           "experiment=div2k_smoke", f"output.root={out / 'runs'}", f"report.out={out}",
           "output.progress=false", f"hydra.run.dir={out / 'hydra'}"]
subprocess.run(command, check=True, capture_output=True)

table = pd.read_csv(out / "tables" / "div2k_interpolation.csv")
print(table[["scale", "method", "psnr", "ssim"]].to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 3.4))
for method, rows in table.groupby("method"):
    ax.plot(rows["scale"], rows["psnr"], marker="o", label=method)
ax.set_xticks(sorted(table["scale"].unique()))
ax.set_xlabel("scale")
ax.set_ylabel("PSNR (dB), mean over the images")
ax.set_title("Interpolation baselines of the smoke run")
ax.legend()
fig.tight_layout()
plt.show()
