"""Row bands: a stride-1 convolution run on horizontal bands of its input, same result.

A convolution's output rows ``[a, b)`` depend only on input rows ``[a - top, b + bottom)``
(``top``/``bottom`` the rows of padding its geometry puts above and below), so running a band
with that halo and keeping its inner rows gives the rows of the full run; only the working
set (the im2col buffer, proportional to the band) shrinks. :meth:`Network.forward` with
``band_bytes`` runs every layer whose spec ``has_workspace`` this way; how many bytes a band
may take is the caller's plan (``layerbench.models.inference``).

Bitwise equality also needs the kernel to reduce each output element in the same order
whatever the array size; BLAS GEMMs do in practice, so the tests compare with the tolerance
table's budget (``tests/layerbench/models/test_tiling.py``).
"""

from __future__ import annotations

import numpy as np

# default working-set budget of one convolution band (its im2col buffer), in bytes
BAND_BYTES = 64 * 2**20


def bounded(layer) -> bool:
    """Whether the layer's kernels bound their own workspace (``conv.BOUNDED_WORKSPACE``:
    fixed-size per-thread buffers, whatever H x W), so the layer runs whole.

    Parameters
    ----------
    layer : Layer
        A built layer.

    Returns
    -------
    bool
        True when its kernel module sets ``BOUNDED_WORKSPACE``.
    """
    return bool(getattr(getattr(layer, "k", None), "BOUNDED_WORKSPACE", False))


def band_rows(spec, shape, band_bytes: int, itemsize: int) -> int:
    """Output rows per band: as many as keep one band's im2col buffer (``N W kh kw C``
    elements per row) within ``band_bytes``, at least one.

    Parameters
    ----------
    spec : backends.specs.Conv2D
        The convolution.
    shape : tuple of int
        NHWC input shape.
    band_bytes : int
        The workspace bound.
    itemsize : int
        Bytes per element.

    Returns
    -------
    int
        Rows, at least 1.

    Examples
    --------
    >>> from backends import specs
    >>> band_rows(specs.Conv2D(filters=8), (1, 100, 100, 16), 2**20, 4)  # 57600 B per row
    18
    """
    n, _, w, c = shape
    kh, kw = spec.kernel
    return max(1, band_bytes // max(1, n * w * kh * kw * c * itemsize))


def forward_in_bands(layer, x: np.ndarray, band_bytes: int = BAND_BYTES,
                     skip: np.ndarray | None = None) -> np.ndarray:
    """Run a stride-1 convolution layer on row bands of ``x``; same result as ``forward``.
    Strided convolutions, layers that fit one band and layers whose backend kernels bound
    their own workspace (:func:`bounded`) run whole.

    ``skip`` is the second input of a fused residual convolution (``Conv2DAdd``): it has the
    output's shape, so each band takes its output rows of it.

    Parameters
    ----------
    layer : Layer or MergeLayer
        A convolution layer.
    x : numpy.ndarray
        Its NHWC input.
    band_bytes : int, default ``BAND_BYTES``
        The workspace bound of one band.
    skip : numpy.ndarray, optional
        The skip input of a ``Conv2DAdd`` layer.

    Returns
    -------
    numpy.ndarray
        The layer's output.
    """
    spec = layer.spec
    n, h, w, c = x.shape
    kh, kw = spec.kernel
    extra = () if skip is None else (skip,)
    rows = band_rows(spec, x.shape, band_bytes, x.dtype.itemsize)
    # kernels with a bounded workspace (conv.BOUNDED_WORKSPACE) need no bands: the bands'
    # halo copies and output copies cost 15-25% of EDSR-baseline x2 on cython (profiled)
    if spec.stride != (1, 1) or rows >= h or bounded(layer):
        return layer.forward(x, *extra)
    h_out, _, (top, bottom, _, _) = spec.geometry(x.shape)
    out = None
    for a in range(0, h_out, rows):
        b = min(a + rows, h_out)
        band_skip = () if skip is None else (np.ascontiguousarray(skip[:, a:b]),)
        if spec.padding == "same":
            lo, hi = max(0, a - top), min(h, b + bottom)
            xb = np.ascontiguousarray(x[:, lo:hi])
            if skip is not None:  # the band's output rows are [a - lo, a - lo + b - a)
                full = np.zeros(spec.output_shape(xb.shape), x.dtype)
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
