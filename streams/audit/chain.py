"""The hash chain of the audit log: how a record is linked, and how a log is verified.

Two kinds of record share one chain: an ``AuditRecord`` per disclosure (derived from a
delivery or results record the worker wrote, :func:`disclosure_of`; it names the topic and
partition it was read from) and an ``ActionAuditRecord`` per action of a console user (from
the console-actions topic). Both carry ``sequence``, ``previous_hash``, ``hash``,
``recorded_at`` and the ``source_offset`` of their input on *its own* topic partition; a
record follows the previous record of either kind. They are two named records rather than a
union inside ``AuditRecord`` because readers of ``AuditRecord`` v1 could not read such a
union (FULL_TRANSITIVE, ``docs/adr/0004``): an old verifier meets an action record as an
unknown schema and says so, instead of misreading it as a disclosure.

Canonical content
    A record's hash covers its *canonical content*: every field except ``hash``, written as
    canonical JSON (RFC 8785 style: keys sorted, no whitespace, UTF-8, strings escaped as
    Python's ``json`` does, which matches RFC 8785 for the strings we hold), with timestamps as
    integer milliseconds since the Unix epoch (exactly the Avro ``timestamp-millis`` value) and
    UUIDs in their lower-case hyphenated form. There are no floats, so number formatting
    cannot differ between implementations.

    Why JSON and not the record's Avro bytes: the hash must mean the same thing for as long
    as the log is kept (forever). The Avro encoding of a record depends on the schema version
    it is written with, so a compatible schema change would alter the bytes of old records
    re-encoded by a new reader and make an intact log look broken. The JSON form depends only
    on :data:`CANONICAL_FIELDS` and can be recomputed by an examiner with any JSON library and
    ``sha256sum`` from the recipe in ``docs/audit.md``. Adding a field to ``AuditRecord`` fails a
    unit test until someone decides whether (and from which sequence) it is hashed.

    ``source_topic`` and ``source_partition`` (``AuditRecord`` v2) are hashed in every record
    where either differs from its default, which is every record the auditor writes since
    disclosures are derived from the delivery records; a record of version 1 (from the
    retired disclosures topic: no topic, partition 0) is hashed without them, exactly as it
    was written, so a log begun before the change still verifies.

Link
    ``hash = sha256_hex(previous_hash + canonical_content)`` with ``previous_hash`` of the
    first record 64 zeros. Changing a record changes its hash; removing or reordering one
    leaves a ``previous_hash`` that names no neighbour.

Wire bytes
    :func:`verify_encoded` checks the log as stored: a value that does not decode is a break,
    and so is one that decodes but is not the codec's encoding of what it decodes to (a byte
    changed in a way the decoder tolerates), so no change to any stored byte goes unseen.

Writer
    Given the auditor's public key, :func:`verify_encoded` also checks that each intact
    record was signed by the auditor (:mod:`streams.audit.signing`). A record that is intact
    in itself but not signed is *foreign*: someone else (the ``admin`` super user) wrote it.
    It is reported at its own position and left out of the chain, so the genuine records
    around it still verify (the auditor chains on from its own head, never from a foreign
    record), and the log is not ``ok``.

Noted head
    A head noted earlier (``expect_head``) is checked wherever it falls: the genuine record
    with that sequence must be in the log with exactly that hash, however long the log has
    grown since. A log rewritten at or before it (a record dropped or changed and the chain
    recomputed from there) is ``rewritten`` at that record; a log that ends before it is
    ``truncated``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, overload
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.codec import Codec, CodecError
from schemas.models import (
    ActionAuditRecord,
    AuditRecord,
    ConsoleAction,
    Delivery,
    Disclosure,
    ResultDelivery,
)
from schemas.reasons import ReasonCode
from streams.audit.signing import StoredRecord, signed_by

GENESIS_HASH = "0" * 64
"""``previous_hash`` of the first record."""

CANONICAL_FIELDS: tuple[str, ...] = (
    "sequence",
    "disclosure",
    "source_offset",
    "recorded_at",
    "previous_hash",
    "source_topic",
    "source_partition",
)
"""The ``AuditRecord`` fields the hash covers (all but ``hash``); a test guards the list."""

_SOURCE_FIELDS = ("source_topic", "source_partition")
"""Hashed only in records that have a source topic (not in those of version 1)."""

ACTION_CANONICAL_FIELDS: tuple[str, ...] = (
    "sequence",
    "action",
    "source_offset",
    "recorded_at",
    "previous_hash",
)
"""The ``ActionAuditRecord`` fields the hash covers (all but ``hash``); a test guards it."""

ChainRecord = AuditRecord | ActionAuditRecord
"""A link of the chain, of either kind."""

ChainEntry = Disclosure | ConsoleAction
"""What a link records."""


class Source(StrEnum):
    """Where a link's input came from: each source's offsets increase along the chain."""

    DISCLOSURES = "disclosures"
    CONSOLE_ACTIONS = "console_actions"


SourceKey = tuple[Source, str, int]
"""Where a link's input was read: its kind, topic and partition. Console actions have one
topic of one partition (the key's topic is empty); disclosures come from every partition of
every delivery and results topic, and a record of version 1 from the retired disclosures
topic (empty topic, partition 0)."""


def source_of(record: ChainRecord | ChainEntry) -> Source:
    """The kind of input a link (or an input record) records."""
    if isinstance(record, AuditRecord | Disclosure):
        return Source.DISCLOSURES
    return Source.CONSOLE_ACTIONS


def source_key(record: ChainRecord) -> SourceKey:
    """The topic partition a link's ``source_offset`` is an offset of: offsets increase
    along the chain per key."""
    if isinstance(record, AuditRecord):
        return Source.DISCLOSURES, record.source_topic, record.source_partition
    return Source.CONSOLE_ACTIONS, "", 0


def _describe(key: SourceKey) -> str:
    kind, topic, partition = key
    return f"{topic} partition {partition}" if topic else kind.value


def _fields_of(record: ChainRecord) -> tuple[str, ...]:
    if not isinstance(record, AuditRecord):
        return ACTION_CANONICAL_FIELDS
    if record.source_topic or record.source_partition:
        return CANONICAL_FIELDS
    # The form of version 1, which has neither: only its defaults may be left out.
    return tuple(f for f in CANONICAL_FIELDS if f not in _SOURCE_FIELDS)


def disclosure_of(codec: Codec, value: bytes) -> Disclosure:
    """The disclosure a delivery or results record *is*, read from its bytes as stored.

    Every fact comes from the record the recipient receives: the payload hash is of these
    very bytes, purpose, legal basis and policy version are those the worker applied (of
    the policy version then in force, not today's file), who delivered and when. A record
    that is not a delivery, or one of version 1 (it does not say why), raises ``CodecError``:
    the auditor stops rather than chain a disclosure without its reasons.
    """
    record = codec.decode(value)
    if not isinstance(record, Delivery | ResultDelivery):
        raise CodecError(
            ReasonCode.NOT_AN_EVENT, f"{record.avro_name} is not a delivery the worker made"
        )
    if not (record.purpose and record.legal_basis and record.delivered_by):
        raise CodecError(
            ReasonCode.NOT_AN_EVENT,
            f"the {record.avro_name} does not say why, on what basis or by whom it was "
            "disclosed (a record of version 1)",
        )
    env = record.event.envelope
    return Disclosure(
        delivery_id=record.delivery_id,
        event_id=env.event_id,
        case_urn=env.case_urn,
        event_type=record.event.avro_name,
        force=env.force,
        recipient=record.recipient,
        purpose=record.purpose,
        legal_basis=record.legal_basis,
        policy_version=record.policy_version,
        payload_sha256=hashlib.sha256(value).hexdigest(),
        disclosed_at=record.delivered_at,
        disclosed_by=record.delivered_by,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _plain(value: Any) -> Any:
    """Values as canonical JSON holds them: datetimes as epoch millis, UUIDs as text."""
    if isinstance(value, datetime):
        return (value - _EPOCH) // _MILLISECOND
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_content(record: ChainRecord) -> bytes:
    """The bytes the record's hash covers: canonical JSON of every field but ``hash``.

    The two kinds cannot be confused: one holds a ``disclosure`` key, the other ``action``.
    """
    data = _plain(record.model_dump(mode="python", include=set(_fields_of(record))))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def record_hash(record: ChainRecord) -> str:
    """What ``record.hash`` must be, given its ``previous_hash`` and content."""
    digest = hashlib.sha256(record.previous_hash.encode("utf-8"))
    digest.update(canonical_content(record))
    return digest.hexdigest()


@overload
def link(
    previous: ChainRecord | None,
    entry: Disclosure,
    source_offset: int,
    recorded_at: datetime,
    *,
    source_topic: str = "",
    source_partition: int = 0,
) -> AuditRecord: ...


@overload
def link(
    previous: ChainRecord | None, entry: ConsoleAction, source_offset: int, recorded_at: datetime
) -> ActionAuditRecord: ...


def link(
    previous: ChainRecord | None,
    entry: ChainEntry,
    source_offset: int,
    recorded_at: datetime,
    *,
    source_topic: str = "",
    source_partition: int = 0,
) -> ChainRecord:
    """The record that chains ``entry`` (a disclosure or a console action) after ``previous``
    (``None``: the first), whichever kind ``previous`` is.

    A disclosure names the delivery or results topic partition it was read from
    (``source_topic``, ``source_partition``); without them it is linked in the form of
    version 1, as read from the retired disclosures topic.
    """
    common: dict[str, Any] = {
        "sequence": previous.sequence + 1 if previous is not None else 1,
        "source_offset": source_offset,
        "recorded_at": recorded_at,
        "previous_hash": previous.hash if previous is not None else GENESIS_HASH,
        "hash": "",
    }
    unsealed: ChainRecord = (
        AuditRecord(
            disclosure=entry,
            source_topic=source_topic,
            source_partition=source_partition,
            **common,
        )
        if isinstance(entry, Disclosure)
        else ActionAuditRecord(action=entry, **common)
    )
    return unsealed.model_copy(update={"hash": record_hash(unsealed)})


def decode_link(codec: Codec, value: bytes) -> ChainRecord:
    """Stored bytes as a link of either kind; ``CodecError`` for anything else."""
    record = codec.decode(value)
    if not isinstance(record, AuditRecord | ActionAuditRecord):
        raise CodecError(
            ReasonCode.NOT_AN_EVENT, f"{record.avro_name} is not a record of the audit log"
        )
    return record


class BreakKind(StrEnum):
    """Why a link is broken, in words an operator can act on."""

    UNDECODABLE = "undecodable"
    """The stored bytes are not a record of the log: the record was altered (or is not
    ours)."""
    ALTERED = "altered"
    """The record's hash does not match its content, or its bytes are not their encoding."""
    REMOVED_OR_REORDERED = "removed_or_reordered"
    """``previous_hash`` or ``sequence`` do not follow the record before: one is missing or
    out of place."""
    SOURCE_NOT_INCREASING = "source_offset_not_increasing"
    """The input's offset is not after that of the previous record from the same source
    (disclosures or console actions): chained twice or out of order."""
    TRUNCATED = "truncated"
    """The log ends before the head the caller expected: records at the end were removed."""
    REWRITTEN = "rewritten"
    """The record at the expected head's sequence has another hash: the log was rewritten at
    or before it."""
    FOREIGN = "foreign"
    """An intact record the auditor did not sign: written by someone else."""


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link: where (0-based position in the log as read) and why."""

    position: int
    sequence: int | None
    """The sequence the record claims (``None`` if it does not decode)."""
    expected_sequence: int
    kind: BreakKind
    detail: str

    def to_json(self) -> dict[str, object]:
        return {
            "position": self.position,
            "sequence": self.sequence,
            "expected_sequence": self.expected_sequence,
            "kind": self.kind.value,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Head:
    """The last record of a log: what an operator can note down to detect truncation later."""

    sequence: int
    hash: str
    source_offset: int
    source: Source = Source.DISCLOSURES
    """The kind of input ``source_offset`` is an offset of."""
    source_topic: str = ""
    """For a disclosure: the delivery or results topic it was read from (empty in records of
    version 1 and for console actions)."""
    source_partition: int = 0


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``records`` counts every record read; only those before ``first_break`` are trusted."""

    records: int
    first_break: Break | None
    head: Head | None
    """The last record checked intact (``None`` for an empty log or a break at position 0)."""
    foreign: tuple[Break, ...] = ()
    """Records the auditor did not write (kind ``foreign``), each at its own position; only
    found when the auditor's public key is given."""

    @property
    def ok(self) -> bool:
        return self.first_break is None and not self.foreign

    def to_json(self) -> dict[str, object]:
        return {
            "records": self.records,
            "ok": self.ok,
            "first_break": self.first_break.to_json() if self.first_break else None,
            "foreign": [f.to_json() for f in self.foreign],
            "head": (
                {
                    "sequence": self.head.sequence,
                    "hash": self.head.hash,
                    "source": self.head.source.value,
                    "source_offset": self.head.source_offset,
                    **(
                        {
                            "source_topic": self.head.source_topic,
                            "source_partition": self.head.source_partition,
                        }
                        if self.head.source_topic
                        else {}
                    ),
                }
                if self.head
                else None
            ),
        }


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """Stands in the record stream for stored bytes that are not exactly one AuditRecord."""

    kind: BreakKind
    reason: str


def _check(
    record: ChainRecord, previous: ChainRecord | None, last_offset: int | None
) -> tuple[BreakKind, str] | None:
    """Why ``record`` does not follow ``previous``, or ``None`` if it does; ``last_offset`` is
    the source offset of the last record from the same source (``None``: none yet)."""
    if record_hash(record) != record.hash:
        return BreakKind.ALTERED, _ALTERED_DETAIL
    expected_previous = previous.hash if previous is not None else GENESIS_HASH
    if record.previous_hash != expected_previous:
        before = (
            f"the record before it (sequence {previous.sequence})"
            if previous is not None
            else "the genesis value (64 zeros)"
        )
        return BreakKind.REMOVED_OR_REORDERED, f"previous_hash is not the hash of {before}"
    expected_sequence = previous.sequence + 1 if previous is not None else 1
    if record.sequence != expected_sequence:
        return (
            BreakKind.REMOVED_OR_REORDERED,
            f"sequence {record.sequence} where {expected_sequence} was due",
        )
    if last_offset is not None and record.source_offset <= last_offset:
        return (
            BreakKind.SOURCE_NOT_INCREASING,
            f"{_describe(source_key(record))} offset {record.source_offset} is not after "
            f"{last_offset}",
        )
    return None


def _verify(
    items: Iterable[tuple[ChainRecord | _Unreadable, bytes | None]],
    expect_head: Head | None = None,
    writer: Ed25519PublicKey | None = None,
) -> VerifyResult:
    count = 0
    previous: ChainRecord | None = None
    last_offsets: dict[SourceKey, int] = {}
    """Per source topic partition, the input offset of the last record chained from it."""
    first_break: Break | None = None
    foreign: list[Break] = []
    noted_found = False
    replaced: Break | None = None
    """A foreign record in the noted head's place, with another hash."""
    for position, (item, signature) in enumerate(items):
        count += 1
        if first_break is not None:
            continue  # keep counting: the total tells the operator how much is untrusted
        expected = previous.sequence + 1 if previous is not None else 1
        if isinstance(item, _Unreadable):
            first_break = Break(position, None, expected, item.kind, item.reason)
            continue
        if record_hash(item) != item.hash:
            first_break = Break(
                position, item.sequence, expected, BreakKind.ALTERED, _ALTERED_DETAIL
            )
            continue
        if writer is not None and not signed_by(writer, item.hash, signature):
            detail = (
                "no auditor's signature"
                if signature is None
                else "the signature is not the auditor's"
            )
            foreign.append(
                Break(
                    position,
                    item.sequence,
                    expected,
                    BreakKind.FOREIGN,
                    f"{detail}: the record was written by someone else",
                )
            )
            if (
                replaced is None
                and expect_head is not None
                and item.sequence == expect_head.sequence
                and item.hash != expect_head.hash
            ):
                replaced = _rewritten(position, item, expected, expect_head)
            continue  # not part of the chain: the auditor never chains after it
        problem = _check(item, previous, last_offsets.get(source_key(item)))
        if problem is not None:
            first_break = Break(position, item.sequence, expected, *problem)
            continue
        if expect_head is not None and item.sequence == expect_head.sequence:
            noted_found = True
            if item.hash != expect_head.hash:
                first_break = _rewritten(position, item, expected, expect_head)
                continue
        previous = item
        last_offsets[source_key(item)] = item.source_offset
    head = _head(previous) if previous is not None else None
    if (
        not noted_found
        and replaced is not None
        and (first_break is None or replaced.position < first_break.position)
    ):
        first_break = replaced
    if first_break is None and expect_head is not None and not noted_found:
        last = head.sequence if head is not None else 0
        first_break = Break(
            count,
            None,
            last + 1,
            BreakKind.TRUNCATED,
            f"the log ends at sequence {last}, before the expected head "
            f"{expect_head.sequence} with hash {expect_head.hash}",
        )
    return VerifyResult(count, first_break, head, tuple(foreign))


_ALTERED_DETAIL = "the record's hash does not match its content"


def _head(record: ChainRecord) -> Head:
    _, topic, partition = source_key(record)
    return Head(
        record.sequence, record.hash, record.source_offset, source_of(record), topic, partition
    )


def _rewritten(position: int, record: ChainRecord, expected: int, noted: Head) -> Break:
    return Break(
        position,
        record.sequence,
        expected,
        BreakKind.REWRITTEN,
        f"sequence {record.sequence} has hash {record.hash}, not the noted "
        f"{noted.hash}: the log was rewritten at or before it",
    )


def verify(records: Iterable[ChainRecord], *, expect_head: Head | None = None) -> VerifyResult:
    """Check a log of decoded records, oldest first; report the first broken link.

    Removing the *last* records leaves a shorter, valid chain: only a head noted earlier
    (``expect_head``, e.g. from a previous verification) reveals it. The noted head is checked
    wherever it falls: a log that has grown past it must still hold that record with that
    hash. Decoded records carry no signatures: who wrote them is checked by
    :func:`verify_encoded` with the auditor's public key.
    """
    return _verify(((r, None) for r in records), expect_head)


def _decode_log(
    values: Iterable[bytes | StoredRecord], codec: Codec
) -> Iterator[tuple[ChainRecord | _Unreadable, bytes | None]]:
    """Stored values as records (with their signatures), a stand-in for any that are not
    exactly one.

    Only the error's code is kept: a decoder's message could quote the stored bytes.
    """
    for stored in values:
        value, signature = (
            (stored.value, stored.signature) if isinstance(stored, StoredRecord) else (stored, None)
        )
        try:
            record = decode_link(codec, value)
        except CodecError as error:
            yield (
                _Unreadable(
                    BreakKind.UNDECODABLE,
                    f"{error.code.value}: the stored bytes are not a record of the audit log",
                ),
                signature,
            )
            continue
        latest = codec.writer_schema(record).fingerprint
        if codec.writer_of(value).fingerprint == latest and codec.encode(record) != value:
            yield (
                _Unreadable(
                    BreakKind.ALTERED,
                    "the stored bytes are not the encoding of what they decode to",
                ),
                signature,
            )
            continue
        yield record, signature


def verify_encoded(
    values: Iterable[bytes | StoredRecord],
    codec: Codec | None = None,
    *,
    expect_head: Head | None = None,
    writer: Ed25519PublicKey | None = None,
) -> VerifyResult:
    """Check a log as stored (raw record values, oldest first): the tamper-evidence check.

    With ``writer`` (the auditor's public key) every record must also carry the auditor's
    signature; records that do not are reported as ``foreign`` (values given as plain bytes
    carry none). Without it, who wrote the records is not checked.
    """
    return _verify(_decode_log(values, codec or Codec()), expect_head, writer)
