"""The demo's last act: a force corrects one rejected event in the exceptions console.

Two synthetic users of a force sign in to a real ``cjsx console``: an editor corrects the
rejected charge's unknown offence code (checked live by the worker's rules, previewed,
proposed), a reviewer approves it, and the console publishes it as the force. The demo then
follows the corrected event to its receipts like any other. The console stays up for a person
to open while ``make demo`` holds the exchange.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx2

from cjsx.console.client import ConsoleClient, ConsoleClientError
from cjsx.console.users import User, hash_password, save_users
from common import processes
from infra.broker.node import free_port

OFFENCE_FIELD = "offences[0].code"


@dataclass(frozen=True)
class DemoUser:
    id: str
    password: str
    reviewer: bool


@dataclass(frozen=True)
class Corrected:
    """What the editor changed and where the console says the exception now stands."""

    exception: str
    before: str
    after: str
    state: str


class DemoConsole:
    """``cjsx console`` as a child of the demo, with an editor and a reviewer of ``force``."""

    def __init__(self, home: Path, force: str, env: dict[str, str]) -> None:
        self.home = home
        self.force = force
        self.port = free_port()
        self.env = env
        self.editor = DemoUser(f"editor-{force}", secrets.token_urlsafe(12), reviewer=False)
        self.reviewer = DemoUser(f"reviewer-{force}", secrets.token_urlsafe(12), reviewer=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> DemoConsole:
        users_file = self.home / "console" / "users.toml"
        save_users(
            users_file,
            {
                u.id: User(u.id, u.id, hash_password(u.password), self.force, False, u.reviewer)
                for u in (self.editor, self.reviewer)
            },
        )
        env = {
            **self.env,
            "CJSX_CONSOLE_PORT": str(self.port),
            "CJSX_CONSOLE_USERS_FILE": str(users_file),
            "CJSX_CONSOLE_POLL_SECONDS": "0.5",
        }
        self.process = processes.spawn(
            [sys.executable, "-m", "cjsx", "console"], log=self.home / "console.log", env=env
        )
        if not processes.wait_for(self._ready, 60):
            raise RuntimeError(f"console did not start; see {self.home / 'console.log'}")
        return self

    def _ready(self) -> bool:
        try:
            return httpx2.get(f"{self.url}/sign-in", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)

    def correct_offence(self, case_urn: str, candidates: list[str]) -> Corrected:
        """The editor replaces the unknown offence code with the first candidate the worker's
        rules accept and sends it for approval; the reviewer approves and it is resubmitted."""
        with ConsoleClient(self.url) as editor:
            editor.sign_in(self.editor.id, self.editor.password)
            exception = _wait_for_exception(editor, case_urn)
            before = _field_value(editor.get(exception), OFFENCE_FIELD)
            chosen = next(
                (
                    code
                    for code in candidates
                    if 'data-verdict="passes"'
                    in editor.post(f"{exception}/check", {f"f:{OFFENCE_FIELD}": code})
                ),
                None,
            )
            if chosen is None:
                raise RuntimeError(f"no candidate offence code passes for case {case_urn}")
            form = {f"f:{OFFENCE_FIELD}": chosen}
            editor.post(f"{exception}/preview", form)
            editor.post(f"{exception}/submit", form)
        with ConsoleClient(self.url) as reviewer:
            reviewer.sign_in(self.reviewer.id, self.reviewer.password)
            reviewer.post(f"{exception}/approve")
            state = reviewer.state(exception)
        return Corrected(exception, before, chosen, state)

    def receipts_seen(self, exception: str) -> dict[str, str]:
        """The resubmission's outcome, deliveries and acknowledgements as the console shows them."""
        with ConsoleClient(self.url) as reviewer:
            reviewer.sign_in(self.reviewer.id, self.reviewer.password)
            page = reviewer.get(exception)
        return {key: _testid_text(page, key) for key in ("outcome", "delivered", "acknowledged")}


def _wait_for_exception(client: ConsoleClient, case_urn: str) -> str:
    found: list[str] = []

    def listed() -> bool:
        try:
            found.append(client.exception_of(case_urn))
        except ConsoleClientError:
            return False
        return True

    if not processes.wait_for(listed, 60, interval=0.5):
        raise RuntimeError(f"the console never listed case {case_urn}")
    return found[-1]


def _field_value(page: str, path: str) -> str:
    found = re.search(rf'name="f:{re.escape(path)}"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else ""


def _testid_text(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', page)
    return found.group(1).strip() if found else ""
