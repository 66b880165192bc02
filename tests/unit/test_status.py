"""``cjsx status``: parsing, summarising and rendering are pure; the command reads /metrics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from rich.console import Console

from cjsx.cli.status import (
    Scrape,
    duration,
    parse_metrics,
    quantile,
    render,
    status,
    summarise,
)
from infra.broker.node import free_port
from schemas.reasons import Reason, ReasonCode
from streams.lag import BrokerMetrics, PartitionOffsets, Watch
from streams.metrics import ExchangeMetrics
from streams.pipeline import DeliveryNote, Outcome, Status

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
COURT = Watch("deliver.court", "partner-court-magistrates", "court-magistrates")
REJECTED = Watch("rejected", "cjsx-rejected-review")


class FakeReader:
    def offsets(self, watches: list[Watch]) -> dict[Watch, dict[int, PartitionOffsets]]:
        return {COURT: {0: PartitionOffsets(0, 12, 5)}, REJECTED: {0: PartitionOffsets(0, 3)}}

    def timestamps(self, positions: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        return dict.fromkeys(positions, 1_800_000_000_000 - 1_200_000)  # 20 minutes old

    def close(self) -> None:
        pass


class World:
    """A worker's registry fed with outcomes, as /metrics would serve it."""

    def __init__(self, broker: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.metrics = ExchangeMetrics(self.registry)
        self.metrics.build.info({"version": "0.1.0", "policy": "3"})
        if broker:
            collector = BrokerMetrics([COURT, REJECTED], FakeReader, clock=lambda: 1_800_000_000.0)
            self.registry.register(collector)
            collector.refresh()

    def deliver(self, count: int, latency: float, recipient: str = "court-magistrates") -> None:
        for _ in range(count):
            note = DeliveryNote(
                recipient=recipient,
                force="05",
                occurred_at=NOW - timedelta(seconds=latency * 10),
                published_at=NOW - timedelta(seconds=latency),
                ordering="IN_ORDER",
            )
            outcome = Outcome(force="05", status=Status.ACCEPTED, deliveries=[note])
            self.metrics.record(outcome, NOW, 0.002)

    def reject(self, count: int, code: ReasonCode) -> None:
        for _ in range(count):
            reason = Reason.of(code, "", "bad")
            self.metrics.record(Outcome(force="05", status=Status.REJECTED, reasons=[reason]), NOW)

    def acknowledge(self, count: int, recipient: str = "court-magistrates") -> None:
        for _ in range(count):
            self.metrics.record(Outcome(acknowledged_by=recipient), NOW)

    def scrape(self) -> Scrape:
        return parse_metrics(generate_latest(self.registry).decode())


def _text(renderable: object) -> str:
    console = Console(record=True, width=140, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 0.0), (0.25, 1.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert quantile(0.99, buckets) == pytest.approx(0.25 + 0.25 * (99 - 1) / 99)
    assert quantile(0.005, buckets) == pytest.approx(0.1 + 0.15 * 0.5)
    assert quantile(0.5, [(1.0, 0.0), (float("inf"), 4.0)]) == 1.0  # in +Inf: its lower bound
    assert quantile(0.5, [(1.0, 0.0), (float("inf"), 0.0)]) is None


def test_rates_and_recent_latency_come_from_the_interval_between_scrapes() -> None:
    world = World()
    world.deliver(100, latency=5.0)  # slow, before the interval
    before = world.scrape()
    world.deliver(40, latency=0.02)  # fast, during it
    world.reject(10, ReasonCode.COURT_UNKNOWN)
    now = world.scrape()
    report = summarise(now, before, seconds=2.0)
    assert report.rate_in == pytest.approx(25.0)  # 50 received in 2 s
    assert report.rate_out == pytest.approx(20.0)
    published = report.latencies[0]
    assert published.recent
    assert published.p99 is not None
    assert published.p99 <= 0.025  # the slow deliveries before the interval do not count
    lifetime = summarise(now)
    assert lifetime.rate_in is None
    assert lifetime.latencies[0].p99 is not None
    assert lifetime.latencies[0].p99 > 2.5
    assert report.outcomes == {"accepted": 140.0, "rejected": 10.0}
    assert report.reasons == [("COURT_UNKNOWN", 10.0)]


def test_partners_show_lag_and_unacknowledged_deliveries() -> None:
    world = World()
    world.deliver(7, latency=0.01)
    world.deliver(2, latency=0.01, recipient="cps-mersey-cheshire")
    world.acknowledge(3)
    report = summarise(world.scrape())
    rows = {p.recipient: p for p in report.partners}
    court = rows["court-magistrates"]
    assert (court.delivered, court.outstanding, court.lag_messages) == (7, 4, 7)
    assert court.lag_seconds == pytest.approx(1200)
    assert rows["cps-mersey-cheshire"].lag_messages is None  # not watched by this collector
    assert report.rejected_backlog == 3
    assert report.broker_up is True


def test_render_shows_what_an_operator_needs() -> None:
    world = World()
    before = world.scrape()
    world.deliver(7, latency=0.01)
    world.reject(2, ReasonCode.ASN_CHECK_CHARACTER)
    text = _text(render(summarise(world.scrape(), before, seconds=1.0)))
    assert "cjs-exchange 0.1.0" in text
    assert "broker up" in text
    for expected in ("received", "delivered", "published → delivered", "p99", "Partners"):
        assert expected in text
    court = next(line for line in text.splitlines() if "court-magistrates" in line)
    cells = [cell.strip() for cell in court.split("│") if cell.strip()]
    assert cells == ["court-magistrates", "7", "7", "7", "20m 00s"]
    assert "Rejected backlog: 3 unreviewed, oldest 20m 00s" in text
    assert "ASN_CHECK_CHARACTER" in text


def test_render_without_broker_metrics_says_unknown() -> None:
    text = _text(render(summarise(World(broker=False).scrape())))
    assert "broker unknown" in text
    assert "totals only" in text
    assert "Rejected backlog: — unreviewed" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.0123, "12 ms"),
        (12.34, "12.3 s"),
        (245, "4m 05s"),
        (7380, "2h 03m"),
        (3 * 86400 + 4 * 3600, "3d 04h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.fixture
def served() -> Iterator[tuple[str, World]]:
    world = World()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=world.registry)
    yield f"http://127.0.0.1:{port}/metrics", world
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_command_reads_a_workers_metrics(served: tuple[str, World]) -> None:
    url, world = served
    world.deliver(5, latency=0.01)
    result = CliRunner().invoke(status, ["--metrics-url", url, "--interval", "0"])
    assert result.exit_code == 0, result.output
    assert "court-magistrates" in result.output
    assert "totals only" in result.output


def test_the_command_fails_clearly_without_a_worker() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    result = CliRunner().invoke(status, ["--metrics-url", url, "--interval", "0"])
    assert result.exit_code == 1
    assert f"cannot read {url}" in result.output
