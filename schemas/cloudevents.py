"""CloudEvents (1.0) Kafka protocol binding, binary mode: attributes as ``ce_*`` headers.

Tools outside Python can route and filter on these without decoding Avro. Written by hand
rather than through the ``cloudevents`` package because it sits on the per-record hot path
and the binding is a handful of headers; a unit test parses our headers with that package's
own Kafka binding to prove conformance.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.codec import Codec
from schemas.models import AvroRecord

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/avro"
EXCHANGE_SOURCE = "/cjs-exchange"

Headers = list[tuple[str, bytes]]


def force_source(force: str, system: str) -> str:
    """The ``source`` of a force system's events."""
    return f"/cjs/forces/{force}/systems/{system}"


def court_source(publisher: str, system: str) -> str:
    """The ``source`` of a court publisher's events (court results)."""
    return f"/cjs/courts/{publisher}/systems/{system}"


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


def to_kafka(
    codec: Codec, record: AvroRecord, *, id: str, source: str, subject: str, time: datetime
) -> tuple[bytes, Headers]:
    """A record's value and its binary-mode headers: the one way every producer of the
    exchange (forces, the worker, partners, the auditor) puts a record on the wire."""
    version = codec.writer_schema(record)
    headers = ce_headers(
        id=id,
        source=source,
        type=record.avro_name,
        subject=subject,
        time=time,
        dataschema=version.dataschema,
    )
    return codec.encode(record, version), headers
