"""Specs validate themselves: bad values raise SpecError naming ``Spec.field``, the
expectation and the value; specs are keyword-only and frozen; output shapes follow TF."""

from __future__ import annotations

import dataclasses
import math

import pytest

from backends import specs
from backends.errors import ShapeError, SpecError
from backends.testing import CASES

# (spec class, keyword arguments, "Spec.field" the message must name, the bad value)
BAD = [
    (specs.Conv2D, {"filters": 0}, "Conv2D.filters", 0),
    (specs.Conv2D, {"filters": -3}, "Conv2D.filters", -3),
    (specs.Conv2D, {"filters": True}, "Conv2D.filters", True),
    (specs.Conv2D, {"filters": 4.0}, "Conv2D.filters", 4.0),
    (specs.Conv2D, {"filters": 4, "kernel": 0}, "Conv2D.kernel", 0),
    (specs.Conv2D, {"filters": 4, "kernel": (3, 0)}, "Conv2D.kernel", (3, 0)),
    (specs.Conv2D, {"filters": 4, "kernel": (3, 3, 3)}, "Conv2D.kernel", (3, 3, 3)),
    (specs.Conv2D, {"filters": 4, "kernel": (True, 3)}, "Conv2D.kernel", (True, 3)),
    (specs.Conv2D, {"filters": 4, "stride": 0}, "Conv2D.stride", 0),
    (specs.Conv2D, {"filters": 4, "stride": "2"}, "Conv2D.stride", "2"),
    (specs.Conv2D, {"filters": 4, "padding": "SAME"}, "Conv2D.padding", "SAME"),
    (specs.Conv2D, {"filters": 4, "padding": "full"}, "Conv2D.padding", "full"),
    (specs.Conv2D, {"filters": 4, "use_bias": 1}, "Conv2D.use_bias", 1),
    (specs.Conv2D, {"filters": 4, "algo": "fft"}, "Conv2D.algo", "fft"),
    (specs.MaxPool2D, {"size": 0}, "MaxPool2D.size", 0),
    (specs.MaxPool2D, {"size": 2, "stride": -1}, "MaxPool2D.stride", -1),
    (specs.MaxPool2D, {"padding": "valid "}, "MaxPool2D.padding", "valid "),
    (specs.AvgPool2D, {"size": (2, False)}, "AvgPool2D.size", (2, False)),
    (specs.AvgPool2D, {"padding": None}, "AvgPool2D.padding", None),
    (specs.Shortcut, {"alpha": math.nan}, "Shortcut.alpha", math.nan),
    (specs.Shortcut, {"beta": math.inf}, "Shortcut.beta", math.inf),
    (specs.Shortcut, {"alpha": "0.1"}, "Shortcut.alpha", "0.1"),
    (specs.Shortcut, {"beta": True}, "Shortcut.beta", True),
    (specs.PixelShuffle, {"scale": 0}, "PixelShuffle.scale", 0),
    (specs.PixelShuffle, {"scale": 2.0}, "PixelShuffle.scale", 2.0),
    (specs.PixelShuffle, {"scale": 2, "order": "cdr"}, "PixelShuffle.order", "cdr"),
    (specs.BatchNorm, {"momentum": 1.5}, "BatchNorm.momentum", 1.5),
    (specs.BatchNorm, {"momentum": -0.1}, "BatchNorm.momentum", -0.1),
    (specs.BatchNorm, {"epsilon": 0.0}, "BatchNorm.epsilon", 0.0),
    (specs.BatchNorm, {"epsilon": -1e-3}, "BatchNorm.epsilon", -1e-3),
    (specs.BatchNorm, {"epsilon": math.nan}, "BatchNorm.epsilon", math.nan),
    (specs.Activation, {"kind": "gelu"}, "Activation.kind", "gelu"),
    (specs.Activation, {"kind": "ReLU"}, "Activation.kind", "ReLU"),
    (specs.Connected, {"units": 0}, "Connected.units", 0),
    (specs.Connected, {"units": False}, "Connected.units", False),
    (specs.Connected, {"units": 3, "use_bias": "yes"}, "Connected.use_bias", "yes"),
    (specs.Upsample, {"scale": -2}, "Upsample.scale", -2),
    (specs.Loss, {"kind": "l2"}, "Loss.kind", "l2"),
    (specs.Loss, {"delta": 0.0}, "Loss.delta", 0.0),
    (specs.Loss, {"delta": math.inf}, "Loss.delta", math.inf),
]


@pytest.mark.parametrize(("cls", "kwargs", "field", "value"), BAD,
                         ids=[f"{f}={v!r}" for _, _, f, v in BAD])
