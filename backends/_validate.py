"""Input validation shared by the generic layers and the compiled backends' kernel wrappers.

Compiled kernels read raw memory with bounds checks off (Cython) or cannot raise our named
errors (Numba), so everything that could make them read or write out of bounds (rank, shape,
dtype, layout, window geometry) is checked here first and reported as
``<where>.<name>: expected ..., received ...`` (:func:`backends.errors.expected`). ``where``
is the caller's prefix: ``Conv2D[cython]`` for a layer, ``conv2d_forward`` for a Cython
wrapper, ``numba.conv2d_forward`` for a Numba one.
"""

from __future__ import annotations

import functools
import numbers
from types import SimpleNamespace

import numpy as np

from .errors import DTypeError, LayoutError, ShapeError, SpecError, expected

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def array(where: str, name: str, a: object, *, ndim: int | None = None, rank_note: str = "",
          dtype: np.dtype | None = None, like: np.dtype | None = None,
          shape: tuple[int | None, ...] | None = None, channels: int | None = None,
          allow_empty: bool = False, writable: bool = False) -> np.ndarray:
    """Return ``a`` if it is a C-contiguous NumPy array as described; raise a named error.

    Parameters
    ----------
    ndim : int, optional
        Required rank (``rank_note`` is appended to it in the message, e.g. ``" (NHWC)"``).
    dtype : dtype, optional
        The exact dtype (a layer's); without it any float32/float64 array passes, and
        ``like`` (the first input's dtype) must then match too (kernels never mix precisions).
    shape : tuple, optional
        Required shape; ``None`` entries are free (shown as ``*``).
    channels : int, optional
        Required size of the last axis.
    allow_empty : bool
        Accept an array with a zero-length axis.
    writable : bool
        Require a writable array (updated in place).
    """
    label = f"{where}.{name}"
    if not isinstance(a, np.ndarray):
        raise TypeError(expected(label, "a numpy.ndarray", type(a).__name__))
    if ndim is not None and a.ndim != ndim:
        raise ShapeError(expected(f"{label}.ndim", f"{ndim}{rank_note}", a.ndim))
    if dtype is not None:
        if a.dtype != dtype:
            raise DTypeError(expected(f"{label}.dtype", str(dtype), str(a.dtype)))
    else:
        if a.dtype not in FLOATS:
            raise DTypeError(expected(f"{label}.dtype", "float32 or float64", str(a.dtype)))
        if like is not None and a.dtype != like:
            raise DTypeError(expected(f"{label}.dtype", f"{like} (same as the first input)",
                                      str(a.dtype)))
    if shape is not None and (len(shape) != a.ndim or any(
            s is not None and s != d for s, d in zip(shape, a.shape, strict=False))):
        want = tuple("*" if s is None else s for s in shape)
        raise ShapeError(expected(f"{label}.shape", str(want).replace("'", ""), a.shape))
    if channels is not None and a.shape[-1] != channels:
        raise ShapeError(expected(f"{label} channels (last axis)", channels, a.shape[-1]))
    if not allow_empty and a.size == 0:
        raise ShapeError(expected(f"{label}.shape", "no empty axis", a.shape))
    if not a.flags.c_contiguous:
        raise LayoutError(expected(label, "a C-contiguous array (np.ascontiguousarray)",
                                   f"strides {a.strides}"))
    if writable and not a.flags.writeable:
        # LayoutError is a ValueError: what Cython raised here before, and what Numba raised
        raise LayoutError(expected(label, "a writable array (updated in place)", "read-only"))
    return a


def index(where: str, name: str, a: object, *, shape: tuple[int, ...]) -> np.ndarray:
    """Check an int64 index array of ``shape`` (max pooling's arg-max); return it."""
    label = f"{where}.{name}"
    if not isinstance(a, np.ndarray):
        raise TypeError(expected(label, "a numpy.ndarray", type(a).__name__))
    if a.dtype != np.int64:
        raise DTypeError(expected(f"{label}.dtype", "int64", str(a.dtype)))
    if a.shape != tuple(shape):
        raise ShapeError(expected(f"{label}.shape", str(tuple(shape)), a.shape))
    if not a.flags.c_contiguous:
        raise LayoutError(expected(label, "a C-contiguous array", f"strides {a.strides}"))
    return a


