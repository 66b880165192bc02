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
_RECENT_SEQUENCES = 64
_RECENT_TRIGGERS = 8
_OWN = frozenset({"n", "s", "h", "p", "r"})


@dataclass(frozen=True, slots=True)
class Release:
    """An event leaving the ordering stage. ``event`` is None for one that was held (the
    caller decodes ``record`` again: it was valid when it was held). ``replay`` marks a
    release repeated because the record that caused it was processed again after a restart:
    its outputs must be the same as the first time."""

    record: SourceRecord
    flag: OrderingFlag
    event: CaseEvent | None = None
    replay: bool = False


@dataclass(slots=True)
class Offer:
    """What became of one offered event."""

    releases: list[Release] = field(default_factory=list)
    held: bool = False
    reused_sequence: bool = False


@dataclass(slots=True)
class _CaseState:
    """One case's ordering state.

    ``released`` remembers, for recent sequence numbers, the position of the record released
    and its flag; ``triggered`` remembers, for recent records, the held events their arrival
    (or a tick) released. Both let a record processed again after a crash repeat exactly what
    it did the first time, even if the state already reflects later records.
    """

    next: int = 1
    skipped: list[int] = field(default_factory=list)
    held: dict[int, dict[str, Any]] = field(default_factory=dict)
    released: dict[int, list[Any]] = field(default_factory=dict)
    triggered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    others: dict[str, Any] = field(default_factory=dict)
    """What other stages keep under the same key (the case's route): one write per case."""

    def encode(self) -> bytes:
        recent = sorted(self.released)[-_RECENT_SEQUENCES:]
        triggers = list(self.triggered)[-_RECENT_TRIGGERS:]
        return json.dumps(
            {
                **self.others,
                "n": self.next,
                "s": self.skipped,
                "h": {str(k): v for k, v in self.held.items()},
                "p": {str(k): self.released[k] for k in recent},
                "r": {t: self.triggered[t] for t in triggers},
            }
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> _CaseState:
        if raw is None:
            return cls()
        data = json.loads(raw)
        return cls(
            data.get("n", 1),
            data.get("s", []),
            {int(k): v for k, v in data.get("h", {}).items()},
            {int(k): v for k, v in data.get("p", {}).items()},
            dict(data.get("r", {})),
            {k: v for k, v in data.items() if k not in _OWN},
        )

    def release(
        self, seq: int, position: str, flag: OrderingFlag, *, on_arrival: bool = True
    ) -> None:
        """Remember how ``seq`` left: on its own arrival, or later, released by another
        record or a tick (then its own replay repeats nothing: the first time it was held)."""
        self.released[seq] = [position, flag.value, on_arrival]


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


def _replayed(entries: list[dict[str, Any]]) -> list[Release]:
    return [Release(_unhold(e["h"]), OrderingFlag(e["f"]), None, replay=True) for e in entries]


class Sequencer:
    """Orders each case's events; state per case (``case:<urn>``), an index of cases with
    held events per partition (``holds:<partition>``) that timed release scans, and the
    cases each recent tick released (``ticks:<partition>``) so a replayed tick repeats.

    ``space`` prefixes those keys: a court's results are numbered by the court publisher,
    not the force, so they are ordered in a space of their own (``results.``) beside the
    force's events of the same case, in the same partition of the same table."""

    def __init__(self, store: KeyValueStore, hold: timedelta, *, space: str = "") -> None:
        self.store = store
        self.hold_ms = int(hold.total_seconds() * 1000)
        self.space = space

    def offer(self, event: CaseEvent, record: SourceRecord, now: datetime) -> Offer:
        urn = event.envelope.case_urn
        seq = event.envelope.sequence
        position = record.position
        state = _CaseState.decode(self.store.get(f"{self.space}case:{urn}"))
        was_held = bool(state.held)
        offer = Offer()
        before = state.released.get(seq)
        if before is not None and before[0] == position:
            # This very record was processed before a restart: repeat what it did then.
            if not before[2]:
                offer.held = True  # it was held, and released later by something else
                return offer
            offer.releases.append(Release(record, OrderingFlag(before[1]), event, replay=True))
            offer.releases += _replayed(state.triggered.get(position, []))
            return offer
        if seq == state.next:
            offer.releases.append(Release(record, OrderingFlag.IN_ORDER, event))
            state.release(seq, position, OrderingFlag.IN_ORDER)
            state.next += 1
            drained = self._drain_in_order(state)
            if drained:
                state.triggered[position] = drained
                offer.releases += _released(drained)
        elif seq > state.next:
            held = state.held.get(seq)
            if held is None:
                deadline = int(now.timestamp() * 1000) + self.hold_ms
                state.held[seq] = _hold(record, deadline)
                offer.held = True
            elif _unhold(held).position == position:
                offer.held = True
            else:
                offer.reused_sequence = True
        elif seq in state.skipped:
            state.skipped.remove(seq)
            state.release(seq, position, OrderingFlag.LATE)
            offer.releases.append(Release(record, OrderingFlag.LATE, event))
        else:
            offer.reused_sequence = True
        self._save(urn, record.partition, state, was_held=was_held)
        return offer

    def expire(self, partition: int, now: datetime, trigger: str) -> list[Release]:
        """Release what has waited past its hold time in one partition, together with the
        events of its case held with lower numbers (it may not overtake them).

        ``trigger`` is the position of the tick record that asked; the same tick processed
        again after a restart repeats its releases instead of finding nothing to do.
        """
        ticks = self._ticks(partition)
        if trigger in ticks:
            releases: list[Release] = []
            for urn in ticks[trigger]:
                state = _CaseState.decode(self.store.get(f"{self.space}case:{urn}"))
                releases += _replayed(state.triggered.get(trigger, []))
            return releases
        now_ms = int(now.timestamp() * 1000)
        index = self._index(partition)
        released: list[dict[str, Any]] = []
        urns: list[str] = []
        for urn, earliest in sorted(index.items()):
            if earliest > now_ms:
                continue
            state = _CaseState.decode(self.store.get(f"{self.space}case:{urn}"))
            # Held events arrive in any order, so a later number may be due before an earlier
            # one: it has waited its hold time and may not overtake, so both go now.
            due = max((seq for seq, h in state.held.items() if h["d"] <= now_ms), default=0)
            entries: list[dict[str, Any]] = []
            while state.held and min(state.held) <= due:
                first = min(state.held)
                # Only the last _MAX_SKIPPED are kept, so only those are listed: a sequence
                # number near 2**63 (an Avro long) must not list every number below it.
                missing = range(max(state.next, first - _MAX_SKIPPED), first)
                state.skipped = (state.skipped + list(missing))[-_MAX_SKIPPED:]
                hold = state.held.pop(first)
                flag = OrderingFlag.RELEASED_AFTER_GAP
                state.release(first, _unhold(hold).position, flag, on_arrival=False)
                entries.append({"h": hold, "f": flag.value})
                state.next = first + 1
                entries += self._drain_in_order(state)
            if entries:
                state.triggered[trigger] = entries
                urns.append(urn)
                released += entries
            self._save(urn, partition, state, was_held=True)
        if urns:
            ticks[trigger] = urns
            recent = list(ticks)[-_RECENT_TRIGGERS:]
            self.store.put(
                f"{self.space}ticks:{partition}", json.dumps({t: ticks[t] for t in recent}).encode()
            )
        return _released(released)

    def held_count(self, partition: int) -> int:
        """Cases in ``partition`` with at least one event held."""
        return len(self._index(partition))

    def _drain_in_order(self, state: _CaseState) -> list[dict[str, Any]]:
        drained: list[dict[str, Any]] = []
        while state.next in state.held:
            hold = state.held.pop(state.next)
            state.release(
                state.next, _unhold(hold).position, OrderingFlag.IN_ORDER, on_arrival=False
            )
            drained.append({"h": hold, "f": OrderingFlag.IN_ORDER.value})
            state.next += 1
        return drained

    def _index(self, partition: int) -> dict[str, int]:
        raw = self.store.get(f"{self.space}holds:{partition}")
        return {} if raw is None else dict(json.loads(raw))

    def _ticks(self, partition: int) -> dict[str, list[str]]:
        raw = self.store.get(f"{self.space}ticks:{partition}")
        return {} if raw is None else dict(json.loads(raw))

    def _save(self, urn: str, partition: int, state: _CaseState, *, was_held: bool) -> None:
        """Write the case, and the partition's index only when the case enters or leaves
        it: most cases never hold anything, so most events touch one key, not two."""
        self.store.put(f"{self.space}case:{urn}", state.encode())
        if not was_held and not state.held:
            return
        index = self._index(partition)
        earliest = min((h["d"] for h in state.held.values()), default=None)
        if earliest is None and urn not in index:
            return
        if earliest is None:
            del index[urn]
        else:
            index[urn] = earliest
        self.store.put(f"{self.space}holds:{partition}", json.dumps(index).encode())


_RANKS = {"case": 0, "holds": 1, "ticks": 2}


def write_rank(key: str) -> int:
    """Where a key of the ordering state goes in a batch's writes: cases first, then the
    partitions' hold indexes, then their tick memories (which point at cases).

    A worker killed part-way through writing a batch keeps a prefix of the writes. With the
    pointers written after what they point at, every prefix is one a replay recovers from: an
    index or tick memory from before the batch only makes a replayed tick look at a case again
    (already released, its deliveries sent before any state was written), never skip a case
    that still holds events or whose release the tick memory claims."""
    kind = key.split(":", 1)[0].rsplit(".", 1)[-1]  # the space ("results.") aside
    return _RANKS.get(kind, 0)


def _released(entries: list[dict[str, Any]]) -> list[Release]:
    return [Release(_unhold(e["h"]), OrderingFlag(e["f"])) for e in entries]