def test_bad_value_raises_spec_error_naming_field_and_value(cls, kwargs, field, value):
    with pytest.raises(SpecError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert field in message
    assert "expected" in message
    assert repr(value) in message or str(value) in message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filters": 4, "kernel": 5, "algo": "winograd"},
        {"filters": 4, "kernel": (3, 1), "algo": "winograd"},
        {"filters": 4, "kernel": 3, "stride": 2, "algo": "winograd"},
        {"filters": 4, "kernel": 3, "stride": (1, 2), "algo": "winograd"},
    ],
)
def test_winograd_outside_3x3_stride_1_is_an_error(kwargs):
    with pytest.raises(SpecError, match=r"Conv2D\.algo") as info:
        specs.Conv2D(**kwargs)
    # the message says what it needs and what it received, never silently falls back
    assert "(3, 3)" in str(info.value) and "received" in str(info.value)


def test_winograd_on_3x3_stride_1_is_accepted():
    spec = specs.Conv2D(filters=4, kernel=3, algo="winograd")
    assert spec.kernel == (3, 3) and spec.stride == (1, 1)


@pytest.mark.parametrize("momentum", [0, 0.0, 0.5, 1, 1.0])
def test_batchnorm_momentum_closed_interval(momentum):
    assert specs.BatchNorm(momentum=momentum).momentum == momentum


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (specs.Conv2D, (8,)),
        (specs.MaxPool2D, (2,)),
        (specs.AvgPool2D, (2,)),
        (specs.Shortcut, (0.1,)),
        (specs.Conv2DAdd, (8,)),
        (specs.PixelShuffle, (2,)),
        (specs.BatchNorm, (1e-3,)),
        (specs.Activation, ("relu",)),
        (specs.Connected, (10,)),
        (specs.Upsample, (2,)),
        (specs.Loss, ("mse",)),
    ],
)
def test_positional_arguments_are_rejected(cls, args):
    with pytest.raises(TypeError):
        cls(*args)


def test_unknown_keyword_is_rejected():
    with pytest.raises(TypeError, match="filter"):
        specs.Conv2D(filter=8)  # typo of ``filters``


# one example of every spec class, from the catalogue (test_spec_facts.py checks that every
# spec class has one there), so a new spec is sampled without editing this file
SAMPLES = list({type(c.spec): c.spec for c in CASES}.values())


@pytest.mark.parametrize("spec", SAMPLES, ids=lambda s: type(s).__name__)
def test_specs_are_frozen_and_hashable(spec):
    field = dataclasses.fields(spec)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(spec, field, getattr(spec, field))
    assert hash(spec) == hash(dataclasses.replace(spec))
    assert spec == dataclasses.replace(spec)


def test_every_layer_spec_is_sampled():
    sampled = {type(s) for s in SAMPLES}
    assert set(specs.ALL_SPECS) | {specs.Loss} <= sampled


def test_int_kernel_and_stride_become_pairs():
    spec = specs.Conv2D(filters=2, kernel=5, stride=2)
    assert spec.kernel == (5, 5) and spec.stride == (2, 2)
    assert specs.MaxPool2D(size=3).stride == (3, 3)  # stride defaults to size


def _tf_same(n, k, s):
    """TensorFlow's documented "same" rule: out = ceil(n / s), total pad = max((out-1) s + k - n,
    0), the smaller half before (top/left)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _tf_valid(n, k, s):
    """TensorFlow's "valid" rule: out = ceil((n - k + 1) / s), no padding."""
    return math.ceil((n - k + 1) / s), 0, 0


GEOMETRY = [
    (h, w, k, s, p)
    for h, w in [(7, 8), (8, 7), (1, 1), (5, 12)]
    for k in [1, 2, 3, 4, 5]
    for s in [1, 2, 3]
    for p in ["same", "valid"]
    if p == "same" or (h >= k and w >= k)
]


@pytest.mark.parametrize(("h", "w", "k", "s", "padding"), GEOMETRY)
def test_conv_and_pool_geometry_follow_tensorflow(h, w, k, s, padding):
    rule = _tf_same if padding == "same" else _tf_valid
    ho, top, bottom = rule(h, k, s)
    wo, left, right = rule(w, k, s)
    conv = specs.Conv2D(filters=5, kernel=k, stride=s, padding=padding)
    pool = specs.MaxPool2D(size=k, stride=s, padding=padding)
    for spec, channels in ((conv, 5), (pool, 3)):
        assert spec.geometry((2, h, w, 3)) == (ho, wo, (top, bottom, left, right))
        assert spec.output_shape((2, h, w, 3)) == (2, ho, wo, channels)


