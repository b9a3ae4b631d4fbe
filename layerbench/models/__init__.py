"""Super-resolution models as layer graphs on any backend: EDSR, WDSR-A/B, bicubic.

>>> from layerbench import models
>>> net = models.edsr(scale=2, n_resblocks=16, n_feats=64, res_scale=1.0, backend="numpy")
>>> net.num_params()
1369859
>>> sr = net.super_resolve(lr_uint8_hwc)          # doctest: +SKIP
>>> models.pretrained_names()                     # doctest: +SKIP
"""

from .bicubic import bicubic
from .edsr import edsr
from .model import SRModel
from .presets import PRESETS, build, preset, pretrained, pretrained_names
from .wdsr import wdsr_a, wdsr_b

__all__ = [
    "PRESETS", "SRModel", "bicubic", "build", "edsr", "preset", "pretrained",
    "pretrained_names", "wdsr_a", "wdsr_b",
]
