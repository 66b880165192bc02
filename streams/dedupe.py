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


_MAX_SIGHTINGS = 2000
"""Per case and kind: far more events than a real case has in the window, and a bound on what
a hostile sender can make the exchange remember for one case."""


@dataclass(frozen=True, slots=True)
class _Sighting:
    event_id: str
    position: str
    seen_at_ms: int


@dataclass(slots=True)
class _CaseSightings:
    """What one case's events were seen as: by event id and by content fingerprint.

    A resend carries its case's URN (the URN is business content), so both kinds of
    duplicate are found within the case: one key per case, one state write per event.
    """

    ids: dict[str, _Sighting]
    fps: dict[str, _Sighting]

    @classmethod
    def decode(cls, raw: bytes | None) -> _CaseSightings:
        if raw is None:
            return cls({}, {})
        data = json.loads(raw)
        return cls(
            {k: _Sighting(*v) for k, v in data["i"].items()},
            {k: _Sighting(*v) for k, v in data["f"].items()},
        )

    def encode(self, now_ms: int, window_ms: int) -> bytes:
        """Only live sightings are kept, the newest ``_MAX_SIGHTINGS`` of each kind."""

        def live(entries: dict[str, _Sighting]) -> dict[str, list[object]]:
            kept = [(k, s) for k, s in entries.items() if now_ms - s.seen_at_ms <= window_ms]
            kept.sort(key=lambda item: item[1].seen_at_ms)
            return {k: [s.event_id, s.position, s.seen_at_ms] for k, s in kept[-_MAX_SIGHTINGS:]}

        return json.dumps({"i": live(self.ids), "f": live(self.fps)}).encode()


class Deduplicator:
    """Checks and records sightings in a ``KeyValueStore``, one key per case (``seen:<urn>``)."""

    def __init__(self, store: KeyValueStore, window: timedelta) -> None:
        self.store = store
        self.window_ms = int(window.total_seconds() * 1000)

    def _live(self, sighting: _Sighting | None, now_ms: int) -> _Sighting | None:
        if sighting is None:
            return None
        return sighting if now_ms - sighting.seen_at_ms <= self.window_ms else None

    def check(self, event: CaseEvent, position: str, now: datetime) -> Duplicate | Sighting:
        """The duplicate this event is, or whether it is new or a replay of itself.

        A new event is remembered at once, so a later resend is caught.
        """
        now_ms = int(now.timestamp() * 1000)
        key = f"seen:{event.envelope.case_urn}"
        case = _CaseSightings.decode(self.store.get(key))
        event_id = str(event.envelope.event_id)
        by_id = self._live(case.ids.get(event_id), now_ms)
        if by_id is not None:
            if by_id.position == position:
                return Sighting.REPLAY
            return Duplicate(DuplicateKind.EVENT_ID, event.envelope.event_id)
        fingerprint = content_fingerprint(event)
        by_content = self._live(case.fps.get(fingerprint), now_ms)
        if by_content is not None and by_content.position != position:
            return Duplicate(DuplicateKind.CONTENT, UUID(by_content.event_id))
        sighting = _Sighting(event_id, position, now_ms)
        case.ids[event_id] = sighting
        case.fps[fingerprint] = sighting
        self.store.put(key, case.encode(now_ms, self.window_ms))
        return Sighting.NEW

    def forget(self, event: CaseEvent, position: str) -> None:
        """Undo what ``check`` remembered of this record, for an event refused after it.

        An event rejected later in the pipeline (a reused sequence number) was never accepted:
        a corrected resend of it must be new, not its duplicate, and a replay of the refused
        record must be refused again, not taken for a replay of an accepted one. Only the
        entries this very record made are removed.
        """
        key = f"seen:{event.envelope.case_urn}"
        raw = self.store.get(key)
        if raw is None:
            return
        case = _CaseSightings.decode(raw)
        event_id, fingerprint = str(event.envelope.event_id), content_fingerprint(event)
        removed = False
        for entries, k in ((case.ids, event_id), (case.fps, fingerprint)):
            found = entries.get(k)
            if found is not None and found.position == position:
                del entries[k]
                removed = True
        if not removed:
            return
        if case.ids or case.fps:
            newest = max(s.seen_at_ms for s in [*case.ids.values(), *case.fps.values()])
            self.store.put(key, case.encode(newest, self.window_ms))
        else:
            self.store.delete(key)
