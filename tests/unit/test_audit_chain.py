"""The disclosure log's hash chain (streams/audit/chain.py): linking, and catching tampering."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import Codec, CodecError
from schemas.models import ActionAuditRecord, AuditRecord, ConsoleAction, Delivery, Disclosure
from schemas.reasons import ReasonCode
from schemas.store import RELEASED_DIR, SchemaStore
from streams.audit.chain import (
    ACTION_CANONICAL_FIELDS,
    CANONICAL_FIELDS,
    GENESIS_HASH,
    BreakKind,
    ChainRecord,
    Head,
    Source,
    canonical_content,
    decode_link,
    disclosure_of,
    link,
    record_hash,
    verify,
    verify_encoded,
)
from streams.audit.signing import StoredRecord, sign
from tests.support import builders

CODEC = Codec()
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
RECIPIENTS = ("cps-mersey-cheshire", "court-magistrates")


def disclosure(n: int, urn: str = "05AB1234526") -> Disclosure:
    return Disclosure(
        delivery_id=uuid.uuid5(uuid.NAMESPACE_OID, f"delivery-{n}"),
        event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"event-{n // 2}"),
        case_urn=urn,
        event_type="uk.gov.cjsx.DefendantCharged",
        force="05",
        recipient=RECIPIENTS[n % 2],
        purpose="Prosecution decision and case preparation",
        legal_basis="DPA 2018 s.35(2)(b) and Part 3; Prosecution of Offences Act 1985",
        policy_version=1,
        payload_sha256=hashlib.sha256(f"payload-{n}".encode()).hexdigest(),
        disclosed_at=T0 + timedelta(seconds=n),
        disclosed_by="exchange-worker",
    )


def chain(length: int, first_offset: int = 0) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    previous: AuditRecord | None = None
    for n in range(length):
        previous = link(
            previous, disclosure(n), first_offset + 3 * n, T0 + timedelta(seconds=n, milliseconds=7)
        )
        records.append(previous)
    return records


def encoded(records: list[AuditRecord] | list[ChainRecord]) -> list[bytes]:
    return [CODEC.encode(r) for r in records]


# -- linking ---------------------------------------------------------------------------------


def test_link_numbers_from_one_and_chains_each_hash_into_the_next() -> None:
    first, second, third = chain(3)
    assert [r.sequence for r in (first, second, third)] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH == "0" * 64
    assert second.previous_hash == first.hash
    assert third.previous_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3


def test_the_hash_is_sha256_of_previous_hash_and_canonical_json_without_the_hash() -> None:
    record = chain(2)[1]
    content = canonical_content(record)
    assert record.hash == hashlib.sha256(record.previous_hash.encode() + content).hexdigest()
    data = json.loads(content)
    assert "hash" not in data
    assert data["sequence"] == 2
    assert data["recorded_at"] == (record.recorded_at - datetime(1970, 1, 1, tzinfo=UTC)) // (
        timedelta(milliseconds=1)
    )
    assert data["disclosure"]["delivery_id"] == str(record.disclosure.delivery_id)
    # Canonical: sorted keys, no whitespace, so any implementation gets the same bytes.
    assert content == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def test_the_canonical_fields_are_every_field_but_the_hash() -> None:
    """Adding a field to AuditRecord must be a decision about the hash, not an accident."""
    assert set(CANONICAL_FIELDS) == set(AuditRecord.model_fields) - {"hash"}


def test_the_hash_survives_a_round_trip_through_the_codec() -> None:
    for record in chain(4):
        decoded = CODEC.decode_as(CODEC.encode(record), AuditRecord)
        assert decoded == record
        assert record_hash(decoded) == record.hash


PINNED_CONTENT = (
    '{"disclosure":{"case_urn":"05AB1234526","delivery_id":"83089385-d3f8-54b2-97d7-cdcf676013e4",'
    '"disclosed_at":1772357400000,"disclosed_by":"exchange-worker",'
    '"event_id":"7d37e070-493c-5833-a6bd-c1306571db7b","event_type":"uk.gov.cjsx.DefendantCharged",'
    '"force":"05","legal_basis":"DPA 2018 s.35(2)(b) and Part 3; Prosecution of Offences Act 1985",'
    '"payload_sha256":"d449acb92215ed502901c9e6f6a4dc6d28e6856fb6754892becd148dee1b3e85",'
    '"policy_version":1,"purpose":"Prosecution decision and case preparation",'
    '"recipient":"cps-mersey-cheshire"},'
    '"previous_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"recorded_at":1772357400007,"sequence":1,"source_offset":0}'
)


def test_the_canonical_form_of_a_known_record_is_pinned() -> None:
    """The canonical form is forever: a change to it would make every stored log look broken.

    This is also the worked example of the recipe in docs/audit.md.
    """
    record = chain(1)[0]
    assert canonical_content(record).decode() == PINNED_CONTENT
    expected = hashlib.sha256((GENESIS_HASH + PINNED_CONTENT).encode()).hexdigest()
    assert record.hash == expected
    assert expected == "4e802b478ed08cc336a612e4d9c1654f7f880bf09ac8d0fe422062108ba6c125"


# -- verifying -------------------------------------------------------------------------------


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    records = chain(5)
    result = verify(records)
    assert result.ok
    assert result.records == 5
    assert result.first_break is None
    assert result.head == Head(5, records[-1].hash, records[-1].source_offset)
    assert verify_encoded(encoded(records)).to_json() == result.to_json()


def test_an_empty_log_verifies() -> None:
    result = verify([])
    assert result.ok
    assert result.records == 0
    assert result.head is None


def test_an_altered_field_is_reported_at_that_record() -> None:
    records = chain(5)
    records[2] = records[2].model_copy(
        update={"disclosure": records[2].disclosure.model_copy(update={"recipient": "someone"})}
    )
    result = verify(records)
    assert not result.ok
    assert result.first_break is not None
    assert result.first_break.position == 2
    assert result.first_break.sequence == 3
    assert result.first_break.kind is BreakKind.ALTERED
    assert result.records == 5
    assert result.head is not None
    assert result.head.sequence == 2


def test_a_record_rehashed_after_alteration_breaks_the_next_link() -> None:
    """Recomputing the altered record's own hash does not help: the next one names the old."""
    records = chain(5)
    altered = records[2].model_copy(update={"source_offset": records[2].source_offset + 1})
    records[2] = altered.model_copy(update={"hash": record_hash(altered)})
    result = verify(records)
    assert result.first_break is not None
    assert result.first_break.position == 3
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED


