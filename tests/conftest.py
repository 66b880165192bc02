"""Fixtures shared by every tier; the real broker starts once per session, on first use.

No process outlives the test that started it: each test is checked for processes it left
running (they are killed and the test errors at teardown), and the session fails if anything
it started is still alive at the end. Only this session's own descendants count (pytest
adopts orphans as a subreaper), so other pytest sessions on the same machine are never
flagged or touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import processes
from infra.broker.provision import ensure_jars
from infra.topics import TopicCatalog
from tests.support.world import (
    LONG_LIVED,
    STARTED_SESSIONS,
    Broker,
    WorkerProcess,
    new_catalog,
    start_broker,
)

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
_LEFT_BEHIND = pytest.StashKey[str]()
_LEFT_BEHIND_KEY = "cjsx_left_behind"


def pytest_configure(config: pytest.Config) -> None:
    # Orphaned grandchildren (a supervised worker whose supervisor died, a forked tool) are
    # reparented to this process rather than to init, so the checks below still see them.
    processes.become_subreaper()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
    # Files holding a slow proof first (otherwise in collection order): run in parallel
    # (`make test`), those are handed out first and run side by side instead of last.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


def _ours() -> list[processes.ProcessInfo]:
    """Live processes this pytest session started (directly or not)."""
    return processes.descendants(os.getpid(), STARTED_SESSIONS)


def _settle(candidates: list[processes.ProcessInfo], grace: float) -> list[processes.ProcessInfo]:
    """Those of ``candidates`` still alive after ``grace`` seconds: a child killed with its
    parent (PR_SET_PDEATHSIG) may take a moment to go."""
    pids = {c.pid for c in candidates}

    def still() -> list[processes.ProcessInfo]:
        return [p for p in _ours() if p.pid in pids]

    processes.wait_for(lambda: not still(), grace, interval=0.1)
    return still()


def _kill(left: list[processes.ProcessInfo]) -> None:
    own_group = os.getpgid(0)
    for info in left:
        if info.pgid not in (own_group, 0):
            processes.kill_group(info.pgid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)


def _describe(left: list[processes.ProcessInfo]) -> str:
    return "\n".join(f"  pid {p.pid} (group {p.pgid}): {p.command[:200]}" for p in left)


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """Set up after (and torn down before) every wider-scoped fixture, so what it finds
    new at the end was started by this test or its function-scoped fixtures."""
    before = {p.pid for p in _ours()}
    yield
    fixtures_own = {n.pid() for cluster in LONG_LIVED for n in cluster.nodes}
    left = _settle(
        [p for p in _ours() if p.pid not in before and p.pid not in fixtures_own], grace=3.0
    )
    if left:
        described = _describe(left)  # before the kill: the command line goes with the process
        _kill(left)
        pytest.fail(f"the test left processes running (now killed):\n{described}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """After every fixture is torn down (the runner's own hook does that first): nothing
    this session started may still be running. A pytest-xdist worker hands what it found
    to the controller, whose exit status and summary are the run's."""
    left = _settle(_ours(), grace=5.0)
    if left:
        described = _describe(left)
        _kill(left)
        _record_left_behind(session.config, described)
        worker_output = getattr(session.config, "workeroutput", None)
        if worker_output is not None:
            worker_output[_LEFT_BEHIND_KEY] = described
    if session.config.stash.get(_LEFT_BEHIND, ""):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """In the pytest-xdist controller: what a worker's session left running fails the run."""
    described = getattr(node, "workeroutput", {}).get(_LEFT_BEHIND_KEY)
    if described:
        _record_left_behind(node.config, described)


def _record_left_behind(config: pytest.Config, described: str) -> None:
    earlier = config.stash.get(_LEFT_BEHIND, "")
    config.stash[_LEFT_BEHIND] = f"{earlier}\n{described}" if earlier else described


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    left = config.stash.get(_LEFT_BEHIND, None)
    if left:
        terminalreporter.section("processes left running", sep="=", red=True)
        terminalreporter.line(
            "the session failed: these processes it started were still alive at its end "
            f"(now killed):\n{left}"
        )


@pytest.fixture(scope="session")
def kafka_lib() -> Path:
    return ensure_jars(CACHE, "4.4.0")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path) -> Iterator[Broker]:
    """One real Apache Kafka 4.x node (KRaft) for the whole session, as the project runs it:
    SASL/SCRAM over TLS, the authorizer on, a SCRAM user for every registry principal."""
    broker = start_broker(tmp_path_factory.mktemp("kafka"), kafka_lib)
    LONG_LIVED.append(broker.cluster)
    try:
        yield broker
    finally:
        LONG_LIVED.remove(broker.cluster)
        broker.cluster.stop()


@pytest.fixture
def catalog(kafka: Broker) -> TopicCatalog:
    """A fresh topic set for one test, with the registry's ACLs on it."""
    return new_catalog(kafka)


@pytest.fixture
def worker(kafka: Broker, catalog: TopicCatalog, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A running ``cjsx worker`` process serving the test's topics."""
    process = WorkerProcess(kafka, catalog, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()
