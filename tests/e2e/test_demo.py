"""`make demo` as a newcomer runs it: it finishes, its numbers add up, it leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cjsx import processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_demo_adds_up_and_stops_everything() -> None:
    # In its own process group, killed whole on a timeout (the demo's broker, worker, ...).
    result = processes.run([sys.executable, "-m", "cjsx", "demo"], cwd=ROOT, timeout=380)
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "All numbers add up." in stdout
    assert "chain intact: yes" in stdout
    assert "everything stopped" in stdout
    leftovers = subprocess.run(
        ["pgrep", "-f", str(ROOT / ".cache" / "demo")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == "", f"processes left behind: {leftovers.stdout}"