@pytest.mark.parametrize("removed", [0, 1, 3])
def test_removing_a_record_is_reported_at_the_next(removed: int) -> None:
    records = chain(5)
    del records[removed]
    result = verify(records)
    assert result.first_break is not None
    assert result.first_break.position == removed
    assert result.first_break.sequence == removed + 2
    assert result.first_break.expected_sequence == removed + 1
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED
    assert result.records == 4


def test_removing_the_last_record_is_seen_only_against_a_noted_head() -> None:
    records = chain(5)
    noted = verify(records).head
    assert noted is not None
    assert verify(records[:-1]).ok  # a shorter chain is still a chain
    result = verify(records[:-1], expect_head=noted)
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.TRUNCATED
    assert result.first_break.position == 4
    assert verify(records, expect_head=noted).ok
    assert verify([*records, *chain(7)[5:]], expect_head=noted).ok  # grown since: fine


def test_a_swap_of_two_records_is_reported_at_the_first_out_of_place() -> None:
    records = chain(5)
    records[1], records[2] = records[2], records[1]
    result = verify(records)
    assert result.first_break is not None
    assert result.first_break.position == 1
    assert result.first_break.sequence == 3
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED


def test_a_duplicated_record_is_reported_where_it_repeats() -> None:
    records = chain(4)
    records.insert(2, records[1])
    result = verify(records)
    assert result.first_break is not None
    assert result.first_break.position == 2
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED


def test_a_sequence_gap_with_a_valid_hash_link_is_reported() -> None:
    """A forger who links correctly but skips a number is still caught."""
    first = chain(1)[0]
    skipped = link(first, disclosure(1), 10, T0).model_copy(update={"sequence": 3})
    skipped = skipped.model_copy(update={"hash": record_hash(skipped)})
    result = verify([first, skipped])
    assert result.first_break is not None
    assert result.first_break.position == 1
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED
    assert "sequence 3 where 2 was due" in result.first_break.detail


