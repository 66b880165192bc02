"""Deduplication (streams/dedupe.py): exact resends, content resends, replays and the window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import CaseEvent, DefendantCharged, RemandStatus
from streams.dedupe import (
    Deduplicator,
    Duplicate,
    DuplicateKind,
    Sighting,
    content_fingerprint,
)
from streams.state import DictStore
from tests.support.builders import (
    CROWN,
    NOW,
    WINDOW,
    synthetic_force,
    valid_charge,
    with_defendant,
    with_envelope,
    with_hearing,
)

P1, P2, P3 = "cjs.ingest.05.v1/0/1", "cjs.ingest.05.v1/0/2", "cjs.ingest.05.v1/1/3"
_BASE = valid_charge()


def dedup() -> Deduplicator:
    return Deduplicator(DictStore(), WINDOW)


def resent(event: CaseEvent) -> CaseEvent:
    """The same fact under a new event id."""
    return with_envelope(event, event_id=uuid.uuid4())


def test_first_sighting_is_new_and_is_remembered() -> None:
    store = DictStore()
    event = valid_charge()
    assert Deduplicator(store, WINDOW).check(event, P1, NOW) is Sighting.NEW
    # One key per case holds both kinds of sighting: one state write per event.
    assert list(store.data) == [f"seen:{event.envelope.case_urn}"]


def test_exact_resend_at_another_position_is_an_event_id_duplicate() -> None:
    d, event = dedup(), valid_charge()
    d.check(event, P1, NOW)
    assert d.check(event, P2, NOW + timedelta(hours=1)) == Duplicate(
        DuplicateKind.EVENT_ID, event.envelope.event_id
    )


def test_same_content_under_a_new_id_is_a_content_duplicate_of_the_original() -> None:
    d, event = dedup(), valid_charge()
    d.check(event, P1, NOW)
    again = resent(event)
    assert d.check(again, P2, NOW) == Duplicate(DuplicateKind.CONTENT, event.envelope.event_id)


def test_replay_of_the_same_position_is_processed_again() -> None:
    d, event = dedup(), valid_charge()
    assert d.check(event, P1, NOW) is Sighting.NEW
    assert d.check(event, P1, NOW + timedelta(minutes=5)) is Sighting.REPLAY
    assert d.check(event, P1, NOW + timedelta(minutes=6)) is Sighting.REPLAY


def test_a_duplicate_is_not_remembered_as_an_original() -> None:
    d, event = dedup(), valid_charge()
    d.check(event, P1, NOW)
    again = resent(event)
    expected = Duplicate(DuplicateKind.CONTENT, event.envelope.event_id)
    assert d.check(again, P2, NOW) == expected
    # The resend sent once more (or replayed) still points at the first original.
    assert d.check(again, P3, NOW) == expected
    assert d.check(again, P2, NOW) == expected


def test_different_content_is_new() -> None:
    d, sim = dedup(), synthetic_force()
    first, second = valid_charge(sim), valid_charge(sim)
    assert d.check(first, P1, NOW) is Sighting.NEW
    assert d.check(second, P2, NOW) is Sighting.NEW


@pytest.mark.parametrize("kind", ["id", "content"])
def test_entries_older_than_the_window_are_treated_as_absent(kind: str) -> None:
    d, event = dedup(), valid_charge()
    d.check(event, P1, NOW)
    later = event if kind == "id" else resent(event)
    at_edge = NOW + WINDOW
    assert isinstance(d.check(later, P2, at_edge), Duplicate)
    past = at_edge + timedelta(milliseconds=1)
    assert d.check(later, P3, past) is Sighting.NEW


def test_a_new_sighting_after_the_window_restarts_the_window() -> None:
    d, event = dedup(), valid_charge()
    d.check(event, P1, NOW)
    late = NOW + WINDOW + timedelta(days=1)
    assert d.check(event, P2, late) is Sighting.NEW
    assert d.check(event, P3, late + timedelta(days=1)) == Duplicate(
        DuplicateKind.EVENT_ID, event.envelope.event_id
    )


# -- the fingerprint ---------------------------------------------------------------------------

VOLATILE: list[dict[str, Any]] = [
    {"event_id": uuid.uuid4()},
    {"published_at": NOW + timedelta(hours=3)},
    {"sequence": 7},
    {"correlation_id": uuid.uuid4()},
    {"causation_id": uuid.uuid4()},
]


@pytest.mark.parametrize("change", VOLATILE, ids=lambda c: next(iter(c)))
def test_fields_a_resend_changes_do_not_change_the_fingerprint(change: dict[str, Any]) -> None:
    event = valid_charge()
    assert content_fingerprint(with_envelope(event, **change)) == content_fingerprint(event)


def _business_changes(event: DefendantCharged) -> dict[str, CaseEvent]:
    return {
        "occurred_at": with_envelope(event, occurred_at=NOW - timedelta(hours=1)),
        "case_urn": with_envelope(event, case_urn="05AM9999924"),
        "system": with_envelope(event, system="another-rms"),
        "family_name": with_defendant(event, family_name="Otherly"),
        "court": with_hearing(event, court_ou=CROWN),
        "remand_status": event.model_copy(
            update={
                "remand_status": RemandStatus.REMANDED_IN_CUSTODY
                if event.remand_status is not RemandStatus.REMANDED_IN_CUSTODY
                else RemandStatus.UNCONDITIONAL_BAIL
            }
        ),
        "offence_wording": event.model_copy(
            update={"offences": [event.offences[0].model_copy(update={"wording": "Other"})]}
        ),
        "charging_advice": event.model_copy(update={"charging_advice": "Charge."}),
    }


def test_business_fields_change_the_fingerprint() -> None:
    event = valid_charge()
    changed = _business_changes(event)
    prints = {name: content_fingerprint(e) for name, e in changed.items()}
    assert content_fingerprint(event) not in prints.values()
    assert len(set(prints.values())) == len(prints)


def test_fingerprint_is_a_sha256_hex_digest_and_deterministic() -> None:
    event = valid_charge()
    fp = content_fingerprint(event)
    assert len(fp) == 64
    assert set(fp) <= set("0123456789abcdef")
    assert content_fingerprint(event.model_copy(deep=True)) == fp


@settings(max_examples=50, deadline=None)
@given(
    published=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    sequence=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    correlation=st.none() | st.uuids(),
    causation=st.none() | st.uuids(),
    event_id=st.uuids(),
)
def test_property_fingerprint_ignores_every_volatile_field(
    published: datetime,
    sequence: int,
    correlation: uuid.UUID | None,
    causation: uuid.UUID | None,
    event_id: uuid.UUID,
) -> None:
    event = _BASE
    other = with_envelope(
        event,
        published_at=published,
        sequence=sequence,
        correlation_id=correlation,
        causation_id=causation,
        event_id=event_id,
    )
    assert content_fingerprint(other) == content_fingerprint(event)


# -- a model-based property over streams of sightings --------------------------------------

_SIM = synthetic_force(seed=99)
_CONTENTS = [valid_charge(_SIM) for _ in range(3)]
# Each content under two ids: (content index, variant) -> event.
_POOL = {(c, v): (e if v == 0 else resent(e)) for c, e in enumerate(_CONTENTS) for v in range(2)}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(_POOL)), min_size=1, max_size=20))
def test_property_one_original_per_content_and_replays_are_stable(
    arrivals: list[tuple[int, int]],
) -> None:
    d = dedup()
    first_pass: list[Duplicate | Sighting] = []
    original: dict[int, uuid.UUID] = {}
    for offset, key in enumerate(arrivals):
        event = _POOL[key]
        result = d.check(event, f"t/0/{offset}", NOW + timedelta(seconds=offset))
        first_pass.append(result)
        content = key[0]
        if result is Sighting.NEW:
            assert content not in original, "a content was accepted twice"
            original[content] = event.envelope.event_id
        else:
            assert isinstance(result, Duplicate)
            assert result.original_event_id == original[content]
            same_id = event.envelope.event_id == original[content]
            assert result.kind is (DuplicateKind.EVENT_ID if same_id else DuplicateKind.CONTENT)
    assert set(original) == {key[0] for key in arrivals}

    # A restarted worker re-reads every record: originals replay, duplicates stay duplicates.
    later = NOW + timedelta(hours=1)
    replayed = [d.check(_POOL[key], f"t/0/{i}", later) for i, key in enumerate(arrivals)]
    assert replayed == [Sighting.REPLAY if r is Sighting.NEW else r for r in first_pass]


# -- forgetting a sighting of an event refused later ------------------------------------------


def test_forget_undoes_the_sighting_of_a_refused_record() -> None:
    store = DictStore()
    d, event = Deduplicator(store, WINDOW), valid_charge()
    assert d.check(event, P1, NOW) is Sighting.NEW
    d.forget(event, P1)
    assert store.data == {}
    # A corrected resend (new id, same content) is new, not a duplicate of the refused one...
    corrected = resent(event)
    assert d.check(corrected, P2, NOW) is Sighting.NEW
    # ...and a replay of the refused record is then the corrected one's duplicate, not a replay.
    assert d.check(event, P1, NOW) == Duplicate(DuplicateKind.CONTENT, corrected.envelope.event_id)


def test_forget_leaves_entries_made_by_other_records() -> None:
    store = DictStore()
    d, event = Deduplicator(store, WINDOW), valid_charge()
    d.check(event, P1, NOW)
    before = dict(store.data)
    d.forget(event, P2)  # the exact resend at P2 was a duplicate: it made no entries
    assert store.data == before
    assert d.check(event, P2, NOW) == Duplicate(DuplicateKind.EVENT_ID, event.envelope.event_id)
