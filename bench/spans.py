"""Rates from the broker's own clock: the first and last output of a run."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer


def output_span(
    bootstrap: str,
    topics: list[str],
    expected: int,
    timeout: float,
    counts: Callable[[bytes], bool] = lambda _value: True,
) -> float:
    """Seconds between the first and the last of ``expected`` counted records on ``topics``
    (by their broker timestamps, so start-up and rebalancing are not measured)."""
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    stamps: list[int] = []
    deadline = time.monotonic() + timeout
    try:
        while len(stamps) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                stamps += [r.timestamp for r in records if counts(r.value)]
    finally:
        consumer.close()
    if len(stamps) < expected:
        raise RuntimeError(f"only {len(stamps)} of {expected} outputs within {timeout}s")
    stamps.sort()
    return max(1e-3, (stamps[expected - 1] - stamps[0]) / 1000)