def test_source_offsets_that_do_not_increase_are_reported() -> None:
    first = chain(1)[0]
    again = link(first, disclosure(1), first.source_offset, T0)
    result = verify([first, again])
    assert result.first_break is not None
    assert result.first_break.position == 1
    assert result.first_break.kind is BreakKind.SOURCE_NOT_INCREASING


def test_undecodable_bytes_are_a_break_at_that_record() -> None:
    values = encoded(chain(4))
    values[1] = b"not an audit record"
    result = verify_encoded(values)
    assert result.first_break is not None
    assert result.first_break.position == 1
    assert result.first_break.sequence is None
    assert result.first_break.kind is BreakKind.UNDECODABLE
    assert result.records == 4


def test_bytes_appended_to_a_record_are_a_break_at_that_record() -> None:
    """The codec refuses trailing bytes (TRAILING_BYTES), so the record is unreadable there."""
    values = encoded(chain(3))
    values[2] = values[2] + b"\x00"
    with pytest.raises(CodecError) as refused:
        CODEC.decode_as(values[2], AuditRecord)
    assert refused.value.code is ReasonCode.TRAILING_BYTES
    result = verify_encoded(values)
    assert result.first_break is not None
    assert result.first_break.position == 2
    assert result.first_break.kind is BreakKind.UNDECODABLE


def test_every_single_byte_change_of_a_stored_record_is_detected_at_that_record() -> None:
    """Exhaustive over one record: each position, three different replacement bytes."""
    values = encoded(chain(3))
    target = 1
    original = values[target]
    for index in range(len(original)):
        for flip in (0x01, 0x80, 0xFF):
            changed = bytearray(original)
            changed[index] ^= flip
            tampered = [*values[:target], bytes(changed), *values[target + 1 :]]
            result = verify_encoded(tampered)
            assert result.first_break is not None, (index, flip)
            assert result.first_break.position == target, (index, flip)
            assert result.first_break.kind in (BreakKind.ALTERED, BreakKind.UNDECODABLE)


def test_the_break_reports_serialise_to_json() -> None:
    records = chain(3)
    del records[1]
    data = json.loads(json.dumps(verify(records).to_json()))
    assert data["ok"] is False
    assert data["records"] == 2
    assert data["first_break"]["position"] == 1
    assert data["first_break"]["sequence"] == 3
    assert data["first_break"]["kind"] == "removed_or_reordered"


# -- properties over chains of any length ----------------------------------------------------

lengths = st.integers(min_value=1, max_value=25)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(lengths)
def test_any_chain_the_linker_builds_verifies(length: int) -> None:
    records = chain(length)
    result = verify_encoded(encoded(records))
    assert result.ok
    assert result.records == length
    assert result.head is not None
    assert result.head.sequence == length


@PROPERTY
@given(st.data())
def test_any_single_byte_change_anywhere_is_detected_there(data: st.DataObject) -> None:
    length = data.draw(lengths)
    values = encoded(chain(length))
    target = data.draw(st.integers(0, length - 1))
    index = data.draw(st.integers(0, len(values[target]) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != values[target][index]))
    changed = bytearray(values[target])
    changed[index] = replacement
    values[target] = bytes(changed)
    result = verify_encoded(values)
    assert result.first_break is not None
    assert result.first_break.position == target
    assert result.records == length


@PROPERTY
@given(st.data())
def test_removing_any_record_but_the_last_is_detected_at_the_next(data: st.DataObject) -> None:
    length = data.draw(st.integers(2, 25))
    records = chain(length)
    removed = data.draw(st.integers(0, length - 2))
    del records[removed]
    result = verify_encoded(encoded(records))
    assert result.first_break is not None
    assert result.first_break.position == removed
    assert result.first_break.sequence == removed + 2


@PROPERTY
@given(st.data())
def test_any_reordering_is_detected_at_the_first_moved_record(data: st.DataObject) -> None:
    length = data.draw(st.integers(2, 25))
    records = chain(length)
    order = data.draw(st.permutations(range(length)).filter(lambda p: list(p) != sorted(p)))
    shuffled = [records[i] for i in order]
    first_moved = next(i for i, j in enumerate(order) if i != j)
    result = verify(shuffled)
    assert result.first_break is not None
    assert result.first_break.position == first_moved
    assert result.first_break.kind is BreakKind.REMOVED_OR_REORDERED


