"""What kafka-python's CRC-32C costs the exchange's kafka-python clients (publishers, the
gateway, partner subscribers, the auditor), with and without the ``crc32c`` C extension.

kafka-python computes the CRC-32C of every record batch it builds and checks it on every
batch it fetches; without the optional ``crc32c`` package it does so in pure Python. One
broker, one run: the same records are produced and read back with each implementation in
turn (alternating, ``--rounds`` times), and the client's own CPU time is counted per 1,000
records, so the ratio does not depend on what else the machine is doing.

    python -m bench.kafka_python_crc [--records 20000] [--bytes 1500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import kafka.record.default_records as default_records
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.record._crc32c import crc as crc32c_python
from kafka.record.util import calc_crc32c

from bench.broker import KAFKA_VERSION, machine, one_node


@contextmanager
def crc_in(implementation: str) -> Iterator[None]:
    """kafka-python's record batches checked with ``implementation`` ("python" or "c")."""
    chosen: Callable[[memoryview], int] = (
        calc_crc32c if implementation == "c" else lambda view: crc32c_python(view)
    )
    before = default_records.calc_crc32c
    default_records.calc_crc32c = chosen
    try:
        yield
    finally:
        default_records.calc_crc32c = before


def produce(bootstrap: str, topic: str, records: int, size: int) -> float:
    """CPU seconds of this process to publish ``records`` values of ``size`` bytes."""
    value = os.urandom(size)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        cpu = time.process_time()
        for i in range(records):
            producer.send(topic, key=str(i % 512).encode(), value=value)
        producer.flush()
        return time.process_time() - cpu
    finally:
        producer.close()


def consume(bootstrap: str, topic: str, records: int) -> float:
    """CPU seconds of this process to read ``records`` back, CRCs checked."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        check_crcs=True,
    )
    try:
        seen = 0
        cpu = time.process_time()
        deadline = time.monotonic() + 120
        while seen < records and time.monotonic() < deadline:
            seen += sum(len(batch) for batch in consumer.poll(timeout_ms=500).values())
        if seen < records:
            raise RuntimeError(f"read {seen} of {records}")
        return time.process_time() - cpu
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--bytes", type=int, default=1_500)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    per_thousand = 1000 / args.records
    cpu: dict[str, dict[str, list[float]]] = {
        impl: {"produce": [], "consume": []} for impl in ("python", "c")
    }
    with one_node("cjsx-bench-crc-") as (cluster, _home):
        bootstrap = cluster.bootstrap
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            for _ in range(args.rounds):
                for impl in ("python", "c"):
                    topic = f"bench-crc-{uuid.uuid4().hex[:8]}"
                    admin.create_topics([NewTopic(topic, 3, 1)])
                    with crc_in(impl):
                        cpu[impl]["produce"].append(
                            produce(bootstrap, topic, args.records, args.bytes) * per_thousand
                        )
                        cpu[impl]["consume"].append(
                            consume(bootstrap, topic, args.records) * per_thousand
                        )
        finally:
            admin.close()
    median = {
        impl: {op: statistics.median(v) for op, v in ops.items()} for impl, ops in cpu.items()
    }
    print(
        json.dumps(
            {
                "machine": machine(),
                "kafka": KAFKA_VERSION,
                "records": args.records,
                "value_bytes": args.bytes,
                "rounds": args.rounds,
                "client_cpu_ms_per_1000_records": {
                    impl: {op: round(1000 * s, 1) for op, s in ops.items()}
                    for impl, ops in median.items()
                },
                "python_to_c": {
                    op: round(median["python"][op] / median["c"][op], 2)
                    for op in ("produce", "consume")
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
