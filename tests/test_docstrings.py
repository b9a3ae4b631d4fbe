"""Docstrings: every public name of ``backends`` and ``layerbench`` has one (modules being
reworked excepted, listed), the layer contracts document their fields, every layer and
kernel module states its formula and derivative, the main API passes numpydoc's validation,
and the examples run as doctests."""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from numpydoc.docscrape import ClassDoc, NumpyDocString

import backends
import layerbench
from backends import layers, protocol, registry, specs
from backends.layers.base import BaseLayer

# Public names still without a docstring. A name that gains one (or disappears) fails
# test_exception_list_is_live, so the list only shrinks. Empty: every name outside the
# modules below is documented.
UNDOCUMENTED: frozenset[str] = frozenset()


_NOT_IMPORTABLE: set[str] = set()


def _public_names(package):
    """Map each public module, class, function and method of ``package`` to its object.

    Modules whose path has a part starting with ``_``, and ``backends.testing``, are
    skipped; a method counts as documented when a base class documents it.
    """
    names = {}
    root = package.__name__
    modules = [root] + [m.name for m in pkgutil.walk_packages(package.__path__, root + ".")]
    for mod_name in modules:
        if any(part.startswith("_") for part in mod_name.split(".")[1:]) \
                or mod_name.startswith(root + ".testing"):
            continue
        try:
            module = importlib.import_module(mod_name)
        except ImportError:  # an optional dependency is not installed
            _NOT_IMPORTABLE.add(mod_name)
            continue
        names[mod_name] = module
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod_name:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            names[f"{mod_name}.{name}"] = obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not inspect.isfunction(member):
                        continue
                    inherited = any(getattr(getattr(base, attr, None), "__doc__", None)
                                    for base in obj.__mro__[1:])
                    names[f"{mod_name}.{name}.{attr}"] = None if inherited else member
    return names


def _doc(obj):
    doc = (obj.__doc__ or "").strip()
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc.startswith(
            obj.__name__ + "("):
        return ""  # the signature ``dataclass`` writes in: not documentation
    return doc


def _missing(package):
    return {name for name, obj in _public_names(package).items()
            if obj is not None and not _doc(obj)}


# Modules excepted from the check while their public names change (none now).
PENDING_MODULES: tuple[str, ...] = ()


def _pending(name):
    return any(name == m or name.startswith(m + ".") for m in PENDING_MODULES)


def _all_missing():
    return {n for n in _missing(backends) | _missing(layerbench) if not _pending(n)}


def test_every_public_name_has_a_docstring():
    missing = _all_missing() - UNDOCUMENTED
    assert not missing, f"public names without a docstring: {sorted(missing)}"


def test_exception_list_is_live():
    names = {**_public_names(backends), **_public_names(layerbench)}
    gone = sorted(n for n in UNDOCUMENTED if n not in names
                  and not any(n.startswith(m + ".") for m in _NOT_IMPORTABLE))
    documented = sorted(UNDOCUMENTED - _all_missing() - set(gone))
    assert not gone, f"UNDOCUMENTED lists names that no longer exist: {gone}"
    assert not documented, f"UNDOCUMENTED lists names that now have a docstring: {documented}"


def _public_classes(module):
    return [obj for name, obj in vars(module).items()
            if inspect.isclass(obj) and not name.startswith("_")
            and obj.__module__ == module.__name__]


@pytest.mark.parametrize("module", [protocol, specs], ids=lambda m: m.__name__)
def test_public_classes_have_docstrings(module):
    missing = [c.__qualname__ for c in _public_classes(module) if not inspect.getdoc(c)]
    assert not missing, f"{module.__name__}: public classes without a docstring: {missing}"


def test_conv2d_documents_every_field():
    documented = {p.name for p in ClassDoc(specs.Conv2D)["Parameters"]}
    fields = {f.name for f in dataclasses.fields(specs.Conv2D) if f.init}
    assert fields <= documented, \
        f"Conv2D fields without a Parameters entry: {sorted(fields - documented)}"


def test_layer_protocol_documents_its_attributes_and_methods():
    doc = ClassDoc(protocol.Layer)
    attributes = {p.name for p in doc["Attributes"]}
    methods = {p.name.split("(")[0] for p in doc["Methods"]}
    assert {"spec", "input_shape", "output_shape", "dtype"} <= attributes
    assert {"params", "grads", "load_params", "forward", "backward", "update"} <= methods


