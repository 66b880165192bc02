"""``cjsx gateway`` as a real child process (uvicorn over TLS) in a test's world, with a
token per force; clients trust the local CA, as a force system would."""

from __future__ import annotations

import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cjsx.gateway.auth import new_token, save_tokens
from common import processes
from infra.broker.node import free_port
from infra.topics import TopicCatalog
from tests.support.world import Broker, _Child, _track


@dataclass
class GatewayProcess(_Child):
    """A gateway serving the test's topics; ``tokens`` holds one token per force."""

    broker: Broker
    catalog: TopicCatalog
    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    process: object = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "gateway.log"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.broker.security.ca_cert))

    def start(self) -> GatewayProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        tokens_file = self.home / "tokens.toml"
        if not self.tokens:
            stored = {}
            for force in self.catalog.registry.forces:
                text, token = new_token(force.code)
                self.tokens[force.code] = text
                stored[token.id] = token
            save_tokens(tokens_file, stored)
        env = {
            **self._env(),
            "CJSX_GATEWAY_PORT": str(self.port),
            "CJSX_GATEWAY_TOKENS_FILE": str(tokens_file),
            **self.env_extra,
        }
        command = [sys.executable, "-m", "cjsx", "gateway", "serve"]
        self.process = processes.spawn(command, log=self.log, env=env)
        _track(self.process)  # type: ignore[arg-type]
        try:
            if not processes.wait_for(self.healthy, 60):
                raise RuntimeError(f"gateway did not answer; see {self.log}")
        except BaseException:
            self.stop()
            raise
        return self

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"gateway exited; see {self.log}")
        try:
            with urllib.request.urlopen(
                f"{self.url}/healthz", timeout=2, context=self.ssl_context()
            ) as response:
                return bool(response.status == 200)
        except OSError:
            time.sleep(0.1)
            return False

    def headers(self, force: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[force]}"}
