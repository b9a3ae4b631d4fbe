"""Run one case on one backend and collect every tensor worth comparing.

Tensor names: ``y`` (output; the loss value for a loss case), ``dx`` (``da``/``db`` for a
shortcut), ``grad/<param>``, ``state/<buffer>`` (batch-norm running statistics after the
forward) and ``<optimizer>/<param>`` (the parameter after one step of ``sgd``, ``momentum``
or ``adam``). Both sides of a comparison come from :func:`run_case` with the same seed, so
they start from identical parameters and data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..losses import LossFunction
from ..optim import SGD, Adam, Momentum
from ..registry import build, check_dtype
from .data import make_inputs

__all__ = ["OPTIMIZERS", "OptimizerSetting", "run_case", "step_gain"]


@dataclass(frozen=True)
class OptimizerSetting:
    """Hyper-parameters of the one-step check and the step's sensitivity to the gradient."""

    name: str
    kwargs: dict
    gain: float  # max |d(step)/d(gradient)| for the first step (tolerances.budget uses it)

    def make(self):
        return {"sgd": SGD, "momentum": Momentum, "adam": Adam}[self.name](**self.kwargs)


# Adam's first step moves a weight by lr g / (|g| + epsilon / sqrt(1 - beta2)): with Keras'
# epsilon = 1e-7 that is lr sign(g), which flips for a gradient within rounding of 0 and turns
# a float32-vs-float64 comparison into a coin toss. epsilon = 0.1 keeps the step a smooth
# function of g (gain lr sqrt(1 - beta2) / epsilon) and makes where epsilon sits visible.
_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 0.1}
OPTIMIZERS: dict[str, OptimizerSetting] = {
    "sgd": OptimizerSetting("sgd", {"lr": 0.01}, gain=0.01),
    "momentum": OptimizerSetting("momentum", {"lr": 0.01, "momentum": 0.9}, gain=0.01),
    "adam": OptimizerSetting(
        "adam", _ADAM, gain=_ADAM["lr"] * math.sqrt(1 - _ADAM["beta2"]) / _ADAM["epsilon"]
    ),
}


def step_gain(tensor: str) -> float:
    """``gain`` of an ``<optimizer>/<param>`` tensor name (0 for any other tensor)."""
    head = tensor.split("/", 1)[0]
    return OPTIMIZERS[head].gain if head in OPTIMIZERS else 0.0


def _optimizer_names(optimizer) -> tuple[str, ...]:
    if optimizer is None:
        return tuple(OPTIMIZERS)
    names = (optimizer,) if isinstance(optimizer, str) else tuple(optimizer)
    for name in names:
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected names from {tuple(OPTIMIZERS)}, "
                             f"received {name!r}")
    return names


def _copy(a) -> np.ndarray:
    return np.array(a, copy=True)


def _run_loss(case, backend, dt, inputs) -> dict[str, np.ndarray]:
    loss = LossFunction(case.spec, backend=backend, dtype=dt)
    value = loss.forward(inputs["x"], inputs["target"])
    return {"y": np.asarray(value, dtype=np.float64), "dx": _copy(loss.backward())}


def _forward_backward(layer, case, inputs):
    if case.is_merge:
        y = layer.forward(inputs["x"], inputs["x2"], training=case.training)
        return y, layer.backward(inputs["dy"])
    y = layer.forward(inputs["x"], training=case.training)
    return y, layer.backward(inputs["dy"])


def run_case(
    case, backend: Any, dtype: Any, *, optimizer: str | Iterable[str] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Build ``case`` on ``backend`` in ``dtype``, run it, return its tensors by name.

    Parameters
    ----------
    case : backends.testing.Case
    backend : str or KernelBackend
    dtype : float32 or float64
    optimizer : str, iterable of str, or None
        Which optimizer steps to record (``None``: all of :data:`OPTIMIZERS`; ``()``: none).
    seed : int
        Data seed (:func:`~backends.testing.data.make_inputs`).

    Raises
    ------
    backends.errors.LayerbenchError
        Whatever the backend raises for an unsupported combination (tests turn
        ``NotSupportedError`` into a skip with its message).
    """
    dt = check_dtype(dtype)
    inputs = make_inputs(case, dt, seed)
    if case.spec.is_loss:
        return _run_loss(case, backend, dt, inputs)
    layer = build(case.spec, input_shape=case.input_shape, backend=backend, dtype=dt)
    layer.load_params(inputs["params"])
    y, dx = _forward_backward(layer, case, inputs)
    out: dict[str, np.ndarray] = {"y": _copy(y)}
    if case.is_merge:
        out["da"], out["db"] = _copy(dx[0]), _copy(dx[1])
    else:
        out["dx"] = _copy(dx)
    for name, g in layer.grads().items():
        out[f"grad/{name}"] = _copy(g)
    for name, s in layer.state().items():
        out[f"state/{name}"] = _copy(s)
    if not layer.params():
        return out
    for opt_name in _optimizer_names(optimizer):
        # load_params clears the gradients: run forward/backward again from the same start
        layer.load_params(inputs["params"])
        _forward_backward(layer, case, inputs)
        layer.update(OPTIMIZERS[opt_name].make())
        for name, p in layer.params().items():
            out[f"{opt_name}/{name}"] = _copy(p)
    return out
