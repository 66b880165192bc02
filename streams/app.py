"""The Faust application: thin wiring from Kafka records to the pipeline and back.

``create_app`` builds everything (no import-time side effects). One agent reads every force's
ingest topic plus the internal ticks topic (same partition count, so Faust assigns a worker
the same partition of each, together with the matching table partitions); for each record it
calls the pure pipeline, sends the outputs, and records metrics. A failure on one record
sends that record to the rejected topic with INTERNAL_ERROR; only infrastructure faults stop
the worker. Offsets are committed after the outputs are flushed (Faust's at-least-once), so
nothing is lost; re-emitted outputs carry the same ids, so sinks drop them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import faust
from kafka import KafkaAdminClient
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from infra.registry import Registry
from infra.topics import TopicCatalog
from schemas.codec import Codec
from streams.follow import topics_to_follow
from streams.lag import register_broker_metrics
from streams.metrics import ExchangeMetrics
from streams.outputs import Output
from streams.pipeline import Exchange, ExchangeConfig, Outcome, utc_now
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.route import load_policy

log = logging.getLogger("cjsx.worker")

_CASE_STATE_TTL = timedelta(days=400)


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker needs, resolved by the entry point from ``Settings``."""

    app_id: str
    bootstrap: str
    catalog: TopicCatalog
    registry: Registry
    datadir: str
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    store: str = "rocksdb://"
    replication: int = 1
    dedup_window: timedelta = timedelta(days=30)
    order_hold: timedelta = timedelta(seconds=10)
    tick_interval: float = 1.0
    broker_credentials: Any = None
    """Faust's SASL/TLS credentials for the broker (None: plaintext)."""
    client_config: dict[str, Any] = field(default_factory=dict)
    """The same identity for kafka-python clients (the lag collector)."""
    follow_interval: float | None = 30.0
    """How often to look for forces added to the registry (None: never)."""
    wanted_ingest_topics: Callable[[], list[str]] | None = None
    """The ingest topics the registry now names (re-read each time)."""


