"""A local Prometheus for the demo and the integration tests, from the files in this folder.

``prometheus.yml`` finds workers through file service discovery, so running it locally only
needs a target file, a shorter scrape interval and the alert rules next to it; everything
else is the production configuration. Debian's ``prometheus`` package provides the binary.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import processes
from common.errors import CjsxError
from infra.broker.node import free_port

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "prometheus.yml"
RULES = HERE / "alerts.yml"
JOB = "cjsx-worker"


class PrometheusError(CjsxError):
    """Prometheus is missing, did not start, or refused a query."""


def find_binary(name: str = "prometheus") -> str | None:
    """The Prometheus (or promtool) binary on PATH, if installed."""
    return shutil.which(name)


def write_config(directory: Path, targets: Sequence[str], *, scrape_interval: str = "15s") -> Path:
    """Copy the configuration and rules into ``directory`` with ``targets`` (host:port) as the
    worker targets and the given scrape and evaluation interval; returns the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    text = CONFIG.read_text()
    for key in ("scrape_interval", "evaluation_interval"):
        text, count = re.subn(rf"(?m)^(\s+{key}:) \S+$", rf"\1 {scrape_interval}", text)
        if count != 1:
            raise PrometheusError(f"{CONFIG} has no single global {key} to override")
    text = re.sub(r"(?m)^(\s+scrape_timeout:) \S+$", rf"\1 {scrape_interval}", text)
    config = directory / "prometheus.yml"
    config.write_text(text)
    shutil.copy(RULES, directory / RULES.name)
    (directory / "targets").mkdir(exist_ok=True)
    (directory / "targets" / "worker.json").write_text(
        json.dumps([{"targets": list(targets), "labels": {"deployment": "local"}}], indent=2)
    )
    return config


@dataclass
class PrometheusServer:
    """A ``prometheus`` child process on a free loopback port with its own storage."""

    home: Path
    targets: Sequence[str]
    scrape_interval: str = "1s"
    port: int = field(default_factory=free_port)
    binary: str | None = field(default_factory=find_binary)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "prometheus.log"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        if self.binary is None:
            raise PrometheusError("prometheus is not installed (apt-get install -y prometheus)")
        config = write_config(
            self.home / "config", self.targets, scrape_interval=self.scrape_interval
        )
        self.process = processes.spawn(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            log=self.log,
        )
        if not processes.wait_for(self._ready, timeout):
            self.stop()
            raise PrometheusError(f"prometheus did not become ready; see {self.log}")
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise PrometheusError(
                f"prometheus exited with {self.process.returncode}; see {self.log}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>``; returns ``data`` or raises with Prometheus's error."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector (or scalar as a one-element list)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        result = data["result"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": result}]
        return list(result)

    def targets_up(self) -> bool:
        """Every configured target has been scraped successfully at least once."""
        active = self.api("targets", state="active")["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    def wait_for_scrapes(self, count: int = 2, timeout: float = 30.0) -> None:
        """Wait until every target is up and ``count`` more scrape intervals have passed."""
        if not processes.wait_for(self.targets_up, timeout):
            raise PrometheusError(f"targets not up: {self.api('targets', state='active')}")
        time.sleep(count * _seconds(self.scrape_interval))

    def stop(self) -> int | None:
        """Stop cleanly (SIGTERM lets the TSDB close its head block)."""
        return processes.stop(self.process, timeout=20) if self.process is not None else None


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    if match is None:
        raise PrometheusError(f"not a simple duration: {duration}")
    value, unit = float(match[1]), match[2]
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
