"""Input validation run before any compiled kernel sees an array.

The kernels read raw memory with bounds checks off, so everything that could make them read
or write out of bounds (rank, shape, dtype, layout, window geometry) is checked here and
reported with a named error instead of a crash.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError, LayoutError, ShapeError, SpecError, expected

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def array(fn, name, a, *, ndim, dtype=None, shape=None, writable=False):
    """Return ``a`` if it is a non-empty C-contiguous float32/float64 array of rank ``ndim``.

    ``dtype`` (if given) must match exactly (kernels never mix precisions); ``shape`` entries
    that are None are free.
    """
    where = f"{fn}.{name}"
    if not isinstance(a, np.ndarray):
        raise TypeError(expected(where, "a numpy.ndarray", type(a).__name__))
    if a.ndim != ndim:
        raise ShapeError(expected(f"{where}.ndim", ndim, a.ndim))
    if a.dtype not in FLOATS:
        raise DTypeError(expected(f"{where}.dtype", "float32 or float64", str(a.dtype)))
    if dtype is not None and a.dtype != dtype:
        raise DTypeError(expected(f"{where}.dtype", f"{dtype} (same as the first input)",
                                  str(a.dtype)))
    if shape is not None and any(
        s is not None and s != d for s, d in zip(shape, a.shape, strict=True)
    ):
        want = tuple("*" if s is None else s for s in shape)
        raise ShapeError(expected(f"{where}.shape", str(want).replace("'", ""), a.shape))
    if a.size == 0:
        raise ShapeError(expected(f"{where}.shape", "no empty axis", a.shape))
    if not a.flags.c_contiguous:
        raise LayoutError(expected(where, "a C-contiguous array (np.ascontiguousarray)",
                                   f"strides {a.strides}"))
    if writable and not a.flags.writeable:
        raise ValueError(expected(where, "a writable array (updated in place)", "read-only"))
    return a


def optional_bias(fn, b, dtype, units):
    if b is None:
        return None
    return array(fn, "b", b, ndim=1, dtype=dtype, shape=(units,))


def pair(fn, name, value, *, minimum):
    ok = (
        isinstance(value, tuple | list) and len(value) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= minimum
                for v in value)
    )
    if not ok:
        raise SpecError(expected(f"{fn}.{name}", f"a pair of integers >= {minimum}", value))
    return int(value[0]), int(value[1])


def pads4(fn, pads, *, below=None):
    """``(top, bottom, left, right)`` non-negative; each smaller than ``below`` (rows, cols)."""
    ok = (
        isinstance(pads, tuple | list) and len(pads) == 4
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 0
                for v in pads)
    )
    if ok and below is not None:
        ok = max(pads[0], pads[1]) < below[0] and max(pads[2], pads[3]) < below[1]
    if not ok:
        what = "4 integers >= 0 (top, bottom, left, right)"
        if below is not None:
            what += f" smaller than the window {tuple(below)}"
        raise SpecError(expected(f"{fn}.pads", what, pads))
    return tuple(int(v) for v in pads)


def out_size(fn, h, w, kernel, stride, pads):
    """Output rows/cols of a window op; at least one of each or a ShapeError."""
    ho = (h + pads[0] + pads[1] - kernel[0]) // stride[0] + 1
    wo = (w + pads[2] + pads[3] - kernel[1]) // stride[1] + 1
    if h + pads[0] + pads[1] < kernel[0] or w + pads[2] + pads[3] < kernel[1]:
        raise ShapeError(
            expected(f"{fn}.x spatial size + pads", f">= the window {tuple(kernel)}", (h, w))
        )
    return ho, wo


def positive_int(fn, name, value):
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise SpecError(expected(f"{fn}.{name}", "an integer >= 1", value))
    return int(value)


def number(fn, name, value):
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)
    if not ok or not np.isfinite(value):
        raise SpecError(expected(f"{fn}.{name}", "a finite number", value))
    return value


def choice(fn, name, value, choices):
    if value not in choices:
        raise SpecError(expected(f"{fn}.{name}", f"one of {tuple(choices)}", value))
    return value
