"""EDSR (Lim et al. 2017) as a layer graph.

``head`` conv 3->F; N residual blocks ``x + res_scale * conv(relu(conv(x)))``; ``body_conv``
F->F plus the global skip ``head``; upsampler (x2, x3: one conv F->s^2 F and a
pixel shuffle s; x4: conv F->4F + shuffle 2, twice); ``tail`` conv F->3. The network works
on ``x - 255 * DIV2K mean`` and its output gets the mean added back (see :class:`SRModel`).
"""

from __future__ import annotations

import numpy as np

from . import graph as g
from .model import SRModel

SCALES = (2, 3, 4)


def upsampler_steps(scale: int) -> list[int]:
    """Pixel-shuffle factors of the upsampler: x4 is two x2 steps.

    Parameters
    ----------
    scale : int
        The model's factor.

    Returns
    -------
    list of int
        One factor per conv + shuffle step.

    Examples
    --------
    >>> upsampler_steps(4), upsampler_steps(3)
    ([2, 2], [3])
    """
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
         backend="numpy", dtype=np.float32, seed: int = 0, fuse: bool = True,
         algo: str = g.ALGO) -> SRModel:
    """Build EDSR.

    Parameters
    ----------
    scale : {2, 3, 4}
        The upscaling factor.
    n_resblocks, n_feats : int
        Residual blocks N and feature channels F (thesis ``EDSR_x2``: 32, 256).
    res_scale : float
        Residual scaling inside the blocks (0.1 for the large model, 1 for the baseline).
    backend, dtype
        As for :class:`backends.Network`.
    seed : int
        Seed of the initialisation (:func:`.graph.init_like_torch`).
    fuse : bool
        Fuse the ReLU into ``body{i}_conv1`` and the residual sums into ``body{i}_conv2``
        and ``body_conv`` (same numbers, one pass over each activation fewer); ``False``
        builds separate Activation/Shortcut nodes.
    algo : str
        Algorithm of the 3x3 convolutions (default ``"auto"``).

    Returns
    -------
    SRModel
        Nodes ``head``, ``body{i}_conv1``, ``body{i}_conv2``, ``body_conv``, ``up{k}_conv``,
        ``up{k}_shuffle``, ``tail``; unfused also ``body{i}_conv1_relu``,
        ``body{i}_conv2_add`` and ``body_conv_add``. Parameter keys are the same either way.
    """
    _check(scale, n_resblocks, n_feats, res_scale)
    net = g.new_network(3, backend, dtype, seed)
    x = head = g.conv(net, "head", n_feats, algo=algo)
    for i in range(n_resblocks):
        r = g.conv_relu(net, f"body{i}_conv1", n_feats, inputs=[x], fuse=fuse, algo=algo)
        x = g.conv_add(net, f"body{i}_conv2", n_feats, r, x, alpha=res_scale, fuse=fuse,
                       algo=algo)
    g.conv_add(net, "body_conv", n_feats, x, head, fuse=fuse, algo=algo)
    for k, s in enumerate(upsampler_steps(scale)):
        g.conv(net, f"up{k}_conv", s * s * n_feats, algo=algo)
        g.shuffle(net, f"up{k}_shuffle", s)
    g.conv(net, "tail", 3, algo=algo)
    g.init_like_torch(net, seed)
    config = {"scale": scale, "n_resblocks": n_resblocks, "n_feats": n_feats,
              "res_scale": float(res_scale)}
    return SRModel(net, arch="edsr", config=config, scale=scale,
                   mean=np.asarray(g.DIV2K_RGB_MEAN) * 255.0, norm=1.0)
