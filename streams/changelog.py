"""Waiting for a batch's state to reach the broker before the batch counts as done.

Faust writes a table's changelog through its producer buffer and, before committing offsets,
flushes the producer. But the buffer's flush gives up after 0.1 s without a send
(``ProducerBuffer.flush_atmost``): under backpressure ("producer buffer full") the commit
goes ahead with changelog records still queued, and a crash then leaves committed records
whose state never reached the changelog. A restarted worker skips those records and has
forgotten what they established (a case's next sequence number, its route). So the worker
collects the changelog records a batch's state writes produce and waits until the broker has
acknowledged them before the batch's offsets are acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class ChangelogWatch:
    """Collects the changelog sends of ``tables`` (Faust tables) until ``written``."""

    def __init__(self, tables: Iterable[Any]) -> None:
        self._pending: list[Any] = []
        for table in tables:
            self._collect(table)

    def _collect(self, table: Any) -> None:
        send = table.send_changelog  # Faust's public method; every table write calls it

        def send_and_collect(*args: Any, **kwargs: Any) -> Any:
            future = send(*args, **kwargs)
            self._pending.append(future)
            return future

        table.send_changelog = send_and_collect

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def written(self) -> None:
        """Return once the broker has acknowledged every changelog record sent since the last
        call; raise if it refused one (the worker then stops before committing)."""
        futures, self._pending = self._pending, []
        if futures:
            await asyncio.gather(*futures)
