"""Shipped test helpers (used by tests/ and bench/; no pytest, TensorFlow or pandas needed).

- :mod:`.catalogue`: ``CASES`` (every layer, small shapes) and ``PRESETS`` (benchmark shapes);
- :mod:`.tolerances`: the one tolerance table (``budget``, ``tolerance``);
- :mod:`.data`: seeded, well-conditioned inputs (``make_inputs``);
- :mod:`.harness`: ``run_case`` runs a case on a backend and returns every tensor;
- :mod:`.compare`: ``assert_close`` / ``compare`` against the budgets;
- :mod:`.crosscheck`: every case x backend x dtype against numpy_ref and TensorFlow;
- :mod:`.gradcheck`: finite-difference checks.
"""

from .catalogue import CASES, PRESETS, Case, case_by_name
from .compare import assert_close, assert_results_close, compare, compare_results
from .data import make_inputs
from .harness import OPTIMIZERS, run_case
from .tolerances import budget, tolerance

__all__ = [
    "CASES", "OPTIMIZERS", "PRESETS", "Case", "assert_close", "assert_results_close", "budget",
    "case_by_name", "compare", "compare_results", "make_inputs", "run_case", "tolerance",
]
