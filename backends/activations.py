"""The 17 activations of the thesis (table 2.1), with formulas derived afresh.

The thesis table has typos (ramp written as ``x^2 + 0.1 x^2``, plse's middle piece as
``0.125 x + 5``, elliot's denominator as ``1 + x + S``, selu's derivative garbled). The
definitions below follow Darknet/NumPyNet, which the thesis implements, and standard
references (Klambauer et al. 2017 for selu, Elliott 1993 for elliot). Derivatives are written
in ``x`` (not in ``f(x)``) so that each one can be checked against finite differences.

At a kink the derivative is one-sided; the value chosen there is listed in ``kink_rule``
and every backend must use the same one. Test data stays ``KINK_MARGIN`` away from kinks.

These NumPy functions are the reference math; backends implement their own kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.1       # Darknet's leaky slope; tf.nn.leaky_relu(alpha=0.1)
RELIE_SLOPE = 0.01
LHTAN_SLOPE = 0.001
PLSE_SLOPE = 0.01
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
ELLIOT_S = 1.0          # steepness S of elliot and symm_elliot
KINK_MARGIN = 1e-2      # data factories keep |x - kink| above this


@dataclass(frozen=True)
class ActivationDef:
    """One activation: formula, derivative (both in x), kinks and the rule used at them.

    Parameters
    ----------
    name : str
        The key in ``ACTIVATIONS``.
    formula, derivative : str
        ``f(x)`` and ``f'(x)`` in plain text.
    f, df : callable
        ``f`` and ``f'`` on arrays, in the array's dtype.
    kinks : tuple of float, default ()
        Points where ``f`` is not differentiable.
    kink_rule : str
        The value ``df`` takes at the kinks, in words.
    """

    name: str
    formula: str
    derivative: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    kinks: tuple[float, ...] = ()
    kink_rule: str = "smooth: no kink"


def _sigmoid(x):
    # exp of a non-positive argument only: no overflow warning for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


def _c(x, v):
    """A constant in the dtype of x (keeps float32 math float32)."""
    return x.dtype.type(v)


_DEFS = [
    ActivationDef("linear", "f = x", "f' = 1", lambda x: x.copy(), np.ones_like),
    ActivationDef(
        "logistic", "f = 1 / (1 + exp(-x))", "f' = f (1 - f)",
        _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
    ),
    ActivationDef(
        "loggy", "f = 2 / (1 + exp(-x)) - 1", "f' = 2 s (1 - s), s = logistic(x)",
        lambda x: 2 * _sigmoid(x) - 1, lambda x: 2 * _sigmoid(x) * (1 - _sigmoid(x)),
    ),
    ActivationDef(
        "relu", "f = max(0, x)", "f' = 1 if x > 0 else 0",
        lambda x: np.maximum(x, _c(x, 0)), lambda x: (x > 0).astype(x.dtype),
        (0.0,), "f'(0) = 0",
    ),
    ActivationDef(
        "elu", "f = x if x >= 0 else exp(x) - 1", "f' = 1 if x >= 0 else exp(x)",
        lambda x: np.where(x >= 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype),
        lambda x: np.where(x >= 0, _c(x, 1), np.exp(np.minimum(x, 0))).astype(x.dtype),
        (0.0,), "f'(0) = 1 (both sides agree)",
    ),
    ActivationDef(
        "relie", "f = x if x > 0 else 0.01 x", "f' = 1 if x > 0 else 0.01",
        lambda x: np.where(x > 0, x, _c(x, RELIE_SLOPE) * x),
        lambda x: np.where(x > 0, _c(x, 1), _c(x, RELIE_SLOPE)).astype(x.dtype),
        (0.0,), "f'(0) = 0.01",
    ),
    ActivationDef(
        "ramp", "f = max(0, x) + 0.1 x", "f' = 1.1 if x > 0 else 0.1",
        lambda x: np.maximum(x, _c(x, 0)) + _c(x, 0.1) * x,
        lambda x: np.where(x > 0, _c(x, 1.1), _c(x, 0.1)).astype(x.dtype),
        (0.0,), "f'(0) = 0.1",
    ),
    ActivationDef("tanh", "f = tanh(x)", "f' = 1 - f^2", np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    ActivationDef(
        "plse",
        "f = 0.01 (x + 4) if x < -4; 0.01 (x - 4) + 1 if x > 4; else 0.125 x + 0.5",
        "f' = 0.125 if -4 <= x <= 4 else 0.01",
        lambda x: np.where(
            x < -4, _c(x, PLSE_SLOPE) * (x + 4),
            np.where(x > 4, _c(x, PLSE_SLOPE) * (x - 4) + 1, _c(x, 0.125) * x + _c(x, 0.5)),
        ).astype(x.dtype),
        lambda x: np.where((x >= -4) & (x <= 4), _c(x, 0.125), _c(x, PLSE_SLOPE)).astype(x.dtype),
        (-4.0, 4.0), "f'(+-4) = 0.125",
    ),
    ActivationDef(
        "leaky", "f = x if x > 0 else 0.1 x", "f' = 1 if x > 0 else 0.1",
        lambda x: np.where(x > 0, x, _c(x, LEAKY_SLOPE) * x),
        lambda x: np.where(x > 0, _c(x, 1), _c(x, LEAKY_SLOPE)).astype(x.dtype),
        (0.0,), "f'(0) = 0.1",
    ),
    ActivationDef(
        "hardtan", "f = clip(x, -1, 1)", "f' = 1 if -1 < x < 1 else 0",
        lambda x: np.clip(x, _c(x, -1), _c(x, 1)),
        lambda x: ((x > -1) & (x < 1)).astype(x.dtype),
        (-1.0, 1.0), "f'(+-1) = 0",
    ),
    ActivationDef(
        "lhtan",
        "f = 0.001 x if x < 0; 0.001 (x - 1) + 1 if x > 1; else x",
        "f' = 1 if 0 < x < 1 else 0.001",
        lambda x: np.where(
            x < 0, _c(x, LHTAN_SLOPE) * x,
            np.where(x > 1, _c(x, LHTAN_SLOPE) * (x - 1) + 1, x),
        ).astype(x.dtype),
        lambda x: np.where((x > 0) & (x < 1), _c(x, 1), _c(x, LHTAN_SLOPE)).astype(x.dtype),
        (0.0, 1.0), "f'(0) = f'(1) = 0.001",
    ),
    ActivationDef(
        "selu",
        "f = scale x if x > 0 else scale alpha (exp(x) - 1)",
        "f' = scale if x > 0 else scale alpha exp(x)",
        lambda x: np.where(
            x > 0, _c(x, SELU_SCALE) * x,
            _c(x, SELU_SCALE * SELU_ALPHA) * np.expm1(np.minimum(x, 0)),
        ).astype(x.dtype),
        lambda x: np.where(
            x > 0, _c(x, SELU_SCALE), _c(x, SELU_SCALE * SELU_ALPHA) * np.exp(np.minimum(x, 0)),
        ).astype(x.dtype),
        (0.0,), "f'(0) = scale * alpha",
    ),
    ActivationDef(
        "softplus", "f = log(1 + exp(x))", "f' = logistic(x)", _softplus, _sigmoid,
    ),
    ActivationDef(
        "softsign", "f = x / (1 + |x|)", "f' = 1 / (1 + |x|)^2",
        lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2,
    ),
    ActivationDef(
        "elliot", "f = 0.5 S x / (1 + |S x|) + 0.5", "f' = 0.5 S / (1 + |S x|)^2",
        lambda x: _c(x, 0.5 * ELLIOT_S) * x / (1 + np.abs(_c(x, ELLIOT_S) * x)) + _c(x, 0.5),
        lambda x: _c(x, 0.5 * ELLIOT_S) / (1 + np.abs(_c(x, ELLIOT_S) * x)) ** 2,
    ),
    ActivationDef(
        "symm_elliot", "f = S x / (1 + |S x|)", "f' = S / (1 + |S x|)^2",
        lambda x: _c(x, ELLIOT_S) * x / (1 + np.abs(_c(x, ELLIOT_S) * x)),
        lambda x: _c(x, ELLIOT_S) / (1 + np.abs(_c(x, ELLIOT_S) * x)) ** 2,
    ),
]

ACTIVATIONS: dict[str, ActivationDef] = {d.name: d for d in _DEFS}
assert len(ACTIVATIONS) == 17
