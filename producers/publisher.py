"""What a force system uses to publish case-file events to the exchange.

An idempotent Kafka producer (``enable_idempotence``, ``acks=all``) writes each event to the
force's own ingest topic, keyed by case URN so one case stays in one partition and in order,
with CloudEvents headers so other tools can route without decoding Avro.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from schemas.cloudevents import Headers, force_source, to_kafka
from schemas.codec import Codec
from schemas.models import CaseEvent


class Publisher:
    """Publishes one force's events; construct with the force's topic and client settings."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        codec: Codec | None = None,
        **client: Any,
    ) -> None:
        self.topic = topic
        self.codec = codec or Codec()
        settings: dict[str, Any] = {"linger_ms": 5, **client}
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            max_in_flight_requests_per_connection=5,
            **settings,
        )

    def encode(self, event: CaseEvent) -> tuple[bytes, bytes, Headers]:
        """Key, value and headers for ``event``, as they go on the wire."""
        env = event.envelope
        value, headers = to_kafka(
            self.codec,
            event,
            id=str(env.event_id),
            source=force_source(env.force, env.system),
            subject=env.case_urn,
            time=env.occurred_at,
        )
        return env.case_urn.encode(), value, headers

    def publish(self, event: CaseEvent) -> FutureRecordMetadata:
        key, value, headers = self.encode(event)
        return self.send_raw(key, value, headers)

    def send_raw(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> FutureRecordMetadata:
        """Send bytes as they are: for resends of exact bytes, and for hostile-input tests."""
        return self.producer.send(self.topic, key=key, value=value, headers=list(headers))

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def close(self) -> None:
        self.producer.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
