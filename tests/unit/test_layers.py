"""The packages form layers: ``common`` at the bottom, the ``cjsx`` command on top, and no
import reaches upwards (a stage that imported the CLI would drag its settings, console and
demo into every worker)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"common", "schemas", "infra", "streams", "producers", "consumers", "cjsx", "tools"}
MAY_NOT_IMPORT = {
    "common": PROJECT - {"common"},
    "schemas": {"cjsx", "producers", "consumers", "streams", "tools"},
    "infra": {"cjsx", "producers", "consumers", "streams", "tools"},
    "streams": {"cjsx", "producers", "consumers", "tools"},
    "producers": {"cjsx", "consumers", "tools"},
    "consumers": {"cjsx", "producers", "tools"},
    "cjsx": {"tools"},
}
"""``tools`` (maintainer generators) may import any layer; no runtime package imports it."""


def _imports(path: Path) -> set[str]:
    """Top-level package names ``path`` imports, anywhere in it (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(MAY_NOT_IMPORT))
def test_no_package_imports_a_layer_above_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & MAY_NOT_IMPORT[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from cjsx.settings import Settings\n    return Settings\n")
    assert "cjsx" in _imports(module)
