"""The hot path's outputs, encoded from plain datums and spliced event bodies, are byte for
byte what encoding their pydantic models gives (``schemas/splice.py``, ``streams/outputs.py``).
"""

from __future__ import annotations

import copy
import io
import uuid
from collections import Counter
from typing import Any

import pytest
from fastavro import schemaless_reader

from schemas.cloudevents import EXCHANGE_SOURCE, to_kafka
from schemas.codec import HEADER_SIZE, Codec
from schemas.ids import derived_id
from schemas.models import CaseEvent, Delivery, OrderingFlag, Receipt, ReceiptStatus
from schemas.reasons import Reason, ReasonCode
from schemas.splice import SplicedWriter, inline
from schemas.store import SchemaStore, _version, default_store
from streams.enrich import enrich
from streams.outputs import DeliveryTerms, EventBodies, Output, OutputFactory, reason_records
from streams.reference import StandingData
from streams.route import load_policy, project
from tests.support.builders import (
    HOLD,
    NOW,
    FixedClock,
    catalog,
    exchange,
    record,
    synthetic_force,
    tick_record,
    valid_charge,
)
from tests.support.results import court_record, results_for

CODEC = Codec()
FACTORY = OutputFactory(CODEC)
STANDING = StandingData.load()


def many_events() -> list[CaseEvent]:
    """Every event type a force publishes, several of each."""
    sim = synthetic_force("05", seed=11)
    made: list[CaseEvent] = []
    while len(made) < 300:
        made += sim.case_story()
    return made


def delivery_both_ways(event: CaseEvent, kind: str) -> tuple[Any, Any] | None:
    rules = load_policy().for_kind(kind)
    seen = project(event, rules)
    if seen is None:
        return None
    enrichment = enrich(event, STANDING, None)
    terms = DeliveryTerms(
        delivery_id=derived_id(event.envelope.event_id, kind),
        recipient=f"{kind}-partner",
        ordering=OrderingFlag.RELEASED_AFTER_GAP,
        policy_version=3,
        purpose=rules.purpose,
        legal_basis=rules.legal_basis,
        delivered_by="exchange-worker",
        now=NOW.replace(microsecond=123_999),
    )
    bodies = FACTORY.bodies(event, CODEC.encode(event))
    datum = enrichment.to_avro()
    spliced = FACTORY.delivery(
        "t",
        event=seen,
        body=bodies.of(seen),
        enrichment=enrichment,
        enrichment_datum=datum,
        terms=terms,
    )
    modelled = FACTORY.delivery(
        "t", event=seen, body=None, enrichment=enrichment, enrichment_datum=datum, terms=terms
    )
    return spliced, modelled


def test_every_output_of_the_pipeline_is_what_its_decoded_model_encodes_to() -> None:
    """Receipts, deliveries and court results' deliveries, held and released, from plain
    datums and spliced bodies: decoding each and encoding the model gives the same bytes."""
    clock = FixedClock()
    ex = exchange(clock)
    outputs: list[Output] = []
    charge = valid_charge()
    sim = synthetic_force("05", seed=3)
    story = [e for _ in range(20) for e in sim.case_story()]
    for event in [charge, *story[1:], story[0]]:  # one out of order: held, then released
        outputs += ex.process(record(event)).outputs
    outputs += ex.process(court_record(results_for(charge))).outputs
    clock.advance(HOLD * 2)
    for partition in range(catalog().ingest_partitions):
        outputs += ex.tick(tick_record(partition)).outputs
    kinds = Counter()
    for output in outputs:
        model = CODEC.decode(output.value)
        kinds[type(model).__name__] += 1
        assert CODEC.encode(model) == output.value, type(model).__name__
    assert {"Receipt", "Delivery", "ResultDelivery"} <= set(kinds), kinds


def test_every_event_type_is_spliced_into_a_delivery() -> None:
    names = {type(e).__name__ for e in many_events()}
    assert len(names) >= 6, names
    for event in many_events():
        assert FACTORY.deliveries.splices(event.avro_name), event.avro_name


@pytest.mark.parametrize("kind", ["cps", "court"])
def test_a_spliced_delivery_is_the_bytes_its_model_encodes_to(kind: str) -> None:
    compared = 0
    for event in many_events():
        both = delivery_both_ways(event, kind)
        if both is None:
            continue
        spliced, modelled = both
        assert spliced.value == modelled.value, type(event).__name__
        assert spliced.headers == modelled.headers
        assert spliced.key == modelled.key
        decoded = CODEC.decode(spliced.value)
        assert isinstance(decoded, Delivery)
        assert decoded.event == project(event, load_policy().for_kind(kind))
        compared += 1
    assert compared > 100


def test_the_event_as_it_arrived_reuses_the_input_body_and_a_projection_is_encoded_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    court = load_policy().for_kind("court")
    event = next(e for e in many_events() if (seen := project(e, court)) is not None and seen != e)
    seen = project(event, court)
    assert seen is not None
    value = CODEC.encode(event)
    writer = SplicedWriter(default_store(), Delivery.avro_name)
    encoded: list[str] = []
    encode_body = writer.encode_body

    def counted(name: str, datum: dict[str, Any]) -> bytes:
        encoded.append(name)
        return encode_body(name, datum)

    monkeypatch.setattr(writer, "encode_body", counted)
    bodies = EventBodies(writer, event, value)
    assert bodies.of(event) == value[HEADER_SIZE:]
    assert encoded == []  # the input's own body
    first = bodies.of(seen)
    assert bodies.of(seen) is first
    assert encoded == [event.avro_name]  # one encoding for the projection, however many ask
    assert first != value[HEADER_SIZE:]


