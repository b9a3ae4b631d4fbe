"""The TensorFlow backend itself: one smoke case per kernel module against numpy_ref
(float64), the paths the layers never take (pads that are not TensorFlow's "SAME"), the
documented kink derivatives, signature parity with numpy_ref, and the one-shot thread knob.

The whole catalogue on every backend is the generic tests' job; this file stays fast.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

from backends import specs
from backends.activations import ACTIVATIONS
from backends.errors import NotSupportedError
from backends.protocol import KERNEL_MODULES
from backends.registry import get_backend
from backends.testing import Case, assert_close, assert_results_close, case_by_name, run_case
from backends.testing.fresh import fresh_python
from backends.testing.tolerances import tolerance

pytest.importorskip("tensorflow", reason="the tensorflow extra is not installed")

pytestmark = pytest.mark.tf

F64 = np.float64
TF = get_backend("tensorflow")
NP = get_backend("numpy")

# one catalogue case per kernel module (two where a module has two layer families or modes)
SMOKE = {
    "conv": ["conv3x3_s2_same_odd_b2", "conv2x3_s1_same"],  # odd TF-same padding; optim too
    "conv.winograd": ["winograd_same_odd"],
    "pool": ["maxpool3x3_s2_same", "avgpool3x3_s2_same"],
    "shuffle": ["pixelshuffle_dcr_r2", "pixelshuffle_crd_r3"],
    "norm": ["batchnorm_train", "batchnorm_infer"],
    "activation": ["act_selu", "act_plse", "act_leaky"],
    "dense": ["connected_bias"],
    "shortcut": ["shortcut_edsr_a0.1_b1"],
    "upsample": ["upsample_r3_b2"],
    "loss": ["loss_smooth_l1_delta0.5", "loss_mae"],
}
SMOKE_CASES = [name for names in SMOKE.values() for name in names]


@pytest.mark.parametrize("name", SMOKE_CASES)
def test_smoke_matches_numpy_ref_float64(name):
    case = case_by_name(name)
    actual = run_case(case, TF, F64)  # optimizer steps included for weighted layers
    desired = run_case(case, NP, F64)
    assert_results_close(actual, desired, case=case, backend="tensorflow", dtype=F64)


# -- kernels called directly with pads TensorFlow's "SAME" never makes ---------------------
ODD_PADS = [((1, 1), (0, 2, 1, 0)), ((2, 1), (2, 0, 0, 1)), ((2, 2), (1, 1, 1, 1))]


def _rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize(("stride", "pads"), ODD_PADS, ids=str)
def test_conv_explicit_pads(stride, pads):
    from backends.numpy_ref import conv as ref
    from backends.tf_oracle import conv as tfc

    rng = _rng()
    x, w, b = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4)
    case = Case("explicit_pads", specs.Conv2D(filters=4, stride=stride), x.shape)
    y = ref.conv2d_forward(x, w, b, stride=stride, pads=pads)
    dy = rng.normal(size=y.shape)
    assert_close(tfc.conv2d_forward(x, w, b, stride=stride, pads=pads), y, case=case,
                 backend="tensorflow", tensor="y", dtype=F64)
    got = tfc.conv2d_backward(x, w, dy, stride=stride, pads=pads)
    want = ref.conv2d_backward(x, w, dy, stride=stride, pads=pads)
    for tensor, a, d in zip(("dx", "grad/weights", "grad/bias"), got, want, strict=True):
        assert_close(a, d, case=case, backend="tensorflow", tensor=tensor, dtype=F64)


@pytest.mark.parametrize(("stride", "pads"), ODD_PADS, ids=str)
def test_conv_backward_equals_the_tape(stride, pads):
    """conv2d_backward calls TF's gradient ops directly: it must equal a GradientTape on
    an explicitly padded VALID convolution, L = sum(y * dy)."""
    import tensorflow as tf

    from backends.tf_oracle import conv as tfc

    rng = _rng()
    x, w = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 3, 3, 4))
    xt, wt = tf.constant(x), tf.constant(w)
    t, bt, left, r = pads
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        xp = tf.pad(xt, [[0, 0], [t, bt], [left, r], [0, 0]])
        y = tf.nn.conv2d(xp, wt, strides=[1, *stride, 1], padding="VALID")
        dy = tf.constant(rng.normal(size=y.shape))
        loss = tf.reduce_sum(y * dy)
    want = [g.numpy() for g in tape.gradient(loss, [xt, wt])] + [
        tf.reduce_sum(dy, axis=(0, 1, 2)).numpy()]
    got = tfc.conv2d_backward(x, w, dy.numpy(), stride=stride, pads=pads)
    case = Case("tape", specs.Conv2D(filters=4, stride=stride), x.shape)
    for tensor, a, d in zip(("dx", "grad/weights", "grad/bias"), got, want, strict=True):
        assert_close(a, d, case=case, backend="tensorflow", tensor=tensor, dtype=F64,
                     against="tensorflow")


@pytest.mark.parametrize(("size", "stride", "pads"), [
    ((3, 3), (2, 2), (1, 1, 1, 1)), ((3, 2), (1, 2), (2, 0, 1, 0)), ((2, 2), (1, 1), (0, 1, 1, 0)),
], ids=str)
def test_pool_explicit_pads(size, stride, pads):
    from backends.numpy_ref import pool as ref
    from backends.tf_oracle import pool as tfp

    rng = _rng()
    x = rng.permutation(2 * 6 * 7 * 3).reshape(2, 6, 7, 3) / 100.0  # distinct: no ties
    case = Case("explicit_pads", specs.AvgPool2D(size=size, stride=stride), x.shape)
    y, arg = ref.maxpool_forward(x, size=size, stride=stride, pads=pads)
    y2, arg2 = tfp.maxpool_forward(x, size=size, stride=stride, pads=pads)
    assert arg2.dtype == np.int64
    np.testing.assert_array_equal(arg2, arg)
    np.testing.assert_array_equal(y2, y)
    dy = rng.normal(size=y.shape)
    mcase = Case("explicit_pads", specs.MaxPool2D(size=size, stride=stride), x.shape)
    assert_close(tfp.maxpool_backward(dy, arg2, x_shape=x.shape),
                 ref.maxpool_backward(dy, arg, x_shape=x.shape),
                 case=mcase, backend="tensorflow", tensor="dx", dtype=F64)
    assert_close(tfp.avgpool_forward(x, size=size, stride=stride, pads=pads),
                 ref.avgpool_forward(x, size=size, stride=stride, pads=pads),
                 case=case, backend="tensorflow", tensor="y", dtype=F64)
    kw = {"x_shape": x.shape, "size": size, "stride": stride, "pads": pads}
    assert_close(tfp.avgpool_backward(dy, **kw), ref.avgpool_backward(dy, **kw),
                 case=case, backend="tensorflow", tensor="dx", dtype=F64)


def test_winograd_rejects_other_kernels():
    from backends.tf_oracle import conv as tfc

    x, w = np.zeros((1, 5, 5, 2)), np.zeros((5, 5, 2, 3))
    with pytest.raises(ValueError, match="3x3"):
        tfc.winograd_forward(x, w, None, pads=(2, 2, 2, 2))


# -- optimizers: later steps (the catalogue's one-step check always has t = 1) -------------
def _assert_elementwise(actual, desired, what):
    rtol = tolerance("elementwise", F64)
    atol = rtol * float(np.max(np.abs(desired)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("momentum", [0.0, 0.8])  # Keras keeps no slot at 0
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_step_in_place_with_a_warm_slot(nesterov, momentum):
    from backends.numpy_ref import optim as ref
    from backends.tf_oracle import optim as tfo

    rng = _rng()
    p, g, v = (rng.normal(size=(3, 4)) for _ in range(3))
    p2, v2 = p.copy(), v.copy()
    ids = id(p2), id(v2)
    kw = {"lr": 0.05, "momentum": momentum, "nesterov": nesterov}
    ref.momentum_step(p, g, v, **kw)
    tfo.momentum_step(p2, g, v2, **kw)
    assert (id(p2), id(v2)) == ids
    _assert_elementwise(p2, p, "p")
    _assert_elementwise(v2, v, "v")


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_adam_step_seeds_keras_slots_and_counter(step):
    from backends.numpy_ref import optim as ref
    from backends.tf_oracle import optim as tfo

    rng = _rng()
    p, g, m = (rng.normal(size=(5,)) for _ in range(3))
    v = rng.uniform(0.1, 1.0, size=5)
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    kw = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "step": step}
    ref.adam_step(p, g, m, v, **kw)
    tfo.adam_step(p2, g, m2, v2, **kw)
    for name, a, d in (("p", p2, p), ("m", m2, m), ("v", v2, v)):
        _assert_elementwise(a, d, name)


# -- activations at their kinks --------------------------------------------------------------
def _kinks():
    return [(k, p) for k, d in ACTIVATIONS.items() for p in d.kinks]


@pytest.mark.parametrize(("kind", "kink"), _kinks(), ids=str)
def test_kink_derivatives_are_documented(kind, kink):
    """At a kink the tape gives TensorFlow's one-sided choice: ours unless the module lists
    the difference in TF_KINK_DERIVATIVES."""
    from backends.tf_oracle.activation import TF_KINK_DERIVATIVES, activation_backward

    x = np.array([kink])
    got = activation_backward(x, np.ones(1), kind=kind)[0]
    want = TF_KINK_DERIVATIVES.get((kind, kink), ACTIVATIONS[kind].df(x)[0])
    assert abs(got - want) <= tolerance("elementwise", F64) * max(abs(want), 1.0), (
        f"{kind} at {kink}: TF derivative {got!r}, documented {want!r}")


# -- signatures ------------------------------------------------------------------------------
@pytest.mark.parametrize("module", KERNEL_MODULES)
def test_signatures_match_numpy_ref(module):
    ref = importlib.import_module(f"backends.numpy_ref.{module}")
    mine = importlib.import_module(f"backends.tf_oracle.{module}")
    assert list(mine.__all__) == list(ref.__all__)
    for name in ref.__all__:
        assert inspect.signature(getattr(mine, name)) == inspect.signature(getattr(ref, name)), (
            f"tf_oracle.{module}.{name}")


# -- the thread knob ---------------------------------------------------------------------------
def test_info_reports_threads_and_versions():
    import tensorflow as tf

    info = TF.info()
    assert info["backend"] == "tensorflow"
    assert info["tensorflow"] == tf.__version__
    assert info["intra_op_threads"] == info["threads"] == TF.num_threads() >= 1
    assert info["onednn"] in (True, False, None)


def test_threads_after_start_raise_with_the_running_count():
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # make sure the runtime runs
    running = TF.num_threads()
    with TF.threads(running):  # the running count is always accepted
        pass
    with pytest.raises(NotSupportedError, match=rf"already runs with {running}.*before any"):
        with TF.threads(running + 1):
            pass
    assert TF.num_threads() == running


def _python(code: str, env: dict | None = None):
    return fresh_python(code, env, drop=("LAYERBENCH_TF_THREADS",))


def test_threads_before_start_take_effect_in_a_fresh_process():
    # a fresh interpreter (in this one TensorFlow has usually started already), with the
    # edge knob set: it sizes the pools at import; threads(n) still works until the first op
    proc = _python("""
        import tensorflow as tf
        from backends.errors import NotSupportedError
        from backends.tf_oracle import BACKEND
        assert BACKEND.num_threads() == 1, "LAYERBENCH_TF_THREADS=1 was not applied"
        with BACKEND.threads(2):
            assert BACKEND.num_threads() == 2
        assert BACKEND.num_threads() == 1  # nothing ran: the previous count comes back
        with BACKEND.threads(2):
            tf.constant(1.0) + 1.0  # starts the runtime with 2 threads, for good
        assert tf.config.threading.get_intra_op_parallelism_threads() == 2
        assert tf.config.threading.get_inter_op_parallelism_threads() == 2
        assert BACKEND.info()["intra_op_threads"] == 2
        try:
            with BACKEND.threads(1):
                pass
        except NotSupportedError as err:
            print("raised:", err)
    """, env={"LAYERBENCH_TF_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "raised: threads: expected 2 (TensorFlow already runs with 2" in proc.stdout


@pytest.mark.parametrize("raw", ["two", "0", "-1"])
def test_threads_environment_variable_is_validated(raw, monkeypatch):
    from backends import tf_oracle

    monkeypatch.setenv(tf_oracle.THREADS_ENV, raw)
    with pytest.raises(ValueError, match=f"LAYERBENCH_TF_THREADS: expected an integer >= 1, "
                                         f"received '{raw}'"):
        tf_oracle._threads_from_env()
