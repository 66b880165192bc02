"""The console as a user meets it: a real ``cjsx console`` process in front of a real broker
and worker, driven by Debian's Chromium through Playwright (which never downloads a browser)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from cjsx.console.users import User, hash_password, save_users
from common import processes
from infra.broker.node import free_port
from infra.topics import TopicCatalog
from tests.support.world import Broker, WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".cache" / "reports" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "synthetic password 1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


USERS = (
    User("alice", "Alice (Merseyside)", "", force="05", reviewer=True),
    User("bob", "Bob (Merseyside)", "", force="05", reviewer=True),
    User("carol", "Carol (Met)", "", force="01", reviewer=True),
    User("olive", "Olive (operations)", "", operator=True, reviewer=True),
)


@dataclass
class ConsoleProcess:
    """``cjsx console`` as a child process, reading the test's topics."""

    broker: Broker
    catalog: TopicCatalog
    home: Path
    port: int
    standing_data: Path | None = None
    metrics_url: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "console.log"

    def start(self) -> ConsoleProcess:
        hashed = hash_password(PASSWORD)
        users_file = self.home / "console" / "users.toml"
        save_users(
            users_file,
            {u.id: User(u.id, u.name, hashed, u.force, u.operator, u.reviewer) for u in USERS},
        )
        env = {
            "CJSX_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "CJSX_SECRETS_DIR": str(self.broker.secrets_dir),
            "CJSX_TOPIC_NAMESPACE": self.catalog.namespace,
            "CJSX_FORCES": ",".join(f.code for f in self.catalog.registry.forces),
            "CJSX_CACHE_DIR": str(self.home),
            "CJSX_CONSOLE_PORT": str(self.port),
            "CJSX_CONSOLE_USERS_FILE": str(users_file),
            "CJSX_CONSOLE_POLL_SECONDS": "0.5",
        }
        if self.metrics_url is not None:
            env["CJSX_CONSOLE_METRICS_URL"] = self.metrics_url
        if self.standing_data is not None:
            env["CJSX_CONSOLE_STANDING_DATA"] = str(self.standing_data)
        self.process = processes.spawn(
            [sys.executable, "-m", "cjsx", "console"], log=self.log, env=env
        )
        if not processes.wait_for(self.ready, 60):
            raise RuntimeError(f"console did not start; see {self.log}")
        return self

    def ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"console exited with {self.process.returncode}; see {self.log}")
        try:
            with urllib.request.urlopen(f"{self.url}/sign-in", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> int | None:
        return processes.stop(self.process) if self.process is not None else None


@pytest.fixture
def start_console(
    kafka: Broker, catalog: TopicCatalog, tmp_path: Path
) -> Iterator[Callable[..., ConsoleProcess]]:
    """Start ``cjsx console`` (optionally on updated standing data); stopped on any outcome."""
    started: list[ConsoleProcess] = []

    def start(standing_data: Path | None = None, metrics_url: str | None = None) -> ConsoleProcess:
        process = ConsoleProcess(
            kafka, catalog, tmp_path / "console-home", free_port(), standing_data, metrics_url
        )
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def console(start_console: Callable[..., ConsoleProcess], worker: WorkerProcess) -> ConsoleProcess:
    """The console beside the test's worker, scraping its metrics for the operators' panel."""
    return start_console(metrics_url=f"http://127.0.0.1:{worker.web_port}/metrics")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium (``make tools`` installs it), headless; one per test, so that a
    test's processes end with it (the suite fails a test that leaves processes running)."""
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make tools` (Debian's chromium package)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot into .cache/reports/console/ for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
