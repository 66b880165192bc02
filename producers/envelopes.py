"""Envelopes for one force system: fresh event ids and per-case sequence numbers.

The sequence counter lives in memory here; a real force system persists it with the case (a
lost counter shows up as SEQUENCE_INVALID rejections, never as silent reordering).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from schemas.models import Envelope


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EnvelopeFactory:
    """Makes the envelope of each new event a force system publishes."""

    def __init__(self, force: str, system: str, clock: Callable[[], datetime] = _utc_now) -> None:
        self.force = force
        self.system = system
        self.clock = clock
        self._sequences: defaultdict[str, int] = defaultdict(int)

    def next(
        self,
        case_urn: str,
        *,
        occurred_at: datetime | None = None,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> Envelope:
        self._sequences[case_urn] += 1
        now = self.clock()
        return Envelope(
            event_id=uuid.uuid4(),
            case_urn=case_urn,
            sequence=self._sequences[case_urn],
            force=self.force,
            system=self.system,
            occurred_at=occurred_at or now,
            published_at=now,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
