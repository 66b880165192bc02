"""The partner's store: each delivery once, a case view folded in order, nothing dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.store import PartnerStore
from producers.simulator import SyntheticForce
from schemas.models import Delivery, MgForm
from tests.support.builders import case, catalog, codec, exchange, record, synthetic_force

COURT = catalog().deliver("court-magistrates")
CPS = catalog().deliver("cps-mersey-cheshire")


def deliveries_to(topic: str, sim: SyntheticForce, advised: bool = True) -> list[Delivery]:
    """A case's life through the real pipeline: what one recipient was delivered."""
    story = case(sim)
    events = [
        sim.charge(story, advised=advised),
        sim.documents(story, [MgForm.MG5, MgForm.MG6D]),
        sim.remand_change(story),
    ]
    x = exchange()
    found: list[Delivery] = []
    for offset, event in enumerate(events):
        for out in x.process(record(event, offset)).outputs:
            if out.topic == topic:
                found.append(codec().decode_as(out.value, Delivery))
    return found


@pytest.fixture
def store(tmp_path: Path) -> PartnerStore:
    return PartnerStore.sqlite(str(tmp_path / "partner.sqlite"))


def test_a_redelivery_is_recognised_and_not_stored_twice(store: PartnerStore) -> None:
    batch = deliveries_to(COURT, synthetic_force())
    assert store.store_many(batch) == [True, True, True]
    assert store.store_many(batch) == [False, False, False]
    assert store.store(batch[0]) is False
    counts = store.counts()
    assert (counts.deliveries, counts.cases, counts.quarantined) == (3, 1, 0)
    assert sorted(store.delivery_ids()) == sorted(str(d.delivery_id) for d in batch)


def test_the_court_view_holds_what_the_court_was_sent_and_no_more(store: PartnerStore) -> None:
    batch = deliveries_to(COURT, synthetic_force())
    store.store_many(batch)
    urn = batch[0].event.envelope.case_urn
    view = store.case(urn)
    assert view is not None
    assert view.charging_advice is None
    assert {d["form"] for d in view.documents} == {"MG5"}  # MG6D was withheld
    assert view.events == 3
    assert view.last_sequence == 3
    (defendant,) = view.defendants.values()
    assert defendant.remand_status == "CONDITIONAL_BAIL"
    assert [e["event"]["envelope"]["sequence"] for e in store.events_of(urn)] == [1, 2, 3]


def test_the_cps_view_has_the_advice_and_every_document(store: PartnerStore) -> None:
    batch = deliveries_to(CPS, synthetic_force())
    store.store_many(batch)
    view = store.case(batch[0].event.envelope.case_urn)
    assert view is not None
    assert view.charging_advice
    assert {d["form"] for d in view.documents} == {"MG5", "MG6D"}


def test_an_unreadable_record_is_quarantined_with_its_reason_and_bytes(
    store: PartnerStore,
) -> None:
    store.quarantine("topic/0/7", "UNDECODABLE: no magic", b"\x00junk")
    store.quarantine("topic/0/7", "UNDECODABLE: no magic", b"\x00junk")  # a redelivery
    assert store.counts().quarantined == 1


def test_the_partner_commands_list_and_show_a_stored_case(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cjsx.cli import cli

    url = f"sqlite:///{tmp_path / 'court.sqlite'}"
    store = PartnerStore(url)
    batch = deliveries_to(COURT, synthetic_force())
    store.store_many(batch)
    store.close()
    urn = batch[0].event.envelope.case_urn
    runner = CliRunner()
    listed = runner.invoke(
        cli, ["partner", "cases", "--partner", "court-magistrates", "--store", url]
    )
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{urn}\t05\t")
    assert listed.output.rstrip().endswith("OPEN\t3")
    shown = runner.invoke(
        cli, ["partner", "show", urn, "--partner", "court-magistrates", "--store", url]
    )
    assert shown.exit_code == 0, shown.output
    assert '"charging_advice": null' in shown.output
    missing = runner.invoke(
        cli, ["partner", "show", "05XX0000024", "--partner", "court-magistrates", "--store", url]
    )
    assert missing.exit_code == 1
    assert "no case 05XX0000024" in missing.output


def test_a_sqlite_store_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """Issue 11, hole 6: the file, its write-ahead log and shared-memory index are 0600, and a
    folder the store creates is 0700, even under umask 022."""
    import os
    import stat

    previous = os.umask(0o022)
    try:
        path = tmp_path / "stores" / "court.sqlite"
        store = PartnerStore.sqlite(str(path))
        store.store_many(deliveries_to(COURT, synthetic_force()))
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode) for p in [path.parent, *path.parent.iterdir()]
        }
        store.close()
    finally:
        os.umask(previous)
    assert modes == {
        "stores": 0o700,
        "court.sqlite": 0o600,
        "court.sqlite-wal": 0o600,
        "court.sqlite-shm": 0o600,
    }


def test_a_store_url_with_a_password_is_refused_before_connecting() -> None:
    """A password in ``--store`` would be in the process's arguments, which any local user
    can read: the command refuses it and says where the password goes instead."""
    from click.testing import CliRunner

    from cjsx.cli import cli

    url = "postgresql+psycopg://court:hunter2@127.0.0.1:1/cases"
    result = CliRunner().invoke(
        cli, ["partner", "cases", "--partner", "court-magistrates", "--store", url]
    )
    assert result.exit_code == 2
    assert "PGPASSWORD" in result.output