# -- the noted head, wherever it falls (issue 11, hole 4) --------------------------------------


def recomputed(records: list[AuditRecord], start: int) -> list[AuditRecord]:
    """What a forger with write access makes: the chain recomputed from ``start`` on."""
    out = list(records[:start])
    previous = out[-1] if out else None
    for record in records[start:]:
        previous = link(previous, record.disclosure, record.source_offset, record.recorded_at)
        out.append(previous)
    return out


def test_a_log_grown_past_the_noted_head_must_still_hold_that_record_with_that_hash() -> None:
    records = chain(6)
    noted = Head(4, records[3].hash, records[3].source_offset)
    assert verify(records, expect_head=noted).ok
    # One record before the head dropped, the chain recomputed, two records appended:
    # every link holds, and the log is longer than the head, but record 4 is not the noted one.
    forged = recomputed([*records[:1], *records[2:], *chain(8)[6:]], 1)
    assert verify(forged).ok
    result = verify(forged, expect_head=noted)
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.REWRITTEN
    assert result.first_break.position == 3
    assert result.first_break.sequence == 4


def test_a_record_changed_before_the_noted_head_and_rehashed_onward_is_rewritten() -> None:
    records = chain(5)
    noted = Head(5, records[4].hash, records[4].source_offset)
    changed = records[1].disclosure.model_copy(update={"recipient": "court-crown"})
    forged = recomputed(
        [
            records[0],
            records[1].model_copy(update={"disclosure": changed}),
            *records[2:],
            *chain(7)[5:],
        ],
        1,
    )
    result = verify(forged, expect_head=noted)
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.REWRITTEN
    assert result.first_break.position == 4


def test_a_noted_head_past_the_end_is_truncation() -> None:
    records = chain(3)
    result = verify(records, expect_head=Head(9, "a" * 64, -1))
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.TRUNCATED
    assert result.first_break.position == 3


# -- who wrote each record: the auditor's signature ---------------------------------------------

AUDITOR_KEY = Ed25519PrivateKey.generate()
WRITER = AUDITOR_KEY.public_key()


def signed(records: list[AuditRecord], key: Ed25519PrivateKey = AUDITOR_KEY) -> list[StoredRecord]:
    return [StoredRecord(CODEC.encode(r), sign(key, r.hash)) for r in records]


def test_a_signed_log_verifies_against_the_auditors_key() -> None:
    result = verify_encoded(signed(chain(4)), writer=WRITER)
    assert result.ok
    assert result.foreign == ()
    assert result.head is not None
    assert result.head.sequence == 4


def test_a_correctly_chained_record_appended_by_someone_else_is_flagged_itself() -> None:
    genuine = chain(3)
    # The admin appends a record that chains perfectly after sequence 3, without a signature;
    # the auditor, which never chains after a record it did not write, carries on from 3.
    intruder = link(genuine[-1], disclosure(40), 99, T0 + timedelta(hours=1))
    after = link(genuine[-1], disclosure(3), 9, T0 + timedelta(hours=2))
    later = link(after, disclosure(4), 12, T0 + timedelta(hours=3))
    stored = [
        *signed(genuine),
        StoredRecord(CODEC.encode(intruder)),
        *signed([after, later]),
    ]
    assert verify_encoded([s.value for s in stored]).first_break is not None  # chain alone
    result = verify_encoded(stored, writer=WRITER)
    assert result.first_break is None  # the genuine records are not blamed
    assert not result.ok
    assert [(f.position, f.sequence, f.kind) for f in result.foreign] == [(3, 4, BreakKind.FOREIGN)]
    assert result.head is not None
    assert result.head.hash == later.hash
    assert result.to_json()["foreign"] == [result.foreign[0].to_json()]


def test_a_record_signed_with_another_key_is_foreign() -> None:
    records = chain(3)
    stored = [*signed(records[:2]), *signed(records[2:], Ed25519PrivateKey.generate())]
    result = verify_encoded(stored, writer=WRITER)
    assert [f.position for f in result.foreign] == [2]
    assert "not the auditor's" in result.foreign[0].detail


