"""The demo's force without Kafka: one force's systems post their events over HTTPS.

``cjsx gateway`` runs as a child of the demo with a bearer token per demo force. The chosen
force's valid traffic (case stories, resends, content duplicates, in the planned order) goes
through it in batched requests, each answered ``202`` only once the broker has acknowledged
every event; its deliberately faulty events still go through its Kafka publisher, so the
exchange's own rejections are shown for every force. One more faulty event is posted to show
the gateway's ``400``: refused with the worker's coded reasons before it reaches the broker.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2

from cjsx.gateway.auth import new_token, save_tokens
from common import processes
from infra.broker.node import free_port
from schemas.jsonform import to_cloudevent
from schemas.models import CaseEvent

BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"


class GatewayRefused(RuntimeError):
    """The gateway did not take a request the demo expected it to take."""


class DemoGateway:
    """``cjsx gateway`` over TLS from the demo's local CA, with one token per force."""

    def __init__(self, home: Path, env: dict[str, str], ca_cert: Path, forces: Sequence[str]):
        self.home = home
        self.env = env
        self.ca_cert = ca_cert
        self.forces = list(forces)
        self.port = free_port()
        self.tokens: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.requests = 0
        self._http = httpx2.Client(
            base_url=self.url, verify=ssl.create_default_context(cafile=str(ca_cert))
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> DemoGateway:
        stored = {}
        for force in self.forces:
            text, token = new_token(force)
            self.tokens[force] = text
            stored[token.id] = token
        tokens_file = self.home / "gateway" / "tokens.toml"
        save_tokens(tokens_file, stored)
        env = {
            **self.env,
            "CJSX_GATEWAY_PORT": str(self.port),
            "CJSX_GATEWAY_TOKENS_FILE": str(tokens_file),
        }
        self.process = processes.spawn(
            [sys.executable, "-m", "cjsx", "gateway", "serve"],
            log=self.home / "gateway.log",
            env=env,
        )
        if not processes.wait_for(self._healthy, 60, interval=0.5):
            raise RuntimeError(f"gateway did not start; see {self.home / 'gateway.log'}")
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gateway exited; see {self.home / 'gateway.log'}")
        try:
            return self._http.get("/healthz", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
        self._http.close()

    def _post(self, force: str, body: str, content_type: str) -> httpx2.Response:
        self.requests += 1
        return self._http.post(
            f"/forces/{force}/events",
            content=body.encode(),
            headers={
                "authorization": f"Bearer {self.tokens[force]}",
                "content-type": content_type,
            },
            timeout=60,
        )

    def post_batch(self, force: str, events: Sequence[CaseEvent]) -> list[str]:
        """The events in one batched request, in order; their ids once the gateway answered
        202. A 429 or 503 is retried after ``Retry-After``, as a force system must."""
        body = json.dumps([to_cloudevent(e) for e in events], separators=(",", ":"))
        for _ in range(10):
            response = self._post(force, body, BATCH)
            if response.status_code == 202:
                return [str(i) for i in response.json()["event_ids"]]
            if response.status_code not in (429, 503):
                raise GatewayRefused(f"gateway answered {response.status_code} to a batch")
            time.sleep(float(response.headers.get("retry-after", "1")))
        raise GatewayRefused("gateway kept answering 429/503")

    def post_refused(self, force: str, event: CaseEvent) -> tuple[int, list[dict[str, Any]]]:
        """One event expected to fail the worker's rules: the status and its reasons."""
        response = self._post(force, json.dumps(to_cloudevent(event)), STRUCTURED)
        verdicts = response.json().get("verdicts", []) if response.status_code == 400 else []
        return response.status_code, [r for v in verdicts for r in v.get("reasons", [])]
