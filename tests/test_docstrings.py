"""Docstrings of the layer contracts: present, and the spec fields documented."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from numpydoc.docscrape import ClassDoc

from backends import protocol, specs


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
