"""The operators' panel: the worker's metrics as small charts, for sites without Grafana.

The console scrapes the worker's ``/metrics`` as it polls Kafka and keeps the last samples in
memory; rates come from consecutive samples. Parsing and summarising are ``cjsx status``'s
(``parse_metrics``, ``summarise``), so the panel and the terminal view cannot disagree.
"""

from __future__ import annotations

import itertools
import threading
import urllib.request
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from cjsx.cli.status import Scrape, Status, parse_metrics, summarise

SAMPLES = 120


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    width: float
    """Share of the largest value in the chart, 0..1."""


@dataclass(frozen=True)
class Panel:
    """What the page draws."""

    scraped_at: datetime | None
    status: Status | None
    rate_in: list[float]
    rate_out: list[float]
    reasons: list[Bar]
    lag: list[Bar]

    def sparkline(self, series: list[float], width: int = 300, height: int = 40) -> str:
        """SVG polyline points for ``series`` (no script, no inline style: CSP-safe)."""
        if len(series) < 2:
            return ""
        top = max(series) or 1.0
        step = width / (len(series) - 1)
        return " ".join(
            f"{i * step:.1f},{height - (v / top) * height:.1f}" for i, v in enumerate(series)
        )


def bars(values: list[tuple[str, float]]) -> list[Bar]:
    top = max((v for _, v in values), default=0.0) or 1.0
    return [Bar(label, value, value / top) for label, value in values]


class MetricsHistory:
    """The last scrapes of the worker's metrics, safe to read while the feed thread writes."""

    def __init__(self, url: str | None, samples: int = SAMPLES) -> None:
        self.url = url
        self.samples: deque[tuple[datetime, Scrape]] = deque(maxlen=samples)
        self.lock = threading.Lock()

    def scrape(self) -> None:
        """One scrape; an unreachable worker leaves a gap rather than stopping the console."""
        if self.url is None:
            return
        try:
            with urllib.request.urlopen(self.url, timeout=2) as response:  # noqa: S310 - configured URL
                text = response.read().decode()
        except OSError:
            return
        self.add(parse_metrics(text), datetime.now(UTC))

    def add(self, scrape: Scrape, at: datetime) -> None:
        with self.lock:
            self.samples.append((at, scrape))

    def panel(self) -> Panel:
        with self.lock:
            samples = list(self.samples)
        if not samples:
            return Panel(None, None, [], [], [], [])
        rate_in: list[float] = []
        rate_out: list[float] = []
        for (t0, before), (t1, now) in itertools.pairwise(samples):
            seconds = (t1 - t0).total_seconds()
            if seconds <= 0:
                continue
            step = summarise(now, before, seconds)
            rate_in.append(step.rate_in or 0.0)
            rate_out.append(step.rate_out or 0.0)
        at, latest = samples[-1]
        status = summarise(latest)
        lag = [(p.recipient, p.lag_seconds or 0.0) for p in status.partners]
        return Panel(at, status, rate_in, rate_out, bars(status.reasons), bars(lag))