def test_a_receipt_from_its_datum_is_the_bytes_its_model_encodes_to() -> None:
    event_id = uuid.uuid4()
    reasons = [Reason.of(ReasonCode.NO_RECIPIENT, "x.y", "no partner", "ask someone")]
    for status, kwargs in [
        (ReceiptStatus.ACCEPTED, {"deliveries": ["cps-a", "court-b"]}),
        (ReceiptStatus.REJECTED, {"reasons": reasons, "occurrence": "t:0:9"}),
        (ReceiptStatus.DUPLICATE, {"original_event_id": uuid.uuid4(), "recipient": "p"}),
    ]:
        made = FACTORY.receipt(
            "t",
            event_id=event_id,
            case_urn="05AB1234567",
            force="05",
            status=status,
            now=NOW.replace(microsecond=987_654),
            **kwargs,  # type: ignore[arg-type]
        )
        model = Receipt(
            receipt_id=derived_id(
                event_id,
                status.value,
                str(kwargs.get("recipient", "")),
                str(kwargs.get("occurrence", "")),
            ),
            event_id=event_id,
            case_urn="05AB1234567",
            force="05",
            status=status,
            reasons=reason_records(kwargs.get("reasons", [])),  # type: ignore[arg-type]
            original_event_id=kwargs.get("original_event_id"),
            recipient=kwargs.get("recipient"),  # type: ignore[arg-type]
            issued_at=NOW.replace(microsecond=987_654),
            deliveries=kwargs.get("deliveries", []),  # type: ignore[arg-type]
        )
        value, headers = to_kafka(
            CODEC,
            model,
            id=str(model.receipt_id),
            source=EXCHANGE_SOURCE,
            subject="05AB1234567",
            time=model.issued_at,
        )
        assert (made.value, made.headers) == (value, headers), status


def with_extra_field(schema: dict[str, Any], name: str) -> None:
    """Add an optional field to the record ``name`` wherever ``schema`` defines it."""
    if isinstance(schema, dict):
        if schema.get("type") == "record" and schema.get("name") == name:
            schema["fields"].append({"name": "extra", "type": "string", "default": ""})
        for value in schema.values():
            with_extra_field(value, name)
    elif isinstance(schema, list):
        for value in schema:
            with_extra_field(value, name)


def store_with_new_event_version(*, delivery_too: bool) -> SchemaStore:
    """The shipped schemas plus a DefendantCharged v2 (one more field), and, if
    ``delivery_too``, a Delivery release that embeds it."""
    store = default_store()
    name = "uk.gov.cjsx.DefendantCharged"
    versions = [v for n in store.names() for v in store.versions(n)]
    charged = copy.deepcopy(store.latest(name).schema)
    with_extra_field(charged, name)
    versions.append(_version(name, 2, charged))
    if delivery_too:
        delivery = store.latest(Delivery.avro_name)
        embedded = copy.deepcopy(delivery.schema)
        with_extra_field(embedded, name)
        versions.append(_version(delivery.name, delivery.version + 1, embedded))
    return SchemaStore(versions)


def test_an_event_whose_newest_schema_the_delivery_does_not_embed_is_not_spliced() -> None:
    writer = SplicedWriter(store_with_new_event_version(delivery_too=False), Delivery.avro_name)
    assert not writer.splices("uk.gov.cjsx.DefendantCharged")
    assert writer.splices("uk.gov.cjsx.CaseFileSubmitted")


def test_an_input_written_with_an_older_schema_is_encoded_again_not_reused() -> None:
    store = store_with_new_event_version(delivery_too=True)
    writer = SplicedWriter(store, Delivery.avro_name)
    name = "uk.gov.cjsx.DefendantCharged"
    assert writer.splices(name)
    event = next(e for e in many_events() if e.avro_name == name)
    old_value = CODEC.encode(event)  # v1, the shipped writer
    factory = OutputFactory(Codec(store))
    bodies = factory.bodies(event, old_value)
    body = bodies.of(event)
    assert body is not None
    assert body != old_value[HEADER_SIZE:]
    enrichment = enrich(event, STANDING, None)
    value = writer.encode(
        {
            "delivery_id": uuid.uuid4(),
            "recipient": "cps-x",
            "policy_version": 1,
            "ordering": "IN_ORDER",
            "enrichment": enrichment.to_avro(),
        },
        name,
        body,
        {"delivered_at": NOW, "purpose": "p", "legal_basis": "l", "delivered_by": "w"},
    )
    assert value[2:HEADER_SIZE] == writer.version.fingerprint
    datum = schemaless_reader(
        io.BytesIO(value[HEADER_SIZE:]), writer.version.parsed, None, return_record_name=True
    )
    branch, event_datum = datum["event"]
    assert branch == name
    assert event_datum["extra"] == ""
    assert event_datum["envelope"]["event_id"] == event.envelope.event_id


def test_inline_makes_references_and_definitions_equal() -> None:
    referenced = {
        "type": "record",
        "name": "uk.gov.cjsx.Outer",
        "fields": [
            {"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}},
            {"name": "b", "type": "E"},
        ],
        "namespace": "uk.gov.cjsx",
    }
    fields = inline(referenced)["fields"]
    assert fields[0]["type"] == fields[1]["type"]
    assert fields[1]["type"]["name"] == "uk.gov.cjsx.E"
