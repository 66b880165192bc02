"""The SDKs' public surface is declared and is all that other packages use."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("producers", "consumers")


@pytest.mark.parametrize("package", SDKS)
def test_the_declared_api_exists_and_is_sorted(package: str) -> None:
    module = importlib.import_module(package)
    declared = list(module.__all__)
    assert declared == sorted(declared)
    for name in declared:
        assert hasattr(module, name), f"{package}.{name} is declared but missing"


def _imports_from(package: str) -> set[tuple[Path, str]]:
    """(file, name) for each name another package imports from ``package`` or a submodule."""
    found: set[tuple[Path, str]] = set()
    for path in ROOT.glob("**/*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", ".cache", package.split(".")[0], "tests"}:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and (node.module == package or node.module.startswith(package + "."))
            ):
                found |= {(path, alias.name) for alias in node.names}
    return found


# The SDK modules a force's or partner's system uses; producers' simulator and traffic plans
# are tools for demos, tests and benchmarks, not part of the force's SDK.
SDK_MODULES = {
    "consumers": ("consumers",),
    "producers": ("producers.publisher", "producers.outbox", "producers.receipts"),
}


@pytest.mark.parametrize("package", SDKS)
def test_other_packages_use_only_the_declared_api(package: str) -> None:
    declared = set(importlib.import_module(package).__all__)
    outside = {
        (str(path.relative_to(ROOT)), name)
        for module in SDK_MODULES[package]
        for path, name in _imports_from(module)
        if name not in declared
    }
    assert outside == set(), f"undeclared {package} names used elsewhere: {sorted(outside)}"
