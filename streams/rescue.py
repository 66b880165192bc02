"""Records waiting at a commit that no agent was handed, read by the agents themselves.

A Faust stream skips a record that reaches it while flow control is off or under an older
consumer generation than the app's (around a rebalance or a worker's start). Skipped, it is
not acknowledged, so the commit stays before it; but Faust's fetcher has moved on, and
nothing hands it over again until a seek. When a later record of the partition arrives, the
continuity guard sees the hole; when none does (a force's single resend to a restarted
worker), the record just waits: no receipt, ever.

The commit watch finds such records (a commit standing still, nothing handled past it, the
broker holding records there) and puts their offsets here; the agent reading that partition
takes them in its next batch that holds a record of the same partition number (the worker's
own ticks bring one every second), reads them itself (``streams.continuity.Refetcher``) and
processes them before that record. Only a few records (a batch at most), once per partition:
a partition Faust no longer feeds at all is better cured by the stall's restart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class PendingReads:
    """Offsets to read directly, per partition, until an agent takes them."""

    _pending: dict[Partition, range] = field(default_factory=dict)

    def add(self, partition: Partition, offsets: range) -> None:
        self._pending[partition] = offsets

    def take(self, topics: Collection[str]) -> dict[Partition, range]:
        """The pending reads of these topics, no longer kept here (called once per batch:
        usually nothing is pending)."""
        if not self._pending:
            return {}
        taken = {p: o for p, o in self._pending.items() if p[0] in topics}
        for partition in taken:
            del self._pending[partition]
        return taken

    def put_back(self, pending: dict[Partition, range]) -> None:
        """Reads taken but not done (no record of their partition number in the batch)."""
        for partition, offsets in pending.items():
            self._pending.setdefault(partition, offsets)

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Revoked partitions: whoever reads them next starts from their commit."""
        for partition in partitions:
            self._pending.pop(partition, None)


def still_waiting(
    partition: Partition,
    offsets: range,
    received_next: Mapping[Partition, int],
    in_batch: Collection[Partition],
) -> range:
    """What of ``offsets`` an agent must still read itself: none if its own batch holds a
    record of ``partition`` (the continuity guard reads whatever that record skipped), and
    none it has already received. The probe that found them waiting may have been early:
    Faust can hand records over after it looked (at a worker's start, say); read again, they
    would be processed twice (harmless by their ids, but the force gets a receipt twice)."""
    if partition in in_batch:
        return range(0)
    start = max(offsets.start, received_next.get(partition, offsets.start))
    return range(start, max(start, offsets.stop))
