"""The gateway under load and under a broker failure, against real processes: a real
``cjsx gateway`` (uvicorn over TLS), a real broker, a real worker; loopback only, bounded.

Load: 200 requests/s offered for 60 s from an asyncio aiohttp client, one structured event
per request, three forces; every 202's event id ends with exactly one outcome receipt, and
the ingest topics hold exactly the events answered 202 (published = outcomes). A 429 is
retried after its Retry-After, as a force system would; it publishes nothing. The rate at
which the gateway answered is written to ``.cache/reports/gateway-load.json``.

Broker killed mid-run (SIGKILL, its own broker): no 202 is answered for an event that is not
on the ingest topic afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.simulator import SyntheticForce
from schemas.codec import Codec, CodecError
from schemas.jsonform import render
from schemas.models import CaseEvent, Receipt, ReceiptStatus
from streams.reference import StandingData
from tests.support.gateway import GatewayProcess
from tests.support.world import Broker, WorkerProcess, new_catalog, read_topic, start_broker

ROOT = Path(__file__).resolve().parents[2]
FORCES = ("01", "05", "93")
STRUCTURED = {"content-type": "application/cloudevents+json"}
OUTCOMES = {ReceiptStatus.ACCEPTED, ReceiptStatus.REJECTED, ReceiptStatus.DUPLICATE}


def prepared(count: int, seed: int) -> list[tuple[str, str, bytes]]:
    """``count`` valid events as (force, event id, JSON form), forces interleaved, each
    case's events in order."""
    standing = StandingData.load()
    sims = {
        f: SyntheticForce(force_profile(standing, f), seed=seed + i) for i, f in enumerate(FORCES)
    }
    queues: dict[str, list[CaseEvent]] = {f: [] for f in FORCES}
    out: list[tuple[str, str, bytes]] = []
    while len(out) < count:
        force = FORCES[len(out) % len(FORCES)]
        if not queues[force]:
            queues[force] = sims[force].case_story()
        event = queues[force].pop(0)
        out.append((force, str(event.envelope.event_id), render(event).encode()))
    return out


@dataclass
class Run:
    """What the client saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (force, event id)
    accepted_at: list[float] = field(default_factory=list)
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    sent_seconds: float = 0.0
    latest_start: tuple[float, int] = (0.0, 0)  # seconds after its schedule, which request
    gc_runs_while_sending: int = 0
    answered_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    answered_202: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.contextmanager
def sending_first(niceness: int = -10) -> Iterator[None]:
    """Run the calling thread (the event loop that sends on schedule) at a higher CPU
    priority than the gateway, worker and broker it loads, so that on a busy two-core machine
    the load generator is not what decides the offered rate (once it ran 1.8 s behind its
    60 s schedule with 11 s of CPU to spend). Linux niceness is per thread. Without the
    privilege to raise it the run goes on at normal priority."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


@contextlib.contextmanager
def no_collection_while_sending(run: Run) -> Iterator[None]:
    """No garbage collection while the load is sent: a collection stops the sending loop.
    Beside three busy processes the collector's longest run was 0.59 s (3.9 s in all of the
    60 s) when it walked the hundreds of thousands of objects an xdist worker holds from
    earlier files; with those frozen out of its runs (gc.freeze) still 1.05 s once (fresh
    clone Y). Cyclic garbage waits for the end of the minute instead (the report gives the
    client's peak RSS, and how many collections ran anyway)."""
    before = sum(generation["collections"] for generation in gc.get_stats())
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        run.gc_runs_while_sending = (
            sum(generation["collections"] for generation in gc.get_stats()) - before
        )
        if enabled:
            gc.enable()
        gc.unfreeze()


