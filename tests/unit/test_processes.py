"""Process lifetimes: a stopped child takes its whole group with it, a timed-out command
leaves nothing behind, and the suite's leak checks fail a test or session that leaks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from common import processes

ROOT = Path(__file__).resolve().parents[2]
# A child that starts a grandchild in its own group and ignores SIGTERM itself: the
# grandchild's pid goes to the given file.
FORKER = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open(sys.argv[1], "w").write(str(child.pid))
    time.sleep(300)
    """
)


def alive(pid: int) -> bool:
    return any(p.pid == pid for p in processes.snapshot() if p.state != "Z")


def test_stop_kills_the_whole_group_even_when_the_leader_ignores_sigterm(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    leader = processes.spawn(
        [sys.executable, "-c", FORKER, str(pid_file)], log=tmp_path / "forker.log"
    )
    assert processes.wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", 10)
    grandchild = int(pid_file.read_text())
    assert grandchild in {p.pid for p in processes.descendants(os.getpid())}
    assert processes.stop(leader, timeout=1) == -9  # SIGTERM ignored: SIGKILL after 1 s
    assert processes.wait_for(lambda: not alive(grandchild), 5), "the grandchild survived"


def test_run_kills_the_whole_group_on_a_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run([sys.executable, "-c", FORKER, str(pid_file)], timeout=3)
    grandchild = int(pid_file.read_text())
    assert processes.wait_for(lambda: not alive(grandchild), 5), "the grandchild survived"


LEAKY = textwrap.dedent(
    """
    import subprocess, sys
    import pytest

    SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]

    @pytest.fixture(scope="session")
    def forgotten():
        yield subprocess.Popen(SLEEP, start_new_session=True)  # never stopped

    def test_clean():
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    def test_leaks_a_process():
        subprocess.Popen(SLEEP, start_new_session=True)

    def test_a_session_fixture_leaks(forgotten):
        pass

    class Node:
        process = None

        def pid(self):
            return self.process.pid if self.process else None

    class Cluster:
        def __init__(self):
            self.nodes = [Node()]

    @pytest.fixture(scope="module")
    def cluster():
        from tests.support.world import LONG_LIVED
        owned = Cluster()
        LONG_LIVED.append(owned)
        yield owned
        LONG_LIVED.remove(owned)
        owned.nodes[0].process.kill()
        owned.nodes[0].process.wait()

    def test_restarts_a_node_of_a_module_scoped_cluster(cluster):
        # What a fault proof does: the node is the fixture's, not a leak of this test.
        NODE = [sys.executable, "-c", "import time; time.sleep(121)"]
        cluster.nodes[0].process = subprocess.Popen(NODE, start_new_session=True)
    """
)


@pytest.mark.parametrize(
    "parallel", [[], ["-n", "2", "--dist", "loadfile"]], ids=["serial", "two-xdist-workers"]
)
def test_the_suite_flags_what_a_test_or_the_session_leaves_running(
    tmp_path: Path, parallel: list[str]
) -> None:
    """The real checks of tests/conftest.py, loaded as a plugin into a pytest run of its own
    (in a child process, so what it starts is not this session's), run as ``make test``
    runs the suite (in pytest-xdist workers, whose session checks report to the
    controller) and in one process."""
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    result = processes.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            *parallel,
            str(tmp_path / "test_leaky.py"),
        ],
        timeout=120,
        cwd=tmp_path,
        # Not this session's options: a --basetemp given through PYTEST_ADDOPTS would be the
        # inner run's too, and it refuses one that holds its working directory.
        env={"PYTHONPATH": str(ROOT), "PYTEST_ADDOPTS": ""},
    )
    out = result.stdout.decode(errors="replace")
    assert result.returncode == 1, out
    assert re.search(r"\b4 passed, .*\b1 error\b", out), out
    assert "ERROR at teardown of test_leaks_a_process" in out, out
    assert "the test left processes running (now killed)" in out, out
    assert "processes left running" in out, out  # the session's own check, at its end
    assert "time.sleep(120)" in out, out
    assert "time.sleep(121)" not in out, out  # a long-lived cluster's restarted node
    leftovers = [p for p in processes.snapshot() if "time.sleep(12" in p.command]
    assert leftovers == [] or all(p.state == "Z" for p in leftovers), leftovers
