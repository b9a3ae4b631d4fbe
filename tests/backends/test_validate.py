"""One validator module (``backends/_validate.py``) for the layers and both compiled backends:
the same bad argument gets the same error and the same words from Cython and Numba (Numba's
name carries a ``numba.`` prefix), and from a layer where a layer checks it."""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs

X = np.zeros((1, 5, 5, 2))
W = np.zeros((3, 3, 2, 4))
P = np.zeros(6)
STRIDED = np.zeros((1, 5, 5, 4))[..., ::2]  # 2 channels, not contiguous
READ_ONLY = np.zeros(6)
READ_ONLY.setflags(write=False)

BAD = {
    "list input": ("conv", "conv2d_forward", (X.tolist(), W, None),
                   dict(stride=(1, 1), pads=(1, 1, 1, 1))),
    "mixed dtypes": ("conv", "conv2d_forward", (X, W.astype(np.float32), None),
                     dict(stride=(1, 1), pads=(1, 1, 1, 1))),
    "int input": ("activation", "activation_forward", (X.astype(np.int32),), dict(kind="relu")),
    "not contiguous": ("activation", "activation_forward", (STRIDED,), dict(kind="relu")),
    "empty": ("upsample", "upsample_forward", (X[:0],), dict(scale=2)),
    "stride 0": ("conv", "conv2d_forward", (X, W, None), dict(stride=(0, 1), pads=(1, 1, 1, 1))),
    "pads": ("conv", "conv2d_forward", (X, W, None), dict(stride=(1, 1), pads=(1, 1, 1))),
    "window": ("pool", "maxpool_forward", (X,), dict(size=(9, 9), stride=(1, 1),
                                                      pads=(0, 0, 0, 0))),
    "pads >= window": ("pool", "avgpool_forward", (X,), dict(size=(2, 2), stride=(1, 1),
                                                             pads=(2, 0, 0, 0))),
    "nan": ("shortcut", "shortcut_forward", (X, X), dict(alpha=float("nan"), beta=1.0)),
    "scale": ("shuffle", "pixel_shuffle", (X,), dict(scale=0, order="dcr")),
    "choice": ("shuffle", "pixel_shuffle", (X,), dict(scale=1, order="abc")),
    "read-only": ("optim", "sgd_step", (READ_ONLY, P), dict(lr=0.1)),
    "x_shape": ("pool", "avgpool_backward", (X,), dict(x_shape=(1, 5, 5), size=(1, 1),
                                                       stride=(1, 1), pads=(0, 0, 0, 0))),
}


def _error(backend, module, fn, args, kwargs):
    try:
        kernels = backends.get_backend(backend).kernels(module)
    except backends.errors.BackendUnavailableError as err:
        pytest.skip(str(err))
    with pytest.raises((backends.errors.LayerbenchError, TypeError)) as info:
        getattr(kernels, fn)(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("what", list(BAD))
def test_cython_and_numba_say_the_same(what):
    module, fn, args, kwargs = BAD[what]
    c_type, c_msg = _error("cython", module, fn, args, kwargs)
    n_type, n_msg = _error("numba", module, fn, args, kwargs)
    assert c_type is n_type, (c_msg, n_msg)
    assert n_msg == f"numba.{c_msg}"
    assert c_msg.startswith(f"{fn}.") and ": expected " in c_msg and ", received " in c_msg


def test_layer_words_are_the_kernels_words():
    """A layer checks its exact dtype and rank (NHWC) itself, the rest as the kernels do."""
    layer = backends.build(specs.Activation(kind="relu"), input_shape=X.shape, dtype=np.float64)
    with pytest.raises(backends.errors.LayoutError) as info:
        layer.forward(STRIDED)
    assert str(info.value) == (
        "Activation[numpy].x: expected a C-contiguous array (np.ascontiguousarray), "
        f"received 'strides {STRIDED.strides}'")
    with pytest.raises(backends.errors.ShapeError, match=r"^Activation\[numpy\]\.x\.ndim: "
                       r"expected 4 \(NHWC\), received 3$"):
        layer.forward(X[0])
