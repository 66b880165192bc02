"""Benchmark: the full pipeline on one worker against a plain forward, and latency at 1k/s.

Run: ``.venv/bin/python -m bench.pipeline [--events N] [--rate R] [--seconds S]``.
One broker, one run: both measurements see the same machine load. Prints one JSON object.

- Throughput: N events are published first, then a worker (or the forwarder) is started;
  events per second are taken from the Kafka timestamps of its first and last outputs, so
  start-up and rebalancing are not counted.
- Latency: with the worker caught up, a publisher offers R events/s for S seconds; latency
  is from each event's ``published_at`` to the broker timestamp of its delivery record.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from bench.anchors import aiokafka_forward, faust_forward, producer_perf, tools_lib
from bench.broker import KAFKA_VERSION, ROOT, machine, one_node
from bench.spans import output_span
from cjsx.cli.status import fetch
from common import processes
from infra.broker.node import free_port
from infra.registry import load_registry
from infra.topics import TopicCatalog, apply_topics
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.simulator import SyntheticForce
from schemas.codec import Codec
from schemas.models import CaseEvent, Delivery, Receipt, ReceiptStatus
from streams.pipeline import Exchange, partition_for
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.route import load_policy
from streams.state import DictStore

FORCES = ("01", "05", "93")


def valid_events(count: int, seed: int) -> list[CaseEvent]:
    standing = StandingData.load()
    sims = [SyntheticForce(force_profile(standing, f), seed=seed + int(f)) for f in FORCES]
    events: list[CaseEvent] = []
    while len(events) < count:
        for sim in sims:
            events += sim.case_story()
    return events[:count]


def start_worker(
    bootstrap: str, catalog: TopicCatalog, home: Path, port: int, name: str = "worker-1"
) -> Any:
    env = {
        "CJSX_BOOTSTRAP_SERVERS": bootstrap,
        "CJSX_TOPIC_NAMESPACE": catalog.namespace,
        "CJSX_FORCES": ",".join(FORCES),
        "CJSX_CACHE_DIR": str(home),
        "CJSX_WORKER_ID": f"bench-{catalog.namespace}",
        "CJSX_WORKER_WEB_PORT": str(port),
        "CJSX_LOG_LEVEL": "WARNING",
        "CJSX_SECURITY": "false",  # both sides plaintext: the ratio compares processing
    }
    return processes.spawn(
        [sys.executable, "-m", "cjsx", "worker", "--no-supervise", "--name", name],
        log=home / f"{name}.log",
        env=env,
    )


def published_backlog(bootstrap: str, namespace: str, events: list[CaseEvent]) -> TopicCatalog:
    """The bench forces' topics under ``namespace``, with ``events`` already in them: a
    worker started after this measures draining a backlog, not the publisher."""
    catalog = TopicCatalog(load_registry().limited_to(list(FORCES)), namespace=namespace)
    apply_topics(catalog, bootstrap)
    publishers = {
        f: Publisher(bootstrap_servers=bootstrap, topic=catalog.ingest(f)) for f in FORCES
    }
    for event in events:
        publishers[event.envelope.force].publish(event)
    for p in publishers.values():
        p.flush()
        p.close()
    return catalog


def measure_pipeline(
    bootstrap: str, home: Path, events: list[CaseEvent], workers: int = 1
) -> dict[str, float]:
    """Events/s through ``workers`` workers sharing one consumer group, and (one worker) the
    records and state writes per accepted event, peak RSS and longest commit."""
    namespace = f"tp{workers}"
    catalog = published_backlog(bootstrap, namespace, events)
    ports = [free_port() for _ in range(workers)]
    running = [
        start_worker(bootstrap, catalog, home / namespace, port, f"worker-{n}")
        for n, port in enumerate(ports, start=1)
    ]
    try:
        # One ACCEPTED receipt per event marks it through every stage.
        receipts = [catalog.receipts(f) for f in FORCES]
        codec = Codec()

        def accepted(value: bytes) -> bool:
            return codec.decode_as(value, Receipt).status is ReceiptStatus.ACCEPTED

        span = output_span(bootstrap, receipts, len(events), timeout=1800, counts=accepted)
        result = {"events_per_s": len(events) / span}
        if workers == 1:
            scrape = fetch(f"http://127.0.0.1:{ports[0]}/metrics")
            accepted_total = scrape.total("cjsx_events_total", outcome="accepted")
            result["records_per_accepted_event"] = (
                scrape.total("cjsx_records_written_total") / accepted_total
            )
            result["state_writes_per_accepted_event"] = (
                scrape.total("cjsx_state_writes_total") / accepted_total
            )
            result["max_commit_seconds"] = scrape.total("cjsx_commit_longest_seconds")
            result["worker_peak_rss_mib"] = _peak_rss_mib(running[0].pid)
    finally:
        for worker in running:
            processes.stop(worker)
    return result


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure_latency(
    bootstrap: str, home: Path, rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    catalog = TopicCatalog(load_registry().limited_to(list(FORCES)), namespace=f"tl{int(rate)}")
    apply_topics(catalog, bootstrap)
    port = free_port()
    worker = start_worker(bootstrap, catalog, home / "tl", port)
    events = valid_events(int(rate * seconds), seed)
    delivery_topics = [catalog.deliver(p.id) for p in catalog.registry.partners]
    consumer = KafkaConsumer(
        *delivery_topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        group_id=f"bench-latency-{uuid.uuid4().hex[:6]}",
    )
    publishers = {
        f: Publisher(bootstrap_servers=bootstrap, topic=catalog.ingest(f), linger_ms=0)
        for f in FORCES
    }
    try:
        # Warm up: one event, wait until the worker delivers it (assignment done).
        consumer.poll(timeout_ms=1000)
        warm = valid_events(1, seed + 99)[0]
        publishers[warm.envelope.force].publish(warm).get(timeout=30)
        while not any(consumer.poll(timeout_ms=1000).values()):
            pass
        codec = Codec()
        latencies: list[float] = []
        interval = 1.0 / rate
        started = time.monotonic()
        for i, event in enumerate(events):
            target = started + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamped = event.model_copy(
                update={"envelope": event.envelope.model_copy(update={"published_at": _now()})}
            )
            publishers[event.envelope.force].publish(stamped)
            if i % 50 == 0:
                latencies += _drain(consumer, codec)
        offered_seconds = time.monotonic() - started
        end = time.monotonic() + 15
        expected_min = len(events)
        while time.monotonic() < end and len(latencies) < expected_min:
            latencies += _drain(consumer, codec)
    finally:
        for p in publishers.values():
            p.close()
        consumer.close()
        processes.stop(worker)
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "offered_events_per_s": rate,
        "achieved_events_per_s": round(len(events) / offered_seconds, 1),
        "deliveries_measured": len(latencies),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _drain(consumer: KafkaConsumer, codec: Codec) -> list[float]:
    found: list[float] = []
    for records in consumer.poll(timeout_ms=0, max_records=5000).values():
        for r in records:
            delivery = codec.decode(r.value)
            if isinstance(delivery, Delivery):
                published = delivery.event.envelope.published_at.timestamp()
                found.append(max(0.0, r.timestamp / 1000 - published))
    return found


def measure_in_process(events: list[CaseEvent]) -> float:
    """The stages alone: Exchange.process over in-memory stores, no Kafka, no Faust. It
    bounds what any wiring could reach on one core and shows where the time goes."""
    catalog = TopicCatalog(load_registry().limited_to(list(FORCES)))
    codec = Codec()
    exchange = Exchange(
        codec=codec,
        catalog=catalog,
        registry=catalog.registry,
        standing=StandingData.load(),
        policy=load_policy(),
        seen_store=DictStore(),
        case_store=DictStore(),
    )
    records = []
    for i, e in enumerate(events):
        key = e.envelope.case_urn.encode()
        partition = partition_for(key, catalog.ingest_partitions)
        records.append(
            SourceRecord(catalog.ingest(e.envelope.force), partition, i, key, codec.encode(e))
        )
    started = time.perf_counter()
    for record in records:
        exchange.process(record)
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--rates",
        default="1000,200",
        help="Offered loads for the latency runs, events/s (the first is the target's).",
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with one_node() as (cluster, home):
        events = valid_events(args.events, args.seed)
        codec = Codec()
        values = [(e.envelope.case_urn.encode(), codec.encode(e)) for e in events]
        bootstrap = cluster.bootstrap
        anchors = {
            "kafka_producer_perf_records_per_s": round(
                producer_perf(bootstrap, tools_lib(ROOT / ".cache", KAFKA_VERSION)), 1
            ),
            "aiokafka_forward_events_per_s": round(aiokafka_forward(bootstrap, values), 1),
            "faust_batched_forward_events_per_s": round(
                faust_forward(bootstrap, home, values, batched=True), 1
            ),
        }
        baseline = faust_forward(bootstrap, home, values, batched=False)
        pipeline = measure_pipeline(bootstrap, home, events)
        two = measure_pipeline(bootstrap, home, events, workers=2)
        in_process = measure_in_process(events)
        latency = [
            measure_latency(cluster.bootstrap, home, float(rate), args.seconds, args.seed + i)
            for i, rate in enumerate(args.rates.split(","), start=1)
        ]
    result = {
        "benchmark": "pipeline",
        "machine": machine(),
        "kafka": KAFKA_VERSION,
        "events": args.events,
        "anchors": anchors,
        "baseline_forward_events_per_s": round(baseline, 1),
        "pipeline_events_per_s": round(pipeline["events_per_s"], 1),
        "pipeline_two_workers_events_per_s": round(two["events_per_s"], 1),
        "pipeline_to_baseline": round(pipeline["events_per_s"] / baseline, 3),
        "records_per_accepted_event": round(pipeline["records_per_accepted_event"], 2),
        "state_writes_per_accepted_event": round(pipeline["state_writes_per_accepted_event"], 2),
        "worker_peak_rss_mib": pipeline["worker_peak_rss_mib"],
        "max_commit_seconds": round(pipeline["max_commit_seconds"], 3),
        "stages_in_process_events_per_s": round(in_process, 1),
        "latency_publish_to_delivery": latency,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
