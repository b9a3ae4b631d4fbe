"""Central finite-difference gradient checks, in float64.

A layer's ``backward(dy)`` claims to return dL/dx for ``L = sum(y * dy)`` and to store dL/dW
for every parameter. The check perturbs a seeded random subset of coordinates by ``+-eps``
and compares with the central difference

    dL/dz ~ sum((y(z + eps) - y(z - eps)) * dy) / (2 eps),

whose truncation error is O(eps^2 f''') and whose rounding error is O(u ``|y|`` / eps) per output
element (u = 2^-53). Differencing ``y`` before the sum keeps the rounding error of the
untouched outputs at exactly zero. Budgets come from the ``finite_difference`` tier of
``backends.testing.tolerances``: ``|analytic - numeric| <= rtol (scale + |numeric|)`` with
``scale = max |analytic gradient|`` over the whole tensor (the table's convention:
``atol = rtol * scale``, because rounding follows the size of the terms, not of the result).

Piecewise functions (relu, max-pool, mae) are only checked away from their kinks: the data
must keep every kink (and every max-pool tie) farther than ``eps`` from each probed input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .tolerances import tolerance

DEFAULT_EPS = 1e-6
DEFAULT_PROBES = 24


@dataclass(frozen=True)
class TensorCheck:
    """Worst coordinate of one gradient tensor."""

    tensor: str
    probed: int
    index: tuple[int, ...]
    analytic: float
    numeric: float
    error: float
    budget: float

    @property
    def ok(self) -> bool:
        return self.error <= self.budget

    def describe(self) -> str:
        return (
            f"{self.tensor}: worst index {self.index} of {self.probed} probed: analytic "
            f"{self.analytic!r}, numeric {self.numeric!r}, |diff| {self.error:.3e} > budget "
            f"{self.budget:.3e}"
        )


@dataclass(frozen=True)
class GradReport:
    """Result of a gradient check: one :class:`TensorCheck` per gradient tensor."""

    name: str
    eps: float
    rtol: float
    checks: dict[str, TensorCheck] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    def raise_if_failed(self) -> GradReport:
        bad = [c.describe() for c in self.checks.values() if not c.ok]
        if bad:
            raise AssertionError(
                f"gradient check of {self.name} failed (eps={self.eps}, rtol={self.rtol}):\n  "
                + "\n  ".join(bad)
            )
        return self


# Used until ``tolerances.py`` has a ``finite_difference`` tier (requested from its owner).
# Why 1e-6: with eps = 1e-6 the truncation error eps^2 |f\'\'\'| / 6 is ~1e-13 and the
# rounding error u S / eps (S = sum |y dy| over the touched outputs, < 1e2 on the catalogue
# shapes) is ~1e-8 relative: a 100x margin, while a wrong formula is off by >= 1e-3.
_FALLBACK_RTOL = 1e-6


def _budget(rtol: float | None) -> float:
    if rtol is not None:
        return float(rtol)
    try:
        return float(tolerance("finite_difference", np.float64))
    except ValueError:  # tier not in the table yet
        return _FALLBACK_RTOL


def _scale(a) -> float:
    """max |gradient| of the whole tensor (1 if it is all zeros, so the budget stays > 0)."""
    a = np.asarray(a)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return m if m > 0 else 1.0


# The rounding floor of a layer's central difference: each of the two forwards rounds every
# output by a few ulps (8, as the elementwise tier), so sum((y+ - y-) dy) / (2 eps) is off by
# up to 8 u S / eps with S = sum |y dy|. It matters only where the gradient is tiny next to
# the outputs it is taken from (batch norm over 2 values: dx ~ 1e-5 of the terms, the case
# fuzz_batchnorm_2x1x1x1, where it is 1e-9 against an rtol budget of 2e-11). Measured on the
# rest of the catalogue: at most 2.2e-6 (conv weights), at most 0.57 x rtol * scale (a
# shortcut's da); the measured errors there stay below 0.03% of the budget either way.
_FD_ROUNDING_ULPS = 8.0


def _rounding_floor(y, dy, eps: float) -> float:
    return _FD_ROUNDING_ULPS * float(np.finfo(np.float64).eps) * float(
        np.sum(np.abs(np.asarray(y) * np.asarray(dy)))) / eps


def _compare(tensor: str, shape, flat_idx, analytic, numeric, rtol, scale,
             floor: float = 0.0) -> TensorCheck:
    analytic = np.asarray(analytic, np.float64)
    numeric = np.asarray(numeric, np.float64)
    error = np.abs(analytic - numeric)
    budget = rtol * (scale + np.abs(numeric)) + floor
    worst = int(np.argmax(error - budget))
    return TensorCheck(
        tensor=tensor, probed=int(error.size),
        index=tuple(int(i) for i in np.unravel_index(int(flat_idx[worst]), shape)),
        analytic=float(analytic[worst]), numeric=float(numeric[worst]),
        error=float(error[worst]), budget=float(budget[worst]),
    )


def _require_float64(what: str, a: np.ndarray) -> None:
    if np.asarray(a).dtype != np.float64:
        raise TypeError(f"{what}: expected float64 for a finite-difference check, "
                        f"received {np.asarray(a).dtype}")


def _probe(rng: np.random.Generator, size: int, n_probe: int) -> np.ndarray:
    return np.sort(rng.choice(size, size=min(n_probe, size), replace=False))


def check_layer_gradients(
    layer,
    inputs: np.ndarray | tuple[np.ndarray, ...],
    *,
    eps: float = DEFAULT_EPS,
    n_probe: int = DEFAULT_PROBES,
    seed: int = 0,
    training: bool = False,
    dy: np.ndarray | None = None,
    rtol: float | None = None,
    name: str | None = None,
    raise_on_failure: bool = True,
) -> GradReport:
    """Check ``layer.backward`` (input gradients and every parameter gradient) numerically.

    Parameters
    ----------
    layer : a float64 layer (one input) or merge layer (``forward(a, b)``).
    inputs : array or tuple of arrays
        The layer input(s); never modified.
    eps : float
        Central-difference step.
    n_probe : int
        Coordinates probed per gradient tensor (all of them if the tensor is smaller).
    seed : int
        Seeds ``dy`` and the choice of probed coordinates.
    training : bool
        Passed to ``forward`` (batch norm uses batch statistics when True).
    dy : array, optional
        Upstream gradient (float64, output-shaped); standard normal from ``seed`` if omitted.
    rtol : float, optional
        Override the ``finite_difference`` tier (only to document a looser, stated budget).
    raise_on_failure : bool
        Raise ``AssertionError`` naming the worst coordinate, both values and the budget.

    Returns
    -------
    GradReport
        Keys ``dx`` (one input) or ``da``, ``db`` (merge layer), then ``d<param>``.

    Notes
    -----
    The layer is left as after one ``forward(inputs)`` + ``backward(dy)`` with its original
    parameters (batch-norm running statistics included).
    """
    xs = inputs if isinstance(inputs, tuple) else (inputs,)
    _require_float64("layer.dtype", np.empty(0, layer.dtype))
    for i, x in enumerate(xs):
        _require_float64(f"inputs[{i}]", x)
    rtol = _budget(rtol)
    rng = np.random.default_rng(seed)
    params0 = {k: np.array(v) for k, v in layer.params().items()}
    state0 = {k: np.array(v) for k, v in getattr(layer, "state", dict)().items()}

    def restore() -> None:
        if params0 or state0:
            layer.load_params({**params0, **state0})

    def run(z: tuple[np.ndarray, ...]) -> np.ndarray:
        return layer.forward(*z, training=training)

    y = run(xs)
    dy = rng.standard_normal(y.shape) if dy is None else np.asarray(dy)
    _require_float64("dy", dy)
    out = layer.backward(dy)
    d_inputs = out if isinstance(out, tuple) else (out,)
    grads = {k: np.array(v) for k, v in layer.grads().items()}
    in_names = ("dx",) if len(xs) == 1 else tuple(f"d{c}" for c in "ab"[: len(xs)])

    floor = _rounding_floor(y, dy, eps)
    report = GradReport(name or repr(layer), eps, rtol)
    for pos, (tname, x, dx) in enumerate(zip(in_names, xs, d_inputs, strict=True)):
        idx = _probe(rng, x.size, n_probe)
        numeric = []
        for i in idx:
            zs = []
            for sign in (1.0, -1.0):
                xp = np.array(x)
                xp.flat[i] += sign * eps
                zs.append(run(xs[:pos] + (xp,) + xs[pos + 1:]))
            numeric.append(np.sum((zs[0] - zs[1]) * dy) / (2 * eps))
        report.checks[tname] = _compare(tname, x.shape, idx, dx.flat[idx], numeric, rtol,
                                        _scale(dx), floor)

    for pname, p in params0.items():
        idx = _probe(rng, p.size, n_probe)
        numeric = []
        for i in idx:
            zs = []
            for sign in (1.0, -1.0):
                pp = np.array(p)
                pp.flat[i] += sign * eps
                layer.load_params({**params0, pname: pp})
                zs.append(run(xs))
            numeric.append(np.sum((zs[0] - zs[1]) * dy) / (2 * eps))
        tname = f"d{pname}"
        report.checks[tname] = _compare(
            tname, p.shape, idx, grads[pname].flat[idx], numeric, rtol, _scale(grads[pname]),
            floor)

    restore()
    run(xs)
    layer.backward(dy)
    return report.raise_if_failed() if raise_on_failure else report


def check_function(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    eps: float = DEFAULT_EPS,
    rtol: float | None = None,
    name: str = "f",
    raise_on_failure: bool = True,
) -> GradReport:
    """Check an element-wise derivative ``df`` against ``(f(x+eps) - f(x-eps)) / (2 eps)``
    at every element of the float64 array ``x`` (keep ``x`` away from kinks)."""
    _require_float64("x", x)
    rtol = _budget(rtol)
    numeric = (f(x + eps) - f(x - eps)) / (2 * eps)
    analytic = df(x)
    flat = np.arange(x.size)
    report = GradReport(name, eps, rtol)
    report.checks["df"] = _compare("df", x.shape, flat, analytic.ravel(), numeric.ravel(),
                                   rtol, _scale(analytic))
    return report.raise_if_failed() if raise_on_failure else report


def check_loss_gradients(
    loss,
    y: np.ndarray,
    target: np.ndarray,
    *,
    eps: float = DEFAULT_EPS,
    n_probe: int = DEFAULT_PROBES,
    seed: int = 0,
    rtol: float | None = None,
    raise_on_failure: bool = True,
) -> GradReport:
    """Check ``loss.backward()`` (dL/dy of the scalar ``loss.forward(y, target)``) numerically.

    The loss is a mean, so its rounding error is O(u ``|L|`` / eps), far below the budget.
    """
    _require_float64("y", y)
    rtol = _budget(rtol)
    rng = np.random.default_rng(seed)
    loss.forward(y, target)
    g = np.array(loss.backward())
    idx = _probe(rng, y.size, n_probe)
    numeric = []
    for i in idx:
        vals = []
        for sign in (1.0, -1.0):
            yp = np.array(y)
            yp.flat[i] += sign * eps
            vals.append(loss.forward(yp, target))
        numeric.append((vals[0] - vals[1]) / (2 * eps))
    loss.forward(y, target)
    report = GradReport(f"loss {getattr(loss, 'spec', loss)}", eps, rtol)
    report.checks["dy"] = _compare("dy", y.shape, idx, g.flat[idx], numeric, rtol, _scale(g))
    return report.raise_if_failed() if raise_on_failure else report


def as_mapping(report: GradReport) -> Mapping[str, float]:
    """``{tensor: worst |diff| / budget}`` (what a benchmark or a log line records)."""
    return {k: c.error / c.budget for k, c in report.checks.items()}
