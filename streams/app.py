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
from faust.exceptions import PartitionsMismatch
from faust.sensors import Sensor
from faust.types import TP
from kafka import KafkaAdminClient
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from infra.registry import Registry
from infra.topics import CASES_TABLE, DEFAULT_MAX_MESSAGE_BYTES, SEEN_TABLE, TopicCatalog
from schemas.codec import Codec
from streams.changelog import ChangelogWatch
from streams.commit_watch import CommitWatch, Stall, busy_partitions
from streams.continuity import Continuity, Refetcher
from streams.emitter import RECORD_OVERHEAD_BYTES, DeliveryFailed, Emitter, track_topics
from streams.follow import topics_to_follow
from streams.lag import register_broker_metrics
from streams.metrics import ExchangeMetrics, FirstReadings
from streams.order import write_rank
from streams.outputs import Output
from streams.pipeline import Exchange, ExchangeConfig, Outcome, Source, utc_now
from streams.record import SourceRecord
from streams.reference import StandingData
from streams.rescue import PendingReads, still_waiting
from streams.route import load_policy
from streams.staging import StagedStore

log = logging.getLogger("cjsx.worker")

_CASE_STATE_TTL = timedelta(days=400)
_EXIT_TEMPFAIL = 75
_FLUSH_ATTEMPTS = 60


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
    delivery_key: bytes = b"cjsx-unit-tests-only"
    """The secret behind delivery ids (``schemas.ids.DeliveryIds``); shared by all workers."""
    batch_size: int = 500
    """Records taken at once: state is written once per key per batch, outputs are sent
    together and awaited once."""
    batch_within: float = 0.02
    """Seconds to wait for a batch to fill before processing what has come."""
    standby_replicas: int = 1
    """Table standby replicas, so a worker taking over a partition need not rebuild it."""
    commit_stall_seconds: float = 30.0
    """Seconds a partition's commit may stand still before records (handled beyond it, or
    waiting at it) before the worker stops for the supervisor to restart it
    (``streams.commit_watch``). Far above a commit's interval (2 s) and a leader election."""
    session_timeout: float = 15.0
    """Seconds without a heartbeat before the group gives a worker's partitions away. A
    SIGKILLed worker's partitions stand still this long (Faust's default, 60 s, left a
    restarted worker waiting a minute to rejoin); heartbeats come from the consumer's own
    thread every 3 s, so a busy agent does not miss them."""
    table_write_buffer_mib: int = 8
    """RocksDB memtable size per table partition (two may be held). Faust's defaults (three
    of 64 MiB, and a 2 GiB block cache, per partition) let the worker's RSS grow with its
    state: +6 MiB/min through a 30-minute soak at 200 events/s."""
    table_block_cache_mib: int = 8
    """RocksDB block cache per table partition."""

    def table_memory(self) -> dict[str, int]:
        """RocksDB options bounding one table partition's memory (Faust's option names; the
        compressed block cache is used only by the python-rocksdb driver, not rocksdict)."""
        mib = 1024 * 1024
        return {
            "write_buffer_size": self.table_write_buffer_mib * mib,
            "max_write_buffer_number": 2,
            "block_cache_size": self.table_block_cache_mib * mib,
            "block_cache_compressed_size": self.table_block_cache_mib * mib,
        }


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
        producer_linger_ms=5,
        producer_max_batch_size=256 * 1024,
        producer_max_request_size=catalog.largest_message_bytes + 64 * 1024,
        # A send the broker never answers fails after this, and the worker stops before
        # committing (Faust's default would leave a batch waiting for 20 minutes).
        producer_request_timeout=60.0,
        table_standby_replicas=config.standby_replicas,
        broker_session_timeout=config.session_timeout,
        # The consumer learns the table changelogs the worker creates at start only from a
        # metadata refresh; one that came just before they were visible leaves Faust seeing
        # no changelog partitions, refusing every state write, until the next (Faust's
        # default: 5 minutes). Refreshed this often, the worker waits seconds instead.
        consumer_metadata_max_age_ms=5_000,
    )
    registry = CollectorRegistry()
    metrics = ExchangeMetrics(registry)
    readings = FirstReadings()
    app.sensors.add(_CommitTimer(metrics))
    rescue = PendingReads()
    rescued: set[tuple[str, int]] = set()
    broker_metrics = register_broker_metrics(
        registry, config.bootstrap, catalog, config.client_config
    )

    refetcher = Refetcher(
        config.bootstrap, config.client_config, catalog.largest_message_bytes + 64 * 1024
    )
    # The probe needs one record's existence, not its bytes: a small fetch, and no CRC
    # check (in pure Python, before the crc32c extension, every probe's fetch under a
    # backlog cost the worker's one core several per cent: bench.worker_profile).
    prober = Refetcher(
        config.bootstrap, config.client_config, 64 * 1024, "cjsx-commit-probe", check_crcs=False
    )

    @app.service
    class _StopClients(Service):
        """The lag collector's thread and the Kafka clients stop with the worker, not at exit."""

        async def on_stop(self) -> None:
            await asyncio.to_thread(broker_metrics.close)
            await asyncio.to_thread(refetcher.close)
            await asyncio.to_thread(prober.close)

    codec = Codec()
    metrics.build.info({"version": "0.1.0", "policy": str(load_policy().version)})

    window_ms = int(config.dedup_window.total_seconds() * 1000)
    seen = app.Table(
        SEEN_TABLE,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        options={"ttl": int(config.dedup_window.total_seconds()), **config.table_memory()},
        extra_topic_configs={"cleanup.policy": "compact,delete", "retention.ms": str(window_ms)},
        help="Deduplication sightings by event id and content fingerprint",
    )
    cases = app.Table(
        CASES_TABLE,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        options={"ttl": int(_CASE_STATE_TTL.total_seconds()), **config.table_memory()},
        help="Per-case ordering state and routing",
    )
    stores = (StagedStore(_TableStore(seen)), StagedStore(_TableStore(cases), write_rank))
    changelog = ChangelogWatch((seen, cases))
    written = _WrittenTopics(
        app,
        [
            *(catalog.receipts(f.code) for f in catalog.registry.forces),
            *catalog.disclosing_topics(),
            *(catalog.court_receipts(c.id) for c in catalog.registry.courts),
            catalog.rejected,
            catalog.ticks,
        ],
    )
    exchange = Exchange(
        codec=codec,
        catalog=catalog,
        registry=config.registry,
        standing=StandingData.load(),
        policy=load_policy(),
        seen_store=stores[0],
        case_store=stores[1],
        config=ExchangeConfig(
            config.dedup_window, config.order_hold, delivery_key=config.delivery_key
        ),
    )
    ticks_name = catalog.ticks
    source = app.topic(
        *catalog.ingest_topics(),
        # Court results (issue 13): keyed by case URN with the ingest topics' partition
        # count, so a case's results meet its charges' state in the same table partition.
        *catalog.court_ingest_topics(),
        ticks_name,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )

    async def send(out: Output) -> Any:
        return await app.producer.send(out.topic, out.key, out.value, None, None, out.headers)

    emitter = Emitter(send, catalog.max_message_bytes)

    Decide = Callable[[SourceRecord], Outcome]
    Batch = list[tuple[Any, SourceRecord, Outcome, float | None]]

    def settle(record: SourceRecord, outcome: Outcome, state: tuple[StagedStore, ...]) -> Outcome:
        """Keep the record's staged state if what it writes (outputs, and state: a held event
        is kept whole in its case's state) fits Kafka; otherwise forget the state and reject
        the record instead (a rejection needs no state)."""
        too_large = emitter.oversized(outcome.outputs) is not None or any(
            s.largest_write() + RECORD_OVERHEAD_BYTES > DEFAULT_MAX_MESSAGE_BYTES for s in state
        )
        if not too_large:
            for store in state:
                store.keep(record.partition)
            return outcome
        for store in state:
            store.discard()
        rejection = exchange.too_large(record)
        if emitter.oversized(rejection.outputs) is not None:
            # Cannot happen with the topic spec's limits (a rejection's topic takes any
            # ingest record with room to spare); stop rather than commit past the record.
            raise DeliveryFailed("a rejection is larger than the rejected topic takes")
        return rejection

    async def handle(
        stream: Any,
        events: Any,
        decide: Decide,
        stage: str,
        state: tuple[StagedStore, ...],
        continuity: Continuity,
    ) -> None:
        """Decide each record, send the batch's outputs and wait for the broker, then write
        the batch's state once per key and wait for its changelog, and count it. Only after
        this returns are the batch's offsets acknowledged. Records Faust lost before a record
        of the batch, or left waiting at a commit (``streams.rescue``), are read directly and
        processed first (``streams.continuity``)."""
        batch: Batch = []
        faust_consumer: Any = app.consumer  # commit bookkeeping: not on the public interface
        received = [(event, SourceRecord.of(event.message)) for event in events]
        missed: dict[int, list[SourceRecord]] = {}
        filled: list[tuple[Any, range]] = []

        async def read(what: str, index: int, where: tuple[str, int], offsets: range) -> None:
            log.warning(
                what,
                extra={
                    "stage": stage,
                    "topic": where[0],
                    "partition": where[1],
                    "offsets": f"{offsets.start}-{offsets.stop - 1}",
                },
            )
            metrics.holes.labels(stage).inc()
            found = await asyncio.to_thread(refetcher.fetch, where, offsets)
            missed.setdefault(index, []).extend(found)
            filled.append((TP(*where), offsets))

        waiting = rescue.take(stage_topics[stage])
        # Usually nothing waits: only then is it worth knowing which partitions the batch has.
        in_batch = {(record.topic, record.partition) for _, record in received} if waiting else ()
        for index, (event, record) in enumerate(received):
            where = (record.topic, record.partition)
            hole = continuity.observe(
                where,
                event.message.generation_id or 0,
                record.offset,
                faust_consumer._committed_offset.get(event.message.tp),
            )
            if hole is not None:
                await read("input hole", index, where, hole)
            # Waiting records go before a record of their partition number (a tick, say),
            # which routes their state writes to the right table partition.
            for other in [p for p in waiting if p[1] == record.partition]:
                offsets = still_waiting(
                    other, waiting.pop(other), continuity.handled_next(), in_batch
                )
                if offsets:
                    await read("input waiting", index, other, offsets)
        rescue.put_back(waiting)
        # Deciding does not await: the stream's current event routes table reads (and later
        # writes) to the record's partition, and is put back after (Faust's take buffer
        # reads it too).
        before = stream.current_event
        for event, record in (
            (event, record)
            for index, (event, own) in enumerate(received)
            for record in (*missed.get(index, ()), own)
        ):
            stream._set_current_event(event)  # table writes follow the record's partition
            started = time.perf_counter()
            try:
                outcome = decide(record)
            except Exception as error:  # noqa: BLE001 - routed to the rejected topic, not swallowed
                for store in state:
                    store.discard()
                _log_failure(f"{stage} failed", record, error)
                metrics.internal_errors.labels(stage).inc()
                outcome = exchange.internal_error(record, stage)
            elapsed = time.perf_counter() - started if outcome.source is Source.INGEST else None
            batch.append((event, record, settle(record, outcome, state), elapsed))
        stream._set_current_event(before)
        outputs = [out for _, _, outcome, _ in batch for out in outcome.outputs]
        started = time.perf_counter()
        await emitter.emit(outputs)
        metrics.emit_seconds.observe(time.perf_counter() - started)
        metrics.records_written.inc(len(outputs))
        if state:
            # Only now, with every output acknowledged, is the state written: whatever state
            # a restarted worker recovers, its outputs are on the broker (ADR 0002).
            last_in = {record.partition: event for event, record, _, _ in batch}
            before = stream.current_event
            writes = await _flush_state(
                state, lambda partition: stream._set_current_event(last_in[partition])
            )
            stream._set_current_event(before)
            # And on the broker before the batch's offsets may be committed (Faust's commit
            # alone does not make sure of it: streams/changelog.py).
            await changelog.written()
            metrics.state_writes.inc(writes)
            for partition in last_in:
                metrics.held_now.labels(str(partition)).set(exchange.held_count(partition))
        for tp, hole in filled:
            # The refetched records were never Faust's events, so nothing acknowledges them
            # and its commit would stop at the hole for good: processed and sent now, they
            # are acknowledged here.
            acknowledge_read(faust_consumer, tp, hole)
        now = utc_now()
        for _, record, outcome, elapsed in batch:
            if readings.first(record.topic, record.partition, record.offset):
                metrics.record(outcome, now, elapsed)

    continuities = {"pipeline": Continuity(), "acknowledgements": Continuity()}
    stage_topics: dict[str, set[str]] = {}
    caught_up = dict.fromkeys(continuities, time.monotonic())
    """When each agent last took a batch that was not full: it had caught up with its input."""
    took_batch = dict(caught_up)
    """When each agent last took a batch at all."""

    async def run_batches(
        stream: Any, decide: Decide, stage: str, state: tuple[StagedStore, ...]
    ) -> None:
        await written.track()
        continuity = continuities[stage]
        async for events in stream.take_events(config.batch_size, config.batch_within):
            took_batch[stage] = time.monotonic()
            if len(events) < config.batch_size:
                caught_up[stage] = took_batch[stage]
            try:
                await handle(stream, events, decide, stage, state, continuity)
            except BaseException as error:  # noqa: BLE001 - Faust would commit past the batch
                _stop_before_commit(error)

    def decide_ingest(record: SourceRecord) -> Outcome:
        if record.topic == ticks_name:
            return exchange.tick(record)
        return exchange.process(record)

    @app.agent(source, name="exchange")
    async def exchange_agent(stream: Any) -> None:
        await run_batches(stream, decide_ingest, "pipeline", stores)

    acks = app.topic(*catalog.acks_topics(), key_serializer="raw", value_serializer="raw")

    @app.agent(acks, name="acknowledgements")
    async def acks_agent(stream: Any) -> None:
        # Acknowledgements touch no state: the staged stores are the exchange agent's alone.
        await run_batches(stream, exchange.acknowledge, "acknowledgements", ())

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

    watch = CommitWatch(config.commit_stall_seconds)
    stage_topics.update(pipeline=set(source.topics), acknowledgements=set(acks.topics))
    agent_topics = {*source.topics, *acks.topics}

    @app.on_partitions_revoked.connect
    async def forget_revoked(_app: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        revoked = {(tp.topic, tp.partition) for tp in args[0]}
        for continuity in continuities.values():
            continuity.forget(revoked)
        rescue.forget(revoked)
        rescued.difference_update(revoked)
        watch.reset()

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def watch_commits() -> None:
        """Stop (the supervisor restarts us) when a commit stands still before records."""
        if app.rebalancing:
            watch.reset()
            return
        consumer: Any = app.consumer  # its commit bookkeeping is not on the public interface
        committed = {
            (tp.topic, tp.partition): consumer._committed_offset.get(tp)
            for tp in consumer.assignment()
            if tp.topic in agent_topics
        }
        handled: dict[tuple[str, int], int] = {}
        for continuity in continuities.values():
            handled.update(continuity.handled_next())
        now = time.monotonic()
        busy = busy_partitions(now, committed, stage_topics, caught_up, took_batch)
        stalls, ask = watch.observe(now, committed, handled, busy)
        if stalls:
            _stop_for_stalls(stalls, consumer)
        if ask:
            try:
                waiting = await asyncio.to_thread(prober.holding_records, ask)
            except Exception as error:  # noqa: BLE001 - asked again at the next round
                log.warning("commit probe failed", extra={"error": type(error).__name__})
                return
            for partition, offset in ask.items():
                watch.answered(partition, now, waiting=partition in waiting)
                # A few records no agent was handed: the agent reads them, once per
                # partition; more, or again, and the stall's restart is the better cure.
                end = waiting.get(partition, offset)
                if offset < end <= offset + config.batch_size and partition not in rescued:
                    rescued.add(partition)
                    rescue.add(partition, range(offset, end))

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

    _ = (exchange_agent, acks_agent, clock, metrics_page, forget_revoked, watch_commits)
    return app, registry


class _WrittenTopics:
    """Keeps every topic the worker writes to in its producer's metadata from the start.

    aiokafka's producer refreshes metadata for the topics it tracks only (all topics while it
    tracks none), and starts tracking a topic only when a send finds it missing. Faust
    refreshes the producer after creating the table changelogs, while it tracks nothing, so
    the producer learns every topic without tracking any; the first send to a topic it did
    not learn then (a changelog not yet visible, a topic created later) narrows every later
    refresh to the tracked topics. Records already queued for the others then have no
    partition leader: they wait until the request timeout and fail (NotLeaderForPartition),
    and the worker stops before committing. Tracked from the start, no topic the worker
    writes to ever drops out of the producer's metadata, and the producer never fetches
    every topic again (the changelogs are tracked at their first write, and kept).
    """

    def __init__(self, app: faust.App, topics: list[str]) -> None:
        self.app = app
        self.topics = topics
        self.tracked = False

    async def track(self) -> None:
        """Track the topics (once; the producer must have started)."""
        if self.tracked:
            return
        producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]
        await track_topics(producer.client, self.topics)
        self.tracked = True


