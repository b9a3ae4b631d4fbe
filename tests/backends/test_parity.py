"""Every backend folder has numpy_ref's kernel modules, ``__all__`` and signatures.

A reader who knows ``backends/numpy_ref`` knows every backend. For a compiled backend the
module checked is the Python wrapper (e.g. ``backends/cython_omp/conv.py``), which must
expose plain Python functions so that ``inspect.signature`` can read them.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from backends.protocol import KERNEL_MODULES
from backends.registry import BACKEND_PACKAGES

EXCLUDE_BACKENDS = ("numpy",)  # the reference is what the others are compared with
REFERENCE = BACKEND_PACKAGES["numpy"]


def _signature(fn) -> str:
    """Names, kinds and defaults of the parameters; annotations are free to differ."""
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("module", KERNEL_MODULES)
def test_module_matches_reference(backend, module):
    ref = importlib.import_module(f"{REFERENCE}.{module}")
    name = f"{BACKEND_PACKAGES[backend]}.{module}"
    try:
        mod = importlib.import_module(name)
    except ImportError as err:
        pytest.fail(f"{name} cannot be imported: {err}", pytrace=False)
    assert hasattr(mod, "__all__"), f"{name} must define __all__"
    # a partial backend names what it lacks (UNSUPPORTED); kernel() raises NotSupportedError
    missing = set(getattr(mod, "UNSUPPORTED", ()))
    assert missing <= set(ref.__all__), f"{name}.UNSUPPORTED names no reference kernel"
    want_all = sorted(set(ref.__all__) - missing)
    assert sorted(mod.__all__) == want_all, (
        f"{name}.__all__: expected {want_all}, received {sorted(mod.__all__)}"
    )
    for fn_name in want_all:
        fn = getattr(mod, fn_name, None)
        assert callable(fn), f"{name}.{fn_name}: listed in __all__ but not a function"
        try:
            got = _signature(fn)
        except (TypeError, ValueError) as err:
            pytest.fail(f"{name}.{fn_name}: no readable signature ({err}); wrap the compiled "
                        "function in a Python def", pytrace=False)
        want = _signature(getattr(ref, fn_name))
        assert got == want, f"{name}.{fn_name}: expected signature {want}, received {got}"
