"""Input validation done in Python before any jitted code runs (jitted code cannot raise
our named errors and would read out of bounds on a bad shape)."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import DTypeError, LayoutError, ShapeError, SpecError, expected

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def array(where: str, name: str, a, *, ndim: int | None = None, like: np.ndarray | None = None,
          shape: tuple[int, ...] | None = None, allow_empty: bool = False) -> np.ndarray:
    """Check a kernel argument: ndarray, rank, float32/float64, dtype of ``like``, shape,
    C-contiguous. Return it unchanged."""
    label = f"numba.{where}.{name}"
    if not isinstance(a, np.ndarray):
        raise TypeError(expected(label, "a numpy.ndarray", type(a).__name__))
    if ndim is not None and a.ndim != ndim:
        raise ShapeError(expected(f"{label}.ndim", ndim, a.ndim))
    if a.dtype not in FLOATS:
        raise DTypeError(expected(f"{label}.dtype", "float32 or float64", str(a.dtype)))
    if like is not None and a.dtype != like.dtype:
        raise DTypeError(expected(f"{label}.dtype", f"{like.dtype} (as the first input)",
                                  str(a.dtype)))
    if shape is not None and a.shape != tuple(shape):
        raise ShapeError(expected(f"{label}.shape", tuple(shape), a.shape))
    if not allow_empty and a.size == 0:
        raise ShapeError(expected(f"{label}.shape", "no empty axis", a.shape))
    if not a.flags.c_contiguous:
        raise LayoutError(expected(label, "a C-contiguous array (np.ascontiguousarray)",
                                   f"strides {a.strides}"))
    return a


def index(where: str, name: str, a, *, shape: tuple[int, ...]) -> np.ndarray:
    """Check an int64 index array (max-pool arg-max)."""
    label = f"numba.{where}.{name}"
    if not isinstance(a, np.ndarray):
        raise TypeError(expected(label, "a numpy.ndarray", type(a).__name__))
    if a.dtype != np.int64:
        raise DTypeError(expected(f"{label}.dtype", "int64", str(a.dtype)))
    if a.shape != tuple(shape):
        raise ShapeError(expected(f"{label}.shape", tuple(shape), a.shape))
    if not a.flags.c_contiguous:
        raise LayoutError(expected(label, "a C-contiguous array", f"strides {a.strides}"))
    return a


def ints(where: str, name: str, value, n: int, *, lo: int = 1) -> tuple[int, ...]:
    """A tuple of ``n`` Python/NumPy integers, each >= ``lo``."""
    ok = (isinstance(value, tuple | list) and len(value) == n
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= lo
                  for v in value))
    if not ok:
        raise SpecError(expected(f"numba.{where}.{name}", f"{n} integers >= {lo}", value))
    return tuple(int(v) for v in value)


def integer(where: str, name: str, value, *, lo: int = 1) -> int:
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= lo):
        raise SpecError(expected(f"numba.{where}.{name}", f"an integer >= {lo}", value))
    return int(value)


def real(where: str, name: str, value) -> float:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and np.isfinite(value)):
        raise SpecError(expected(f"numba.{where}.{name}", "a finite real number", value))
    return float(value)


def choice(where: str, name: str, value, options: tuple[str, ...]) -> str:
    if value not in options:
        raise SpecError(expected(f"numba.{where}.{name}", f"one of {options}", value))
    return value


def geometry(where: str, x_shape, kernel: tuple[int, int], stride, pads) -> tuple[int, int]:
    """Output size for a window op; the padded input must hold at least one window."""
    stride = ints(where, "stride", stride, 2)
    pads = ints(where, "pads", pads, 4, lo=0)
    hp = x_shape[1] + pads[0] + pads[1]
    wp = x_shape[2] + pads[2] + pads[3]
    if hp < kernel[0] or wp < kernel[1]:
        raise ShapeError(expected(f"numba.{where}.x.shape", f"padded size >= window {kernel}",
                                  x_shape))
    return (hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1
