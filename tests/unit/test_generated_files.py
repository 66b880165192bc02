"""Every file printed from the code is current, and ``python -m tools.generate`` is how."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import generate


@pytest.mark.parametrize("name", sorted(generate.GENERATORS))
def test_the_committed_files_are_current(name: str) -> None:
    assert generate.stale([name]) == [], f"run `python -m tools.generate {name}`"


def test_check_names_a_stale_file_and_writing_makes_it_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "docs" / "wire-format.md"
    page.parent.mkdir()
    shutil.copy(generate.ROOT / "docs" / "wire-format.md", page)
    page.write_text(page.read_text(encoding="utf-8").replace("MG", "XX"), encoding="utf-8")
    root = ["--root", str(tmp_path)]

    assert generate.main([*root, "--check", "wire-format", "reason-codes"]) == 1
    out = capsys.readouterr().out
    assert f"stale: {page}" in out
    assert "reason-codes.md" in out  # never written under this root: missing counts as stale

    assert generate.main([*root, "wire-format", "reason-codes"]) == 0
    assert generate.main([*root, "--check", "wire-format", "reason-codes"]) == 0
    assert (tmp_path / "docs" / "reason-codes.md").read_text(encoding="utf-8") == (
        generate.ROOT / "docs" / "reason-codes.md"
    ).read_text(encoding="utf-8")


def test_an_unknown_generator_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as stop:
        generate.main(["nope"])
    assert stop.value.code == 2
