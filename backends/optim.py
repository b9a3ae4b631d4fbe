"""Optimizers: hyper-parameters and per-parameter slots; the math is each backend's
``optim`` kernel module (``sgd_step``, ``momentum_step``, ``adam_step``).

One ``step`` must equal one step of the same ``tf.keras.optimizers`` class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SpecError, expected


def _check(owner, name, value, lo=0.0, hi=math.inf, lo_open=False, hi_open=False):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo)
    ok = ok and (value < hi if hi_open else value <= hi)
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise SpecError(
            expected(f"{owner}.{name}", f"a number in {left}{lo}, {hi}{right}", value)
        )


@dataclass
class SGD:
    """Plain gradient descent: ``p -= lr g``.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from backends import get_backend
    >>> p = np.array([1.0, 2.0])
    >>> SGD(lr=0.5).step("w", p, np.array([1.0, -2.0]), get_backend("numpy").kernels("optim"))
    >>> p
    array([0.5, 3. ])
    """

    lr: float = 0.01

    def __post_init__(self):
        _check("SGD", "lr", self.lr, lo_open=True)

    def step(self, key: Any, param: np.ndarray, grad: np.ndarray, kernels) -> None:
        """SGD: ``param -= lr grad``.

        Parameters
        ----------
        key, param, grad, kernels
            As in :meth:`Momentum.step` (SGD keeps no slot).
        """
        kernels.sgd_step(param, grad, lr=self.lr)


@dataclass
class Momentum:
    """SGD with (optionally Nesterov) momentum, Keras form: ``v = mu v - lr g; p += v``.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, ``> 0``.
    momentum : float, default 0.9
        ``mu``, in [0, 1].
    nesterov : bool, default False
        Nesterov's form: ``p += mu v - lr g``.
    _slots : dict
        The velocities by parameter key, kept by the optimizer (not an argument to pass).
    """

    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    _slots: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        _check("Momentum", "lr", self.lr, lo_open=True)
        _check("Momentum", "momentum", self.momentum, hi=1.0)
        if not isinstance(self.nesterov, bool):
            raise SpecError(expected("Momentum.nesterov", "a bool", self.nesterov))

    def step(self, key, param, grad, kernels) -> None:
        """Update ``param`` in place from ``grad`` with this optimizer's rule.

        Parameters
        ----------
        key : Any
            Identifies the parameter across steps (its slots are kept under it).
        param : numpy.ndarray
            The parameter, updated in place.
        grad : numpy.ndarray
            Its gradient.
        kernels : module
            The backend's ``optim`` kernel module that does the arithmetic.
        """
        v = self._slots.setdefault(key, np.zeros_like(param))
        kernels.momentum_step(
            param, grad, v, lr=self.lr, momentum=self.momentum, nesterov=self.nesterov
        )


@dataclass
class Adam:
    """Adam (Kingma & Ba), Keras form with the bias correction folded into the step size.

    The step counter advances per parameter, so every parameter sees t = 1 on its first step.

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate, ``> 0``.
    beta1, beta2 : float, default 0.9 and 0.999
        Decay rates of the moments, in [0, 1).
    epsilon : float, default 1e-7
        Added to ``sqrt(v)``, ``> 0``.
    _slots : dict
        The moments and step count by parameter key, kept by the optimizer (not an argument
        to pass).
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    _slots: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        _check("Adam", "lr", self.lr, lo_open=True)
        # beta = 1 divides by 1 - beta1^t = 0 (or never moves for beta2): open at 1
        _check("Adam", "beta1", self.beta1, hi=1.0, hi_open=True)
        _check("Adam", "beta2", self.beta2, hi=1.0, hi_open=True)
        _check("Adam", "epsilon", self.epsilon, lo_open=True)

    def step(self, key, param, grad, kernels) -> None:
        """One Adam step of ``param`` (its moments and step count kept under ``key``).

        Parameters
        ----------
        key, param, grad, kernels
            As in :meth:`Momentum.step`.
        """
        slot = self._slots.setdefault(key, [np.zeros_like(param), np.zeros_like(param), 0])
        slot[2] += 1
        kernels.adam_step(
            param, grad, slot[0], slot[1], lr=self.lr, beta1=self.beta1, beta2=self.beta2,
            epsilon=self.epsilon, step=slot[2],
        )


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
