"""The envelope every case-file event carries."""

from __future__ import annotations

from uuid import UUID

from schemas.models.base import AvroRecord, Int64, Millis


class Envelope(AvroRecord):
    event_id: UUID
    case_urn: str
    sequence: Int64
    force: str
    system: str
    occurred_at: Millis
    published_at: Millis
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
