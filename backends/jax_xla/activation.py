"""Activation kernels in ``jax.numpy``: the formulas of ``backends/activations.py``.

Derivatives are the written formulas in ``x`` (not ``jax.grad``): autodiff picks its own
value at a kink (``jnp.maximum``'s gradient is 1/2 at a tie), while every backend must use
the ``kink_rule`` of ``backends.activations``. Sigmoid and softplus use the same
overflow-free forms as the reference (``exp`` of ``-|x|`` only). The transcendental
functions are XLA's (its own vectorised ``exp``/``log1p``/``tanh``), not libm's.

Notes
-----
Forward: ``y = f(x)``; derivative: ``dL/dx = f'(x) dy`` (``f``, ``f'`` of
``backends.activations.ACTIVATIONS[kind]``).
"""

from __future__ import annotations

from ..activations import (
    ELLIOT_S,
    LEAKY_SLOPE,
    LHTAN_SLOPE,
    PLSE_SLOPE,
    RELIE_SLOPE,
    SELU_ALPHA,
    SELU_SCALE,
)
from ._xla import call, jit, jnp

__all__ = ["activation_forward", "activation_backward"]


def _c(x, v):
    return jnp.asarray(v, dtype=x.dtype)


def _sigmoid(x):
    e = jnp.exp(-jnp.abs(x))
    one = _c(x, 1)
    return jnp.where(x >= 0, one / (one + e), e / (one + e))


def _softplus(x):
    return jnp.maximum(x, _c(x, 0)) + jnp.log1p(jnp.exp(-jnp.abs(x)))


def _step(cond, x, a, b):
    """``a`` where ``cond`` else ``b``, as constants of x's dtype."""
    return jnp.where(cond, _c(x, a), _c(x, b))


def _elliot_den(x):
    return 1 + jnp.abs(_c(x, ELLIOT_S) * x)


# name -> (f, f'), both functions of x; formulas and kink rules: backends/activations.py
_DEFS = {
    "linear": (lambda x: x, lambda x: jnp.ones_like(x)),
    "logistic": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "loggy": (lambda x: 2 * _sigmoid(x) - 1, lambda x: 2 * _sigmoid(x) * (1 - _sigmoid(x))),
    "relu": (lambda x: jnp.maximum(x, _c(x, 0)), lambda x: _step(x > 0, x, 1, 0)),
    "elu": (lambda x: jnp.where(x >= 0, x, jnp.expm1(jnp.minimum(x, _c(x, 0)))),
            lambda x: jnp.where(x >= 0, _c(x, 1), jnp.exp(jnp.minimum(x, _c(x, 0))))),
    "relie": (lambda x: jnp.where(x > 0, x, _c(x, RELIE_SLOPE) * x),
              lambda x: _step(x > 0, x, 1, RELIE_SLOPE)),
    "ramp": (lambda x: jnp.maximum(x, _c(x, 0)) + _c(x, 0.1) * x,
             lambda x: _step(x > 0, x, 1.1, 0.1)),
    "tanh": (jnp.tanh, lambda x: 1 - jnp.tanh(x) ** 2),
    "plse": (lambda x: jnp.where(x < -4, _c(x, PLSE_SLOPE) * (x + 4),
                                 jnp.where(x > 4, _c(x, PLSE_SLOPE) * (x - 4) + 1,
                                           _c(x, 0.125) * x + _c(x, 0.5))),
             lambda x: _step((x >= -4) & (x <= 4), x, 0.125, PLSE_SLOPE)),
    "leaky": (lambda x: jnp.where(x > 0, x, _c(x, LEAKY_SLOPE) * x),
              lambda x: _step(x > 0, x, 1, LEAKY_SLOPE)),
    "hardtan": (lambda x: jnp.clip(x, _c(x, -1), _c(x, 1)),
                lambda x: _step((x > -1) & (x < 1), x, 1, 0)),
    "lhtan": (lambda x: jnp.where(x < 0, _c(x, LHTAN_SLOPE) * x,
                                  jnp.where(x > 1, _c(x, LHTAN_SLOPE) * (x - 1) + 1, x)),
              lambda x: _step((x > 0) & (x < 1), x, 1, LHTAN_SLOPE)),
    "selu": (lambda x: jnp.where(x > 0, _c(x, SELU_SCALE) * x,
                                 _c(x, SELU_SCALE * SELU_ALPHA)
                                 * jnp.expm1(jnp.minimum(x, _c(x, 0)))),
             lambda x: jnp.where(x > 0, _c(x, SELU_SCALE),
                                 _c(x, SELU_SCALE * SELU_ALPHA)
                                 * jnp.exp(jnp.minimum(x, _c(x, 0))))),
    "softplus": (_softplus, _sigmoid),
    "softsign": (lambda x: x / (1 + jnp.abs(x)), lambda x: 1 / (1 + jnp.abs(x)) ** 2),
    "elliot": (lambda x: _c(x, 0.5 * ELLIOT_S) * x / _elliot_den(x) + _c(x, 0.5),
               lambda x: _c(x, 0.5 * ELLIOT_S) / _elliot_den(x) ** 2),
    "symm_elliot": (lambda x: _c(x, ELLIOT_S) * x / _elliot_den(x),
                    lambda x: _c(x, ELLIOT_S) / _elliot_den(x) ** 2),
}


@jit(static=("kind",))
def _forward(x, *, kind):
    return _DEFS[kind][0](x)


@jit(static=("kind",))
def _backward(x, dy, *, kind):
    return _DEFS[kind][1](x) * dy


def activation_forward(x, *, kind):
    """``y = f(x)``."""
    return call(_forward, x, kind=str(kind))


def activation_backward(x, dy, *, kind):
    """``dx = f'(x) dy``."""
    return call(_backward, x, dy, kind=str(kind))
