"""Fixtures of the generic backend tests: the whole case catalogue as the ``case`` parameter
(for tests that do not parametrize ``case`` themselves)."""

from __future__ import annotations

import pytest

from backends.testing import CASES


def _parametrized_by_marker(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames and not _parametrized_by_marker(metafunc, "case"):
        metafunc.parametrize("case", CASES, ids=[c.name for c in CASES])
