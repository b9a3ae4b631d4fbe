"""Make ``edsr_tiny_x2.pt`` and ``edsr_tiny_x2_io.npz`` with real PyTorch (run once).

How the committed fixture was made (torch is not a dependency of the project or its tests):

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/layerbench/models/data/make_pt_fixture.py

The module tree reproduces EDSR-PyTorch's parameter names (``sub_mean``, ``head.0``,
``body.{i}.body.{0,2}``, ``body.{N}``, ``tail.0.0``, ``tail.1``, ``add_mean``) for a tiny
EDSR x2 (2 blocks, 8 features, res_scale 0.1, rgb_range 255). The ``_io.npz`` holds an input
in [0, 255] (NCHW -> stored NHWC) and PyTorch's output for it, so the test checks our import
against PyTorch's own arithmetic, CRD pixel shuffle included.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

MEAN = (0.4488, 0.4371, 0.4040)
HERE = Path(__file__).parent


class MeanShift(nn.Conv2d):
    def __init__(self, sign):
        super().__init__(3, 3, 1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * 255.0 * torch.tensor(MEAN)
        self.requires_grad_(False)


class Block(nn.Module):
    def __init__(self, f, res_scale):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(True),
                                  nn.Conv2d(f, f, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.body(x) * self.res_scale


class EDSR(nn.Module):
    def __init__(self, n=2, f=8, scale=2, res_scale=0.1):
        super().__init__()
        self.sub_mean, self.add_mean = MeanShift(-1), MeanShift(1)
        self.head = nn.Sequential(nn.Conv2d(3, f, 3, padding=1))
        self.body = nn.Sequential(*[Block(f, res_scale) for _ in range(n)],
                                  nn.Conv2d(f, f, 3, padding=1))
        self.tail = nn.Sequential(
            nn.Sequential(nn.Conv2d(f, 4 * f, 3, padding=1), nn.PixelShuffle(scale)),
            nn.Conv2d(f, 3, 3, padding=1))

    def forward(self, x):
        x = self.head(self.sub_mean(x))
        return self.add_mean(self.tail(self.body(x) + x))


if __name__ == "__main__":
    torch.manual_seed(0)
    model = EDSR().double()
    for p in model.parameters():  # spread the weights so that a wrong layout shows
        if p.requires_grad:
            p.data.uniform_(-0.3, 0.3)
    model.float()
    torch.save(model.state_dict(), HERE / "edsr_tiny_x2.pt")
    x = torch.rand(1, 3, 7, 9, dtype=torch.float64) * 255
    model.double()
    # the float32 mean buffers would round 255 * mean; PyTorch's output is meant to check
    # the imported convolutions and pixel shuffle, so shift by the exact mean
    for shift, sign in ((model.sub_mean, -1), (model.add_mean, 1)):
        shift.bias.data = sign * 255.0 * torch.tensor(MEAN, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)
    np.savez(HERE / "edsr_tiny_x2_io.npz", x=x.numpy().transpose(0, 2, 3, 1),
             y=y.numpy().transpose(0, 2, 3, 1), torch_version=np.array(torch.__version__))
    print("wrote", HERE / "edsr_tiny_x2.pt", "with torch", torch.__version__)
