"""Records that carry an event already encoded: the bytes of a delivery without encoding its
event once more for every recipient.

A delivery (``Delivery``, ``ResultDelivery``) embeds the whole event as a union-of-records
field. Avro encodes a record as its fields' encodings one after another, with no framing,
and a union as the branch's index (a zigzag varint) followed by the branch's encoding. So a
delivery's body is: the fields before the event, the branch index, the event's own record
body, the fields after it. The event's body is encoded once per projection (and not at all
when a recipient sees the event as it arrived, written with the newest schema: the input's
own body is reused). Only the small fields around it are encoded per recipient.

A branch is spliced only when the event's newest standalone schema is, with every named
reference inlined, identical to that branch inside the delivery's newest schema; otherwise
its body would not be what the delivery's readers expect, and ``splices`` is False for it.
``tests/unit/test_splice.py`` checks the bytes against fastavro encoding the whole record.
"""

from __future__ import annotations

import io
from typing import Any, cast

from fastavro import parse_schema, schemaless_writer

from schemas.codec import MAGIC
from schemas.store import SchemaStore, SchemaVersion


def _full(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def inline(schema: Any, named: dict[str, Any] | None = None, namespace: str = "") -> Any:
    """``schema`` with every reference to a named type replaced by its definition and every
    name made full, docs dropped: two schemas that write the same bytes compare equal."""
    named = {} if named is None else named
    if isinstance(schema, str):
        return named.get(_full(schema, namespace), schema)
    if isinstance(schema, list):
        return [inline(branch, named, namespace) for branch in schema]
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        full = _full(schema["name"], schema.get("namespace", namespace))
        inner = full.rpartition(".")[0]
        out = {k: v for k, v in schema.items() if k not in ("doc", "aliases", "namespace")}
        out["name"] = full
        if kind in ("record", "error"):
            out["fields"] = [
                {
                    **{k: v for k, v in f.items() if k not in ("doc", "aliases")},
                    "type": inline(f["type"], named, inner),
                }
                for f in schema["fields"]
            ]
        named[full] = out
        return out
    if kind == "array":
        return {**schema, "items": inline(schema["items"], named, namespace)}
    if kind == "map":
        return {**schema, "values": inline(schema["values"], named, namespace)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": inline(kind, named, namespace)}
    return schema


def _zigzag(n: int) -> bytes:
    """Avro's ``int`` encoding (zigzag, then base-128 varint)."""
    value = (n << 1) ^ (n >> 63)
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _record(name: str, fields: list[Any]) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": fields}


class SplicedWriter:
    """Encodes the newest version of ``outer`` given its ``field`` (a record, or a union of
    records) as a record body already encoded."""

    def __init__(self, store: SchemaStore, outer: str, field: str = "event") -> None:
        self.version: SchemaVersion = store.latest(outer)
        fields = self.version.schema["fields"]
        at = next(i for i, f in enumerate(fields) if f["name"] == field)
        branches = fields[at]["type"]
        # Named types appear defined at their first use: the head defines its own; the tail
        # may refer to any defined before it.
        before: dict[str, Any] = {}
        parse_schema(_record(f"{outer}__before", fields[: at + 1]), named_schemas=before)
        self._head = parse_schema(_record(f"{outer}__head", fields[:at]), named_schemas={})
        self._tail = parse_schema(
            _record(f"{outer}__tail", fields[at + 1 :]), named_schemas=dict(before)
        )
        expanded = inline(self.version.schema)["fields"][at]["type"]
        union = isinstance(branches, list)
        self._branch: dict[str, tuple[bytes, SchemaVersion]] = {}
        for index, branch in enumerate(expanded if union else [expanded]):
            name = branch["name"]
            event = store.latest(name)
            if inline(event.schema) == branch:
                # A union's branch is preceded by its index; a plain record field by nothing.
                self._branch[name] = (_zigzag(index) if union else b"", event)

    def splices(self, event_name: str) -> bool:
        return event_name in self._branch

    def event_version(self, event_name: str) -> SchemaVersion:
        """The schema an event's body must be written with to be spliced into this record."""
        return self._branch[event_name][1]

    def encode_body(self, event_name: str, datum: dict[str, Any]) -> bytes:
        """The event's record body (no single-object header), ready to splice."""
        buffer = io.BytesIO()
        schemaless_writer(buffer, self._branch[event_name][1].parsed, datum)
        return buffer.getvalue()

    def encode(
        self, head: dict[str, Any], event_name: str, body: bytes, tail: dict[str, Any]
    ) -> bytes:
        """Single-object bytes of the whole record: ``head`` holds the fields before the
        event, ``tail`` those after it, ``body`` the event's record body."""
        index, _ = self._branch[event_name]
        buffer = io.BytesIO()
        buffer.write(MAGIC)
        buffer.write(self.version.fingerprint)
        schemaless_writer(buffer, cast(dict[str, Any], self._head), head)
        buffer.write(index)
        buffer.write(body)
        schemaless_writer(buffer, cast(dict[str, Any], self._tail), tail)
        return buffer.getvalue()
