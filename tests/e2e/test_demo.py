"""`make demo` as a newcomer runs it: it finishes, its numbers add up, it leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(400)
def test_the_demo_adds_up_and_stops_everything() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cjsx", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All numbers add up." in result.stdout
    assert "chain intact: yes" in result.stdout
    assert "everything stopped" in result.stdout
    leftovers = subprocess.run(
        ["pgrep", "-f", str(ROOT / ".cache" / "demo")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == "", f"processes left behind: {leftovers.stdout}"
