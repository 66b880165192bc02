"""The one place bytes become models and models become bytes.

Wire format: Avro single-object encoding (``C3 01`` + 8-byte little-endian CRC-64-AVRO
fingerprint of the writer's schema + the Avro binary body), so any Avro library can decode a
record given the released schemas. fastavro does the work: it measured 7-8 times faster
than Apache avro here (bench/codec.py). Nothing else in the project touches Avro.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, TypeVar

from fastavro import schemaless_reader, schemaless_writer
from pydantic import ValidationError

from common.errors import CjsxError
from schemas.messages import plain
from schemas.models import TOP_LEVEL_TYPES, AvroRecord
from schemas.reasons import Reason, ReasonCode
from schemas.store import SchemaStore, SchemaVersion, default_store

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8

R = TypeVar("R", bound=AvroRecord)


class CodecError(CjsxError):
    """Bytes that are not a record of the contract; ``code`` says how they fail."""

    def __init__(self, code: ReasonCode, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def reason(self) -> Reason:
        """The failure as the coded reason a rejection carries."""
        return Reason.of(self.code, self.field, self.message)


class Codec:
    """Encode and decode top-level records with the released schemas."""

    def __init__(
        self,
        store: SchemaStore | None = None,
        models: Mapping[str, type[AvroRecord]] | None = None,
    ) -> None:
        self.store = store or default_store()
        self.models = dict(models or {m.avro_name: m for m in TOP_LEVEL_TYPES})

    def writer_schema(self, record: AvroRecord) -> SchemaVersion:
        return self.store.latest(record.avro_name)

    def encode(self, record: AvroRecord, version: SchemaVersion | None = None) -> bytes:
        """Single-object bytes; ``version`` saves the lookup when the caller already has it."""
        return self.encode_datum(record.to_avro(), version or self.writer_schema(record))

    def encode_datum(self, datum: Mapping[str, Any], version: SchemaVersion) -> bytes:
        """Single-object bytes of a plain datum (the hot path builds no model for its
        outputs); fastavro checks the datum's types as it writes."""
        buffer = io.BytesIO()
        buffer.write(MAGIC)
        buffer.write(version.fingerprint)
        schemaless_writer(buffer, version.parsed, datum)
        return buffer.getvalue()

    def writer_of(self, data: bytes) -> SchemaVersion:
        """The released schema a record was written with, from its header."""
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise CodecError(
                ReasonCode.UNDECODABLE,
                "not Avro single-object encoded: the value does not start with C3 01 and an "
                "8-byte schema fingerprint",
            )
        writer = self.store.by_fingerprint(bytes(data[2:HEADER_SIZE]))
        if writer is None:
            raise CodecError(
                ReasonCode.UNKNOWN_SCHEMA,
                f"schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()} is not a released schema",
            )
        return writer

    def decode_datum(self, data: bytes) -> tuple[SchemaVersion, dict[str, Any]]:
        """Decode to a plain datum in the newest version's shape (no model validation)."""
        writer = self.writer_of(data)
        reader = self.store.latest(writer.name)
        body = io.BytesIO(data[HEADER_SIZE:])
        try:
            datum = schemaless_reader(
                body,
                writer.parsed,
                reader.parsed if reader is not writer else None,
                return_record_name=True,
                return_record_name_override=True,
            )
        except Exception as error:  # fastavro raises many types on corrupt input
            # The library's text is not shown: it names its own internals, not the data.
            raise CodecError(
                ReasonCode.UNDECODABLE,
                f"the Avro body is not a {writer.name} v{writer.version} record: it is "
                "truncated or corrupt",
            ) from error
        if not isinstance(datum, dict):
            raise CodecError(ReasonCode.UNDECODABLE, "the Avro body is not a record")
        extra = len(data) - HEADER_SIZE - body.tell()
        if extra:
            raise CodecError(
                ReasonCode.TRAILING_BYTES,
                f"{extra} byte{'s' if extra != 1 else ''} follow the end of the "
                f"{writer.name} record",
            )
        return reader, datum

    def decode(self, data: bytes) -> AvroRecord:
        reader, datum = self.decode_datum(data)
        model = self.models.get(reader.name)
        if model is None:
            raise CodecError(ReasonCode.NOT_AN_EVENT, f"{reader.name} is not read here")
        try:
            return model.model_validate(datum)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            field = ".".join(str(p) for p in first["loc"])
            raise CodecError(ReasonCode.SCHEMA_VIOLATION, plain(first), field) from error

    def decode_as(self, data: bytes, model: type[R]) -> R:
        record = self.decode(data)
        if not isinstance(record, model):
            wanted = model.avro_name if model.avro_name in self.models else "a case-file event"
            raise CodecError(ReasonCode.NOT_AN_EVENT, f"{record.avro_name} is not {wanted}")
        return record
