"""Our binary-mode headers conform: the ``cloudevents`` package's own Kafka binding reads them.

Headers are written by hand on the hot path (schemas/cloudevents.py); here the SDK parses what
``Publisher.encode`` produces, with both its current binding (``cloudevents.core``, which
validates every attribute against the 1.0 spec) and its v1 binding.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1 import kafka as v1_kafka
from cloudevents.v1.conversion import to_dict
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from producers.publisher import Publisher
from schemas.cloudevents import force_source
from schemas.codec import Codec
from schemas.models import EVENT_TYPES, CaseEvent
from tests.support.contract import named, one_of_each_event


def publisher() -> Publisher:
    """A Publisher without a Kafka client: ``encode`` needs only the codec."""
    instance = object.__new__(Publisher)
    instance.topic = "cjs.ingest.01.v1"
    instance.codec = Codec()
    return instance


def message(event: CaseEvent) -> tuple[bytes, bytes, dict[str, bytes]]:
    key, value, headers = publisher().encode(event)
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), "a header appears twice"
    return key, value, dict(headers)


def expected_attributes(event: CaseEvent) -> dict[str, object]:
    env = event.envelope
    return {
        "specversion": "1.0",
        "id": str(env.event_id),
        "source": force_source(env.force, env.system),
        "type": event.avro_name,
        "subject": env.case_urn,
        "datacontenttype": "application/avro",
        "dataschema": f"urn:uk.gov.cjsx:schema:{event.avro_name}:v1",
        "partitionkey": env.case_urn,
    }


def check_core_binding(event: CaseEvent) -> None:
    key, value, headers = message(event)
    parsed = core_kafka.from_binary(
        core_kafka.KafkaMessage(headers=headers, key=key, value=value), JSONFormat()
    )
    attributes = parsed.get_attributes()
    time = attributes.pop("time")
    assert isinstance(time, datetime)
    assert time == event.envelope.occurred_at
    assert attributes == expected_attributes(event)
    data = parsed.get_data()
    assert data == value
    assert isinstance(data, bytes)
    assert Codec().decode(data) == event


@pytest.mark.parametrize("event", one_of_each_event(), ids=lambda e: type(e).__name__)
def test_the_sdk_core_kafka_binding_reads_our_headers(event: CaseEvent) -> None:
    check_core_binding(event)


@pytest.mark.parametrize("event", one_of_each_event(), ids=lambda e: type(e).__name__)
def test_the_sdk_v1_kafka_binding_reads_our_headers(event: CaseEvent) -> None:
    key, value, headers = message(event)
    parsed = v1_kafka.from_binary(
        v1_kafka.KafkaMessage(headers=headers, key=key, value=value),
        data_unmarshaller=lambda body: body,
    )
    attributes = to_dict(parsed)
    data = attributes.pop("data")
    time = attributes.pop("time")
    assert time == event.envelope.occurred_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    assert attributes == {**expected_attributes(event), "partitionkey": key}
    assert data == value


def test_every_event_type_is_covered() -> None:
    assert {type(e) for e in one_of_each_event()} == set(EVENT_TYPES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_events_have_conformant_headers(data: st.DataObject) -> None:
    """Any event with a case URN and a system conforms (the spec wants subject non-empty)."""
    model = data.draw(st.sampled_from(EVENT_TYPES))
    event = data.draw(named(model.avro_name))
    assume(event.envelope.case_urn and event.envelope.system and event.envelope.force)
    check_core_binding(event)
