"""Seeded data factories: the inputs, upstream gradients and parameters of a case.

Every value is float32-representable, also in float64 arrays, so that a float32 backend and
the float64 reference see *the same numbers* and their difference measures the arithmetic,
not the rounding of the inputs. The data avoid the places where a comparison would be
ill-conditioned rather than wrong: max-pool windows have no ties, piecewise activations are
evaluated at least ``KINK_MARGIN`` from a kink, batch norm sees well-spread channels, and loss
errors stay away from the kinks of ``|e|`` and of Huber's ``delta``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..activations import KINK_MARGIN
from ..errors import expected
from ..registry import check_dtype

__all__ = ["make_inputs", "away_from", "distinct"]


def _f32(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round to float32 first, then hold in ``dtype`` (float32-representable values)."""
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32).astype(dtype))


def away_from(x: np.ndarray, points, margin: float) -> np.ndarray:
    """Move every value closer than ``2 margin`` to a point to ``point +- 2 margin``.

    The side of the point is kept (so the branch a piecewise function takes does not change
    in a way the caller did not ask for); the factor 2 leaves room for float32 rounding.
    """
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < 2 * margin
        side = np.where(x[near] >= p, 1.0, -1.0)
        x[near] = p + side * 2 * margin
    return x


def distinct(rng: np.random.Generator, shape, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Pairwise distinct values in [lo, hi): a shuffled grid (spacing exact in float32)."""
    size = math.prod(shape)
    if size > 2**22:  # beyond that the grid spacing is no longer exact in float32
        raise ValueError(f"shape: expected at most 2**22 elements for distinct values, "
                         f"received {tuple(shape)}")
    grid = lo + (hi - lo) * rng.permutation(size) / size
    return grid.reshape(shape)


def _uniform(rng, shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape)


# (low, high) of the uniform draw of a parameter or buffer by name (default: U(-0.5, 0.5))
_RANGES = {
    "weights": (-1.0, 1.0),
    "gamma": (0.5, 1.5),  # away from 0 so that dx does not vanish
    "moving_variance": (0.5, 1.5),  # a variance, away from 0
}


def _params(case, rng) -> dict[str, np.ndarray]:
    """Trainable parameters, then the buffers (running statistics used in inference)."""
    spec = case.spec
    shapes = {**spec.param_shapes(case.input_shape), **spec.state_shapes(case.input_shape)}
    return {name: _uniform(rng, shape, *_RANGES.get(name, (-0.5, 0.5)))
            for name, shape in shapes.items()}


def _x_distinct(spec, rng, shape) -> np.ndarray:
    return distinct(rng, shape)


def _x_away_from_kinks(spec, rng, shape) -> np.ndarray:
    kinks = spec.kinks
    bound = max([3.0, *(abs(k) + 2.0 for k in kinks)])  # plse needs both sides of +-4
    return away_from(_uniform(rng, shape, -bound, bound), kinks, KINK_MARGIN)


def _x_channel_spread(spec, rng, shape) -> np.ndarray:
    # per-channel offsets and spreads of different sizes, variance far from 0
    c = shape[3]
    mean = _uniform(rng, (c,), -1.0, 1.0)
    spread = _uniform(rng, (c,), 0.5, 2.0)
    return mean + spread * _uniform(rng, shape)


def _x_uniform(spec, rng, shape) -> np.ndarray:
    return _uniform(rng, shape)


# ``spec.input_data`` (backends.specs.Stated) -> how the input is drawn
_X = {"uniform": _x_uniform, "distinct": _x_distinct, "away_from_kinks": _x_away_from_kinks,
      "channel_spread": _x_channel_spread}


def _x(case, rng) -> np.ndarray:
    spec = case.spec
    if spec.input_data not in _X:
        raise ValueError(expected(f"{type(spec).__name__}.input_data", f"one of {tuple(_X)}",
                                  spec.input_data))
    return _X[spec.input_data](spec, rng, case.input_shape)


def _target(case, rng, x) -> np.ndarray:
    e = _uniform(rng, x.shape, -2.0, 2.0)
    # |e| has a kink at 0 (mae, Huber's sign), Huber switches branch at +-delta
    e = away_from(e, case.spec.kinks, KINK_MARGIN)
    # round x - e to float32 and keep e = x - t exact-ish: the branch is decided on x - t
    return x - e


def make_inputs(case, dtype: Any, seed: int = 0) -> dict[str, Any]:
    """Inputs of ``case`` in ``dtype``, identical values for every dtype and backend.

    Returns
    -------
    dict
        ``x`` (input, or prediction for a loss); ``x2`` (second input of a shortcut);
        ``dy`` (upstream gradient, shaped like the output); ``params`` (every trainable
        parameter plus batch-norm running statistics); ``target`` (losses only).
    """
    dt = check_dtype(dtype)
    # a stable per-case stream: the same case gets the same data whatever else runs
    rng = np.random.default_rng([seed, *case.name.encode()])
    x = _f32(_x(case, rng), dt)
    out: dict[str, Any] = {"x": x}
    if case.spec.is_loss:
        t = _target(case, rng, x.astype(np.float64))
        out["target"] = _f32(t, dt)
        return out
    if case.is_merge:
        out["x2"] = _f32(_uniform(rng, case.spec.input_shapes(case.input_shape)[1]), dt)
    out["dy"] = _f32(_uniform(rng, case.output_shape), dt)
    out["params"] = {k: _f32(v, dt) for k, v in _params(case, rng).items()}
    return out
