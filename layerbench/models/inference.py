"""Memory-bounded inference: convolutions in row bands, the model in overlapping tiles.

Both are exact rearrangements of the same arithmetic:

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

import numpy as np

from backends import specs

# default working-set budget of one convolution band (its im2col buffer), in bytes
BAND_BYTES = 64 * 2**20


def _conv_reach(spec: specs.Conv2D) -> tuple[int, int]:
    """Rows above and below an output row that the kernel reads (stride 1)."""
    kh = spec.kernel[0]
    if spec.padding == "same":
        top = (kh - 1) // 2
        return top, kh - 1 - top
    return 0, kh - 1


def conv_in_bands(layer, x: np.ndarray, band_bytes: int = BAND_BYTES,
                  skip: np.ndarray | None = None) -> np.ndarray:
    """Run a stride-1 convolution layer on row bands of ``x``; same result as ``forward``.
    Layers whose backend kernels bound their own workspace run whole.

    ``skip`` is the second input of a fused residual convolution (``Conv2DAdd``): it has the
    output's shape, so each band takes its output rows of it.
    """
    spec = layer.spec
    n, h, w, c = x.shape
    kh, kw = spec.kernel
    extra = () if skip is None else (skip,)
    rows = max(1, band_bytes // max(1, n * w * kh * kw * c * x.dtype.itemsize))
    # kernels with a bounded workspace (conv.BOUNDED_WORKSPACE) need no bands: the bands'
    # halo copies and output copies cost 15-25% of EDSR-baseline x2 on cython (profiled)
    bounded = getattr(getattr(layer, "k", None), "BOUNDED_WORKSPACE", False)
    if spec.stride != (1, 1) or rows >= h or bounded:
        return layer.forward(x, *extra)
    top, bottom = _conv_reach(spec)
    h_out = h if spec.padding == "same" else h - kh + 1
    out = None
    for a in range(0, h_out, rows):
        b = min(a + rows, h_out)
        band_skip = () if skip is None else (np.ascontiguousarray(skip[:, a:b]),)
        if spec.padding == "same":
            lo, hi = max(0, a - top), min(h, b + bottom)
            xb = np.ascontiguousarray(x[:, lo:hi])
            if skip is not None:  # the band's output rows are [a - lo, a - lo + b - a)
                full = np.zeros(layer.spec.output_shape(xb.shape), x.dtype)
                full[:, a - lo : a - lo + (b - a)] = band_skip[0]
                band_skip = (full,)
            band = layer.forward(xb, *band_skip)
            band = band[:, a - lo : a - lo + (b - a)]
        else:
            band = layer.forward(np.ascontiguousarray(x[:, a : b + kh - 1]), *band_skip)
        layer.clear()
        if out is None:
            out = np.empty((n, h_out) + band.shape[2:], dtype=band.dtype)
        out[:, a:b] = band
    return out


def forward_banded(net, x: np.ndarray, band_bytes: int = BAND_BYTES) -> np.ndarray:
    """Inference through ``net`` (a :class:`backends.Network`) with banded convolutions,
    freeing every intermediate after its last use."""
    last_use: dict[str, str] = {}
    for node in net.nodes.values():
        for i in node.inputs:
            last_use[i] = node.name
    values = {"input": x}
    for node in net.nodes.values():
        args = [values[i] for i in node.inputs]
        if isinstance(node.layer.spec, specs.Conv2D):
            values[node.name] = conv_in_bands(node.layer, args[0], band_bytes, *args[1:])
        else:
            values[node.name] = node.layer.forward(*args)
        node.layer.clear()
        for i in node.inputs:
            if last_use[i] == node.name and i != net.output:
                values.pop(i, None)
    return values[net.output]


def tiles(size: int, core: int) -> list[tuple[int, int]]:
    """Split ``range(size)`` into consecutive ``[a, b)`` cores of at most ``core``."""
    return [(a, min(a + core, size)) for a in range(0, size, core)]


def run_tiled(run, x: np.ndarray, *, scale: int, shrink: int, tile: int, overlap: int,
              out_channels: int) -> np.ndarray:
    """Apply ``run`` (NHWC -> NHWC, output ``scale * (input - 2 shrink)``) tile by tile.

    ``x`` is the network input (already padded by ``shrink`` on each side when the model
    uses valid convolutions at the border); cores of ``tile`` LR pixels get ``overlap``
    extra pixels of context on every side that exists.
    """
    n, hp, wp, _ = x.shape
    h, w = hp - 2 * shrink, wp - 2 * shrink
    out = np.empty((n, h * scale, w * scale, out_channels), dtype=x.dtype)
    for a, b in tiles(h, tile):
        lo_h, hi_h = max(0, a - overlap), min(h, b + overlap)
        for c, d in tiles(w, tile):
            lo_w, hi_w = max(0, c - overlap), min(w, d + overlap)
            part = np.ascontiguousarray(x[:, lo_h : hi_h + 2 * shrink, lo_w : hi_w + 2 * shrink])
            y = run(part)
            out[:, a * scale : b * scale, c * scale : d * scale] = y[
                :, (a - lo_h) * scale : (b - lo_h) * scale, (c - lo_w) * scale : (d - lo_w) * scale
            ]
    return out
