"""Deduplication: exact resends (same event id) and the same content under a new id.

Kafka gives no deduplication and Faust's exactly-once mode is unreliable, so the exchange
remembers what it has seen. Each sighting records the record's position (topic/partition/
offset): when a restarted worker re-reads a record it had processed but not yet committed,
the position matches and the event is processed again (its outputs carry the same ids, so
sinks drop repeats) instead of being mistaken for a resend. Entries older than the window
are treated as absent; the store itself expires them (RocksDB TTL, changelog retention).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from schemas.models import CaseEvent
from streams.state import KeyValueStore

# Envelope fields that change when a system resends the same fact.
_VOLATILE = frozenset({"event_id", "published_at", "sequence", "correlation_id", "causation_id"})


class DuplicateKind(StrEnum):
    EVENT_ID = "event_id"
    CONTENT = "content"


class Sighting(StrEnum):
    """What the deduplicator made of an event that is not a duplicate."""

    NEW = "new"
    REPLAY = "replay"
    """The same record (same position) processed again after a restart."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Why an event is a duplicate, and of which original."""

    kind: DuplicateKind
    original_event_id: UUID


def content_fingerprint(event: CaseEvent) -> str:
    """SHA-256 of the event's business content, ignoring envelope fields a resend changes.

    The type name is included so two event types with equal fields never collide.
    """
    body = event.model_dump(mode="json", exclude={"envelope": set(_VOLATILE)})
    canonical = json.dumps([event.avro_name, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Sighting:
    event_id: str
    position: str
    seen_at_ms: int

    def encode(self) -> bytes:
        return json.dumps([self.event_id, self.position, self.seen_at_ms]).encode()

    @classmethod
    def decode(cls, raw: bytes) -> _Sighting:
        event_id, position, seen_at_ms = json.loads(raw)
        return cls(str(event_id), str(position), int(seen_at_ms))


class Deduplicator:
    """Checks and records sightings in a ``KeyValueStore`` (keys ``id:…`` and ``fp:…``)."""

    def __init__(self, store: KeyValueStore, window: timedelta) -> None:
        self.store = store
        self.window_ms = int(window.total_seconds() * 1000)

    def _live(self, key: str, now_ms: int) -> _Sighting | None:
        raw = self.store.get(key)
        if raw is None:
            return None
        sighting = _Sighting.decode(raw)
        return sighting if now_ms - sighting.seen_at_ms <= self.window_ms else None

    def check(self, event: CaseEvent, position: str, now: datetime) -> Duplicate | Sighting:
        """The duplicate this event is, or whether it is new or a replay of itself.

        A new event is remembered at once, so a later resend is caught.
        """
        now_ms = int(now.timestamp() * 1000)
        event_id = str(event.envelope.event_id)
        by_id = self._live(f"id:{event_id}", now_ms)
        if by_id is not None:
            if by_id.position == position:
                return Sighting.REPLAY
            return Duplicate(DuplicateKind.EVENT_ID, event.envelope.event_id)
        fp_key = f"fp:{content_fingerprint(event)}"
        by_content = self._live(fp_key, now_ms)
        if by_content is not None and by_content.position != position:
            return Duplicate(DuplicateKind.CONTENT, UUID(by_content.event_id))
        sighting = _Sighting(event_id, position, now_ms).encode()
        self.store.put(f"id:{event_id}", sighting)
        self.store.put(fp_key, sighting)
        return Sighting.NEW

    def forget(self, event: CaseEvent, position: str) -> None:
        """Undo what ``check`` remembered of this record, for an event refused after it.

        An event rejected later in the pipeline (a reused sequence number) was never accepted:
        a corrected resend of it must be new, not its duplicate, and a replay of the refused
        record must be refused again, not taken for a replay of an accepted one. Only the
        entries this very record made are removed.
        """
        for key in (f"id:{event.envelope.event_id}", f"fp:{content_fingerprint(event)}"):
            raw = self.store.get(key)
            if raw is not None and _Sighting.decode(raw).position == position:
                self.store.delete(key)
