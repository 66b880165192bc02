"""docs/asyncapi.yaml is current and structurally valid AsyncAPI 3.0.

Structure is checked here without the AsyncAPI toolchain (no Node.js in the test run): the
version, every reference resolving, every topic of the catalog having a channel, and every
released schema present with a fingerprint that matches its content.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from infra.registry import load_registry
from infra.topics import TopicCatalog
from schemas.models import EVENT_TYPES
from schemas.store import SchemaStore, crc64_fingerprint
from tools import asyncapi_doc as asyncapi
from tools.generate import ROOT

COMPONENT_KEY = re.compile(r"[a-zA-Z0-9.\-_]+")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / asyncapi.DOC).read_text(encoding="utf-8"))
    return loaded


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_it_is_asyncapi_3(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert set(doc) <= {
        "asyncapi",
        "info",
        "defaultContentType",
        "channels",
        "operations",
        "components",
        "servers",
        "id",
    }
    for section in ("schemas", "messages"):
        for key in doc["components"][section]:
            assert COMPONENT_KEY.fullmatch(key), key


def test_every_channel_message_references_an_existing_component(doc: dict[str, Any]) -> None:
    for name, channel in doc["channels"].items():
        assert channel["messages"], f"channel {name} carries no message"
        for message in channel["messages"].values():
            assert message["$ref"].startswith("#/components/messages/")
            resolve(doc, message["$ref"])


def test_every_message_payload_and_headers_reference_existing_schemas(doc: dict[str, Any]) -> None:
    for message in doc["components"]["messages"].values():
        for part in ("payload", "headers"):
            if part in message:
                target = resolve(doc, message[part]["$ref"])
                assert isinstance(target, dict)


def test_every_operation_references_its_channel_and_that_channels_messages(
    doc: dict[str, Any],
) -> None:
    assert doc["operations"]
    for operation in doc["operations"].values():
        assert operation["action"] in ("send", "receive")
        channel_ref = operation["channel"]["$ref"]
        resolve(doc, channel_ref)
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/")
            resolve(doc, message["$ref"])


def test_every_parameter_in_an_address_is_declared(doc: dict[str, Any]) -> None:
    for channel in doc["channels"].values():
        placeholders = set(re.findall(r"\{(\w+)\}", channel["address"]))
        assert placeholders == set(channel.get("parameters", {}))
        for parameter in channel.get("parameters", {}).values():
            assert parameter["enum"]
            assert all(isinstance(v, str) for v in parameter["enum"])


def test_every_topic_in_the_catalog_has_a_channel(doc: dict[str, Any]) -> None:
    addresses: set[str] = set()
    for channel in doc["channels"].values():
        parameters = channel.get("parameters", {})
        if not parameters:
            addresses.add(channel["address"])
        for name, parameter in parameters.items():
            addresses |= {channel["address"].replace(f"{{{name}}}", v) for v in parameter["enum"]}
    topics = {t.name for t in TopicCatalog(load_registry()).topics()}
    assert len(topics) > 100
    assert topics <= addresses
    assert addresses <= topics


def test_every_released_version_is_a_schema_with_a_matching_fingerprint(
    doc: dict[str, Any],
) -> None:
    store = SchemaStore.load()
    schemas = doc["components"]["schemas"]
    for name in store.names():
        for version in store.versions(name):
            component = schemas[f"{name}.v{version.version}"]
            assert component["schemaFormat"] == "application/vnd.apache.avro+json;version=1.9.0"
            assert crc64_fingerprint(component["schema"]) == version.fingerprint
            assert component["x-cjsx-fingerprint"] == version.fingerprint.hex()


def test_the_ingest_channel_carries_every_event_type(doc: dict[str, Any]) -> None:
    ingest = doc["channels"]["ingest"]
    assert ingest["address"] == "cjs.ingest.{force}.v1"
    assert set(ingest["messages"]) == {t.__name__ for t in EVENT_TYPES}
    for key in ingest["messages"]:
        message = doc["components"]["messages"][key]
        latest = SchemaStore.load().latest(f"uk.gov.cjsx.{key}")
        assert (
            message["payload"]["$ref"]
            == f"#/components/schemas/uk.gov.cjsx.{key}.v{latest.version}"
        )


def test_avro_names_are_split_into_namespace_and_name() -> None:
    schema = {
        "type": "record",
        "name": "a.b.C",
        "fields": [
            {"name": "d", "type": {"type": "enum", "name": "a.b.D", "symbols": ["X"]}},
            {"name": "e", "type": ["null", "a.b.D"]},
        ],
    }
    assert asyncapi.namespaced(schema) == {
        "type": "record",
        "name": "C",
        "namespace": "a.b",
        "fields": [
            {
                "name": "d",
                "type": {"type": "enum", "name": "D", "namespace": "a.b", "symbols": ["X"]},
            },
            {"name": "e", "type": ["null", "a.b.D"]},
        ],
    }
    assert crc64_fingerprint(asyncapi.namespaced(schema)) == crc64_fingerprint(schema)