def test_a_signature_copied_from_another_record_does_not_prove_the_writer() -> None:
    records = chain(3)
    stored = signed(records)
    stored[2] = StoredRecord(stored[2].value, stored[1].signature)
    result = verify_encoded(stored, writer=WRITER)
    assert [f.position for f in result.foreign] == [2]


def test_a_forged_rewrite_is_foreign_from_where_it_starts() -> None:
    records = chain(5)
    forged = recomputed([*records[:2], *records[3:]], 2)
    stored = [*signed(forged[:2]), *(StoredRecord(CODEC.encode(r)) for r in forged[2:])]
    result = verify_encoded(stored, writer=WRITER)
    assert [f.position for f in result.foreign] == [2, 3]


def test_an_altered_signed_record_is_still_a_break_at_that_record() -> None:
    stored = signed(chain(3))
    value = bytearray(stored[1].value)
    index = bytes(value).index(b"court-magistrates") + 2
    value[index] ^= 0x01
    stored[1] = StoredRecord(bytes(value), stored[1].signature)
    result = verify_encoded(stored, writer=WRITER)
    assert result.first_break is not None
    assert result.first_break.position == 1
    assert result.first_break.kind is BreakKind.ALTERED


def test_a_forged_record_in_the_noted_heads_place_is_reported_as_a_rewrite() -> None:
    records = chain(5)
    noted = Head(4, records[3].hash, records[3].source_offset)
    forged = recomputed([*records[:2], *records[3:], *chain(7)[5:]], 2)
    stored = [*signed(forged[:2]), *(StoredRecord(CODEC.encode(r)) for r in forged[2:])]
    result = verify_encoded(stored, writer=WRITER, expect_head=noted)
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.REWRITTEN
    assert result.first_break.position == 3
    assert [f.position for f in result.foreign] == [2, 3, 4, 5]


# -- console actions share the chain -----------------------------------------------------------


def action(n: int, urn: str | None = "05AB1234526") -> ConsoleAction:
    return ConsoleAction(
        action_id=uuid.uuid5(uuid.NAMESPACE_OID, f"action-{n}"),
        action="APPROVE" if n % 2 else "VIEW_EXCEPTION",
        outcome="DONE",
        user_id="bob",
        role="force 05, reviewer",
        rejection_id=str(uuid.uuid5(uuid.NAMESPACE_OID, "rejection")),
        event_id=uuid.uuid5(uuid.NAMESPACE_OID, "event-0"),
        case_urn=urn,
        force="05",
        acted_at=T0 + timedelta(seconds=n),
        recorded_by="exchange-console",
    )


def mixed_chain() -> list[ChainRecord]:
    """Disclosures at offsets 0, 3, 6 of theirs and actions at 0, 1 of theirs, interleaved."""
    records: list[ChainRecord] = []
    previous: ChainRecord | None = None
    inputs: list[tuple[Disclosure | ConsoleAction, int]] = [
        (disclosure(0), 0),
        (action(0), 0),
        (disclosure(1), 3),
        (action(1), 1),
        (disclosure(2), 6),
    ]
    for n, (entry, offset) in enumerate(inputs):
        previous = link(previous, entry, offset, T0 + timedelta(seconds=n))
        records.append(previous)
    return records


def test_the_action_records_canonical_fields_are_every_field_but_the_hash() -> None:
    assert set(ACTION_CANONICAL_FIELDS) == set(ActionAuditRecord.model_fields) - {"hash"}


def test_disclosures_and_actions_chain_into_one_log_that_verifies_as_stored() -> None:
    records = mixed_chain()
    assert [type(r).__name__ for r in records] == [
        "AuditRecord",
        "ActionAuditRecord",
        "AuditRecord",
        "ActionAuditRecord",
        "AuditRecord",
    ]
    assert records[1].previous_hash == records[0].hash  # one chain across the two kinds
    assert [r.sequence for r in records] == [1, 2, 3, 4, 5]
    key = Ed25519PrivateKey.generate()
    stored = [StoredRecord(CODEC.encode(r), sign(key, r.hash)) for r in records]
    result = verify_encoded(stored, writer=key.public_key())
    assert result.ok, result.to_json()
    assert result.head == Head(5, records[-1].hash, 6, Source.DISCLOSURES)
    assert result.to_json()["head"] == {
        "sequence": 5,
        "hash": records[-1].hash,
        "source": "disclosures",
        "source_offset": 6,
    }


