"""A consumed Kafka record as the stages see it: bytes plus where they came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record from an ingest topic. ``position`` identifies it across replays."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def position(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @classmethod
    def of(cls, message: Any) -> SourceRecord:
        """A consumed record from Faust (headers as a mapping or pairs) or kafka-python."""
        raw = message.headers or ()
        # Kafka clients give header keys as str already: pairs are copied as they are (a
        # per-header conversion showed in the worker's profile).
        headers = tuple(raw.items()) if isinstance(raw, dict) else tuple(map(tuple, raw))
        return cls(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value if message.value is not None else b"",
            headers=headers,
        )