class _CommitTimer(Sensor):
    """Times Faust's offset commits (each flushes the producer first, stalling the agent)."""

    def __init__(self, metrics: ExchangeMetrics) -> None:
        super().__init__()
        self.metrics = metrics
        self.longest = 0.0

    def on_commit_initiated(self, consumer: Any) -> float:
        return time.perf_counter()

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        seconds = time.perf_counter() - float(state)
        self.metrics.commit_seconds.observe(seconds)
        if seconds > self.longest:
            self.longest = seconds
            self.metrics.commit_longest.set(seconds)


async def _flush_state(stores: Any, in_partition: Callable[[int], None]) -> int:
    """Write the batch's state, waiting out a changelog whose partitions the worker has not
    learned yet (just after the worker created it, Faust sees 0 and refuses the write)."""
    for attempt in range(_FLUSH_ATTEMPTS):
        try:
            return sum(store.flush(in_partition) for store in stores)
        except PartitionsMismatch:
            if attempt == _FLUSH_ATTEMPTS - 1:
                raise
            log.warning("table changelog not known yet; retrying", extra={"attempt": attempt})
            await asyncio.sleep(1.0)
    return 0


def _stop_before_commit(error: BaseException) -> None:
    """Stop the process at once: the batch's offsets must not be committed, and Faust would
    commit them on the way out of a failed agent (it acknowledges a batch's records even
    when the agent fails). The supervisor starts a new worker, which processes the batch
    again (same ids, so sinks drop what did arrive). Cancellation at shutdown is the one
    exception: Faust stops the agent without acknowledging, so it may go on."""
    if isinstance(error, asyncio.CancelledError):
        raise error
    log.critical(
        "a batch could not be completed; stopping before commit",
        extra={"error": type(error).__name__, "detail": _safe_detail(error)},
    )
    logging.shutdown()
    os._exit(_EXIT_TEMPFAIL)


