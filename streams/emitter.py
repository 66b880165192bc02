"""The one edge where the worker's outputs become Kafka records.

Stages decide what to write; the emitter checks each record against its topic's size limit
before anything is sent, sends a whole batch without waiting for each record, then waits
until the broker has acknowledged every one (acks=all). Only then may the batch's input
offsets be committed: if a send fails, the emitter raises, for the worker to stop before
committing. Nothing is committed on a hope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cjsx.errors import CjsxError
from streams.outputs import Output

RECORD_OVERHEAD_BYTES = 512
"""Kafka's per-record and per-batch framing, rounded up: a record is checked as this much
larger than its key, value and headers."""

Send = Callable[[Output], Awaitable[Awaitable[Any]]]
"""Enqueue one record; the awaitable it returns completes when the broker acknowledges it."""


class DeliveryFailed(CjsxError):
    """The broker did not acknowledge a batch's records after every retry."""


async def track_topics(client: Any, topics: Iterable[str]) -> None:
    """Have an aiokafka client keep ``topics`` in its metadata from now on.

    aiokafka refreshes metadata for the topics it tracks only (every topic while it tracks
    none), and starts tracking a topic only when a send finds it missing. A producer that
    learned a topic from a refresh of every topic, and never tracked it, drops it at the next
    refresh once it tracks any topic; a record queued for it then has no partition leader,
    waits the whole request timeout and fails with ``NotLeaderForPartitionError``. Returns
    once a refresh that includes every one of ``topics`` has completed.
    """
    await asyncio.gather(*(client.add_topic(topic) for topic in topics))


def record_size(output: Output) -> int:
    headers = sum(len(k) + len(v or b"") for k, v in output.headers)
    return len(output.key or b"") + len(output.value) + headers + RECORD_OVERHEAD_BYTES


@dataclass(frozen=True)
class Emitter:
    send: Send
    limit: Callable[[str], int]
    """The largest record a topic takes (from the topic spec)."""

    def oversized(self, outputs: Sequence[Output]) -> Output | None:
        """The first output its topic would refuse, if any."""
        for output in outputs:
            if record_size(output) > self.limit(output.topic):
                return output
        return None

    async def emit(self, outputs: Sequence[Output]) -> None:
        """Send ``outputs`` in order and return once the broker has acknowledged all of them.

        The producer already retries what the broker refuses for a while; a record still
        unacknowledged after that is not sent again here, because sending it again after
        records that did go would put a case's deliveries out of order. The worker stops
        instead, and the restarted worker processes the batch again from its first record.
        """
        futures: list[Awaitable[Any]] = []
        refused: list[str] = []
        for output in outputs:
            try:
                futures.append(await self.send(output))
            except Exception as error:  # noqa: BLE001 - raised below as DeliveryFailed
                refused.append(type(error).__name__)
        results = await asyncio.gather(*futures, return_exceptions=True)
        failures = refused + [type(r).__name__ for r in results if isinstance(r, BaseException)]
        if failures:
            raise DeliveryFailed(
                f"{len(failures)} of {len(outputs)} records were not acknowledged by the broker "
                f"({', '.join(sorted(set(failures)))})"
            )
