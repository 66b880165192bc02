"""CloudEvents (1.0) Kafka protocol binding, binary mode: attributes as ``ce_*`` headers.

Tools outside Python can route and filter on these without decoding Avro. Written by hand
rather than through the ``cloudevents`` package because it sits on the per-record hot path
and the binding is a handful of headers; a unit test parses our headers with that package's
own Kafka binding to prove conformance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/avro"
EXCHANGE_SOURCE = "/cjs-exchange"

Headers = list[tuple[str, bytes]]


def force_source(force: str, system: str) -> str:
    """The ``source`` of a force system's events."""
    return f"/cjs/forces/{force}/systems/{system}"


def ce_headers(
    *,
    id: str,
    source: str,
    type: str,
    subject: str,
    time: datetime,
    dataschema: str,
) -> Headers:
    """Binary-mode headers for one record (the value is the Avro single-object bytes)."""
    stamp = time.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type.encode()),
        ("ce_subject", subject.encode()),
        ("ce_time", stamp.encode()),
        ("ce_dataschema", dataschema.encode()),
        ("content-type", CONTENT_TYPE),
    ]


def header_map(headers: Iterable[tuple[str, bytes | None]]) -> Mapping[str, str]:
    """Headers as text, for reading attributes back (later duplicates win)."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in headers}