def test_a_changed_action_breaks_the_chain_at_that_record() -> None:
    records = mixed_chain()
    changed = records[3].model_copy(
        update={"action": records[3].action.model_copy(update={"user_id": "mallory"})}  # type: ignore[union-attr]
    )
    result = verify([*records[:3], changed, *records[4:]])
    assert result.first_break is not None
    assert (result.first_break.position, result.first_break.kind) == (3, BreakKind.ALTERED)
    removed = verify([*records[:3], *records[4:]])
    assert removed.first_break is not None
    assert removed.first_break.position == 3
    assert removed.first_break.kind is BreakKind.REMOVED_OR_REORDERED


def test_source_offsets_increase_per_source_not_across_sources() -> None:
    records = mixed_chain()
    # Action offset 0 after disclosure offset 0 is fine: each source has its own offsets.
    assert verify(records).ok
    # An action chained twice (same offset of its topic) is caught, whatever came between.
    twice = link(records[-1], action(1), 1, T0)
    result = verify([*records, twice])
    assert result.first_break is not None
    assert result.first_break.position == 5
    assert result.first_break.kind is BreakKind.SOURCE_NOT_INCREASING
    assert "console_actions offset 1 is not after 1" in result.first_break.detail


def test_an_action_record_the_auditor_did_not_sign_is_foreign() -> None:
    records = mixed_chain()
    key = Ed25519PrivateKey.generate()
    stored = [StoredRecord(CODEC.encode(r), sign(key, r.hash)) for r in records]
    intruder = link(records[-1], action(9), 9, T0)
    result = verify_encoded(
        [*stored, StoredRecord(CODEC.encode(intruder))], writer=key.public_key()
    )
    assert not result.ok
    assert result.first_break is None
    assert [(f.position, f.kind) for f in result.foreign] == [(5, BreakKind.FOREIGN)]


def test_a_verifier_that_predates_action_records_reports_them_instead_of_misreading(
    tmp_path: Path,
) -> None:
    """What an older ``cjsx audit verify`` (released schemas without the two new records)
    meets: an unknown schema, a break at that record, never a disclosure read from an
    action's bytes."""
    released = tmp_path / "released"
    shutil.copytree(RELEASED_DIR, released)
    for name in ("uk.gov.cjsx.ActionAuditRecord", "uk.gov.cjsx.ConsoleAction"):
        shutil.rmtree(released / name)
    old = Codec(store=SchemaStore.load(released))
    records = mixed_chain()
    with pytest.raises(CodecError) as raised:
        old.decode_as(CODEC.encode(records[1]), AuditRecord)
    assert raised.value.code is ReasonCode.UNKNOWN_SCHEMA
    result = verify_encoded(encoded(records), old)
    assert result.first_break is not None
    assert (result.first_break.position, result.first_break.kind) == (1, BreakKind.UNDECODABLE)
    with pytest.raises(CodecError):
        decode_link(CODEC, CODEC.encode(action(0)))  # an input is not a link of the log


PINNED_ACTION_CONTENT = (
    '{"action":{"acted_at":1772357400000,"action":"VIEW_EXCEPTION",'
    '"action_id":"ACTION_ID","case_urn":"05AB1234526","correction_event_id":null,'
    '"detail":null,"event_id":"7d37e070-493c-5833-a6bd-c1306571db7b","force":"05",'
    '"outcome":"DONE","recorded_by":"exchange-console","rejection_id":"REJECTION_ID",'
    '"role":"force 05, reviewer","user_id":"bob"},'
    '"previous_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"recorded_at":1772357400000,"sequence":1,"source_offset":0}'
)


def test_the_canonical_form_of_a_known_action_record_is_pinned() -> None:
    record = link(None, action(0), 0, T0)
    expected = PINNED_ACTION_CONTENT.replace(
        "ACTION_ID", str(uuid.uuid5(uuid.NAMESPACE_OID, "action-0"))
    ).replace("REJECTION_ID", str(uuid.uuid5(uuid.NAMESPACE_OID, "rejection")))
    assert canonical_content(record).decode() == expected
    assert record.hash == hashlib.sha256((GENESIS_HASH + expected).encode()).hexdigest()


# -- disclosures derived from the delivery records (AuditRecord v2) ---------------------------