def _stop_for_stalls(stalls: list[Stall], consumer: Any) -> None:
    """Stop at once, as ``_stop_before_commit`` does: the new worker reads again from the
    stalled commit, which is where the records not processed are. What Faust's commit
    bookkeeping held for the partition is logged with it: offsets only, for the cause."""
    log.critical(
        "a commit stood still before its records; stopping for a restart",
        extra={
            "stalls": [
                {
                    "topic": s.partition[0],
                    "partition": s.partition[1],
                    "committed": s.committed,
                    "handled_next": s.handled_next,  # None: nothing handled past it
                    "seconds": round(s.seconds, 1),
                    **_commit_bookkeeping(consumer, TP(*s.partition)),
                }
                for s in stalls
            ]
        },
    )
    logging.shutdown()
    os._exit(_EXIT_TEMPFAIL)


def acknowledge_read(consumer: Any, tp: TP, offsets: range) -> None:
    """Mark records an agent read itself as acknowledged in Faust's commit bookkeeping, as
    Faust's own ``ack`` does for the records it hands over (private attributes: faust-streaming
    has no public way to acknowledge an offset).

    Not as a gap (``Consumer._add_gap``, how Faust marks offsets it skipped): a gap never
    covers the committed offset itself (Faust takes it for the last offset processed, while
    it is the next to read), and gaps count only once some offset was acknowledged. A read
    that starts at the commit, as every read of records waiting there does, then never moved
    the commit: the watch stopped the worker after 30 s (fresh clone V's crash run)."""
    committed = consumer._committed_offset.get(tp)
    acked, index = consumer._acked[tp], consumer._acked_index[tp]
    for offset in offsets:
        if (committed is None or offset >= committed) and offset not in index:
            index.add(offset)
            acked.append(offset)
            consumer._n_acked += 1


def _commit_bookkeeping(consumer: Any, tp: TP) -> dict[str, Any]:
    """Faust's acknowledged offsets and gaps for ``tp`` (private attributes; best effort)."""
    try:
        acked = sorted(consumer._acked.get(tp, ()))
        gaps = sorted((i.begin, i.end - 1) for i in consumer._gap.get(tp, ()))
    except Exception:  # noqa: BLE001 - a diagnostic must not stop the stop
        return {}
    return {
        "acked_count": len(acked),
        "acked_first": acked[:5],
        "acked_last": acked[-1] if acked else None,
        "gaps": gaps[:5],
    }


def _safe_detail(error: BaseException) -> str:
    """Only the emitter's own message is logged: others could quote case data."""
    return str(error) if isinstance(error, DeliveryFailed) else ""


def _log_failure(what: str, record: SourceRecord, error: BaseException) -> None:
    """Log a failure by type and stack frames only: an exception's message may quote case
    data (names, dates of birth), and logs must never carry it."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        what, extra={"position": record.position, "error": type(error).__name__, "frames": frames}
    )
