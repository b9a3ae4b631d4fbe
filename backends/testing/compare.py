"""Compare tensors against the budgets of ``tolerances.py`` and say exactly what differs.

:func:`compare` returns one report row; :func:`assert_close` raises with the case, backend,
tensor, worst index, both values and the budget; :func:`compare_results` and
:func:`assert_results_close` do the same for whole :func:`~backends.testing.run_case` dicts
(including the extra scales the optimizer tier needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .harness import step_gain
from .tolerances import budget, term_scale

__all__ = ["ROW_FIELDS", "assert_close", "assert_results_close", "compare", "compare_results"]

ROW_FIELDS = (
    "layer", "case", "backend", "dtype", "against", "tensor", "max_abs_err", "max_rel_err",
    "atol", "rtol", "tier", "passed", "status", "detail",
)


def _scale(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


def compare(
    actual: Any, desired: Any, *, case, backend: str, tensor: str, dtype: Any,
    against: str = "numpy", grad_scale: float = 0.0,
) -> dict[str, Any]:
    """One report row: errors of ``actual`` against ``desired`` and the verdict.

    ``dtype`` is the precision ``actual`` was computed in; the budget is that of
    :func:`backends.testing.tolerances.budget` with ``scale = max|desired|``, or the size of
    the terms that cancel into it where larger (:func:`~backends.testing.tolerances.term_scale`).
    ``max_rel_err`` is ``max |a - d| / max(|d|, scale)`` (relative to the tensor's size where
    ``d`` is ~0). ``detail`` describes the worst element when the row fails.
    """
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    row: dict[str, Any] = {
        "layer": case.layer, "case": case.name, "backend": str(backend),
        "dtype": np.dtype(dtype).name, "against": against, "tensor": tensor,
    }
    scale = _scale(d) if np.all(np.isfinite(d)) else float("inf")
    scale = max(scale, term_scale(case, tensor))
    # TensorFlow's own rounding enters whether it is the backend under test or the oracle
    tf = "tensorflow" if "tensorflow" in (str(backend), against) else "numpy"
    atol, rtol, tier = budget(case, tensor, dtype, against=tf, scale=scale,
                              grad_scale=grad_scale, gain=step_gain(tensor))
    row.update(atol=atol, rtol=rtol, tier=tier)
    if a.shape != d.shape:
        return {**row, "max_abs_err": float("inf"), "max_rel_err": float("inf"),
                "passed": False, "status": "fail",
                "detail": f"shape {a.shape} != desired shape {d.shape}"}
    if a.size == 0:
        return {**row, "max_abs_err": 0.0, "max_rel_err": 0.0, "passed": True,
                "status": "pass", "detail": ""}
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a - d)
        err = np.where(np.isnan(err), np.inf, err)  # NaN anywhere fails, even NaN == NaN
        limit = atol + rtol * np.abs(d)
        excess = err - limit
    worst = np.unravel_index(int(np.argmax(excess)), a.shape) if a.ndim else ()
    max_abs = float(np.max(err))
    max_rel = float(np.max(err / np.maximum(np.abs(d), scale if scale > 0 else 1.0)))
    passed = bool(np.all(excess <= 0))
    detail = ""
    if not passed:
        detail = (
            f"worst index {tuple(int(i) for i in worst)}: actual {a[worst]!r} desired "
            f"{d[worst]!r} |err| {float(err[worst]):.3g} > budget {float(limit[worst]):.3g} "
            f"(atol {atol:.3g} + rtol {rtol:.3g} * |desired|, tier {tier}); "
            f"{int(np.count_nonzero(excess > 0))} of {a.size} elements out of budget"
        )
    return {**row, "max_abs_err": max_abs, "max_rel_err": max_rel, "passed": passed,
            "status": "pass" if passed else "fail", "detail": detail}


def _message(row: dict[str, Any]) -> str:
    return (
        f"case {row['case']!r} backend {row['backend']!r} tensor {row['tensor']!r} "
        f"dtype {row['dtype']} vs {row['against']}: {row['detail']}"
    )


def assert_close(actual, desired, *, case, backend, tensor, dtype, against="numpy",
                 grad_scale: float = 0.0) -> dict[str, Any]:
    """Raise ``AssertionError`` naming case, backend, tensor, worst index, values and budget.

    Returns the report row when the comparison passes.
    """
    row = compare(actual, desired, case=case, backend=backend, tensor=tensor, dtype=dtype,
                  against=against, grad_scale=grad_scale)
    if not row["passed"]:
        raise AssertionError(_message(row))
    return row


def compare_results(
    actual: Mapping[str, np.ndarray], desired: Mapping[str, np.ndarray], *, case,
    backend: str, dtype: Any, against: str = "numpy",
) -> list[dict[str, Any]]:
    """Rows for every tensor of two :func:`run_case` dicts; a tensor missing on one side is a
    failing row (a backend may not drop a gradient silently)."""
    rows = []
    for tensor in sorted(set(actual) | set(desired)):
        if tensor not in actual or tensor not in desired:
            side = "actual" if tensor not in actual else "desired"
            rows.append({
                "layer": case.layer, "case": case.name, "backend": str(backend),
                "dtype": np.dtype(dtype).name, "against": against, "tensor": tensor,
                "max_abs_err": float("inf"), "max_rel_err": float("inf"), "atol": 0.0,
                "rtol": 0.0, "tier": "", "passed": False, "status": "fail",
                "detail": f"tensor missing from the {side} results",
            })
            continue
        grad_scale = 0.0
        if step_gain(tensor):
            grad = desired.get("grad/" + tensor.split("/", 1)[1])
            grad_scale = _scale(np.asarray(grad)) if grad is not None else 0.0
        rows.append(compare(actual[tensor], desired[tensor], case=case, backend=backend,
                            tensor=tensor, dtype=dtype, against=against,
                            grad_scale=grad_scale))
    return rows


def assert_results_close(actual, desired, *, case, backend, dtype, against="numpy"):
    """:func:`compare_results`, raising one ``AssertionError`` that lists every failure."""
    rows = compare_results(actual, desired, case=case, backend=backend, dtype=dtype,
                           against=against)
    failed = [_message(r) for r in rows if not r["passed"]]
    if failed:
        raise AssertionError(f"{len(failed)} of {len(rows)} tensors out of budget:\n"
                             + "\n".join(failed))
    return rows
