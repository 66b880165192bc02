"""The console's "where is my event" shows each receipt the force got once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cjsx.console import broker
from schemas.models import Receipt
from tests.support.builders import catalog, codec, decoded, exchange, record, valid_charge


def test_a_receipt_sent_twice_is_one_step_of_the_journey(monkeypatch: pytest.MonkeyPatch) -> None:
    charge = valid_charge()
    outputs = exchange().process(record(charge, 3)).outputs
    receipts = [o.value for o in outputs if decoded([o], Receipt)]
    assert len(receipts) == 1
    topics: dict[str, list[bytes]] = {
        catalog().receipts("05"): receipts * 2,  # sent again: same receipt id
        catalog().audit: [],
    }

    def read_all(_runtime: Any, wanted: list[str], _client: Any) -> list[bytes]:
        return [value for topic in wanted for value in topics[topic]]

    monkeypatch.setattr(broker, "_read_all", read_all)
    monkeypatch.setattr(broker, "force_client", lambda _runtime, _force: {})
    runtime: Any = SimpleNamespace(catalog=catalog(), client_config=lambda _who: {})
    steps = broker.timeline(runtime, codec(), ["05"], charge.envelope.case_urn)
    whats = [s.what for s in steps]
    assert whats.count("ACCEPTED") == 1
    deliveries = decoded(outputs, Receipt)[0].deliveries
    assert deliveries
    assert whats.count("DELIVERED") == len(deliveries)
