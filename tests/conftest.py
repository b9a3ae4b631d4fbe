"""Shared fixtures: the ``backend`` parameter, dtypes, cached reference runs, Hypothesis.

``backend`` runs a test once per backend of the registry's table (``BACKEND_TABLE``: numpy,
cython, numba, tensorflow), marked with the table's pytest marker. A backend that cannot be
imported is skipped with the import error as the reason, except when
the ``CI`` environment variable is set: there it is a test failure (CI must test every
backend). A test module can leave backends out with ``EXCLUDE_BACKENDS = (...)``, and should
say why next to it.
"""

from __future__ import annotations

import os

# Before anything imports TensorFlow: quiet logs, bit-stable oracle numbers, no spinning
# OpenMP threads on a busy 2-core machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# algo="auto" caches its choices on disk: tests keep theirs out of the user's cache dir
if "LAYERBENCH_AUTOTUNE_CACHE" not in os.environ:
    import tempfile

    os.environ["LAYERBENCH_AUTOTUNE_CACHE"] = os.path.join(
        tempfile.mkdtemp(prefix="layerbench-autotune-"), "conv_algo.json")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from backends.errors import BackendUnavailableError, NotSupportedError  # noqa: E402
from backends.registry import (  # noqa: E402
    BACKEND_PACKAGES,
    BACKEND_TABLE,
    ORACLE,
    REFERENCE,
    get_backend,
)

IN_CI = bool(os.environ.get("CI"))

# Hypothesis in the README test command is derandomised with or without CI: the examples are
# a fixed function of the test, so `pytest -n 2` passes or fails the same way on every run,
# and no example database is read or written (no state carried between runs or checkouts).
# "ci" draws more examples than "default" (a CI run can afford them); both are reproducible.
# "fuzz" is the random exploration of `nox -s fuzz` (a new seed per round, printed by
# Hypothesis): a failure it finds becomes a catalogue case, never a flaky test.
_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("default", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile("ci", max_examples=500, derandomize=True, **_COMMON)
settings.register_profile("fuzz", max_examples=2000, derandomize=False, **_COMMON)
settings.load_profile(os.environ.get("LAYERBENCH_HYPOTHESIS_PROFILE")
                      or ("ci" if IN_CI else "default"))

BACKEND_MARKS = {row.name: getattr(pytest.mark, row.marker)
                 for row in BACKEND_TABLE if row.marker}
DTYPES = (np.float32, np.float64)


def pytest_configure(config: pytest.Config) -> None:
    for row in BACKEND_TABLE:  # `-m "not tf"` etc. deselects a backend's tests
        if row.marker:
            config.addinivalue_line("markers", f"{row.marker}: needs the {row.name} backend "
                                    f"({row.package})")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" in metafunc.fixturenames:
        excluded = set(getattr(metafunc.module, "EXCLUDE_BACKENDS", ()))
        names = [n for n in BACKEND_PACKAGES if n not in excluded]
        metafunc.parametrize(
            "backend_name",
            [pytest.param(n, id=n, marks=[BACKEND_MARKS[n]] if n in BACKEND_MARKS else [])
             for n in names],
        )


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """A test run once per backend that hits a kernel its backend lacks (a partial backend's
    ``NotSupportedError`` naming that backend) is a skip with the error as the reason."""
    try:
        return (yield)
    except NotSupportedError as err:
        params = getattr(getattr(pyfuncitem, "callspec", None), "params", {})
        name = params.get("backend_name")
        if name is None or f"backend {name!r} has no kernel" not in str(err):
            raise
        pytest.skip(f"{name} does not support this: {err}")


def require_backend(name: str):
    """The backend ``name``; skip (locally) or fail (CI) if it cannot be imported."""
    try:
        return get_backend(name)
    except BackendUnavailableError as err:
        if IN_CI:
            pytest.fail(f"CI must run every backend: {err}", pytrace=False)
        pytest.skip(str(err))


@pytest.fixture
def backend(backend_name: str) -> str:
    """Name of a backend that imports here (see the module docstring for the CI rule)."""
    require_backend(backend_name)
    return backend_name


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(scope="session")
def results():
    """``results(case, backend, dtype)``: ``run_case`` memoised for the session.

    Only numpy_ref and TensorFlow runs are kept (they are the oracles, reused by several
    tests); other backends run afresh every time.
    """
    from backends.testing import run_case

    cache: dict = {}

    def get(case, backend, dtype):
        key = (case.name, backend, np.dtype(dtype).name)
        if backend not in (REFERENCE, ORACLE):
            return run_case(case, backend, dtype)
        if key not in cache:
            require_backend(backend)
            cache[key] = run_case(case, backend, dtype)
        return cache[key]

    return get
