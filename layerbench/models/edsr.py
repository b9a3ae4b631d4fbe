"""EDSR (Lim et al. 2017) as a layer graph.

``head`` conv 3->F; N residual blocks ``x + res_scale * conv(relu(conv(x)))``; ``body_conv``
F->F; global skip ``body_add = body_conv + head``; upsampler (x2, x3: one conv F->s^2 F and a
pixel shuffle s; x4: conv F->4F + shuffle 2, twice); ``tail`` conv F->3. The network works
on ``x - 255 * DIV2K mean`` and its output gets the mean added back (see :class:`SRModel`).
"""

from __future__ import annotations

import numpy as np

from . import graph as g
from .model import SRModel

SCALES = (2, 3, 4)


def upsampler_steps(scale: int) -> list[int]:
    """Pixel-shuffle factors of the upsampler: x4 is two x2 steps."""
    return [2, 2] if scale == 4 else [scale]


def _check(scale, n_resblocks, n_feats, res_scale):
    from backends.errors import SpecError, expected

    if scale not in SCALES:
        raise SpecError(expected("scale", f"one of {SCALES}", scale))
    for name, v in (("n_resblocks", n_resblocks), ("n_feats", n_feats)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise SpecError(expected(name, "an integer >= 1", v))
    if not np.isfinite(res_scale):
        raise SpecError(expected("res_scale", "a finite number", res_scale))


def edsr(scale: int = 2, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, *,
         backend="numpy", dtype=np.float32, seed: int = 0) -> SRModel:
    """Build EDSR.

    Parameters
    ----------
    scale : {2, 3, 4}
    n_resblocks, n_feats : int
        Residual blocks N and feature channels F (thesis ``EDSR_x2``: 32, 256).
    res_scale : float
        Residual scaling inside the blocks (0.1 for the large model, 1 for the baseline).
    backend, dtype
        As for :class:`backends.Network`.
    seed : int
        Seed of the initialisation (:func:`.graph.init_like_torch`).

    Returns
    -------
    SRModel
        Nodes ``head``, ``body{i}_conv1``, ``body{i}_relu``, ``body{i}_conv2``,
        ``body{i}_add``, ``body_conv``, ``body_add``, ``up{k}_conv``, ``up{k}_shuffle``,
        ``tail``.
    """
    _check(scale, n_resblocks, n_feats, res_scale)
    net = g.new_network(3, backend, dtype, seed)
    x = head = g.conv(net, "head", n_feats)
    for i in range(n_resblocks):
        g.conv(net, f"body{i}_conv1", n_feats, inputs=[x])
        g.relu(net, f"body{i}_relu")
        r = g.conv(net, f"body{i}_conv2", n_feats)
        x = g.add(net, f"body{i}_add", r, x, alpha=res_scale)
    g.conv(net, "body_conv", n_feats, inputs=[x])
    g.add(net, "body_add", "body_conv", head)
    for k, s in enumerate(upsampler_steps(scale)):
        g.conv(net, f"up{k}_conv", s * s * n_feats)
        g.shuffle(net, f"up{k}_shuffle", s)
    g.conv(net, "tail", 3)
    g.init_like_torch(net, seed)
    config = {"scale": scale, "n_resblocks": n_resblocks, "n_feats": n_feats,
              "res_scale": float(res_scale)}
    return SRModel(net, arch="edsr", config=config, scale=scale,
                   mean=np.asarray(g.DIV2K_RGB_MEAN) * 255.0, norm=1.0)
