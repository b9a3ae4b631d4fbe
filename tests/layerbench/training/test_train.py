"""Training through the protocol: one step equal on every backend and in TF; resume."""

import math
import os

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from backends import Adam, LossFunction, specs
from backends.testing.tolerances import TF_FACTOR, tolerance
from layerbench import models
from layerbench.models.graph import reduction_length
from layerbench.training import train as train_mod
from layerbench.training import train_schema

# Keras rounds its hyper-parameters through float32 even for float64 variables (see
# tests/backends/test_optim.py), so the steps use values float32 holds exactly.
LR, BETA1, BETA2, EPS = 2.0**-10, 0.875, 1 - 2.0**-10, 2.0**-23
from layerbench.confdir import CONFIG_PATH as CONF  # noqa: E402  installed or checkout


def batch():
    rng = np.random.default_rng(5)
    return rng.uniform(0, 255, (2, 6, 7, 3)), rng.uniform(0, 255, (2, 12, 14, 3))


def one_step(model, lr_img, hr_img):
    """One L1 + Adam step through forward/backward/update; returns the gradients."""
    loss = LossFunction(specs.Loss(kind="mae"), backend=model.backend, dtype=model.dtype)
    y = model.forward(model.normalise(lr_img), training=True)
    loss.forward(y, ((hr_img - model.mean) / model.norm).astype(model.dtype))
    model.backward(loss.backward())
    grads = model.grads()
    model.update(Adam(lr=LR, beta1=BETA1, beta2=BETA2, epsilon=EPS))
    return grads


def assert_step_close(after, want_after, grads, model, dtype, against):
    """Parameters after one Adam step: the optimizer tier on the parameter plus the
    gradient's model-level reduction budget times the first step's gain
    ``lr sqrt(1 - beta2) / epsilon`` (the table's optimizer rule)."""
    dt = np.dtype(dtype)
    factor = TF_FACTOR[dt] if against == "tensorflow" else 1.0
    grad_rtol = tolerance("reduction", dt, reduction_length(model.net)) * factor
    gain = LR * math.sqrt(1 - BETA2) / EPS
    for key, want in want_after.items():
        g = np.max(np.abs(grads[key]))
        atol = tolerance("optimizer", dt) * factor * np.max(np.abs(want)) + gain * grad_rtol * g
        err = np.max(np.abs(after[key] - want))
        assert err <= atol, f"{key} vs {against}: |err| {err:.3g} > budget {atol:.3g}"


def test_one_step_same_on_every_backend(backend):
    lr_img, hr_img = batch()
    ref = models.edsr(2, 1, 4, 1.0, dtype=np.float64)
    model = models.edsr(2, 1, 4, 1.0, backend=backend, dtype=np.float64)
    model.load_params(ref.params())
    grads = one_step(ref, lr_img, hr_img)
    one_step(model, lr_img, hr_img)
    assert any(np.any(v != models.edsr(2, 1, 4, 1.0, dtype=np.float64).params()[k])
               for k, v in ref.params().items()), "the step changed nothing"
    assert_step_close(model.params(), ref.params(), grads, ref, np.float64,
                      "tensorflow" if backend == "tensorflow" else "numpy")


def test_one_step_matches_keras(tmp_path):
    tf = pytest.importorskip("tensorflow", reason="TensorFlow/Keras is the oracle of this test")
    from keras import optimizers

    from layerbench.models import keras_peer as km

    lr_img, hr_img = batch()
    kmodel = km.edsr(2, 1, 4, 1.0, dtype="float64")
    kmodel.save(tmp_path / "init.h5")
    ours = models.edsr(2, 1, 4, 1.0, dtype=np.float64)
    ours.load_weights(tmp_path / "init.h5")
    grads = one_step(ours, lr_img, hr_img)
    with tf.GradientTape() as tape:
        # EDSR's normalisation is a shift, so the L1 loss is the same in either unit
        loss = tf.reduce_mean(tf.abs(kmodel(lr_img) - hr_img))
    kgrads = tape.gradient(loss, kmodel.trainable_variables)
    optimizers.Adam(learning_rate=LR, beta_1=BETA1, beta_2=BETA2, epsilon=EPS).apply_gradients(
        zip(kgrads, kmodel.trainable_variables, strict=True))
    kmodel.save(tmp_path / "after.h5")
    from layerbench.models import weights_h5

    want = weights_h5.read(tmp_path / "after.h5", ours)
    assert_step_close(ours.params(), want, grads, ours, np.float64, "tensorflow")


def config(tmp_path, **overrides):
    with initialize_config_dir(version_base="1.3", config_dir=os.path.abspath(CONF)):
        cfg = compose("train", overrides=[
            "model=edsr_small_x2", "model.n_resblocks=1", "model.n_feats=4",
            "data.train=[camera,coins]", "data.val=[clock]", "data.patch=8", "data.batch=2",
            "data.val_crop=32", "epoch_steps=2", "progress=false",
            f"out_dir={tmp_path}", *[f"{k}={v}" for k, v in overrides.items()],
        ])
    return train_mod.to_schema(cfg)


def test_model_group_is_derived_from_the_presets():
    """``model=<name>`` composes PRESETS[name] for every trainable preset (the group has no
    files of its own); bicubic, with nothing to train, is not a choice."""
    from dataclasses import asdict

    names = sorted(n for n, p in models.PRESETS.items() if p["arch"] != "bicubic")
    assert sorted(train_schema.model_group()) == names
    with initialize_config_dir(version_base="1.3", config_dir=os.path.abspath(CONF)):
        for name in names:
            m = train_mod.to_schema(compose("train", overrides=[f"model={name}"])).model
            assert {k: v for k, v in asdict(m).items() if v is not None} == {
                "name": name, **models.PRESETS[name]}, name
        with pytest.raises(Exception, match="bicubic_x2"):
            compose("train", overrides=["model=bicubic_x2"])


def test_schema_rejects_unknown_keys(tmp_path):
    with pytest.raises(Exception, match="nonexistent"):
        config(tmp_path, **{"+optim.nonexistent": 1})


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    straight = train_mod.train(config(tmp_path / "a", steps=4))
    first = train_mod.train(config(tmp_path / "b", steps=2))  # "killed" after its checkpoint
    # a torn write of the next checkpoint must not matter: only the rename publishes it
    (tmp_path / "b" / "checkpoint.npz.tmp.npz").write_bytes(b"partial")
    resumed = train_mod.train(config(tmp_path / "b", steps=4))
    assert first["steps"] == 2 and resumed["steps"] == straight["steps"] == 4
    a = models.edsr(2, 1, 4, 1.0)
    b = models.edsr(2, 1, 4, 1.0)
    a.load_weights(tmp_path / "a" / "edsr_small_x2.npz")
    b.load_weights(tmp_path / "b" / "edsr_small_x2.npz")
    for key, value in a.params().items():
        np.testing.assert_array_equal(b.params()[key], value)
    assert [r["step"] for r in resumed["history"]] == [2, 4]
    assert np.isfinite(resumed["history"][-1]["val_psnr"])
