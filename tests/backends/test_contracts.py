"""The protocol contract every backend keeps (run on every backend that imports here).

Inputs are read-only to a layer; outputs are new, C-contiguous arrays of the right shape and
dtype; calls out of order raise StateError; bad arrays raise ShapeError / DTypeError /
LayoutError naming the parameter, the expectation and what was received; bad parameters raise
NonFiniteError / WeightsError; the registry says what it knows.

These tests go through the generic layers of ``backends/layers``, which every backend shares
(validation happens before any kernel runs), so they apply to TensorFlow too.
"""

from __future__ import annotations

import numpy as np
import pytest

import backends
from backends import specs
from backends.errors import (
    DTypeError,
    LayoutError,
    NonFiniteError,
    ShapeError,
    StateError,
    WeightsError,
)
from backends.registry import BACKEND_NAMES
from backends.testing.catalogue import CASES
from backends.testing.data import make_inputs

DTYPES = (np.float32, np.float64)
LAYER_CASES = [c for c in CASES if not isinstance(c.spec, specs.Loss)]


def _one_per_family(cases):
    seen, out = set(), []
    for c in cases:
        key = (c.layer, c.training, getattr(c.spec, "algo", None))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


# one case per layer family (and mode / algorithm): the contract is the same for every size
FAMILY = _one_per_family(LAYER_CASES)
WEIGHTED = [c for c in FAMILY if c.spec.param_shapes(c.input_shape)]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _build(case, backend, dtype):
    try:
        layer = backends.build(case.spec, input_shape=case.input_shape, backend=backend,
                               dtype=dtype)
    except backends.errors.NotSupportedError as err:
        pytest.skip(f"{backend} does not support {case.name}: {err}")
    return layer


def _inputs(case, dtype):
    data = make_inputs(case, dtype)
    xs = (data["x"], data["x2"]) if case.is_merge else (data["x"],)
    return data, tuple(_readonly(x) for x in xs), _readonly(data["dy"])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", FAMILY, ids=str)
def test_inputs_untouched_outputs_new(backend, case, dtype):
    layer = _build(case, backend, dtype)
    data, xs, dy = _inputs(case, dtype)
    params = {k: _readonly(v) for k, v in data["params"].items()}
    copies = [x.copy() for x in (*xs, dy, *params.values())]
    layer.load_params(params)

    y = layer.forward(*xs, training=case.training)
    dxs = layer.backward(dy)
    dxs = dxs if isinstance(dxs, tuple) else (dxs,)
    grads = layer.grads()

    for before, after in zip(copies, (*xs, dy, *params.values()), strict=True):
        np.testing.assert_array_equal(after, before)
    outputs = {"y": (y, case.output_shape)}
    outputs |= {f"dx{i}": (d, x.shape) for i, (d, x) in enumerate(zip(dxs, xs, strict=True))}
    shapes = case.spec.param_shapes(case.input_shape)
    assert set(grads) == set(shapes)
    outputs |= {f"grad/{k}": (g, shapes[k]) for k, g in grads.items()}
    for name, (out, shape) in outputs.items():
        assert isinstance(out, np.ndarray), name
        assert out.shape == tuple(shape), name
        assert out.dtype == np.dtype(dtype), name
        assert out.flags.c_contiguous, name
        for src in (*xs, dy, *params.values()):
            assert not np.shares_memory(out, src), f"{name} aliases an input"
    # the layer copied its parameters: the caller's arrays are not the layer's
    for k, p in layer.params().items():
        assert not np.shares_memory(p, params[k])
    # a second forward makes a new output, the first one is left alone
    y_first = y.copy()
    y2 = layer.forward(*xs, training=case.training)
    assert not np.shares_memory(y, y2)
    np.testing.assert_array_equal(y, y_first)


@pytest.mark.parametrize("case", FAMILY, ids=str)
def test_backward_before_forward_is_a_state_error(backend, case):
    layer = _build(case, backend, np.float32)
    _, _, dy = _inputs(case, np.float32)
    with pytest.raises(StateError, match=r"backward\(\).*forward\(\)"):
        layer.backward(dy)


@pytest.mark.parametrize("case", FAMILY, ids=str)
def test_grads_before_backward_is_a_state_error(backend, case):
    layer = _build(case, backend, np.float32)
    _, xs, _ = _inputs(case, np.float32)
    with pytest.raises(StateError, match=r"grads\(\).*backward\(\)"):
        layer.grads()
    layer.forward(*xs, training=case.training)
    with pytest.raises(StateError):
        layer.grads()  # forward alone computes no gradient


def _bad_arrays(x: np.ndarray):
    """(label, array, error type, fragments the message must hold) for a valid input x."""
    other = np.float64 if x.dtype == np.float32 else np.float32
    wrong_c = np.zeros((*x.shape[:3], x.shape[3] + 1), x.dtype)
    strided = np.zeros((*x.shape[:3], 2 * x.shape[3]), x.dtype)[..., ::2]
    return [
        ("ndim3", x[0], ShapeError, ["ndim", "4", "3"]),
        ("ndim5", x[None], ShapeError, ["ndim", "4", "5"]),
        ("dtype", x.astype(other), DTypeError, ["dtype", str(x.dtype), np.dtype(other).name]),
        ("int", x.astype(np.int32), DTypeError, ["dtype", "int32"]),
        ("channels", wrong_c, ShapeError, ["channels", str(x.shape[3]), str(x.shape[3] + 1)]),
        ("non-contiguous", strided, LayoutError, ["C-contiguous", "strides"]),
        ("empty", np.zeros((0, *x.shape[1:]), x.dtype), ShapeError, ["empty"]),
    ]


