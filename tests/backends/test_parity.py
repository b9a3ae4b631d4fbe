"""Each backend's kernels are a subset of numpy_ref's names, with numpy_ref's signatures.

A reader who knows ``backends/numpy_ref`` knows every backend. A backend may be partial: it may
lack a kernel module or some functions of one (a layer needing them raises
``NotSupportedError`` through ``KernelBackend.kernel``, which tests, cross-check and benchmarks
report as a skip), but whatever it has is named and called as in numpy_ref. For a compiled
backend the module checked is the Python wrapper (e.g. ``backends/cython_omp/conv.py``), which
must expose plain Python functions so that ``inspect.signature`` can read them.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from backends.errors import NotSupportedError
from backends.protocol import KERNEL_MODULES
from backends.registry import BACKEND_PACKAGES, REFERENCE, get_backend

EXCLUDE_BACKENDS = (REFERENCE,)  # the reference is what the others are compared with


def _signature(fn) -> str:
    """Names, kinds and defaults of the parameters; annotations are free to differ."""
    sig = inspect.signature(fn)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("module", KERNEL_MODULES)
def test_module_matches_reference(backend, module):
    ref = importlib.import_module(f"{BACKEND_PACKAGES[REFERENCE]}.{module}")
    name = f"{BACKEND_PACKAGES[backend]}.{module}"
    try:
        mod = get_backend(backend).kernels(module)
    except NotSupportedError:
        return  # a partial backend without this module: the empty set is a subset
    except ImportError as err:
        pytest.fail(f"{name} cannot be imported: {err}", pytrace=False)
    assert hasattr(mod, "__all__"), f"{name} must define __all__"
    extra = sorted(set(mod.__all__) - set(ref.__all__))
    assert not extra, (f"{name}.__all__: expected a subset of {sorted(ref.__all__)}, "
                       f"received extra names {extra}")
    assert len(set(mod.__all__)) == len(mod.__all__), f"{name}.__all__ repeats a name"
    for fn_name in mod.__all__:
        fn = getattr(mod, fn_name, None)
        assert callable(fn), f"{name}.{fn_name}: listed in __all__ but not a function"
        try:
            got = _signature(fn)
        except (TypeError, ValueError) as err:
            pytest.fail(f"{name}.{fn_name}: no readable signature ({err}); wrap the compiled "
                        "function in a Python def", pytrace=False)
        want = _signature(getattr(ref, fn_name))
        assert got == want, f"{name}.{fn_name}: expected signature {want}, received {got}"
