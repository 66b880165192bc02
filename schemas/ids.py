"""Ids the exchange derives, shared by the worker and the SDKs.

Records the exchange writes carry ids derived from what they are about, so a record written
again after a restart has the id it had the first time and sinks drop the repeat. A delivery
id is keyed with a secret only the exchange holds: a partner can name a delivery only by
having received it, so its acknowledgement proves receipt (a forged one cannot match).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from uuid import UUID

_IDS = uuid.UUID("8f0b6a52-2f3c-4b55-9d7e-0c6a4c1f2e10")
_ACK_IDS = uuid.UUID("b1d7e0a4-5c1e-4f8e-9a57-3f1d0c2a6b90")


def derived_id(*parts: object) -> UUID:
    """A stable id for a record the exchange derives from an event."""
    return uuid.uuid5(_IDS, "/".join(str(p) for p in parts))


def acknowledgement_id(delivery_id: UUID) -> UUID:
    """The receipt id of a partner's acknowledgement of ``delivery_id`` (partner SDK and
    worker compute the same, so the force's receipt is the same however often it is sent)."""
    return uuid.uuid5(_ACK_IDS, str(delivery_id))


class DeliveryIds:
    """Delivery ids keyed with the exchange's secret (HMAC-SHA-256, shaped as a UUID v4)."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the delivery-id key must not be empty")
        self._key = key

    def of(self, event_id: UUID, recipient: str, force: str, case_urn: str) -> UUID:
        message = "\x1f".join((str(event_id), recipient, force, case_urn)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return UUID(bytes=digest[:16], version=4)
