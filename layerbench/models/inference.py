"""Memory-bounded inference, planned: how :class:`backends.Network` runs one image.

Execution is :meth:`backends.Network.predict` (row bands, :mod:`backends.bands`) and
:meth:`backends.Network.split`; this module plans it. Both are exact rearrangements of the
same arithmetic:

* a convolution's output rows ``[a, b)`` depend only on input rows ``[a - top, b + bottom)``
  (``top``/``bottom`` the kernel's reach), so running a band with that halo and keeping its
  inner rows gives the rows of the full run; only the working set (im2col) shrinks;
* a model output pixel depends on input pixels within its receptive radius, so a tile with
  a margin at least that radius gives the core of the full run.

Bitwise equality also needs the kernel to reduce each output element in the same order
whatever the array size; BLAS GEMMs do in practice, so the tests compare with the tolerance
table's budget (see ``tests/layerbench/models/test_tiling.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backends.bands import BAND_BYTES, band_rows, bounded


def tiles(size: int, core: int) -> list[tuple[int, int]]:
    """Split ``range(size)`` into consecutive ``[a, b)`` cores of at most ``core``.

    Parameters
    ----------
    size : int
        Pixels along the axis.
    core : int
        Largest core.

    Returns
    -------
    list of (int, int)
        The ``[a, b)`` ranges, in order.

    Examples
    --------
    >>> tiles(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    return [(a, min(a + core, size)) for a in range(0, size, core)]


def run_tiled(run, x: np.ndarray, *, scale: int, shrink: int, tile, overlap: int,
              out_channels: int, progress=None) -> np.ndarray:
    """Apply ``run`` (NHWC -> NHWC, output ``scale * (input - 2 shrink)``) tile by tile.

    Parameters
    ----------
    run : callable
        NHWC array to NHWC array (a network's ``predict``).
    x : numpy.ndarray
        The network input (already padded by ``shrink`` on each side when the model uses
        valid convolutions at the border).
    scale : int
        Output pixels per input pixel.
    shrink : int
        Border pixels ``run`` consumes on each side.
    tile : int or (int, int)
        Core of each tile in input pixels, ``(rows, cols)`` or square.
    overlap : int
        Extra pixels of context on every side of a core that exists.
    out_channels : int
        Channels of ``run``'s output.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tile.

    Returns
    -------
    numpy.ndarray
        ``(N, scale H, scale W, out_channels)``, ``H, W`` the unpadded input size; equal to
        the untiled run when ``overlap`` covers the receptive radius.
    """
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tile
    n, hp, wp, _ = x.shape
    h, w = hp - 2 * shrink, wp - 2 * shrink
    out = None
    total, done = len(tiles(h, tile_h)) * len(tiles(w, tile_w)), 0
    for a, b in tiles(h, tile_h):
        lo_h, hi_h = max(0, a - overlap), min(h, b + overlap)
        for c, d in tiles(w, tile_w):
            lo_w, hi_w = max(0, c - overlap), min(w, d + overlap)
            part = np.ascontiguousarray(x[:, lo_h : hi_h + 2 * shrink, lo_w : hi_w + 2 * shrink])
            y = run(part)
            if out is None:
                out = np.empty((n, h * scale, w * scale, out_channels), dtype=y.dtype)
            out[:, a * scale : b * scale, c * scale : d * scale] = y[
                :, (a - lo_h) * scale : (b - lo_h) * scale, (c - lo_w) * scale : (d - lo_w) * scale
            ]
            del y, part
            done += 1
            if progress is not None:
                progress(done, total)
    return out


# -- the memory budget and the tile plan ----------------------------------------------------
# Default working-set budget of super_resolve (activations plus convolution workspace and
# the input/output copies, not the weights or the interpreter): 896 MiB. EDSR x2 (40.7 M
# parameters) on the thesis' 510x339 image needs 1.35 GiB untiled (the 1024-channel
# upsampler activation and its shuffled copy); under 896 MiB the plan runs the body
# untiled and the upsampler and tail in two column strips (recompute 1.001), and the
# process peaks at 1.1 GiB RSS (cython, 2 threads; with 0.2 GiB of weights and runtime
# before the call, and no Winograd transform over backends.winograd.CACHE_BYTES kept).
# By the same estimate 1 GiB would split after the upsampler conv (~1.5 GiB peak) and
# 768 MiB would no longer fit the untiled body (whole-model tiles, 1.8x the arithmetic).
MEMORY_BUDGET = 896 * 2**20


@dataclass(frozen=True)
class TilePlan:
    """How :meth:`SRModel.super_resolve` runs one image.

    ``kind``: ``"untiled"`` (one pass), ``"split"`` (the nodes up to ``cut`` on the whole
    image, the rest in tiles of the ``cut`` activation) or ``"tiled"`` (the whole model in
    tiles of the input). ``tile`` is the core ``(rows, cols)`` in pixels of what is tiled
    (the input, or the ``cut`` activation), ``overlap`` the context on each inner side.
    ``working_set`` is the estimated peak of activations and convolution workspace in
    bytes (:func:`working_set`); ``recompute`` the arithmetic done over the arithmetic of
    one untiled pass (1.0: no tiling tax).

    Parameters
    ----------
    kind : {"untiled", "split", "tiled"}
        The way it runs.
    tile : (int, int), optional
        Core of the tiles.
    overlap : int, default 0
        Context on each inner side of a tile.
    cut : str, optional
        The last node of the untiled head (``"split"``).
    working_set : int, default 0
        Estimated peak bytes.
    recompute : float, default 1.0
        Arithmetic over that of one untiled pass.
    """

    kind: str
    tile: tuple[int, int] | None = None
    overlap: int = 0
    cut: str | None = None
    working_set: int = 0
    recompute: float = 1.0


def _conv_workspace(spec, shape, band_bytes: int,
                    winograd: bool = True) -> tuple[int, int]:
    """``(rows per band, bytes of one band's workspace)`` of a convolution on ``shape``:
    per output pixel, the padded copy of the band's input (``C``) and the im2col buffer
    (``kh kw C``), or for any algorithm but im2col the larger of that and Winograd
    F(2x2,3x3)'s transformed input and output (16/4 per pixel each, ``4 (C + F)``: for a
    head convolution, 3 -> 256 channels in one band, that is 38x the im2col buffer, so it
    is not charged where it cannot occur); rows as :func:`backends.bands.forward_in_bands`
    sizes its bands from the im2col bytes. Checked against ``tracemalloc`` on the numpy backend
    (``tests/layerbench/models/test_tiling.py``): without the padded copy the estimate
    fell 7-9% short of the measured peak."""
    n, h, w, c = shape
    kh, kw = spec.kernel
    item = 4
    rows = h if spec.stride != (1, 1) else min(h, band_rows(spec, shape, band_bytes, item))
    per_pixel = c + kh * kw * c
    if winograd and getattr(spec, "algo", "im2col") != "im2col":
        per_pixel = c + max(kh * kw * c, 4 * (c + spec.filters))
    return rows, n * rows * w * per_pixel * item


def _may_run_winograd(layer) -> bool:
    """Whether the layer can run a Winograd algorithm: an explicit one, or ``auto`` on a
    backend whose kernels offer one (numpy and tensorflow run ``auto`` as im2col, so their
    plans are not charged a workspace they never allocate)."""
    algo = getattr(layer.spec, "algo", "im2col")
    if algo != "auto":
        return algo != "im2col"
    allowed = getattr(getattr(layer, "k", None), "AUTO_ALGOS", ("im2col",))
    return any(a != "im2col" for a in allowed)


def _sub_shapes(net, input_shape):
    shapes = {"input": tuple(input_shape)}
    for node in net.nodes.values():
        shapes[node.name] = tuple(node.layer.spec.output_shape(shapes[node.inputs[0]]))
    return shapes


def working_set(net, input_shape, band_bytes: int = BAND_BYTES, itemsize: int = 4) -> int:
    """Estimated peak bytes of ``net.predict(x, band_bytes=band_bytes)`` on ``input_shape``
    (NHWC).

    Walks the nodes in order keeping the live activations (each freed after its last use,
    the input and the output kept); at each node the peak is the live set, the node's
    output and, for a convolution, one band's workspace and output band (see
    :func:`_conv_workspace`).

    Parameters
    ----------
    net : backends.Network
        The network.
    input_shape : tuple of int
        NHWC input shape.
    band_bytes : int, default ``backends.bands.BAND_BYTES``
        Largest convolution workspace of one row band.
    itemsize : int, default 4
        Bytes per element (4: float32).

    Returns
    -------
    int
        Bytes.
    """
    shapes = _sub_shapes(net, input_shape)
    size = {k: itemsize * int(np.prod(v)) for k, v in shapes.items()}
    last_use: dict[str, str] = {}
    for node in net.nodes.values():
        for i in node.inputs:
            last_use[i] = node.name
    live = {"input": size["input"]}
    peak = sum(live.values())
    for node in net.nodes.values():
        extra = 0
        spec = node.layer.spec
        if spec.has_workspace:
            rows, work = _conv_workspace(spec, shapes[node.inputs[0]], band_bytes,
                                         _may_run_winograd(node.layer))
            band_out = size[node.name] * rows // max(1, shapes[node.name][1])
            extra = work + band_out
            if bounded(node.layer):
                # runs whole (forward_in_bands) into its output, already counted, with
                # per-thread chunk buffers of a few MB (bounded by a band): charging it a
                # band's im2col/Winograd workspace and output made EDSR x2 on 510x339
                # whole-model tiles at 1.53x the arithmetic instead of a 1.001x split
                extra = min(extra, band_bytes)
        peak = max(peak, sum(live.values()) + size[node.name] + extra)
        live[node.name] = size[node.name]
        for i in node.inputs:
            if last_use[i] == node.name and i != net.output and i != "input":
                live.pop(i, None)
    return int(peak)


def _flops(net, input_shape) -> dict[str, float]:
    """Arithmetic of every GEMM-like node (``spec.gemm_like``: the convolutions) on
    ``input_shape``, ``spec.flops``; others 0 (a pass over memory, not arithmetic a tile
    recomputes in any measurable amount). Only ratios of these are used."""
    shapes = _sub_shapes(net, input_shape)
    return {node.name: float(node.layer.spec.flops(shapes[node.inputs[0]]))
            if node.layer.spec.gemm_like else 0.0 for node in net.nodes.values()}


def cuts(net) -> list[str]:
    """Nodes after which exactly one value (that node's output) is read by later nodes
    (:meth:`backends.Network.crossing`), and after which every node keeps the grid
    (``spec.reach().same_grid``: stride-1 ``same`` convolutions, pixel-wise layers,
    shuffles), so the rest can be tiled with a margin and no border shrink.

    Parameters
    ----------
    net : backends.Network
        The network.

    Returns
    -------
    list of str
        Node names, in network order.
    """
    names = list(net.nodes)
    return [name for k, name in enumerate(names[:-1])
            if net.crossing(name) == {name}
            and all(net.nodes[n].layer.spec.reach().same_grid for n in names[k + 1 :])]


def _best_grid(ws, h: int, w: int, overlap: int, budget: int):
    """``(core rows, core cols, area factor, working set)`` of the tiling of an ``h x w``
    image that fits ``ws(rows, cols) <= budget`` with the least recomputed area (sum of
    tile areas with their margins over ``h w``); ``None`` if even one pixel does not fit.

    Cores are equal splits (``ceil(h / n)``) of ``n_h x n_w`` grids: for a number of tiles,
    equal cores recompute least."""
    best = None
    for n_h in range(1, h + 1):
        core_h = -(-h // n_h)
        if n_h > 1 and core_h == -(-h // (n_h - 1)):
            continue
        spans_h = [min(h, b + overlap) - max(0, a - overlap) for a, b in tiles(h, core_h)]
        if best is not None and sum(spans_h) / h >= best[2]:
            break  # more rows recompute at least this much whatever the columns
        if ws(max(spans_h), min(w, 1 + 2 * overlap)) > budget:
            continue  # even the thinnest columns do not fit: more rows needed
        for n_w in range(1, w + 1):
            core_w = -(-w // n_w)
            if n_w > 1 and core_w == -(-w // (n_w - 1)):
                continue
            spans_w = [min(w, b + overlap) - max(0, a - overlap) for a, b in tiles(w, core_w)]
            need = ws(max(spans_h), max(spans_w))
            if need <= budget:
                factor = sum(spans_h) * sum(spans_w) / (h * w)
                if best is None or factor < best[2]:
                    best = (core_h, core_w, factor, need)
                break  # more columns only add overlap
        if best is not None and best[2] == 1.0:
            break
    return best


def plan(net, input_shape, *, radius: int, shrink: int = 0, budget: int = MEMORY_BUDGET,
         band_bytes: int = BAND_BYTES, reserve: int = 0) -> TilePlan:
    """The cheapest way to run ``net`` on ``input_shape`` (NHWC, padded by ``shrink``) with a
    working set of at most ``budget`` bytes.

    Candidates: one untiled pass; for every cut (:func:`cuts`), the nodes up to the cut
    untiled and the rest in tiles of the cut activation (margin: the rest's receptive
    radius); the whole model in tiles (margin ``radius``). Each tiled candidate takes the
    grid of :func:`_best_grid`; the plan with the least recomputed arithmetic wins.
    ``reserve`` bytes of the budget are held back for what runs around the network (the
    caller's input and output copies).

    Parameters
    ----------
    net : backends.Network
        The network.
    input_shape : tuple of int
        NHWC input shape, padded by ``shrink``.
    radius : int
        The model's receptive radius (margin of whole-model tiles).
    shrink : int, default 0
        Border pixels the network consumes on each side.
    budget : int, default ``MEMORY_BUDGET``
        Bytes the plan may use.
    band_bytes : int, default ``backends.bands.BAND_BYTES``
        Largest convolution workspace of one row band.
    reserve : int, default 0
        Bytes held back from ``budget``.

    Returns
    -------
    TilePlan
        The plan with the least recomputed arithmetic.

    Raises
    ------
    MemoryError
        If no candidate fits (even one-pixel tiles exceed ``budget``), naming the budget.
    """
    from . import graph

    n, hp, wp, c = input_shape
    given, budget = budget, budget - reserve
    whole = working_set(net, input_shape, band_bytes)
    if whole <= budget:
        return TilePlan("untiled", working_set=whole)
    candidates = []
    h, w = hp - 2 * shrink, wp - 2 * shrink
    flops = _flops(net, input_shape)
    total = sum(flops.values()) or 1.0

    def ws_model(rows, cols):
        return working_set(net, (n, rows + 2 * shrink, cols + 2 * shrink, c), band_bytes)

    grid = _best_grid(ws_model, h, w, radius, budget)
    if grid is not None:
        candidates.append(TilePlan("tiled", (grid[0], grid[1]), radius, None, grid[3], grid[2]))
    shapes = _sub_shapes(net, input_shape) if shrink == 0 else {}
    for cut in cuts(net) if shrink == 0 else []:
        head, tail = net.split(cut)
        head_ws = working_set(head, input_shape, band_bytes)
        if head_ws > budget:
            continue
        cn, ch, cw, cc = shapes[cut]
        margin = graph.receptive_radius(tail)
        cut_bytes = 4 * cn * ch * cw * cc

        def ws_tail(rows, cols, tail=tail, cn=cn, cc=cc, cut_bytes=cut_bytes):
            # the whole cut activation stays alive while its tiles run
            return cut_bytes + working_set(tail, (cn, rows, cols, cc), band_bytes)

        g = _best_grid(ws_tail, ch, cw, margin, budget)
        if g is None:
            continue
        tail_flops = sum(flops[k] for k in tail.nodes)
        recompute = (total - tail_flops + tail_flops * g[2]) / total
        candidates.append(TilePlan("split", (g[0], g[1]), margin, cut, max(head_ws, g[3]),
                                   recompute))
    if not candidates:
        from backends.errors import expected

        raise MemoryError(expected(
            "memory_budget", f"enough bytes for the smallest tile of a {hp}x{wp} input "
            f"with {radius} pixels of overlap ({reserve} held for input and output)",
            given))
    return min(candidates, key=lambda p: (p.recompute, p.working_set))
