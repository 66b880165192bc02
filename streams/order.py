"""Per-case ordering by sequence number: hold a gap for a bounded time, release in order.

Partners must see a case's events in the order the force produced them (a charge before its
bail variation), but Kafka only orders what was published in order. An event ahead of a gap
is held; when the gap fills it is released in sequence; when its hold time passes first it is
released flagged ``RELEASED_AFTER_GAP`` and the missing numbers are remembered, so one that
turns up later is delivered flagged ``LATE`` rather than rejected. Nothing is held forever.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.models import CaseEvent, OrderingFlag
from streams.record import SourceRecord
from streams.state import KeyValueStore

_MAX_SKIPPED = 1000


@dataclass(frozen=True, slots=True)
class Release:
    """An event leaving the ordering stage. ``event`` is None for one that was held (the
    caller decodes ``record`` again: it was valid when it was held)."""

    record: SourceRecord
    flag: OrderingFlag
    event: CaseEvent | None = None


@dataclass(slots=True)
class Offer:
    """What became of one offered event."""

    releases: list[Release] = field(default_factory=list)
    held: bool = False
    reused_sequence: bool = False


@dataclass(slots=True)
class _CaseState:
    next: int = 1
    skipped: list[int] = field(default_factory=list)
    held: dict[int, dict[str, Any]] = field(default_factory=dict)

    def encode(self) -> bytes:
        held = {str(k): v for k, v in self.held.items()}
        return json.dumps({"n": self.next, "s": self.skipped, "h": held}).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> _CaseState:
        if raw is None:
            return cls()
        data = json.loads(raw)
        return cls(data["n"], data["s"], {int(k): v for k, v in data["h"].items()})


def _hold(record: SourceRecord, deadline_ms: int) -> dict[str, Any]:
    return {
        "t": record.topic,
        "p": record.partition,
        "o": record.offset,
        "k": base64.b64encode(record.key).decode() if record.key is not None else None,
        "v": base64.b64encode(record.value).decode(),
        "d": deadline_ms,
    }


def _unhold(held: dict[str, Any]) -> SourceRecord:
    return SourceRecord(
        topic=held["t"],
        partition=held["p"],
        offset=held["o"],
        key=base64.b64decode(held["k"]) if held["k"] is not None else None,
        value=base64.b64decode(held["v"]),
    )


class Sequencer:
    """Orders each case's events; state per case (``case:<urn>``) and an index of cases
    with held events per partition (``holds:<partition>``) that timed release scans."""

    def __init__(self, store: KeyValueStore, hold: timedelta) -> None:
        self.store = store
        self.hold_ms = int(hold.total_seconds() * 1000)

    def offer(
        self, event: CaseEvent, record: SourceRecord, now: datetime, *, replay: bool
    ) -> Offer:
        urn = event.envelope.case_urn
        seq = event.envelope.sequence
        state = _CaseState.decode(self.store.get(f"case:{urn}"))
        offer = Offer()
        if seq == state.next:
            offer.releases.append(Release(record, OrderingFlag.IN_ORDER, event))
            state.next += 1
            self._drain_in_order(state, offer.releases)
        elif seq > state.next:
            held = state.held.get(seq)
            if held is None:
                deadline = int(now.timestamp() * 1000) + self.hold_ms
                state.held[seq] = _hold(record, deadline)
                offer.held = True
            elif _unhold(held).position == record.position:
                offer.held = True
            else:
                offer.reused_sequence = True
        elif seq in state.skipped:
            state.skipped.remove(seq)
            offer.releases.append(Release(record, OrderingFlag.LATE, event))
        elif replay:
            offer.releases.append(Release(record, OrderingFlag.IN_ORDER, event))
        else:
            offer.reused_sequence = True
        self._save(urn, record.partition, state)
        return offer

    def expire(self, partition: int, now: datetime) -> list[Release]:
        """Release what has waited past its hold time in one partition, together with the
        events of its case held with lower numbers (it may not overtake them)."""
        now_ms = int(now.timestamp() * 1000)
        index = self._index(partition)
        releases: list[Release] = []
        for urn, earliest in sorted(index.items()):
            if earliest > now_ms:
                continue
            state = _CaseState.decode(self.store.get(f"case:{urn}"))
            # Held events arrive in any order, so a later number may be due before an earlier
            # one: it has waited its hold time and may not overtake, so both go now.
            due = max((seq for seq, h in state.held.items() if h["d"] <= now_ms), default=0)
            while state.held and min(state.held) <= due:
                first = min(state.held)
                # Only the last _MAX_SKIPPED are kept, so only those are listed: a sequence
                # number near 2**63 (an Avro long) must not list every number below it.
                missing = range(max(state.next, first - _MAX_SKIPPED), first)
                state.skipped = (state.skipped + list(missing))[-_MAX_SKIPPED:]
                record = _unhold(state.held.pop(first))
                releases.append(Release(record, OrderingFlag.RELEASED_AFTER_GAP))
                state.next = first + 1
                self._drain_in_order(state, releases)
            self._save(urn, partition, state)
        return releases

    def held_count(self, partition: int) -> int:
        return len(self._index(partition))

    def _drain_in_order(self, state: _CaseState, releases: list[Release]) -> None:
        while state.next in state.held:
            releases.append(Release(_unhold(state.held.pop(state.next)), OrderingFlag.IN_ORDER))
            state.next += 1

    def _index(self, partition: int) -> dict[str, int]:
        raw = self.store.get(f"holds:{partition}")
        return {} if raw is None else dict(json.loads(raw))

    def _save(self, urn: str, partition: int, state: _CaseState) -> None:
        self.store.put(f"case:{urn}", state.encode())
        index = self._index(partition)
        earliest = min((h["d"] for h in state.held.values()), default=None)
        if earliest is None and urn not in index:
            return
        if earliest is None:
            del index[urn]
        else:
            index[urn] = earliest
        self.store.put(f"holds:{partition}", json.dumps(index).encode())
