"""A scripted user of the console's web pages, for ``make demo``.

It signs in and posts the same forms a person's browser posts (with the session's CSRF token),
so the demo's correction goes through the console's own code path: live check, preview,
proposal, a second user's approval, resubmission as the force.

The session cookie is marked ``Secure``; browsers send it to ``localhost`` over plain HTTP,
but Python's cookie jar does not, so this client carries the cookie itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http.cookies import SimpleCookie

import httpx2

from common.errors import CjsxError

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STATE = re.compile(r'data-testid="state">([^<]+)<')


class ConsoleClientError(CjsxError):
    """The console answered a page or form with something other than what a user expects."""


class ConsoleClient:
    """One signed-in user of the console at ``url``."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self._http = httpx2.Client(base_url=url, timeout=timeout, follow_redirects=False)
        self._cookies: dict[str, str] = {}
        self._csrf = ""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, method: str, path: str, form: Mapping[str, str] | None = None) -> str:
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self._cookies.items())}
        response = self._http.request(method, path, data=form, headers=headers)
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                self._cookies[name] = morsel.value
        if response.status_code == 303:
            return self._send("GET", response.headers["location"])
        if response.status_code >= 400:
            raise ConsoleClientError(f"{method} {path} answered {response.status_code}")
        found = _CSRF.search(response.text)
        if found:
            self._csrf = found.group(1)
        return response.text

    def get(self, path: str) -> str:
        return self._send("GET", path)

    def post(self, path: str, form: Mapping[str, str] | None = None) -> str:
        """Post ``form`` with this session's CSRF token, following the redirect."""
        return self._send("POST", path, {**(form or {}), "csrf_token": self._csrf})

    def sign_in(self, user: str, password: str) -> None:
        self.get("/sign-in")
        page = self.post("/sign-in", {"username": user, "password": password})
        if 'data-testid="whoami"' not in page:
            raise ConsoleClientError(f"{user} could not sign in")

    def exception_of(self, case_urn: str) -> str:
        """The path of the open exception of ``case_urn`` in this user's queue."""
        page = self.get(f"/?urn={case_urn}")
        found = re.search(rf'href="(/exceptions/[^"]+)">{re.escape(case_urn)}<', page)
        if found is None:
            raise ConsoleClientError(f"no exception for case {case_urn} in the queue")
        return found.group(1)

    def state(self, exception: str) -> str:
        found = _STATE.search(self.get(exception))
        if found is None:
            raise ConsoleClientError(f"{exception} shows no state")
        return found.group(1).strip()