TO_CPS = "cjs.deliver.cps-mersey-cheshire.v1"
TO_COURT = "cjs.deliver.court-magistrates.v1"


def derived_chain() -> list[AuditRecord]:
    """Disclosures read from two delivery topics, three partitions each, as the auditor
    links them: each names the topic partition its offset is on."""
    records: list[AuditRecord] = []
    previous: AuditRecord | None = None
    for n, (topic, partition, offset) in enumerate(
        [(TO_CPS, 0, 4), (TO_COURT, 2, 0), (TO_CPS, 1, 0), (TO_CPS, 0, 5), (TO_COURT, 2, 1)]
    ):
        previous = link(
            previous, disclosure(n), offset, T0, source_topic=topic, source_partition=partition
        )
        records.append(previous)
    return records


def test_a_derived_disclosure_hashes_the_topic_partition_it_was_read_from() -> None:
    records = derived_chain()
    assert verify(records).ok
    content = json.loads(canonical_content(records[1]))
    assert (content["source_topic"], content["source_partition"]) == (TO_COURT, 2)
    # Pointing a record at another partition (or topic) is an alteration.
    for change in ({"source_partition": 1}, {"source_topic": TO_CPS}):
        moved = records[1].model_copy(update=change)
        result = verify([records[0], moved, *records[2:]])
        assert result.first_break is not None
        assert (result.first_break.position, result.first_break.kind) == (1, BreakKind.ALTERED)
    # A record of version 1 (no topic, partition 0) keeps its form: it verifies as written.
    assert "source_topic" not in json.loads(canonical_content(chain(1)[0]))


def test_source_offsets_increase_per_topic_partition() -> None:
    records = derived_chain()
    # Offset 0 of one partition after offset 4 of another is fine.
    assert verify(records).ok
    again = link(records[-1], disclosure(9), 5, T0, source_topic=TO_CPS, source_partition=0)
    result = verify([*records, again])
    assert result.first_break is not None
    assert result.first_break.kind is BreakKind.SOURCE_NOT_INCREASING
    assert f"{TO_CPS} partition 0 offset 5 is not after 5" in result.first_break.detail
    head = verify(records).to_json()["head"]
    assert head == {
        "sequence": 5,
        "hash": records[-1].hash,
        "source": "disclosures",
        "source_offset": 1,
        "source_topic": TO_COURT,
        "source_partition": 2,
    }


def test_every_single_byte_change_of_a_derived_record_is_detected_at_that_record() -> None:
    records = derived_chain()
    stored = encoded(records)
    for flip in (0x01, 0x80):
        for index in range(len(stored[2])):
            changed = bytearray(stored[2])
            changed[index] ^= flip
            result = verify_encoded([*stored[:2], bytes(changed), *stored[3:]])
            assert result.first_break is not None, (index, flip)
            assert result.first_break.position == 2, (index, flip)


def test_a_disclosure_is_derived_only_from_a_delivery_that_says_why() -> None:
    delivery = CODEC.decode_as(_a_delivery_record(), Delivery)
    value = CODEC.encode(delivery)
    derived = disclosure_of(CODEC, value)
    assert derived.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert (derived.purpose, derived.legal_basis, derived.disclosed_by) == (
        delivery.purpose,
        delivery.legal_basis,
        delivery.delivered_by,
    )
    assert (derived.event_id, derived.case_urn, derived.event_type) == (
        delivery.event.envelope.event_id,
        delivery.event.envelope.case_urn,
        delivery.event.avro_name,
    )
    # One that does not say why (as a record of version 1 would not) is refused...
    mute = CODEC.encode(delivery.model_copy(update={"purpose": ""}))
    with pytest.raises(CodecError, match="does not say why"):
        disclosure_of(CODEC, mute)
    # ...and so is anything that is not a delivery.
    with pytest.raises(CodecError, match="is not a delivery"):
        disclosure_of(CODEC, CODEC.encode(chain(1)[0]))


def _a_delivery_record() -> bytes:
    """A delivery as the pipeline writes it (synthetic case)."""
    outcome = builders.exchange().process(builders.record(builders.valid_charge(), 1))
    (value,) = [o.value for o in outcome.outputs if o.topic.startswith("cjs.deliver.cps")]
    return value
