"""Every available backend gives the output of numpy_ref (float64) for every model."""

import numpy as np
import pytest

from layerbench import models

BUILDERS = {
    "edsr_x2": lambda **kw: models.edsr(2, 2, 8, 0.1, **kw),
    "edsr_x4": lambda **kw: models.edsr(4, 1, 6, 1.0, **kw),
    "wdsr_a_x3": lambda **kw: models.wdsr_a(3, 2, 6, 3, **kw),
    "wdsr_a_x2_symmetric": lambda **kw: models.wdsr_a(2, 1, 6, 2, border="symmetric", **kw),
    "wdsr_b_x4": lambda **kw: models.wdsr_b(4, 2, 10, 3, **kw),
}


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(1).uniform(0, 255, (2, 9, 12, 3))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_backend_matches_numpy_reference(name, backend, dtype, image, model_close):
    ref = BUILDERS[name](backend="numpy", dtype=np.float64)
    model = BUILDERS[name](backend=backend, dtype=dtype)
    # same seed, same initialisation; load the reference's anyway so the test states it
    model.load_params(ref.params())
    want = ref.predict(image)
    got = model.predict(image.astype(dtype))
    model_close(got, want, model=model, dtype=dtype,
                against="tensorflow" if backend == "tensorflow" else "numpy")