def optional_bias(where: str, b: object, like: np.dtype, units: int) -> np.ndarray | None:
    """``None``, or a bias vector of ``units`` in the first input's dtype."""
    if b is None:
        return None
    return array(where, "b", b, ndim=1, like=like, shape=(units,))


def _is_int(v: object, lo: int) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= lo


def integer(where: str, name: str, value: object, *, lo: int = 1) -> int:
    """A Python or NumPy integer ``>= lo`` (not a bool), as ``int``."""
    if not _is_int(value, lo):
        raise SpecError(expected(f"{where}.{name}", f"an integer >= {lo}", value))
    return int(value)


def integers(where: str, name: str, value: object, n: int, *, lo: int = 1) -> tuple[int, ...]:
    """A tuple or list of ``n`` integers ``>= lo``, as a tuple of ``int``."""
    if not (isinstance(value, tuple | list) and len(value) == n
            and all(_is_int(v, lo) for v in value)):
        what = f"a pair of integers >= {lo}" if n == 2 else f"{n} integers >= {lo}"
        raise SpecError(expected(f"{where}.{name}", what, value))
    return tuple(int(v) for v in value)


def nhwc(where: str, name: str, value: object) -> tuple[int, int, int, int]:
    """An NHWC shape given as a value (e.g. ``x_shape``): 4 integers >= 1."""
    if not (isinstance(value, tuple | list) and len(value) == 4
            and all(_is_int(v, 1) for v in value)):
        raise ShapeError(expected(f"{where}.{name}", "4 positive ints (N, H, W, C)", value))
    return tuple(int(v) for v in value)  # type: ignore[return-value]


def pads(where: str, value: object, *, below: tuple[int, int] | None = None
         ) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` integers >= 0; each smaller than ``below`` (the window's
    rows, cols) when given (a pooling window must hold one input cell)."""
    ok = (isinstance(value, tuple | list) and len(value) == 4
          and all(_is_int(v, 0) for v in value))
    if ok and below is not None:
        ok = max(value[0], value[1]) < below[0] and max(value[2], value[3]) < below[1]
    if not ok:
        what = "4 integers >= 0 (top, bottom, left, right)"
        if below is not None:
            what += f" smaller than the window {tuple(below)}"
        raise SpecError(expected(f"{where}.pads", what, value))
    return tuple(int(v) for v in value)  # type: ignore[return-value]


def number(where: str, name: str, value: object) -> float:
    """A finite real number (Python or NumPy, not a bool), as ``float``."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and np.isfinite(value)):
        raise SpecError(expected(f"{where}.{name}", "a finite number", value))
    return float(value)


def choice(where: str, name: str, value: object, choices) -> object:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise SpecError(expected(f"{where}.{name}", f"one of {tuple(choices)}", value))
    return value


def window(where: str, hw: tuple[int, int], kernel: tuple[int, int], stride: object,
           pad: object, *, below: tuple[int, int] | None = None
           ) -> tuple[tuple[int, int], tuple[int, int, int, int], tuple[int, int]]:
    """Validate a window op's ``stride`` and ``pads`` for input rows/cols ``hw`` and return
    ``(stride, pads, (ho, wo))`` with ``ho = (h + top + bottom - kh) // sh + 1`` (same for
    columns); the padded input must hold one window."""
    stride = integers(where, "stride", stride, 2)
    pad = pads(where, pad, below=below)
    h, w = hw
    if h + pad[0] + pad[1] < kernel[0] or w + pad[2] + pad[3] < kernel[1]:
        raise ShapeError(expected(f"{where}.x spatial size + pads",
                                  f">= the window {tuple(kernel)}", (h, w)))
    out = ((h + pad[0] + pad[1] - kernel[0]) // stride[0] + 1,
           (w + pad[2] + pad[3] - kernel[1]) // stride[1] + 1)
    return stride, pad, out


def prefixed(prefix: str) -> SimpleNamespace:
    """These validators with ``prefix`` put before every ``where`` (the Numba wrappers'
    messages say ``numba.<kernel>.<argument>``)."""
    def bind(fn):
        @functools.wraps(fn)
        def check(where, *args, **kwargs):
            return fn(prefix + where, *args, **kwargs)
        return check

    checks = (array, index, optional_bias, integer, integers, nhwc, pads, number, choice,
              window)
    return SimpleNamespace(**{fn.__name__: bind(fn) for fn in checks})