async def drive(
    gateway: GatewayProcess,
    events: list[tuple[str, str, bytes]],
    rate: float,
    *,
    retry: bool = True,
    started: float | None = None,
    run: Run | None = None,
) -> Run:
    """Post every event at ``rate`` requests/s (each its own request, started on schedule
    whatever the answers so far); a 429 is retried after Retry-After when ``retry``. Pass
    ``run`` to watch the answers while it goes on."""
    run = run or Run()
    t0 = started or time.monotonic()
    cpu0 = time.process_time()
    # The three force systems' connection pools, 64 each (the gateway's default in-flight
    # limit per force): requests beyond them wait for a connection, as they would in a force's
    # HTTP client. aiohttp, not httpx: the load generator shares the two cores with what it
    # measures, and httpx over TLS spent ~4 ms of CPU a request here (51.8 s of CPU for this
    # run's 12,000), enough to fall behind its own schedule on a busy machine.
    connector = aiohttp.TCPConnector(
        limit=64 * len(FORCES), ssl=gateway.ssl_context(), keepalive_timeout=30
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(
        base_url=gateway.url, connector=connector, timeout=timeout
    ) as http:

        async def post(force: str, event_id: str, body: bytes) -> None:
            headers = {**STRUCTURED, **gateway.headers(force)}
            while True:
                try:
                    async with http.post(
                        f"/forces/{force}/events", data=body, headers=headers
                    ) as answer:
                        status = answer.status
                        retry_after = answer.headers.get("retry-after", "1")
                        answered = await answer.json() if status == 202 else None
                except (aiohttp.ClientError, TimeoutError) as error:
                    run.errors[type(error).__name__] += 1
                    return
                run.statuses[status] += 1
                if status == 202:
                    assert answered == {"event_ids": [event_id]}
                    run.accepted.append((force, event_id))
                    run.accepted_at.append(time.monotonic() - t0)
                    run.answered_202.set()
                    return
                if status == 429 and retry:
                    run.retries += 1
                    await asyncio.sleep(float(retry_after))
                    continue
                return

        tasks = []
        with sending_first(), no_collection_while_sending(run):
            for i, (force, event_id, body) in enumerate(events):
                pause = t0 + i / rate - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                run.latest_start = max(run.latest_start, (time.monotonic() - t0 - i / rate, i))
                tasks.append(asyncio.create_task(post(force, event_id, body)))
            run.sent_seconds = time.monotonic() - t0
        await asyncio.gather(*tasks)
        run.answered_seconds = time.monotonic() - t0
    run.client_cpu_seconds = time.process_time() - cpu0
    return run


def outcome_receipts(kafka: Broker, catalog: TopicCatalog) -> Counter[str]:
    """Outcome receipts per event id, over every force's receipts topic."""
    codec = Codec()
    counts: Counter[str] = Counter()
    for force in FORCES:
        for _, value, _ in read_topic(kafka, catalog.receipts(force), timeout_ms=3000):
            try:
                receipt = codec.decode_as(value, Receipt)
            except CodecError:
                continue
            if receipt.status in OUTCOMES:
                counts[str(receipt.event_id)] += 1
    return counts


def on_ingest(kafka: Broker, catalog: TopicCatalog) -> Counter[str]:
    ids: Counter[str] = Counter()
    for force in FORCES:
        for _, _, decoded in read_topic(kafka, catalog.ingest(force), timeout_ms=3000):
            assert isinstance(decoded, CaseEvent)
            ids[str(decoded.envelope.event_id)] += 1
    return ids


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_200_requests_a_second_for_60_seconds_lose_nothing(
    kafka: Broker, catalog: TopicCatalog, worker: WorkerProcess, tmp_path: Path
) -> None:
    rate, seconds = 200.0, 60
    events = prepared(int(rate * seconds), seed=21)
    gateway = GatewayProcess(kafka, catalog, tmp_path / "gateway").start()
    try:
        run = asyncio.run(drive(gateway, events, rate))
    finally:
        gateway.stop()
    accepted = {event_id for _, event_id in run.accepted}
    assert not run.errors, run.errors
    assert len(accepted) == len(run.accepted) == len(events), run.statuses
    assert set(run.statuses) <= {202, 429}, run.statuses

    # Exactly the 202s are on the ingest topics, once each.
    assert on_ingest(kafka, catalog) == Counter(accepted)
    # Every one ends with exactly one outcome.
    deadline = time.monotonic() + 300
    outcomes = outcome_receipts(kafka, catalog)
    while set(outcomes) < accepted and time.monotonic() < deadline:
        time.sleep(5)
        outcomes = outcome_receipts(kafka, catalog)
    assert set(outcomes) == accepted, f"{len(accepted - set(outcomes))} without an outcome"
    assert set(outcomes.values()) == {1}
    assert sum(outcomes.values()) == len(accepted)  # published = outcomes

    per_second = Counter(int(t) for t in run.accepted_at)
    report = {
        "requests": len(events),
        "offered_per_second": rate,
        "seconds_to_send": round(run.sent_seconds, 1),
        "seconds_to_last_answer": round(run.answered_seconds, 1),
        "answered_per_second": round(len(events) / run.answered_seconds, 1),
        "answers": dict(run.statuses),
        "retried_429": run.retries,
        "client_cpu_seconds": round(run.client_cpu_seconds, 1),
        "latest_start_seconds": round(run.latest_start[0], 2),
        "latest_start_at_request": run.latest_start[1],
        "gc_runs_while_sending": run.gc_runs_while_sending,
        "client_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "accepted_per_second_min_max": [min(per_second.values()), max(per_second.values())],
        "outcomes": sum(outcomes.values()),
        "lost": len(accepted - set(outcomes)),
    }
    print("gateway-load", json.dumps(report))
    reports = ROOT / ".cache" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "gateway-load.json").write_text(json.dumps(report, indent=2))
    # The rate was offered: every request was started on its schedule, 200 a second. How
    # fast the gateway answered is a figure of the report (``answered_per_second``), not an
    # assertion: on this shared two-core machine it depends on everything else running.
    assert run.sent_seconds <= seconds + 1, report


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_202_without_a_record_when_the_broker_is_killed_mid_run(
    kafka_lib: Path, tmp_path: Path
) -> None:
    broker = start_broker(tmp_path / "broker", kafka_lib)
    gateway: GatewayProcess | None = None
    try:
        catalog = new_catalog(broker, forces=FORCES)
        gateway = GatewayProcess(
            broker,
            catalog,
            tmp_path / "gateway",
            env_extra={"CJSX_GATEWAY_ACK_TIMEOUT_SECONDS": "4"},
        ).start()
        rate, kill_after = 50.0, 8.0
        events = prepared(int(rate * 20), seed=31)
        run = Run()
        killed_at: float | None = None

        async def run_and_kill() -> None:
            # The broker is killed once the run is under way: 8 s in and at least one 202
            # answered (on a saturated machine the first acknowledgement can come later
            # than 8 s; CI once saw none by then). Waiting is bounded by the load's end.
            nonlocal killed_at
            started = time.monotonic()
            load = asyncio.create_task(
                drive(gateway, events, rate, retry=False, started=started, run=run)
            )
            await asyncio.sleep(kill_after)
            answered = asyncio.create_task(run.answered_202.wait())
            await asyncio.wait({load, answered}, return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()
            killed_at = time.monotonic() - started
            await asyncio.to_thread(broker.cluster.nodes[0].kill)
            await load

        asyncio.run(run_and_kill())
        broker.start()  # to read back what the broker kept
        kept = on_ingest(broker, catalog)
    finally:
        if gateway is not None:
            gateway.stop()
        broker.cluster.stop()
    accepted = {event_id for _, event_id in run.accepted}
    assert accepted, f"nothing was acknowledged before the kill: {run.statuses} {run.errors}"
    assert killed_at is not None
    assert killed_at < run.sent_seconds, "the broker was not killed while the load ran"
    assert run.statuses[503] > 0, run.statuses  # the outage was seen
    missing = accepted - set(kept)
    assert not missing, f"{len(missing)} event(s) answered 202 are not on the ingest topic"
    print(
        "gateway-broker-kill",
        json.dumps(
            {
                "answers": dict(run.statuses),
                "accepted": len(accepted),
                "kept": len(kept),
                "killed_at_seconds": round(killed_at, 1),
            }
        ),
    )
