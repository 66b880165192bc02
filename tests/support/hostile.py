"""Hostile records for the fuzz run: what a force or a partner could write with its own login.

Deterministic for a seed (a ``random.Random``, not hypothesis: a volume run wants ten thousand
cheap, reproducible records, not shrinking). Every record starts from a valid event of one of
the six event types, made by ``producers.simulator.SyntheticForce`` (synthetic people only),
and is then broken at the byte level (bit flips, truncations, insertions, deletions, trailing
bytes, wrong fingerprints and magic), at the field level (every text field at and beyond its
limit from ``schemas.limits``, huge strings, control and bidirectional characters, lists past
their limit, dates out of range), at the record level (wrong key, wrong partition, bad
headers), or replaced by raw noise. A few are valid events whose outputs cannot fit a topic.
Partners' forged acknowledgements are made separately (``forged_acks``).

Where a mutation's outcome is certain, the record names the reason code its rejection must
carry (``expect``); where it is not (a bit flip may leave a valid event), ``expect`` is None
and the fuzz run only checks that it ends with exactly one outcome.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from kafka.partitioner.default import murmur2

from producers.profiles import force_profile
from producers.simulator import SyntheticForce
from schemas.cloudevents import Headers, force_source, to_kafka
from schemas.codec import HEADER_SIZE, MAGIC, Codec
from schemas.ids import acknowledgement_id
from schemas.limits import FREE_TEXT, IDENTIFIERS, LISTS, MULTILINE
from schemas.models import (
    AvroRecord,
    CaseEvent,
    DefendantCharged,
    MgForm,
    Offence,
    Receipt,
    ReceiptStatus,
)
from schemas.models import Reason as ReasonRecord
from schemas.reasons import ReasonCode
from streams.reference import StandingData

NEEDLE = "QZXFUZZNEEDLE"
"""Part of every huge or hidden-character string and of every forged reason text: the worker's
log must never contain it (a log that quotes record content would)."""

HUGE = 240_000
"""Characters of a huge string: far past every limit, and the record still fits 1 MiB."""

INGEST_VALUE_MAX = 1_040_000
"""The largest value sent to a topic (Kafka's default limit is 1 MiB for the whole batch)."""

_DEFAULT_IDENTIFIER_LIMIT = 64  # streams/validate/text.py: a string with no row in the table
_HIDDEN = ("\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\u2069")
_LINE_BREAKS = ("\t", "\n", "\r")
_PRINTABLE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Hostile:
    """One record to publish, as the force ``force`` (to its own ingest topic)."""

    kind: str
    force: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)
    partition: int | None = None
    """An explicit partition (None: the producer's default partitioner, by key)."""
    expect: ReasonCode | None = None
    """A reason code the record's rejection must carry, when the outcome is certain."""


@dataclass(frozen=True)
class ForgedAck:
    """One record a partner writes to its own acks topic, acknowledging nothing it received."""

    kind: str
    partner: str
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (as the worker checks it)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


# -- fields of a record ----------------------------------------------------------------------


def _key_of(record: AvroRecord, name: str) -> str:
    return f"{type(record).__name__}.{name}"


