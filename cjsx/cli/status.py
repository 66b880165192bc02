"""``cjsx status``: the operators' view in a terminal, for those without Grafana.

Reads the worker's ``/metrics`` twice, ``--interval`` seconds apart, so counters become rates
and latency percentiles describe the last few seconds rather than the worker's lifetime. Lag
and the rejected backlog come from the worker when it exports them, otherwise straight from
the broker. Parsing, summarising and rendering are pure functions of the scraped text
(``parse_metrics`` → ``summarise`` → ``render``), so they are unit-tested without a worker.
"""

from __future__ import annotations

import math
import time
import urllib.request
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import click
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

LAG_WARNING_SECONDS = 900.0  # infra/prometheus/alerts.yml: CjsxPartnerLagHigh
LATENCY_OBJECTIVE_SECONDS = 0.25  # CjsxLatencyAboveObjective: p99 published → delivered
LATENCIES = (
    ("published → delivered", "cjsx_published_to_delivered_seconds"),
    ("occurred → delivered", "cjsx_occurred_to_delivered_seconds"),
    ("worker processing", "cjsx_processing_seconds"),
)

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scrape:
    """One scrape's samples: sample name → label set → value."""

    samples: Mapping[str, Mapping[Labels, float]] = field(default_factory=dict)

    def total(self, name: str, **match: str) -> float:
        return sum(v for labels, v in self._matching(name, match))

    def by(self, name: str, label: str, **match: str) -> dict[str, float]:
        """Sum of ``name`` grouped by one label."""
        grouped: dict[str, float] = defaultdict(float)
        for labels, value in self._matching(name, match):
            grouped[dict(labels).get(label, "")] += value
        return dict(grouped)

    def maximum_by(self, name: str, label: str) -> dict[str, float]:
        """Max of ``name`` grouped by one label (several workers report the same lag)."""
        grouped: dict[str, float] = {}
        for labels, value in self._matching(name, {}):
            key = dict(labels).get(label, "")
            grouped[key] = max(value, grouped.get(key, value))
        return grouped

    def buckets(self, histogram: str) -> list[tuple[float, float]]:
        """Cumulative (upper bound, count) of a histogram, summed over its other labels."""
        return sorted(
            (float(le), count) for le, count in self.by(f"{histogram}_bucket", "le").items()
        )

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for labels in self.samples.get(name, {})]

    def _matching(self, name: str, match: Mapping[str, str]) -> list[tuple[Labels, float]]:
        return [
            (labels, value)
            for labels, value in self.samples.get(name, {}).items()
            if all(dict(labels).get(k) == v for k, v in match.items())
        ]


