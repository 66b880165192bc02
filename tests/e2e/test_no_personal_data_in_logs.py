"""Logs never carry personal data from case files (DPA 2018 Part 3; README, logging duty).

Recognisable synthetic people go through the whole path — accepted, rejected and resent —
and no log line of any process (worker, partner subscriber, broker, this test's own clients)
contains their names, dates of birth or addresses.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from consumers.store import PartnerStore
from infra.topics import TopicCatalog
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import SyntheticForce
from schemas.models import Address, DefendantCharged
from streams.reference import StandingData
from tests.support.world import Broker, PartnerProcess, WorkerProcess

GIVEN, FAMILY = "Zebedee", "Quixoticalworth"
BORN = date(1977, 7, 7)
STREET = "17 Marmalade Crescent"
NEEDLES = (GIVEN, FAMILY, STREET, "ZZ9 9ZZ", "1977-07-07", "07/07/1977", "19770707")


def recognisable(event: DefendantCharged) -> DefendantCharged:
    person = event.defendant.model_copy(
        update={
            "given_names": [GIVEN],
            "family_name": FAMILY,
            "date_of_birth": BORN,
            "address": Address(lines=[STREET, "Testtown"], postcode="ZZ9 9ZZ"),
        }
    )
    return event.model_copy(update={"defendant": person})


def test_no_log_line_names_a_person(
    kafka: Broker,
    catalog: TopicCatalog,
    worker: WorkerProcess,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # INFO, the level every process of the exchange runs at (kafka-python's own DEBUG
    # output dumps record bytes; nobody should run a library at DEBUG on case data).
    caplog.set_level(logging.INFO)
    sim = SyntheticForce(force_profile(StandingData.load(), "05"), seed=77)
    good = recognisable(sim.charge(sim.new_case()))
    bad_asn = recognisable(sim.charge(sim.new_case()))
    bad_asn = bad_asn.model_copy(
        update={"defendant": bad_asn.defendant.model_copy(update={"asn": "not-an-asn"})}
    )
    partner = PartnerProcess(kafka, catalog, "court-magistrates", tmp_path / "partner").start()
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap, topics=[catalog.receipts("05")], **kafka.client()
    )
    try:
        with Publisher(
            bootstrap_servers=kafka.bootstrap,
            topic=catalog.ingest("05"),
            **kafka.client("force-05"),
        ) as publisher:
            for event in (good, bad_asn, good):  # accepted, rejected, resent
                publisher.publish(event).get(timeout=30)
        assert watcher.wait_until(
            lambda w: (
                (s := w.statuses.get(good.envelope.event_id)) is not None
                and "court-magistrates" in s.acknowledged_by
                and bad_asn.envelope.event_id in w.statuses
            ),
            timeout=90,
        ), "the events did not go all the way through"
    finally:
        watcher.close()
        partner.stop()
    worker.stop()
    store = PartnerStore(partner.store_url)
    view = store.case(good.envelope.case_urn)
    store.close()
    assert view is not None
    assert FAMILY in next(iter(view.defendants.values())).name  # the data did travel

    logs = {
        "worker": worker.log.read_text(errors="replace"),
        "partner": (tmp_path / "partner" / "court-magistrates.log").read_text(errors="replace"),
        "broker": "".join(
            p.read_text(errors="replace")
            for n in kafka.cluster.nodes
            for p in (n.log_file, n.home / "stdout.log")
            if p.exists()
        ),
        "this test's clients": caplog.text,
    }
    assert all(logs.values()), "every process wrote a log to search"
    leaks = [
        f"{needle!r} in the {name} log"
        for name, text in logs.items()
        for needle in NEEDLES
        if needle in text
    ]
    assert leaks == []
