"""The headline check: numpy_ref against TensorFlow on the whole catalogue.

numpy_ref in float32 and float64 against TensorFlow in the same dtype: output, input
gradient(s), every weight gradient, batch-norm running statistics and the parameters after
one step of SGD, Momentum and Adam (TensorFlow's ``optim`` kernels follow
``tf.keras.optimizers``). Budgets: ``backends/testing/tolerances.py`` (``TF_FACTOR``).
"""

from __future__ import annotations

import pytest

from backends.testing import assert_results_close

pytestmark = pytest.mark.tf


def test_reference_matches_tensorflow(case, dtype, results):
    desired = results(case, "tensorflow", dtype)
    actual = results(case, "numpy", dtype)
    assert_results_close(actual, desired, case=case, backend="numpy", dtype=dtype,
                         against="tensorflow")
