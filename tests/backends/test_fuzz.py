"""Hypothesis over specs, shapes, strides, paddings, dtypes and memory layouts.

Each example either matches numpy_ref float64 within the budget of
``backends/testing/tolerances.py`` or raises a ``backends.errors.LayerbenchError`` subclass;
it never crashes (no IndexError from a kernel, no wrong answer on a strided input). Invalid
inputs must be rejected by the backend exactly when numpy_ref rejects them.
TensorFlow is left out: an eager TF example costs ~50 ms (x hundreds of examples x dtypes),
and the catalogue already checks it in test_equality and test_oracle_tf.

The README test command runs these examples derandomised (``tests/conftest.py``);
``nox -s fuzz`` explores with fresh seeds, and a failing example is reported with
:func:`catalogue_entry` (a ``Case(...)`` line to add to ``backends/testing/catalogue.py``, where
every run then checks it on every backend).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from backends import specs
from backends.activations import ACTIVATIONS
from backends.errors import LayerbenchError, NotSupportedError
from backends.registry import build
from backends.testing import Case, assert_close, assert_results_close, make_inputs, run_case

EXCLUDE_BACKENDS = ("tensorflow",)
LAYOUTS = ("ok", "readonly", "noncontiguous", "fortran", "other_float", "float16", "int64",
           "rank3", "rank5")

small = st.integers(1, 3)


@st.composite
def layer_cases(draw) -> Case:
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "shuffle", "upsample",
                                 "activation", "shortcut", "connected", "batchnorm"]))
    n, h, w = draw(small), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c = draw(st.integers(1, 6))
    training = False
    if kind == "conv":
        kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
        stride = (draw(small), draw(small))
        winograd = kernel == (3, 3) and stride == (1, 1) and draw(st.booleans())
        spec = specs.Conv2D(filters=draw(st.integers(1, 6)), kernel=kernel, stride=stride,
                            padding=draw(st.sampled_from(["same", "valid"])),
                            use_bias=draw(st.booleans()),
                            algo="winograd" if winograd else "im2col")
    elif kind in ("maxpool", "avgpool"):
        cls = specs.MaxPool2D if kind == "maxpool" else specs.AvgPool2D
        spec = cls(size=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
                   stride=(draw(small), draw(small)),
                   padding=draw(st.sampled_from(["same", "valid"])))
    elif kind == "shuffle":
        r = draw(small)
        # mostly a valid channel count, sometimes not (must be a ShapeError, never a crash)
        c = draw(st.one_of(st.integers(1, 3).map(lambda k, r=r: k * r * r), st.integers(1, 12)))
        spec = specs.PixelShuffle(scale=r, order=draw(st.sampled_from(["dcr", "crd"])))
    elif kind == "upsample":
        spec = specs.Upsample(scale=draw(small))
    elif kind == "activation":
        spec = specs.Activation(kind=draw(st.sampled_from(sorted(ACTIVATIONS))))
    elif kind == "shortcut":
        coef = st.floats(-2, 2, allow_nan=False, width=32)
        spec = specs.Shortcut(alpha=draw(coef), beta=draw(coef))
    elif kind == "connected":
        spec = specs.Connected(units=draw(st.integers(1, 6)), use_bias=draw(st.booleans()))
    else:
        spec = specs.BatchNorm(epsilon=draw(st.sampled_from([1e-5, 1e-3, 0.1])),
                               momentum=draw(st.sampled_from([0.0, 0.9, 0.99])))
        training = draw(st.booleans())
        if training and n * h * w == 1:
            n = 2  # a batch variance over one value is 0: legal but no test of the formula
    return Case(f"fuzz_{kind}_{n}x{h}x{w}x{c}", spec, (n, h, w, c), training=training)


def catalogue_entry(case: Case, dtype=None, layout: str = "ok") -> str:
    """The ``Case(...)`` source line that keeps a failing example in the catalogue."""
    dt = f", {np.dtype(dtype).name}" if dtype is not None else ""
    return (f"catalogue entry to keep (found by nox -s fuzz{dt}, layout {layout}):\n"
            f"    Case({case.name!r}, specs.{case.spec!r}, {case.input_shape!r}, "
            f"training={case.training!r}),")


def _mutate(x: np.ndarray, layout: str) -> np.ndarray:
    if layout == "readonly":
        x = x.copy()
        x.setflags(write=False)
        return x
    if layout == "noncontiguous":
        return np.repeat(x, 2, axis=-1)[..., ::2]
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "other_float":
        return x.astype(np.float64 if x.dtype == np.float32 else np.float32)
    if layout == "float16":
        return x.astype(np.float16)
    if layout == "int64":
        return x.astype(np.int64)
    if layout == "rank3":
        return x[0]
    if layout == "rank5":
        return x[None]
    return x


def _valid_layout(x: np.ndarray, dtype) -> bool:
    """What the protocol accepts: rank 4, the layer's dtype, C-contiguous (a mutated array of
    a degenerate shape, e.g. (1, 1, 1, 1), can still be all of these)."""
    return x.ndim == 4 and x.dtype == np.dtype(dtype) and x.flags.c_contiguous


def _reference(case):
    try:
        return run_case(case, "numpy", np.float64, optimizer="sgd")
    except NotSupportedError:
        raise
    except LayerbenchError as err:
        return err


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=layer_cases(), dtype=st.sampled_from([np.float32, np.float64]),
       layout=st.sampled_from(LAYOUTS))
def test_matches_reference_or_raises_a_named_error(backend, case, dtype, layout):
    note(catalogue_entry(case, dtype, layout))  # printed only for the failing example
    ref = _reference(case)
    if layout == "ok":
        try:
            actual = run_case(case, backend, dtype, optimizer="sgd")
        except NotSupportedError:
            return  # a named refusal, never a silent fallback
        except LayerbenchError as err:
            assert isinstance(ref, Exception), (
                f"{backend} raised {err!r} on {case} where numpy_ref succeeded"
            )
            return
        assert not isinstance(ref, Exception), f"{backend} accepted {case}; numpy_ref: {ref!r}"
        assert_results_close(actual, ref, case=case, backend=backend, dtype=dtype)
        return
    if isinstance(ref, Exception):
        return  # the spec/shape itself is invalid: covered by the "ok" layout
    inputs = make_inputs(case, dtype)
    x = _mutate(inputs["x"], layout)
    try:
        layer = build(case.spec, input_shape=case.input_shape, backend=backend, dtype=dtype)
        layer.load_params(inputs["params"])
        args = (x, inputs["x2"]) if case.is_merge else (x,)
        y = layer.forward(*args, training=case.training)
    except LayerbenchError:
        return
    assert _valid_layout(x, dtype), (
        f"{backend} accepted a {layout} input {x.dtype} {x.shape} for {case} without error"
    )
    assert_close(y, ref["y"], case=case, backend=backend, tensor="y", dtype=dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_is_reachable(layout):
    # guards the strategy above against a typo that would make a layout a no-op
    x = np.zeros((2, 3, 4, 5), np.float32)
    y = _mutate(x, layout)
    changed = (y.dtype != x.dtype or y.ndim != 4 or not y.flags.c_contiguous
               or not y.flags.writeable)
    assert changed == (layout != "ok")
