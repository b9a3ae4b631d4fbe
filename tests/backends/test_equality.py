"""Every backend against numpy_ref float64 on the whole catalogue.

Compared: the output, the input gradient(s), every weight gradient, batch-norm running
statistics and the parameters after one step of SGD, Momentum and Adam, in float32 and
float64, with the budgets of ``backends/testing/tolerances.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends.errors import NotSupportedError
from backends.testing import assert_results_close, compare, run_case
from backends.testing.catalogue import case_by_name

# numpy_ref is the oracle: its float64 run is the desired side. Its float32 run is checked by
# test_reference_float32_matches_float64 below.
EXCLUDE_BACKENDS = ("numpy",)


def test_backend_matches_reference(case, backend, dtype, results):
    desired = results(case, "numpy", np.float64)
    try:
        actual = results(case, backend, dtype)
    except NotSupportedError as err:
        pytest.skip(f"{backend} does not support {case.name}: {err}")
    assert_results_close(actual, desired, case=case, backend=backend, dtype=dtype)


def test_reference_float32_matches_float64(case, results):
    desired = results(case, "numpy", np.float64)
    actual = results(case, "numpy", np.float32)
    assert_results_close(actual, desired, case=case, backend="numpy", dtype=np.float32)


# The budgets must be tight enough to see a bug: one wrong term of a sum, one swapped pair of
# elements, or one wrong optimizer hyper-parameter has to fail. (A test that cannot fail
# proves nothing; these prove the comparisons above can.)
@pytest.mark.parametrize("name", ["conv3x3_c16_f24", "winograd_same_c16", "avgpool3x3_s1_same",
                                  "batchnorm_train", "connected_bias"])
def test_budget_sees_one_wrong_term(name, results):
    case = case_by_name(name)
    desired = results(case, "numpy", np.float64)
    for dtype in (np.float32, np.float64):
        y = results(case, "numpy", dtype)["y"].copy()
        # 1e-3 of the largest output: well below one wrong term of these sums (inputs and
        # weights are O(1), outputs O(sqrt(K))), yet it must be out of budget
        y.flat[y.size // 2] += 1e-3 * np.abs(y).max()
        row = compare(y, desired["y"], case=case, backend="numpy", tensor="y", dtype=dtype)
        assert not row["passed"], row


def test_budget_sees_a_permutation(results):
    case = case_by_name("pixelshuffle_dcr_r2")
    desired = results(case, "numpy", np.float64)["y"]
    actual = desired.copy()
    actual[0, 0, 0, 0], actual[0, 0, 1, 0] = desired[0, 0, 1, 0], desired[0, 0, 0, 0]
    row = compare(actual, desired, case=case, backend="numpy", tensor="y", dtype=np.float32)
    assert not row["passed"] and row["tier"] == "exact"


def test_budget_sees_a_wrong_adam_epsilon():
    from backends.testing import harness

    case = case_by_name("connected_bias")
    desired = run_case(case, "numpy", np.float64, optimizer="adam")
    setting = harness.OPTIMIZERS["adam"]
    wrong = harness.OptimizerSetting("adam", {**setting.kwargs, "epsilon": 0.11}, setting.gain)
    harness.OPTIMIZERS["adam"] = wrong
    try:
        actual = run_case(case, "numpy", np.float32, optimizer="adam")
    finally:
        harness.OPTIMIZERS["adam"] = setting
    with pytest.raises(AssertionError, match="adam/weights"):
        assert_results_close(actual, desired, case=case, backend="numpy", dtype=np.float32)