def text_fields(record: AvroRecord, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path in the Avro datum, ``Record.field`` limit key) of every string of ``record``."""
    for name in type(record).model_fields:
        value = getattr(record, name)
        key = _key_of(record, name)
        if value is None or isinstance(value, Enum):
            continue
        if isinstance(value, str):
            yield (*path, name), key
        elif isinstance(value, AvroRecord):
            yield from text_fields(value, (*path, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, AvroRecord):
                    yield from text_fields(item, (*path, name, i))
                elif isinstance(item, str) and not isinstance(item, Enum):
                    yield (*path, name, i), f"{key}[]"


def list_fields(record: AvroRecord, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """(path, limit key) of every list of ``record`` that ``schemas.limits.LISTS`` caps."""
    for name in type(record).model_fields:
        value = getattr(record, name)
        key = _key_of(record, name)
        if isinstance(value, list):
            if key in LISTS:
                yield (*path, name), key
            for i, item in enumerate(value):
                if isinstance(item, AvroRecord):
                    yield from list_fields(item, (*path, name, i))
        elif isinstance(value, AvroRecord):
            yield from list_fields(value, (*path, name))


def date_fields(record: AvroRecord, path: Path = ()) -> Iterator[tuple[Path, bool]]:
    """(path, is a timestamp) of every date and time of ``record``."""
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, datetime):
            yield (*path, name), True
        elif isinstance(value, date):
            yield (*path, name), False
        elif isinstance(value, AvroRecord):
            yield from date_fields(value, (*path, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, AvroRecord):
                    yield from date_fields(item, (*path, name, i))


def text_limit(key: str) -> int:
    return FREE_TEXT.get(key) or IDENTIFIERS.get(key) or _DEFAULT_IDENTIFIER_LIMIT


def _get(datum: Any, path: Path) -> Any:
    for step in path:
        datum = datum[step]
    return datum


def _set(datum: Any, path: Path, value: Any) -> None:
    _get(datum, path[:-1])[path[-1]] = value


# -- the generator -----------------------------------------------------------------------------


class HostileForce:
    """Hostile records of one force, from valid events its synthetic twin makes."""

    def __init__(self, force: str, *, seed: int, partitions: int, codec: Codec) -> None:
        self.force = force
        self.rng = random.Random(seed)
        start = datetime.now(UTC) - timedelta(seconds=5)
        self.sim = SyntheticForce(
            force_profile(StandingData.load(), force), seed=seed, clock=lambda: start
        )
        self.partitions = partitions
        self.codec = codec
        self.event_types: set[str] = set()

    # -- valid events -------------------------------------------------------------------------

    def _fresh_id(self, event: CaseEvent) -> CaseEvent:
        """The same event with an event id drawn from the seed (the simulator's are random)."""
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        envelope = event.envelope.model_copy(update={"event_id": event_id})
        return event.model_copy(update={"envelope": envelope})

    def valid_event(self, kind: int | None = None) -> CaseEvent:
        """A valid event of a new case (sequence 1, so it is never held for ordering); event
        types in turn, so a run covers all six."""
        sim = self.sim
        makers: list[Callable[[], CaseEvent]] = [
            lambda: sim.pre_charge(sim.new_case()),
            lambda: sim.charge(sim.new_case(), advised=self.rng.random() < 0.5),
            lambda: sim.documents(sim.new_case(), [MgForm.MG5, MgForm.MG11, MgForm.MG6D]),
            lambda: sim.remand_change(sim.new_case()),
            lambda: sim.amend(sim.new_case()),
            lambda: sim.discontinue(sim.new_case()),
        ]
        choice = self.rng.randrange(len(makers)) if kind is None else kind % len(makers)
        event = self._fresh_id(makers[choice]())
        self.event_types.add(event.avro_name)
        return event

    def encode(self, event: CaseEvent) -> tuple[bytes, bytes, Headers]:
        """Key, value and headers exactly as the force's publisher writes them."""
        env = event.envelope
        value, headers = to_kafka(
            self.codec,
            event,
            id=str(env.event_id),
            source=force_source(env.force, env.system),
            subject=env.case_urn,
            time=env.occurred_at,
        )
        return env.case_urn.encode("utf-8", "surrogatepass"), value, headers

    def _record(
        self,
        kind: str,
        event: CaseEvent,
        expect: ReasonCode | None = None,
    ) -> Hostile:
        key, value, headers = self.encode(event)
        return Hostile(kind, self.force, key, value, headers, expect=expect)

    # -- byte-level mutations of a valid record ---------------------------------------------------

    def byte_mutations(self, base: Hostile, count: int) -> list[Hostile]:
        """``count`` byte-level mutations of ``base`` (a valid record already published)."""
        rng, value = self.rng, base.value
        out: list[Hostile] = []
        for _ in range(count):
            kind = rng.choice(
                (
                    "bit-flip",
                    "bit-flip",
                    "bit-flip",
                    "byte-set",
                    "truncation",
                    "insertion",
                    "deletion",
                    "trailing-bytes",
                    "wrong-fingerprint",
                    "other-schema-fingerprint",
                    "bad-magic",
                    "header-mismatch",
                    "exact-resend",
                )
            )
            data = bytearray(value)
            expect: ReasonCode | None = None
            headers = list(base.headers)
            match kind:
                case "bit-flip":
                    for _ in range(rng.randint(1, 4)):
                        i = rng.randrange(len(data))
                        data[i] ^= 1 << rng.randrange(8)
                case "byte-set":
                    data[rng.randrange(len(data))] = rng.randrange(256)
                case "truncation":
                    del data[rng.randrange(len(data)) :]
                case "insertion":
                    i = rng.randrange(len(data) + 1)
                    data[i:i] = rng.randbytes(rng.randint(1, 16))
                case "deletion":
                    i = rng.randrange(HEADER_SIZE, len(data))
                    del data[i : i + rng.randint(1, 8)]
                case "trailing-bytes":
                    data += rng.randbytes(rng.randint(1, 64))
                    expect = ReasonCode.TRAILING_BYTES
                case "wrong-fingerprint":
                    data[2:HEADER_SIZE] = rng.randbytes(8)
                    expect = ReasonCode.UNKNOWN_SCHEMA
                case "other-schema-fingerprint":
                    name = rng.choice(sorted(self.codec.models))
                    data[2:HEADER_SIZE] = self.codec.store.latest(name).fingerprint
                case "bad-magic":
                    data[0:2] = rng.choice((b"\x00\x00", b"\xc3\x00", b'{"', b"\x01\xc3"))
                    expect = ReasonCode.UNDECODABLE
                case "header-mismatch":
                    name = rng.choice(("ce_id", "ce_subject", "ce_type", "ce_time", "ce_source"))
                    bad = rng.choice((b"\xff\xfe not utf-8", str(uuid.uuid4()).encode(), b""))
                    headers = [(k, bad if k == name else v) for k, v in headers]
                    expect = ReasonCode.HEADER_MISMATCH
                case "exact-resend":
                    pass  # the same bytes again: a duplicate of the published original
            out.append(Hostile(kind, self.force, base.key, bytes(data), headers, expect=expect))
        return out

    # -- field-level mutations of a fresh valid event ---------------------------------------------

    def _rebuild(self, event: CaseEvent, change: Callable[[dict[str, Any]], None]) -> CaseEvent:
        """``event`` with ``change`` applied to its datum (pydantic checks types, not limits)."""
        datum = event.to_avro()
        change(datum)
        return type(event).model_validate(datum)

    def text_mutation(self) -> Hostile:
        """A fresh valid event with one string at, or beyond, its limit, huge, or hiding a
        control or bidirectional character."""
        rng = self.rng
        event = self.valid_event()
        path, key = rng.choice(list(text_fields(event)))
        limit = text_limit(key)
        original: str = _get(event.to_avro(), path)
        how = rng.choice(("at-limit", "beyond-limit", "far-beyond", "huge", "hidden", "blank"))
        if key == "Envelope.force" and how in ("huge", "far-beyond"):
            how = "beyond-limit"  # the force code is also the receipts topic: kept short
        expect: ReasonCode | None = None
        if how == "at-limit":
            value = (original + "x" * limit)[:limit] if original.strip() else "x" * limit
        elif how == "beyond-limit":
            value = (original + "x" * (limit + 1))[: limit + 1]
            expect = ReasonCode.TEXT_TOO_LONG
        elif how == "far-beyond":
            value = (original + " " + NEEDLE) * (limit // (len(original) + 14) + 2)
            expect = ReasonCode.TEXT_TOO_LONG
        elif how == "huge":
            value = (NEEDLE + " ") * (HUGE // (len(NEEDLE) + 1))
            expect = ReasonCode.TEXT_TOO_LONG
        elif how == "hidden":
            pool = _HIDDEN if key in MULTILINE else _HIDDEN + _LINE_BREAKS
            at = rng.randrange(len(original) + 1)
            value = (original[:at] + rng.choice(pool) + original[at:])[:limit]
            if value == original[:limit] or not any(c in value for c in pool):
                value = rng.choice(pool) + original[: limit - 1]
            expect = ReasonCode.TEXT_CHARACTERS_INVALID
        else:
            value = " " * rng.randint(0, 3)
            expect = ReasonCode.TEXT_EMPTY if key in FREE_TEXT else None
        mutated = self._rebuild(event, lambda d: _set(d, path, value))
        return self._record(f"text-{how}", mutated, expect)

    def list_mutation(self) -> Hostile:
        """A fresh valid event with a capped list at, or one beyond, its limit."""
        rng = self.rng
        event = self.valid_event(kind=rng.choice((0, 1, 2, 3, 4, 5)))
        lists = list(list_fields(event))
        if not lists:
            return self.text_mutation()
        path, key = rng.choice(lists)
        limit = LISTS[key]
        beyond = rng.random() < 0.6
        n = limit + 1 if beyond else limit

        def grow(datum: dict[str, Any]) -> None:
            items: list[Any] = _get(datum, path)
            if items and isinstance(items[0], dict):
                first = items[0]
                grown = []
                for i in range(n):
                    item = dict(first)
                    if "sequence" in item:
                        item["sequence"] = i + 1
                    if "wording" in item:
                        item["wording"] = f"{item['wording']} ({i + 1})"
                    if "document_id" in item:
                        item["document_id"] = uuid.UUID(int=rng.getrandbits(128), version=4)
                    grown.append(item)
                _set(datum, path, grown)
            elif key.endswith("offence_sequences"):
                _set(datum, path, list(range(1, n + 1)))
            else:
                _set(datum, path, [f"Condition {i + 1} (synthetic)" for i in range(n)])

        mutated = self._rebuild(event, grow)
        expect = ReasonCode.TOO_MANY_ITEMS if beyond else None
        return self._record(f"list-{'beyond' if beyond else 'at'}-limit", mutated, expect)

    def date_mutation(self) -> Hostile:
        """A fresh valid event with one date or time at the calendar's edges (year 1, the
        day before 1900, year 9999)."""
        rng = self.rng
        event = self.valid_event()
        path, is_time = rng.choice(list(date_fields(event)))
        edge = rng.choice((date(1, 1, 1), date(1899, 12, 31), date(9999, 12, 31)))
        value: date = datetime(edge.year, edge.month, edge.day, tzinfo=UTC) if is_time else edge
        mutated = self._rebuild(event, lambda d: _set(d, path, value))
        expect = ReasonCode.DATE_OUT_OF_RANGE if edge.year < 1900 else None
        name = ".".join(str(p) for p in path if isinstance(p, str))
        return self._record(f"date-{name}-{edge.year}", mutated, expect)

    def sequence_mutation(self) -> Hostile:
        """A fresh valid event whose sequence number is not a number from 1."""
        event = self.valid_event()
        value = self.rng.choice((0, -1, -(2**63)))
        envelope = event.envelope.model_copy(update={"sequence": value})
        mutated = event.model_copy(update={"envelope": envelope})
        return self._record("sequence-invalid", mutated, ReasonCode.SEQUENCE_INVALID)

    # -- record-level ---------------------------------------------------------------------------

    def misplaced(self) -> Hostile:
        """A valid event keyed other than by its case URN, or on another partition."""
        rng = self.rng
        key, value, headers = self.encode(self.valid_event())
        how = rng.choice(("other-urn", "no-key", "empty-key", "noise-key", "wrong-partition"))
        if how == "wrong-partition":
            right = partition_of(key, self.partitions)
            wrong = (right + rng.randrange(1, self.partitions)) % self.partitions
            return Hostile(
                how,
                self.force,
                key,
                value,
                headers,
                partition=wrong,
                expect=ReasonCode.RECORD_PARTITION_MISMATCH,
            )
        new_key: bytes | None = {
            "other-urn": self.sim.new_case().urn.encode(),
            "no-key": None,
            "empty-key": b"",
            "noise-key": rng.randbytes(rng.randint(1, 40)),
        }[how]
        return Hostile(
            how, self.force, new_key, value, headers, expect=ReasonCode.RECORD_KEY_MISMATCH
        )

    def noise(self, size: int | None = None) -> Hostile:
        """Raw bytes: random, or random after a genuine header (so decoding gets further)."""
        rng = self.rng
        size = rng.choice((0, 1, 9, 10, 11, 64, 300, 4096)) if size is None else size
        data = rng.randbytes(size)
        kind = "noise"
        expect: ReasonCode | None = None
        if size >= HEADER_SIZE and rng.random() < 0.5:
            name = rng.choice(sorted(self.codec.models))
            data = MAGIC + self.codec.store.latest(name).fingerprint + data[HEADER_SIZE:]
            kind = "noise-after-header"
        elif size < HEADER_SIZE or data[:2] != MAGIC:
            expect = ReasonCode.UNDECODABLE
        key = rng.choice((None, b"", rng.randbytes(12)))
        return Hostile(
            kind if size < 100_000 else "noise-huge", self.force, key, data, [], expect=expect
        )

    def oversized(self) -> Hostile:
        """A valid charge just under 1 MiB: it fits the ingest topic, but its deliveries
        (the event plus its enrichment) do not fit theirs."""
        event = self.valid_event(kind=1)
        assert isinstance(event, DefendantCharged)
        codes = self.sim.profile.offences
        day = event.offences[0].offence_date
        count = 500  # the list's limit
        filler = "Particulars of a synthetic offence, repeated to make a large record. "
        wording_len = (INGEST_VALUE_MAX - 20_000) // count
        offences = [
            Offence(
                sequence=i + 1,
                code=codes[i % len(codes)],
                wording=(f"Offence {i + 1}. " + filler * 60)[:wording_len],
                offence_date=day,
            )
            for i in range(count)
        ]
        mutated = event.model_copy(update={"offences": offences})
        record = self._record("oversized-output", mutated, ReasonCode.OUTPUT_TOO_LARGE)
        if len(record.value) > INGEST_VALUE_MAX:
            raise AssertionError(f"the oversized event is {len(record.value)} bytes")
        return record

    def reasons_flood(self) -> Hostile:
        """A charge with one offence listed 6,000 times: thousands of reasons, capped."""
        event = self.valid_event(kind=1)
        assert isinstance(event, DefendantCharged)
        mutated = event.model_copy(update={"offences": [event.offences[0]] * 6000})
        return self._record("reasons-flood", mutated, ReasonCode.MORE_REASONS)

    def valid(self) -> Hostile:
        return self._record("valid", self.valid_event())


def forged_acks(
    partner: str, *, seed: int, count: int, forces: list[str], codec: Codec
) -> list[ForgedAck]:
    """What a partner could write to its own acks topic without having received anything:
    acknowledgements of invented deliveries (any force, any URN, invented reasons and headers),
    other statuses, other recipients, and junk."""
    rng = random.Random(seed)
    out: list[ForgedAck] = []
    now = datetime.now(UTC)
    for i in range(count):
        kind = rng.choice(
            ("invented", "invented", "other-status", "other-recipient", "unknown-force", "junk")
        )
        if i == 0:
            kind = "junk-huge"
        if kind.startswith("junk"):
            size = INGEST_VALUE_MAX if kind == "junk-huge" else rng.choice((0, 5, 10, 200))
            out.append(ForgedAck(kind, partner, rng.randbytes(4), rng.randbytes(size)))
            continue
        urn = f"{rng.choice(forces)}AA{rng.randrange(10**5):05d}26"
        receipt = Receipt(
            receipt_id=acknowledgement_id(uuid.UUID(int=rng.getrandbits(128), version=4)),
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            case_urn=urn,
            force="99" if kind == "unknown-force" else rng.choice(forces),
            status=ReceiptStatus.ACCEPTED if kind == "other-status" else ReceiptStatus.ACKNOWLEDGED,
            reasons=[ReasonRecord(code="ACK_OK", field="", message=f"{NEEDLE} forged", hint="")],
            recipient="cps-someone-else" if kind == "other-recipient" else partner,
            issued_at=now,
            deliveries=[partner],
        )
        value, headers = to_kafka(
            codec,
            receipt,
            id=str(receipt.receipt_id),
            source=f"/cjs/partners/{partner}",
            subject=urn,
            time=now,
        )
        headers = [*headers, ("x-forged", NEEDLE.encode())]
        out.append(ForgedAck(kind, partner, urn.encode(), value, headers))
    return out


def plan_force(
    force: str, *, seed: int, records: int, partitions: int, codec: Codec
) -> list[Hostile]:
    """About ``records`` hostile records for one force, in publishing order: each valid base
    event first, then its byte mutations; field- and record-level mutations, noise and a few
    oversized outputs mixed in."""
    gen = HostileForce(force, seed=seed, partitions=partitions, codec=codec)
    out: list[Hostile] = [gen.oversized(), gen.reasons_flood(), gen.noise(INGEST_VALUE_MAX)]
    kind = 0
    while len(out) < records:
        roll = gen.rng.random()
        if roll < 0.45:
            base = gen._record("valid", gen.valid_event(kind=kind))
            kind += 1
            out.append(base)
            out += gen.byte_mutations(base, gen.rng.randint(4, 10))
        elif roll < 0.75:
            out.append(gen.text_mutation())
        elif roll < 0.80:
            out.append(gen.list_mutation())
        elif roll < 0.84:
            out.append(gen.date_mutation())
        elif roll < 0.86:
            out.append(gen.sequence_mutation())
        elif roll < 0.93:
            out.append(gen.misplaced())
        else:
            out.append(gen.noise())
    out.append(gen.oversized())
    return out