def test_same_padding_puts_the_odd_row_bottom_right():
    # 4x4 kernel, stride 1: 3 rows of padding, 1 on top and 2 at the bottom (TF convention)
    assert specs.Conv2D(filters=1, kernel=4).geometry((1, 6, 6, 1))[2] == (1, 2, 1, 2)


def test_valid_padding_smaller_than_kernel_is_a_shape_error():
    with pytest.raises(ShapeError, match="height") as info:
        specs.Conv2D(filters=1, kernel=5, padding="valid").output_shape((1, 4, 9, 1))
    assert "4" in str(info.value)


@pytest.mark.parametrize("shape", [(1, 4, 4), (0, 4, 4, 3), (1, 4, 4, 3.0), (1, True, 4, 3)])
def test_bad_input_shape_is_a_shape_error(shape):
    with pytest.raises(ShapeError, match="input_shape"):
        specs.Conv2D(filters=1).output_shape(shape)


@pytest.mark.parametrize(("scale", "order"), [(2, "dcr"), (3, "crd")])
def test_pixel_shuffle_output_shape(scale, order):
    spec = specs.PixelShuffle(scale=scale, order=order)
    assert spec.output_shape((2, 5, 4, 2 * scale * scale)) == (2, 5 * scale, 4 * scale, 2)


def test_pixel_shuffle_channels_must_divide_by_scale_squared():
    with pytest.raises(ShapeError) as info:
        specs.PixelShuffle(scale=3).output_shape((1, 4, 4, 12))
    message = str(info.value)
    assert "channels" in message and "9" in message and "12" in message


def test_param_shapes():
    assert specs.Conv2D(filters=7, kernel=(3, 5)).param_shapes((1, 9, 9, 4)) == {
        "weights": (3, 5, 4, 7), "bias": (7,)}
    assert specs.Conv2D(filters=7, use_bias=False).param_shapes((1, 9, 9, 4)) == {
        "weights": (3, 3, 4, 7)}
    assert specs.Connected(units=6).param_shapes((2, 3, 4, 5)) == {
        "weights": (60, 6), "bias": (6,)}
    assert specs.BatchNorm().param_shapes((1, 2, 2, 3)) == {"gamma": (3,), "beta": (3,)}
    assert specs.Shortcut().param_shapes((1, 2, 2, 3)) == {}
    assert specs.Shortcut.n_inputs == 2 and specs.Conv2D.n_inputs == 1


@pytest.mark.tf
@pytest.mark.parametrize(("h", "w", "k", "s", "padding"), GEOMETRY[::7])
def test_output_shape_matches_tensorflow_ops(h, w, k, s, padding):
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    import numpy as np

    x = np.zeros((1, h, w, 2), np.float32)
    y = tf.nn.conv2d(x, np.zeros((k, k, 2, 3), np.float32), s, padding.upper())
    assert specs.Conv2D(filters=3, kernel=k, stride=s, padding=padding).output_shape(
        x.shape) == tuple(y.shape)
    y = tf.nn.max_pool2d(x, k, s, padding.upper())
    assert specs.MaxPool2D(size=k, stride=s, padding=padding).output_shape(x.shape) == tuple(
        y.shape)


def test_fused_conv_specs_validate():
    assert specs.Conv2D(filters=4, activation="relu").activation == "relu"
    with pytest.raises(SpecError, match="Conv2D.activation"):
        specs.Conv2D(filters=4, activation="elu")
    with pytest.raises(SpecError, match="Conv2DAdd.activation"):
        specs.Conv2DAdd(filters=4, activation="relu")
    with pytest.raises(SpecError, match="Conv2DAdd.alpha"):
        specs.Conv2DAdd(filters=4, alpha=float("nan"))
    # the skip input has the output's shape, not the input's
    spec = specs.Conv2DAdd(filters=4, kernel=3, padding="valid")
    assert spec.input_shapes((1, 8, 8, 6)) == ((1, 8, 8, 6), (1, 6, 6, 4))


def test_auto_algo_choices_follow_the_shape():
    assert specs.Conv2D(filters=4, algo="auto").algos() == ("im2col", "winograd", "winograd4")
    assert specs.Conv2D(filters=4, kernel=5, algo="auto").algos() == ("im2col",)
    assert specs.Conv2D(filters=4, stride=2, algo="auto").algos() == ("im2col",)
    assert specs.Conv2D(filters=4, algo="winograd").algos() == ("winograd",)
