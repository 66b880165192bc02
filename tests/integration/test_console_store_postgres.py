"""The console's store on a real PostgreSQL server, by URL: the same lifecycle as on SQLite."""

from __future__ import annotations

import pytest

from cjsx.console.store import ConsoleStore, Filters, State, StateError
from tests.integration.test_partner_store_postgres import postgres_url  # noqa: F401 - fixture
from tests.support.builders import synthetic_force, valid_charge
from tests.unit.test_console import (
    UNKNOWN_OFFENCE,
    FakeActionLog,
    rejection_of,
    with_offence_code,
)


def test_console_store_lifecycle_on_postgres(postgres_url: str) -> None:  # noqa: F811
    store = ConsoleStore(postgres_url, record=FakeActionLog())
    try:
        mine = rejection_of(with_offence_code(valid_charge(), UNKNOWN_OFFENCE), "05")
        theirs = rejection_of(
            with_offence_code(valid_charge(synthetic_force("01")), UNKNOWN_OFFENCE), "01"
        )
        junk = rejection_of(b"\xff\x00 not avro", "05", offset=1)
        assert store.add_rejections("rejected", [(0, 0, mine), (0, 1, theirs), (1, 0, junk)]) == 3
        assert store.add_rejections("rejected", [(0, 0, mine)]) == 0
        assert store.positions("rejected") == {0: 2, 1: 1}
        assert [e.rejection_id for e in store.queue(Filters(force="01"))] == [
            str(theirs.rejection_id)
        ]
        assert store.counts_by_code(Filters()) == {"OFFENCE_UNKNOWN": 2, "UNDECODABLE": 1}
        assert store.get(str(junk.rejection_id)).value == junk.value  # type: ignore[union-attr]

        rid = str(mine.rejection_id)
        store.propose(rid, valid_charge(), "alice")
        pending = store.pending(rid)
        assert pending is not None
        with pytest.raises(StateError):
            store.approve(pending.correction_id, "alice")
        store.approve(pending.correction_id, "bob")
        store.published(pending.correction_id, "ingest/0/1", "bob")
        assert store.get(rid).state is State.RESUBMITTED  # type: ignore[union-attr]
        store.dismiss(str(junk.rejection_id), "alice", "sender will resend")
        assert [a.action for a in store.actions(rid)] == [
            "correction proposed",
            "correction approved",
            "resubmitted",
        ]
    finally:
        store.close()