@pytest.mark.parametrize("case", FAMILY, ids=str)
def test_bad_input_arrays_are_named_errors(backend, case):
    layer = _build(case, backend, np.float32)
    _, xs, _ = _inputs(case, np.float32)
    param = "a" if case.is_merge else "x"
    for label, bad, error, fragments in _bad_arrays(xs[0]):
        with pytest.raises(error) as info:
            layer.forward(bad, *xs[1:], training=case.training)
        message = str(info.value)
        assert f".{param}" in message, (label, message)
        for fragment in fragments:
            assert fragment in message, (label, fragment, message)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        layer.forward(xs[0].tolist(), *xs[1:])


def test_shortcut_second_input_must_match_the_first(backend):
    case = next(c for c in FAMILY if isinstance(c.spec, specs.Shortcut))
    layer = _build(case, backend, np.float32)
    _, (a, b), _ = _inputs(case, np.float32)
    with pytest.raises(ShapeError, match=r"\.b\.shape") as info:
        layer.forward(a, b[:, :-1].copy())
    assert str(a.shape) in str(info.value)
    with pytest.raises(DTypeError, match=r"\.b\.dtype"):
        layer.forward(a, b.astype(np.float64))


@pytest.mark.parametrize("case", FAMILY, ids=str)
def test_dy_of_the_wrong_shape_or_dtype_is_rejected(backend, case):
    layer = _build(case, backend, np.float32)
    _, xs, dy = _inputs(case, np.float32)
    layer.forward(*xs, training=case.training)
    bigger = np.zeros((dy.shape[0] + 1, *dy.shape[1:]), dy.dtype)
    with pytest.raises(ShapeError, match=r"\.dy\.shape") as info:
        layer.backward(bigger)
    assert str(dy.shape) in str(info.value) and str(bigger.shape) in str(info.value)
    with pytest.raises(DTypeError, match=r"\.dy\.dtype"):
        layer.backward(dy.astype(np.float64))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("case", WEIGHTED, ids=str)
def test_non_finite_parameters_are_rejected(backend, case, bad):
    layer = _build(case, backend, np.float32)
    params = make_inputs(case, np.float32)["params"]
    # the last parameter: a load that fails must not leave the earlier ones half-loaded
    name = list(case.spec.param_shapes(case.input_shape))[-1]
    broken = params[name].copy()
    broken.flat[broken.size // 2] = bad
    before = {k: v.copy() for k, v in layer.params().items()}
    with pytest.raises(NonFiniteError, match=name):
        layer.load_params({**params, name: broken})
    # a rejected load leaves the layer as it was (no half-loaded state)
    for k, v in layer.params().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("case", WEIGHTED, ids=str)
def test_wrong_parameter_shapes_and_keys_are_weights_errors(backend, case):
    layer = _build(case, backend, np.float32)
    params = make_inputs(case, np.float32)["params"]
    name, shape = next(iter(case.spec.param_shapes(case.input_shape).items()))
    wrong = np.zeros((*shape[:-1], shape[-1] + 1), np.float32)
    with pytest.raises(WeightsError) as info:
        layer.load_params({**params, name: wrong})
    assert name in str(info.value)
    assert str(shape) in str(info.value) and str(wrong.shape) in str(info.value)
    with pytest.raises(WeightsError, match="unknown.*kernel"):
        layer.load_params({**params, "kernel": params[name]})
    missing = dict(params)
    del missing[name]
    with pytest.raises(WeightsError, match=f"missing.*{name}"):
        layer.load_params(missing)


def test_unknown_backend_lists_the_choices():
    with pytest.raises(ValueError) as info:
        backends.get_backend("torch")
    message = str(info.value)
    assert "torch" in message
    for name in BACKEND_NAMES:
        assert name in message
    with pytest.raises(ValueError, match="numpy"):
        backends.build(specs.Activation(kind="relu"), input_shape=(1, 2, 2, 1), backend="jax")


def test_available_backends_contains_the_reference():
    names = backends.available_backends()
    assert "numpy" in names
    assert set(names) <= set(BACKEND_NAMES)


@pytest.mark.parametrize(
    "dtype", [np.float16, np.int32, "complex64", np.bool_, "not a dtype", None])
def test_build_rejects_other_dtypes(dtype):
    with pytest.raises(DTypeError, match="float32 or float64"):
        backends.build(specs.Conv2D(filters=2), input_shape=(1, 4, 4, 1), dtype=dtype)


def test_build_rejects_a_bad_input_shape_and_a_non_spec():
    with pytest.raises(ShapeError, match="input_shape"):
        backends.build(specs.Conv2D(filters=2), input_shape=(4, 4, 1))
    with pytest.raises(TypeError, match="spec"):
        backends.build({"filters": 2}, input_shape=(1, 4, 4, 1))


def test_threads_knob_rejects_non_positive_counts(backend):
    b = backends.get_backend(backend)
    for n in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            with b.threads(n):
                pass