class _TableStore:
    """``KeyValueStore`` over a Faust table with raw (bytes) keys and values."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str) -> bytes | None:
        value = self.table.get(key.encode())
        return None if value is None else bytes(value)

    def put(self, key: str, value: bytes) -> None:
        self.table[key.encode()] = value

    def delete(self, key: str) -> None:
        self.table.pop(key.encode(), None)


def _faust_broker(bootstrap: str) -> str:
    return ";".join(f"kafka://{host}" for host in bootstrap.split(","))


def create_app(config: WorkerConfig) -> tuple[faust.App, CollectorRegistry]:
    """Build the worker's Faust app and the metric registry it serves on ``/metrics``."""
    catalog = config.catalog
    partitions = catalog.ingest_partitions
    app = faust.App(
        config.app_id,
        broker=_faust_broker(config.bootstrap),
        broker_credentials=config.broker_credentials,
        store=config.store,
        datadir=config.datadir,
        autodiscover=False,
        web_host=config.web_host,
        web_port=config.web_port,
        web_bind=config.web_host,
        topic_partitions=partitions,
        topic_replication_factor=config.replication,
        topic_disable_leader=True,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # Every commit first flushes the producer (at-least-once) and stalls the agent until
        # the broker acknowledges: committing every 1,000 records left the worker idle a
        # quarter of the time. A crash now replays up to this many records, with the same ids.
        broker_commit_every=10_000,
        broker_commit_interval=2.0,
    )
    registry = CollectorRegistry()
    metrics = ExchangeMetrics(registry)
    register_broker_metrics(registry, config.bootstrap, catalog, config.client_config)
    codec = Codec()
    metrics.build.info({"version": "0.1.0", "policy": str(load_policy().version)})

    window_ms = int(config.dedup_window.total_seconds() * 1000)
    seen = app.Table(
        "seen",
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        options={"ttl": int(config.dedup_window.total_seconds())},
        extra_topic_configs={"cleanup.policy": "compact,delete", "retention.ms": str(window_ms)},
        help="Deduplication sightings by event id and content fingerprint",
    )
    cases = app.Table(
        "cases",
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        options={"ttl": int(_CASE_STATE_TTL.total_seconds())},
        help="Per-case ordering state and routing",
    )
    exchange = Exchange(
        codec=codec,
        catalog=catalog,
        registry=config.registry,
        standing=StandingData.load(),
        policy=load_policy(),
        seen_store=_TableStore(seen),
        case_store=_TableStore(cases),
        config=ExchangeConfig(config.dedup_window, config.order_hold),
    )
    ticks_name = catalog.ticks
    source = app.topic(
        *catalog.ingest_topics(),
        ticks_name,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )

    async def send_all(outputs: list[Output]) -> None:
        for out in outputs:
            await app.producer.send(out.topic, out.key, out.value, None, None, out.headers)

    @app.agent(source, name="exchange")
    async def exchange_agent(stream: Any) -> None:
        async for event in stream.events():
            record = _record(event.message)
            started = time.perf_counter()
            outcome: Outcome
            try:
                if record.topic == ticks_name:
                    outcome = exchange.tick(record)
                    metrics.held_now.labels(str(record.partition)).set(
                        exchange.held_count(record.partition)
                    )
                else:
                    outcome = exchange.process(record)
            except Exception as error:  # noqa: BLE001 - routed to the rejected topic, not swallowed
                _log_failure("processing failed", record, error)
                metrics.internal_errors.labels("pipeline").inc()
                outcome = exchange.internal_error(record, "pipeline")
            await send_all(outcome.outputs)
            elapsed = time.perf_counter() - started if record.topic != ticks_name else None
            metrics.record(outcome, utc_now(), elapsed)

    acks = app.topic(*catalog.acks_topics(), key_serializer="raw", value_serializer="raw")

    @app.agent(acks, name="acknowledgements")
    async def acks_agent(stream: Any) -> None:
        async for event in stream.events():
            record = _record(event.message)
            try:
                outcome = exchange.acknowledge(record)
            except Exception as error:  # noqa: BLE001 - routed to the rejected topic, not swallowed
                _log_failure("acknowledgement failed", record, error)
                metrics.internal_errors.labels("acknowledgements").inc()
                outcome = exchange.internal_error(record, "acknowledgements")
            await send_all(outcome.outputs)
            metrics.record(outcome, utc_now())

    if config.follow_interval and config.wanted_ingest_topics is not None:
        subscribed = set(catalog.ingest_topics())
        wanted = config.wanted_ingest_topics

        def topics_to_add() -> list[str]:
            admin = KafkaAdminClient(bootstrap_servers=config.bootstrap, **config.client_config)
            try:
                existing = set(admin.list_topics())
            finally:
                admin.close()
            return topics_to_follow(subscribed, wanted(), existing)

        @app.timer(interval=config.follow_interval)  # type: ignore[untyped-decorator]
        async def follow() -> None:
            """Stop (the supervisor restarts us) once the registry has a new force."""
            try:
                new = await asyncio.get_running_loop().run_in_executor(None, topics_to_add)
            except Exception as error:  # noqa: BLE001 - retried at the next interval
                log.warning("registry check failed", extra={"error": type(error).__name__})
                return
            if new:
                log.warning("new forces in the registry; restarting", extra={"topics": new})
                os.kill(os.getpid(), signal.SIGTERM)

        _ = follow

    @app.timer(interval=config.tick_interval)  # type: ignore[untyped-decorator]
    async def clock() -> None:
        """Drive timed release of held events: one tick per partition."""
        for partition in range(partitions):
            await app.producer.send(ticks_name, None, b"", partition, None, None)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp takes the charset separately; the text format is UTF-8 either way.
        content_type = CONTENT_TYPE_LATEST.split(";", 1)[0] + "; version=0.0.4"
        return web.bytes(generate_latest(registry), content_type=content_type)

    _ = (exchange_agent, acks_agent, clock, metrics_page)
    return app, registry


def _log_failure(what: str, record: SourceRecord, error: BaseException) -> None:
    """Log a failure by type and stack frames only: an exception's message may quote case
    data (names, dates of birth), and logs must never carry it."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        what, extra={"position": record.position, "error": type(error).__name__, "frames": frames}
    )


def _record(message: Any) -> SourceRecord:
    return SourceRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value if message.value is not None else b"",
        headers=tuple(_headers(message.headers)),
    )


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    if not raw:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v) for k, v in items]
