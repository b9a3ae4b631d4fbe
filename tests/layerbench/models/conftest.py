"""Shared helpers of the model tests: the model-level budget and Keras reference models."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

from backends.testing.tolerances import RUNTIME_FACTOR, TF_FACTOR, tolerance
from layerbench.models.graph import reduction_length

HERE = os.path.dirname(os.path.abspath(__file__))


def model_reduction_length(model) -> int:
    """A model is a chain of reductions: its budget is the reduction tier with K summed over
    the convolutions (:func:`layerbench.models.graph.reduction_length`)."""
    return reduction_length(model.net)


def assert_model_close(actual, desired, *, model, dtype, against="numpy", what="output"):
    """``|actual - desired| <= rtol max|desired|`` with the reduction-tier ``rtol`` of the
    whole model (:func:`model_reduction_length`; the winograd tier when a convolution may
    run Winograd); TensorFlow adds its ``TF_FACTOR``, another runtime (``against="runtime"``)
    its ``RUNTIME_FACTOR``."""
    dt = np.dtype(dtype)
    # convolutions that may run Winograd (algo "winograd", "winograd4" or an "auto" that can
    # pick one, the models' default) are judged by the winograd tier, as each layer is
    tier = "winograd" if any(
        {"winograd", "winograd4"} & set(getattr(n.layer.spec, "algos", tuple)())
        for n in model.net.nodes.values()) else "reduction"
    rtol = tolerance(tier, dt, model_reduction_length(model))
    if against == "tensorflow":
        rtol *= TF_FACTOR[dt]
    elif against == "runtime":
        rtol *= RUNTIME_FACTOR[dt]
    a, d = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    assert a.shape == d.shape, f"{what}: shape {a.shape} != desired {d.shape}"
    err = np.abs(a - d)
    atol = rtol * float(np.max(np.abs(d)))
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= atol, (
        f"{model.name} {what} ({dt.name} vs {against}): worst index {worst}: actual "
        f"{a[worst]!r} desired {d[worst]!r} |err| {err[worst]:.3g} > budget {atol:.3g} "
        f"(rtol {rtol:.3g} x max|desired|)"
    )
    return float(err[worst]), atol


@pytest.fixture
def model_close():
    """:func:`assert_model_close` (tests import nothing from this folder: importlib mode)."""
    return assert_model_close


@pytest.fixture(scope="session")
def km():
    """The Keras reference models (:mod:`layerbench.models.keras_peer`); skipped without
    TensorFlow."""
    pytest.importorskip("tensorflow", reason="TensorFlow/Keras is the oracle of these tests")
    from layerbench.models import keras_peer

    return keras_peer


@pytest.fixture(scope="session")
def data_dir():
    return os.path.join(HERE, "data")


def write_keras_h5(path, model, make_bias=None, index: int = 0) -> None:
    """``model``'s convolutions in the Keras 2 ``.h5`` layout (``layer_names`` /
    ``weight_names``, as ``model.save_weights`` of Keras 2 writes it), written with h5py;
    ``make_bias(group, name, value)``, when given, creates the bias of layer ``index``."""
    import h5py

    params = model.params()
    convs = [n.name for n in model.net.nodes.values() if n.layer.spec.has_weights]
    with h5py.File(path, "w") as f:
        names = []
        for i, node in enumerate(convs):
            lname = f"conv2d_{i}" if i else "conv2d"
            names.append(lname.encode())
            g = f.create_group(lname)
            wn = [f"{lname}/kernel:0", f"{lname}/bias:0"]
            g.attrs["weight_names"] = [w.encode() for w in wn]
            g.create_dataset(wn[0], data=params[f"{node}/weights"])
            if i == index and make_bias is not None:
                make_bias(g, wn[1], params[f"{node}/bias"])
            else:
                g.create_dataset(wn[1], data=params[f"{node}/bias"])
        f.attrs["layer_names"] = names


@pytest.fixture(scope="session")
def keras_h5():
    """:func:`write_keras_h5` (tests import nothing from this folder: importlib mode)."""
    return write_keras_h5
