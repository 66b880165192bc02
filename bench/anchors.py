"""Anchors for the pipeline benchmark: what the same broker does with no exchange at all.

- Kafka's own ``ProducerPerformance`` (same Kafka version, from Maven Central): the broker's
  ceiling for 300-byte records with acks=all on this machine.
- A plain aiokafka forward (``getmany`` + ``send``, no framework): Python's ceiling.
- A Faust agent forwarding in batches (``take_events``): the framework's ceiling.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bench.spans import output_span
from common import processes
from infra.broker.provision import resolve_jars

POM = Path(__file__).with_name("pom.xml")


def tools_lib(cache: Path, version: str) -> Path:
    """Kafka's tools (ProducerPerformance) for ``version``, resolved once like the broker."""
    lib = cache / "bench" / version / "lib"
    resolve_jars(POM, lib, version, expect=f"kafka-tools-{version}.jar")
    return lib


def producer_perf(bootstrap: str, lib: Path, records: int = 300_000) -> float:
    """Records/s of Kafka's own producer benchmark (300-byte records, acks=all)."""
    topic = f"bench.perf.{uuid.uuid4().hex[:6]}"
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    java = shutil.which("java") or "java"
    out = subprocess.run(
        [
            java,
            "-Xmx512m",
            "-cp",
            f"{lib}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            "300",
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    match = re.findall(r"([\d.]+) records/sec", out)
    if not match:
        raise RuntimeError(f"ProducerPerformance printed no rate:\n{out[-2000:]}")
    return float(match[-1])


async def _aiokafka_forward(bootstrap: str, source: str, target: str, count: int) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    # Assigned, not subscribed: no group rebalance to wait for; offsets are still committed
    # per batch, as a forward that must not lose its place does.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-aio-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    consumer.assign([TopicPartition(source, p) for p in range(3)])
    await consumer.seek_to_beginning()
    await producer.start()
    try:
        done = 0
        while done < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            futures = [
                await producer.send(target, r.value, key=r.key)
                for records in batches.values()
                for r in records
            ]
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
            done += len(futures)
    finally:
        await producer.stop()
        await consumer.stop()


def aiokafka_forward(bootstrap: str, values: list[tuple[bytes, bytes]]) -> float:
    source, target = _forward_topics(bootstrap, values, "aio")
    asyncio.run(_aiokafka_forward(bootstrap, source, target, len(values)))
    return len(values) / output_span(bootstrap, [target], len(values), timeout=600)


def faust_forward(
    bootstrap: str, home: Path, values: list[tuple[bytes, bytes]], *, batched: bool
) -> float:
    """Events/s of a Faust agent forwarding bytes, one by one or in batches."""
    name = "fb" if batched else "fe"
    source, target = _forward_topics(bootstrap, values, name)
    env = {
        "BENCH_BOOTSTRAP": bootstrap,
        "BENCH_SOURCE": source,
        "BENCH_TARGET": target,
        "BENCH_DATADIR": str(home / name),
        "BENCH_APP_ID": f"bench-{name}-{uuid.uuid4().hex[:6]}",
        "BENCH_BATCH": "1000" if batched else "",
    }
    (home / name).mkdir(parents=True, exist_ok=True)
    forwarder = processes.spawn(
        [sys.executable, "-m", "bench.forward", "worker"], log=home / f"{name}.log", env=env
    )
    try:
        span = output_span(bootstrap, [target], len(values), timeout=900)
    finally:
        processes.stop(forwarder)
    return len(values) / span


def _forward_topics(
    bootstrap: str, values: list[tuple[bytes, bytes]], name: str
) -> tuple[str, str]:
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    tag = uuid.uuid4().hex[:6]
    source, target = f"bench.{name}.{tag}.in", f"bench.{name}.{tag}.out"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(source, 3, 1), NewTopic(target, 3, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for key, value in values:
        producer.send(source, key=key, value=value)
    producer.flush()
    producer.close()
    return source, target
