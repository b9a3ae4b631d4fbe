"""Max pooling's arg-max in the compiled kernels equals numpy_ref's, bit for bit, where it is
delicate: ties (the first maximum in row-major window order wins), NaNs (the first NaN wins,
as ``np.argmax``), padding, strides wider and narrower than the window, and 1 or 2 threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import get_backend
from backends.errors import BackendUnavailableError
from backends.numpy_ref import pool as ref

GEOMETRIES = [
    {"size": (3, 3), "stride": (1, 1), "pads": (0, 0, 0, 0)},
    {"size": (3, 3), "stride": (1, 1), "pads": (1, 1, 1, 1)},
    {"size": (3, 2), "stride": (2, 3), "pads": (1, 0, 0, 1)},
    {"size": (2, 2), "stride": (2, 2), "pads": (0, 0, 0, 0)},
]


def _x(dtype, nans):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=(2, 9, 11, 3)).astype(dtype)  # many ties
    if nans:
        x[rng.random(x.shape) < 0.08] = np.nan
    return x


@pytest.mark.parametrize("backend", ["cython", "numba"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nans", [False, True])
def test_argmax_and_max_equal_reference(backend, geometry, dtype, nans):
    try:
        be = get_backend(backend)
    except BackendUnavailableError as err:
        pytest.skip(f"{backend} is not available here: {err}")
    pool = be.kernels("pool")
    x = _x(dtype, nans)
    want_y, want_arg = ref.maxpool_forward(x, **geometry)
    for threads in (1, 2):
        with be.threads(threads):
            y, arg = pool.maxpool_forward(x, **geometry)
        assert np.array_equal(arg, want_arg), f"arg-max differs at {threads} thread(s)"
        assert y.tobytes() == want_y.tobytes(), f"max differs at {threads} thread(s)"
    if nans:
        assert np.isnan(want_y).any(), "the test input should put NaNs into some windows"