# The math is stated where it is computed: each layer class and each kernel module has a
# Notes section with its forward formula (an equation) and its derivative (``dL/d...``).
DERIVATIVE = re.compile(r"dL/d\w")
_BACKENDS_DIR = Path(backends.__file__).parent


def _notes(doc):
    return "\n".join(NumpyDocString(doc or "")["Notes"])


def _layer_classes():
    classes = []
    for info in pkgutil.iter_modules(layers.__path__, layers.__name__ + "."):
        module = importlib.import_module(info.name)
        classes += [c for c in _public_classes(module)
                    if issubclass(c, BaseLayer) and c.__module__ != "backends.layers.base"]
    return classes


def _kernel_module_files():
    """Every kernel module of every backend folder, read as source (no import: a backend's
    dependency need not be installed to check its docstrings)."""
    folders = [_BACKENDS_DIR / package.split(".")[-1]
               for package in registry.BACKEND_PACKAGES.values()]
    return sorted(p for d in folders
                  for p in (d / f"{m}.py" for m in protocol.KERNEL_MODULES) if p.is_file())


def test_the_formula_checks_see_every_layer_and_kernel_module():
    assert len(_layer_classes()) >= 10
    folders = {p.parent.name for p in _kernel_module_files()}
    assert {"numpy_ref", "cython_omp", "numba_jit", "jax_xla", "tf_oracle"} <= folders


@pytest.mark.parametrize("cls", _layer_classes(), ids=lambda c: c.__name__)
def test_layer_docstring_states_forward_formula_and_derivative(cls):
    notes = _notes(inspect.getdoc(cls))
    assert "=" in notes, f"{cls.__name__}: no forward formula in a Notes section"
    assert DERIVATIVE.search(notes), f"{cls.__name__}: no derivative (dL/d...) in Notes"


@pytest.mark.parametrize("path", _kernel_module_files(),
                         ids=lambda p: f"{p.parent.name}.{p.stem}")
def test_kernel_module_docstring_states_formula_and_derivative(path):
    notes = _notes(ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))))
    name = f"backends.{path.parent.name}.{path.stem}"
    assert "=" in notes, f"{name}: no formula in a Notes section of the module docstring"
    if path.stem != "optim":  # an optimizer step is an update rule, not a differentiable map
        assert DERIVATIVE.search(notes), f"{name}: no derivative (dL/d...) in Notes"


# numpydoc's own validation on the main API: every parameter of the signature documented
# (PR01), no documented parameter that is not in it (PR02), a Returns section where the
# function returns a value (RT01).
VALIDATED_CHECKS = ("PR01", "PR02", "RT01")


def _public_methods(cls):
    return [f"{cls.__module__}.{cls.__qualname__}.{name}" for name, member in vars(cls).items()
            if not name.startswith("_") and inspect.isfunction(member)]


def _resolve(name):
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError:  # a method's name: its class is not a module
        return None


# Modules validated whole: every public function and class, and the classes' methods.
VALIDATED_MODULES = (
    "backends.activations", "backends.autotune", "backends.backend", "backends.bands",
    "backends.errors", "backends.layers", "backends.layers.base", "backends.layers.conv",
    "backends.layers.elementwise", "backends.layers.norm", "backends.layers.pool",
    "backends.layers.reshape", "backends.losses", "backends.network", "backends.optim",
    "backends.registry", "backends.testing.tolerances", "backends.winograd",
    # the backend packages (thread knob, provenance)
    *registry.BACKEND_PACKAGES.values(),
    # numpy_ref: the canonical kernel signatures; the other backends keep them (the parity
    # test checks it) and their docstrings say what differs, not the parameters again
    *(f"backends.numpy_ref.{m}" for m in protocol.KERNEL_MODULES),
    "layerbench.cli", "layerbench.compare", "layerbench.confdir", "layerbench.crosscheck",
    "layerbench.markdown", "layerbench.metrics", "layerbench.provenance", "layerbench.schema",
    "layerbench.data.degrade", "layerbench.data.div2k", "layerbench.data.images",
    "layerbench.data.mri", "layerbench.experiments.div2k", "layerbench.experiments.methods",
    "layerbench.experiments.mri", "layerbench.experiments.protocol",
    "layerbench.experiments.runner", "layerbench.models.bicubic", "layerbench.models.edsr",
    "layerbench.models.graph", "layerbench.models.inference", "layerbench.models.measure",
    "layerbench.models.model", "layerbench.models.presets", "layerbench.models.wdsr",
    "layerbench.report.bench_figures", "layerbench.report.build", "layerbench.report.figures",
    "layerbench.report.tables", "layerbench.training.checkpoint",
    "layerbench.training.evaluate", "layerbench.training.train",
    "layerbench.training.train_report", "layerbench.training.train_schema",
    "layerbench.training.trainset", "layerbench.training.trainset_mri",
)


