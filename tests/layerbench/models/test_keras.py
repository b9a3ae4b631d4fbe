"""Each model against the same model written directly in Keras, with the same weights.

The weights travel through a Keras ``.h5`` file written by Keras itself, so these tests also
check the ``.h5`` import (plain, weight-normalised, krasserm's symmetric border).
"""

import numpy as np
import pytest

from backends.errors import WeightsError
from layerbench import models

CASES = {
    "edsr_x2": (lambda km: km.edsr(2, 2, 8, 0.1), lambda **kw: models.edsr(2, 2, 8, 0.1, **kw)),
    "edsr_x3": (lambda km: km.edsr(3, 1, 6, 1.0), lambda **kw: models.edsr(3, 1, 6, 1.0, **kw)),
    "edsr_x4": (lambda km: km.edsr(4, 1, 8, 1.0), lambda **kw: models.edsr(4, 1, 8, 1.0, **kw)),
    "wdsr_a_x4": (lambda km: km.wdsr(4, 2, 8, 3), lambda **kw: models.wdsr_a(4, 2, 8, 3, **kw)),
    "wdsr_a_x2_weightnorm": (lambda km: km.wdsr(2, 2, 8, 3, weightnorm=True),
                             lambda **kw: models.wdsr_a(2, 2, 8, 3, **kw)),
    "wdsr_a_x3_krasserm_border": (
        lambda km: km.wdsr(3, 2, 8, 3, weightnorm=True, border="symmetric"),
        lambda **kw: models.wdsr_a(3, 2, 8, 3, border="symmetric", **kw)),
    "wdsr_b_x2": (lambda km: km.wdsr(2, 2, 10, 4, block="b"),
                  lambda **kw: models.wdsr_b(2, 2, 10, 4, **kw)),
}


@pytest.fixture(scope="module")
def keras_files(km, tmp_path_factory):
    """Build each Keras model once, save it as .h5, keep its output on a fixed input."""
    x = np.random.default_rng(0).uniform(0, 255, (1, 11, 13, 3)).astype(np.float32)
    out = {}
    for name, (make_keras, _) in CASES.items():
        model = make_keras(km)
        path = tmp_path_factory.mktemp("keras") / f"{name}.h5"
        model.save(path)
        out[name] = (path, np.asarray(model(x)))
    return x, out


@pytest.mark.parametrize("name", list(CASES))
def test_model_matches_keras(name, dtype, keras_files, model_close):
    x, files = keras_files
    path, want = files[name]
    model = CASES[name][1](dtype=dtype)
    model.load_weights(path)
    got = model.predict(x.astype(dtype))
    # Keras ran in float32, so the budget is float32's whatever our dtype
    model_close(got, want, model=model, dtype=np.float32, against="tensorflow")


def test_h5_mismatch_names_layer_and_shapes(keras_files):
    _, files = keras_files
    model = models.wdsr_a(4, 2, 12, 3)  # 12 features instead of 8
    with pytest.raises(WeightsError, match=r"layer 'head'.*expected shape \(3, 3, 3, 12\), "
                                           r"found \(3, 3, 3, 8\)"):
        model.load_weights(files["wdsr_a_x4"][0])
    with pytest.raises(WeightsError, match="conv2d_main_scale_4"):
        models.wdsr_a(2, 2, 8, 3).load_weights(files["wdsr_a_x4"][0])
    with pytest.raises(WeightsError, match="convolution layers"):
        models.wdsr_a(4, 3, 8, 3).load_weights(files["wdsr_a_x4"][0])


def test_keras3_weights_h5_layout(km, tmp_path, model_close):
    """``model.save_weights("x.weights.h5")`` (Keras 3 layout, unnamed variables), with more
    than ten convolutions so that name order and creation order differ alphabetically."""
    kmodel = km.edsr(2, 5, 4, 0.5)
    kmodel.save_weights(tmp_path / "edsr.weights.h5")
    model = models.edsr(2, 5, 4, 0.5)
    model.load_weights(tmp_path / "edsr.weights.h5")
    x = np.random.default_rng(7).uniform(0, 255, (1, 6, 5, 3)).astype(np.float32)
    model_close(model.predict(x), np.asarray(kmodel(x)), model=model, dtype=np.float32,
                against="tensorflow")
