"""WDSR-A and WDSR-B (Yu et al. 2018) as layer graphs, laid out as krasserm's Keras models.

main: ``head`` conv 3->F; N blocks; ``main_conv`` F->3 s^2 (Keras ``conv2d_main_scale_{s}``);
pixel shuffle s. skip: ``skip_conv`` 5x5 3->3 s^2 (``conv2d_skip_scale_{s}``); pixel shuffle
s. ``output = main + skip``. Input ``(x - 255 mean) / 127.5``, output ``* 127.5 + 255 mean``.

Block A: ``x + res_scale * conv3x3(relu(conv3x3(x)))`` with F e channels in between.
Block B: ``x + res_scale * conv3x3(conv1x1(relu(conv1x1(x))))`` with F e, then int(0.8 F).

``border="symmetric"`` reproduces krasserm's test-time border handling: the normalised input
is padded by 2 pixels (SYMMETRIC, edge pixel repeated) and ``head``, ``main_conv`` and
``skip_conv`` use valid convolutions; ``border="same"`` zero-pads every convolution.
"""

from __future__ import annotations

import numpy as np

from backends.errors import SpecError, expected

from . import graph as g
from .model import SRModel

BORDERS = ("same", "symmetric")


def _wdsr(block: str, scale, n_resblocks, n_feats, expansion, res_scale, border, backend,
          dtype, seed, fuse=True, algo=g.ALGO) -> SRModel:
    for name, v in (("scale", scale), ("n_resblocks", n_resblocks), ("n_feats", n_feats),
                    ("expansion", expansion)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise SpecError(expected(name, "an integer >= 1", v))
    if border not in BORDERS:
        raise SpecError(expected("border", f"one of {BORDERS}", border))
    edge = "valid" if border == "symmetric" else "same"
    net = g.new_network(3, backend, dtype, seed)
    x = g.conv(net, "head", n_feats, padding=edge, algo=algo)
    for i in range(n_resblocks):
        if block == "a":
            r = g.conv_relu(net, f"block{i}_expand", n_feats * expansion, inputs=[x],
                            fuse=fuse, algo=algo)
        else:
            r = g.conv_relu(net, f"block{i}_expand", n_feats * expansion, 1, inputs=[x],
                            fuse=fuse, algo=algo)
            r = g.conv(net, f"block{i}_linear", int(n_feats * 0.8), 1, algo=algo)
        x = g.conv_add(net, f"block{i}_reduce", n_feats, r, x, alpha=res_scale, fuse=fuse,
                       algo=algo)
    g.conv(net, "main_conv", 3 * scale * scale, padding=edge, inputs=[x], algo=algo)
    main = g.shuffle(net, "main_shuffle", scale)
    g.conv(net, "skip_conv", 3 * scale * scale, 5, padding=edge, inputs=["input"], algo=algo)
    skip = g.shuffle(net, "skip_shuffle", scale)
    g.add(net, "output", main, skip)
    g.init_like_torch(net, seed)
    config = {"scale": scale, "n_resblocks": n_resblocks, "n_feats": n_feats,
              "expansion": expansion, "res_scale": float(res_scale), "border": border}
    return SRModel(net, arch=f"wdsr_{block}", config=config, scale=scale,
                   mean=np.asarray(g.DIV2K_RGB_MEAN) * 255.0, norm=127.5,
                   pad=2 if border == "symmetric" else 0)


def wdsr_a(scale: int = 4, n_resblocks: int = 8, n_feats: int = 32, expansion: int = 4,
           res_scale: float = 1.0, *, border: str = "same", backend="numpy",
           dtype=np.float32, seed: int = 0, fuse: bool = True, algo: str = g.ALGO) -> SRModel:
    """Build WDSR-A (thesis ``WDSR_x4_A``: scale 4, N=32, F=32, expansion 6).

    Nodes: ``head``, ``block{i}_expand`` (ReLU fused), ``block{i}_reduce`` (residual sum
    fused), ``main_conv``, ``main_shuffle``, ``skip_conv``, ``skip_shuffle``, ``output``;
    ``fuse=False`` adds ``block{i}_expand_relu`` and ``block{i}_reduce_add`` nodes instead
    (same parameter keys).

    Parameters
    ----------
    scale : int, default 4
        The upscaling factor.
    n_resblocks : int, default 8
        Residual blocks N.
    n_feats : int, default 32
        Feature channels F.
    expansion : int, default 4
        Channel expansion e before each block's ReLU (F e channels).
    res_scale : float, default 1.0
        Multiplier of each residual branch.
    border : {"same", "symmetric"}, default "same"
        Zero-padded convolutions, or krasserm's test-time border (see the module docstring).
    backend, dtype
        As for :class:`backends.Network`.
    seed : int, default 0
        Seed of the initialisation.
    fuse : bool, default True
        Fuse the ReLU and the residual sums into the convolutions (same numbers).
    algo : str
        Algorithm of the 3x3 convolutions, as in :func:`layerbench.models.edsr.edsr`.

    Returns
    -------
    SRModel
        The untrained model (input normalised by ``(x - 255 mean) / 127.5``).

    Raises
    ------
    SpecError
        A size is not a positive integer, or ``border`` is unknown.
    """
    return _wdsr("a", scale, n_resblocks, n_feats, expansion, res_scale, border, backend,
                 dtype, seed, fuse, algo)


def wdsr_b(scale: int = 4, n_resblocks: int = 8, n_feats: int = 32, expansion: int = 6,
           res_scale: float = 1.0, *, border: str = "same", backend="numpy",
           dtype=np.float32, seed: int = 0, fuse: bool = True, algo: str = g.ALGO) -> SRModel:
    """Build WDSR-B (blocks: 1x1 expand, ReLU, 1x1 to int(0.8 F), 3x3 to F).

    Nodes as :func:`wdsr_a` plus ``block{i}_linear``.

    Parameters
    ----------
    scale, n_resblocks, n_feats, expansion, res_scale, border, backend, dtype, seed, fuse, algo
        As in :func:`wdsr_a` (here ``expansion`` defaults to 6).

    Returns
    -------
    SRModel
        The untrained model.
    """
    return _wdsr("b", scale, n_resblocks, n_feats, expansion, res_scale, border, backend,
                 dtype, seed, fuse, algo)