def _importable(name):
    try:
        importlib.import_module(name)
    except ImportError:  # an optional backend's dependency is not installed here
        return False
    return True


def _main_api():
    names = []
    # the contracts: the protocols' methods (a Protocol class's own signature is *args)
    for proto in (protocol.Optimizer, protocol.Layer, protocol.MergeLayer, protocol.Loss,
                  protocol.Backend):
        names += _public_methods(proto)
    names.append("backends.protocol.iter_kernel_functions")
    # the specs, their fields and shapes (each class's own reduction_length / flops states
    # its formula in a line; the base method documents the arguments)
    spec_classes = [c for c in _public_classes(specs)
                    if issubclass(c, specs.Stated) and c not in (specs.Stated, specs.LayerSpec)]
    names += [f"backends.specs.{c.__name__}" for c in (*spec_classes, specs.Reach)]
    names += [f"backends.specs.LayerSpec.{m}" for m in ("output_shape", "param_shapes",
                                                        "state_shapes", "input_shapes")]
    names += _public_methods(specs.Stated)
    names += [f"backends.specs.{c.__name__}.{m}" for c in spec_classes
              for m in ("output_shape", "param_shapes", "state_shapes", "input_shapes")
              if m in vars(c)]
    names += ["backends.specs.check_input_shape", "backends.specs.window_geometry",
              "backends.specs.Conv2D.algos", "backends.specs.Conv2D.winograd_eligible"]
    whole = [f"{name}.{attr}" for name in VALIDATED_MODULES if _importable(name)
             for attr, obj in vars(importlib.import_module(name)).items()
             if not attr.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
             and obj.__module__ == name]
    names += whole + [method for name in whole if inspect.isclass(obj := _resolve(name))
                      for method in _public_methods(obj)]
    assert {"layerbench.models.model.SRModel.super_resolve",
            "layerbench.models.presets.pretrained", "backends.protocol.Layer.forward",
            "backends.backend.KernelBackend.kernels", "layerbench.metrics.psnr"} <= set(names)
    return sorted(set(names))


def test_main_api_passes_numpydoc_validation():
    from numpydoc.validate import validate

    failures = [f"{name}: {code} {message}" for name in _main_api()
                for code, message in validate(name)["errors"] if code in VALIDATED_CHECKS]
    assert not failures, "numpydoc validation:\n" + "\n".join(failures)


def test_no_documented_parameter_is_missing_from_its_signature():
    """PR02 over every public function, class and method: a Parameters entry naming no
    argument of the signature is a stale docstring (a renamed or removed argument)."""
    from numpydoc.validate import validate

    names = {**_public_names(backends), **_public_names(layerbench)}
    failures = [f"{name}: {message}" for name, obj in sorted(names.items())
                if obj is not None and not inspect.ismodule(obj) and not _pending(name)
                for code, message in validate(name)["errors"] if code == "PR02"]
    assert not failures, "documented parameters not in the signature:\n" + "\n".join(failures)


@pytest.mark.parametrize("module_name", [
    "backends.registry", "backends.losses", "backends.specs", "backends.backend",
    "backends.protocol", "backends.network", "backends.testing.tolerances",
    "layerbench.metrics", "layerbench.models.presets", "layerbench.models.model",
    "layerbench.compare", "layerbench.catalog", "layerbench.models.bicubic",
    "layerbench.data.images", "layerbench.data.degrade", "layerbench.models.edsr",
    "layerbench.models.inference", "layerbench.data.div2k", "layerbench.data.mri",
    "layerbench.markdown", "layerbench.report.figures", "backends.bands", "backends.errors",
    "layerbench.confdir", "layerbench.experiments.mri", "backends.optim", "layerbench.cli",
    "layerbench.report.build",
])
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module_name} has no doctests"
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module_name}"
