"""The examples in docstrings are run: documentation that shows a result must show the real one."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import connectors
import monitor

MODULES = sorted(
    info.name
    for package in (monitor, connectors)
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
    if ".migrations" not in info.name and not info.name.endswith("__main__")  # runs the CLI
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} docstring example(s) of {name} fail: python -m doctest -v"