def parse_metrics(text: str) -> Scrape:
    """Parse the Prometheus text format (what the worker serves)."""
    samples: dict[str, dict[Labels, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = float(sample.value)
    return Scrape(dict(samples))


# -- the summary -------------------------------------------------------------------------------


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """``histogram_quantile`` over cumulative buckets: linear within the bucket found."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


def _delta(
    now: list[tuple[float, float]], before: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in now]


@dataclass(frozen=True)
class PartnerRow:
    recipient: str
    delivered: float
    outstanding: float
    lag_messages: float | None
    lag_seconds: float | None


@dataclass(frozen=True)
class Latency:
    name: str
    p50: float | None
    p95: float | None
    p99: float | None
    recent: bool  # from the interval between scrapes, not since the worker started


@dataclass(frozen=True)
class Status:
    """Everything ``render`` shows, computed from one or two scrapes."""

    version: str
    broker_up: bool | None
    seconds: float | None
    received: float
    delivered: float
    rate_in: float | None
    rate_out: float | None
    outcomes: dict[str, float]
    reasons: list[tuple[str, float]]
    latencies: list[Latency]
    partners: list[PartnerRow]
    rejected_backlog: float | None
    rejected_oldest_seconds: float | None
    internal_errors: float


def summarise(now: Scrape, before: Scrape | None = None, seconds: float = 0.0) -> Status:
    """The operators' numbers from a scrape (and an earlier one, for rates)."""
    rated = before is not None and seconds > 0
    build = now.labels_of("cjsx_build_info")
    version = build[0].get("version", "?") if build else "?"
    broker = now.samples.get("cjsx_broker_up")
    received = now.total("cjsx_events_received_total")
    delivered = now.total("cjsx_deliveries_total")
    latencies = []
    for title, histogram in LATENCIES:
        buckets = now.buckets(histogram)
        recent = False
        if rated and before is not None:
            window = _delta(buckets, before.buckets(histogram))
            if window and window[-1][1] > 0:
                buckets, recent = window, True
        latencies.append(
            Latency(
                title,
                quantile(0.5, buckets),
                quantile(0.95, buckets),
                quantile(0.99, buckets),
                recent,
            )
        )
    deliveries = now.by("cjsx_deliveries_total", "recipient")
    acks = now.by("cjsx_acknowledgements_total", "recipient")
    lag_messages = now.maximum_by("cjsx_consumer_lag_messages", "recipient")
    lag_seconds = now.maximum_by("cjsx_consumer_lag_seconds", "recipient")
    partners = [
        PartnerRow(
            recipient=r,
            delivered=deliveries.get(r, 0.0),
            outstanding=max(0.0, deliveries.get(r, 0.0) - acks.get(r, 0.0)),
            lag_messages=lag_messages.get(r),
            lag_seconds=lag_seconds.get(r),
        )
        for r in sorted(set(deliveries) | set(lag_messages))
    ]
    reasons = sorted(
        now.by("cjsx_rejection_reasons_total", "reason").items(), key=lambda kv: (-kv[1], kv[0])
    )
    return Status(
        version=version,
        broker_up=None if not broker else max(broker.values()) > 0,
        seconds=seconds if rated else None,
        received=received,
        delivered=delivered,
        rate_in=_rate(received, before, "cjsx_events_received_total", seconds),
        rate_out=_rate(delivered, before, "cjsx_deliveries_total", seconds),
        outcomes=now.by("cjsx_events_total", "outcome"),
        reasons=[(r, n) for r, n in reasons if n > 0],
        latencies=latencies,
        partners=partners,
        rejected_backlog=_max(now, "cjsx_rejected_backlog_messages"),
        rejected_oldest_seconds=_max(now, "cjsx_rejected_oldest_age_seconds"),
        internal_errors=now.total("cjsx_internal_errors_total"),
    )


def _rate(value: float, before: Scrape | None, name: str, seconds: float) -> float | None:
    if before is None or seconds <= 0:
        return None
    return max(0.0, value - before.total(name)) / seconds


def _max(scrape: Scrape, name: str) -> float | None:
    values = scrape.samples.get(name)
    return max(values.values()) if values else None


# -- rendering ---------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """Short human duration: 850 ms, 12.3 s, 4m 05s, 2h 03m, 3d 04h."""
    if seconds is None or math.isnan(seconds):
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def render(status: Status) -> RenderableType:
    """The status screen: a pure function of ``Status``."""
    broker = {True: "[green]up[/]", False: "[red]DOWN[/]", None: "[yellow]unknown[/]"}
    header = Text.from_markup(
        f"[bold]cjs-exchange[/] {status.version} · broker {broker[status.broker_up]}"
        + (f" · rates over {status.seconds:.1f} s" if status.seconds else " · totals only")
    )

    flow = Table(title="Throughput", title_justify="left")
    for column in ("", "total", "per second"):
        flow.add_column(column, justify="right" if column else "left")
    flow.add_row("received", _count(status.received), _per_second(status.rate_in))
    flow.add_row("delivered", _count(status.delivered), _per_second(status.rate_out))
    for outcome in ("accepted", "rejected", "duplicate"):
        flow.add_row(f"  {outcome}", _count(status.outcomes.get(outcome, 0.0)), "")
    if status.internal_errors:
        flow.add_row("[red]internal errors[/]", _count(status.internal_errors), "")

    latency = Table(title="Latency", title_justify="left")
    for column in ("", "p50", "p95", "p99", "over"):
        latency.add_column(column, justify="right" if column else "left")
    for row in status.latencies:
        p99 = duration(row.p99)
        if row.name.startswith("published") and (row.p99 or 0) > LATENCY_OBJECTIVE_SECONDS:
            p99 = f"[red]{p99}[/]"
        latency.add_row(
            row.name,
            duration(row.p50),
            duration(row.p95),
            p99,
            "interval" if row.recent else "lifetime",
        )

    partners = Table(title="Partners", title_justify="left")
    for column in ("recipient", "delivered", "unacknowledged", "lag (messages)", "lag (time)"):
        partners.add_column(column, justify="left" if column == "recipient" else "right")
    for p in status.partners:
        lag_time = duration(p.lag_seconds)
        if (p.lag_seconds or 0) > LAG_WARNING_SECONDS:
            lag_time = f"[red]{lag_time}[/]"
        partners.add_row(
            p.recipient,
            _count(p.delivered),
            _count(p.outstanding),
            _count(p.lag_messages),
            lag_time,
        )

    backlog = Text.from_markup(
        f"Rejected backlog: [bold]{_count(status.rejected_backlog)}[/] unreviewed, oldest "
        f"{duration(status.rejected_oldest_seconds)}"
    )
    reasons = Table(title="Rejections by reason", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("count", justify="right")
    for reason, count in status.reasons[:8]:
        reasons.add_row(reason, _count(count))
    return Group(header, flow, latency, partners, backlog, reasons)


def _per_second(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:,.1f}"


# -- the command -------------------------------------------------------------------------------


def fetch(url: str, timeout: float = 5.0) -> Scrape:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - operator's URL
        return parse_metrics(response.read().decode())


def _default_url() -> str:
    from cjsx.settings import Settings

    settings = Settings()
    return f"http://{settings.worker_web_host}:{settings.worker_web_port}/metrics"


@click.command()
@click.option("--metrics-url", default=None, help="Worker /metrics (default: from CJSX_ settings).")
@click.option(
    "--interval",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds between two scrapes, for rates; 0 shows totals only.",
)
def status(metrics_url: str | None, interval: float) -> None:
    """Throughput, latency, each partner's lag and the rejected backlog, in the terminal."""
    url = metrics_url or _default_url()
    try:
        first = fetch(url)
        second = first
        if interval > 0:
            time.sleep(interval)
            second = fetch(url)
    except OSError as error:
        raise click.ClickException(f"cannot read {url}: {error}") from error
    before = first if interval > 0 else None
    Console().print(render(summarise(second, before, interval)))
