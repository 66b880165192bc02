"""Generate ``docs/asyncapi.yaml``: every channel, message and schema in one AsyncAPI 3.0 file.

Built from the topic spec (``infra/topics.toml``), the registry (``infra/registry.toml``) and
the *released* schemas, so a partner sees exactly what is on the wire. Per-force and
per-partner topics are parameterised channels (``cjs.ingest.{force}.v1``) whose parameter
lists every allowed value. Operations are described from the exchange's side (it receives
case events and acknowledgements, and sends receipts, deliveries and rejections). A unit test
fails when the file is stale; regenerate with ``python -m tools.generate asyncapi``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from infra.registry import load_registry
from infra.topics import SPEC_FILE, TopicCatalog, TopicId, TopicTemplate
from schemas.limits import TIME_ATTRIBUTE_SKEW
from schemas.models import EVENT_TYPES
from schemas.store import SchemaStore, SchemaVersion

DOC = Path("docs/asyncapi.yaml")
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING_VERSION = "0.5.0"
HEADERS = "CloudEventsHeaders"
_IDENTIFIER = re.compile(r"[A-Z][A-Za-z0-9]+")

_OPERATIONS: dict[TopicId, tuple[tuple[str, str, str], ...]] = {
    "ingest": (("receive", "receiveCaseEvents", "Force systems publish case-file events."),),
    "receipts": (("send", "sendReceipts", "The exchange tells a force what became of events."),),
    "deliver": (
        ("send", "sendDeliveries", "Each partner receives what it is entitled to."),
        ("receive", "receiveDeliveryDisclosures", "The auditor chains each as a disclosure."),
    ),
    "acks": (("receive", "receiveAcknowledgements", "Partners confirm stored deliveries."),),
    "rejected": (("send", "sendRejectedEvents", "Rejected events, kept for operators."),),
    "console_actions": (
        ("receive", "receiveConsoleActions", "The auditor chains console actions into the log."),
    ),
    "audit": (("send", "sendAuditRecords", "The hash-chained section 62 audit log."),),
    "ticks": (
        ("send", "sendTicks", "The ordering stage's clock."),
        ("receive", "receiveTicks", "Ticks release held events."),
    ),
    "court-ingest": (("receive", "receiveCourtResults", "Court publishers publish results."),),
    "court-receipts": (
        ("send", "sendCourtReceipts", "The exchange tells a court what became of its results."),
    ),
    "force-results": (
        ("send", "sendForceResults", "Each force receives its cases' court results."),
        ("receive", "receiveForceResultDisclosures", "The auditor chains each as a disclosure."),
    ),
    "partner-results": (
        ("send", "sendPartnerResults", "The case's CPS area receives court results."),
        ("receive", "receivePartnerResultDisclosures", "The auditor chains each as one."),
    ),
}
"""(action, operation id, summary) per topic id; a topic not listed gets no operation."""


def namespaced(schema: Any) -> Any:
    """``schema`` with each dotted ``name`` split into ``namespace`` and a short ``name``.

    The released files name types by full name, which Avro allows but AsyncAPI's Avro schema
    does not; both forms have the same parsing canonical form, so the same fingerprint.
    """
    if isinstance(schema, list):
        return [namespaced(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: namespaced(value) for key, value in schema.items()}
    if schema.get("type") in ("record", "enum", "fixed") and "." in schema["name"]:
        namespace, _, short = schema["name"].rpartition(".")
        result["name"], result["namespace"] = short, namespace
    return result


def _schema_key(version: SchemaVersion) -> str:
    return f"{version.name}.v{version.version}"


def _headers_schema() -> dict[str, Any]:
    def text(description: str, **more: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **more}

    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in the Kafka protocol binding, binary mode: "
        "one UTF-8 header per attribute (docs/wire-format.md). On a force's event each must "
        "agree with the value (docs/wire-format.md section 5, HEADER_MISMATCH).",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_subject",
            "ce_time",
            "ce_dataschema",
            "content-type",
        ],
        "properties": {
            "ce_specversion": text("CloudEvents version.", const="1.0"),
            "ce_id": text("Unique id: envelope.event_id (events) or the record's own id."),
            "ce_source": text(
                "Who produced it: /cjs/forces/{force}/systems/{system}, /cjs-exchange, or "
                "/cjs/partners/{partner}."
            ),
            "ce_type": text("Full name of the Avro record, e.g. uk.gov.cjsx.DefendantCharged."),
            "ce_subject": text("Case URN (also the Kafka key)."),
            "ce_time": text(
                "RFC 3339 UTC time with milliseconds; for events envelope.occurred_at (within "
                f"{TIME_ATTRIBUTE_SKEW.total_seconds():g} s).",
                format="date-time",
            ),
            "ce_dataschema": text(
                "The released schema version the value was written with (its fingerprint): "
                "urn:uk.gov.cjsx:schema:{name}:v{n}."
            ),
            "content-type": text("Media type of the value.", const="application/avro"),
        },
    }


def _message_key(template: TopicTemplate) -> str:
    """The message a topic carries when it is not in the Avro contract: named by its spec."""
    first = template.value.split()[0]
    return first if _IDENTIFIER.fullmatch(first) else template.id


def _record_message(name: str, store: SchemaStore, topic_key: str) -> dict[str, Any]:
    versions = store.versions(name)
    latest = versions[-1]
    released = ", ".join(f"v{v.version} (fingerprint {v.fingerprint.hex()})" for v in versions)
    return {
        "name": name.rsplit(".", 1)[-1],
        "title": name,
        "summary": latest.schema.get("doc", ""),
        "description": f"Avro single-object encoding. Released versions: {released}; older "
        "versions are under components.schemas with their version suffix.",
        "contentType": "application/avro",
        "headers": {"$ref": f"#/components/schemas/{HEADERS}"},
        "payload": {"$ref": f"#/components/schemas/{_schema_key(latest)}"},
        "correlationId": {"location": "$message.header#/ce_id"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": topic_key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _opaque_message(template: TopicTemplate) -> dict[str, Any]:
    return {
        "name": _message_key(template),
        "title": _message_key(template),
        "summary": f"{_message_key(template)}: not (yet) a record of the released Avro contract.",
        "description": "The channel descriptions say what each topic carries.",
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": template.key},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _carried(template: TopicTemplate, store: SchemaStore) -> list[str]:
    """Full names of the released records a topic carries (empty when none)."""
    if template.id == "ingest":
        return [t.avro_name for t in EVENT_TYPES]
    name = f"uk.gov.cjsx.{template.value.split()[0]}"
    return [name] if store.versions(name) else []


def _spec_version(path: Path = SPEC_FILE) -> int:
    return int(tomllib.loads(path.read_text())["version"])


def document(catalog: TopicCatalog, store: SchemaStore) -> dict[str, Any]:
    """The AsyncAPI 3.0 document as plain data."""
    registry = catalog.registry
    owners = {
        "force": [f.code for f in registry.forces],
        "partner": [p.id for p in registry.partners],
        "court": [c.id for c in registry.courts],
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for template in catalog.templates:
        names = _carried(template, store)
        refs: dict[str, Any] = {}
        for name in names:
            key = name.rsplit(".", 1)[-1]
            messages.setdefault(key, _record_message(name, store, template.key))
            refs[key] = {"$ref": f"#/components/messages/{key}"}
        if not names:
            key = _message_key(template)
            messages.setdefault(key, _opaque_message(template))
            refs[key] = {"$ref": f"#/components/messages/{key}"}
        channel: dict[str, Any] = {
            "address": (f"{catalog.namespace}." if catalog.namespace else "") + template.name,
            "title": template.id,
            "description": f"{template.description} Key: {template.key}. Value: "
            f"{template.value}. Partitions: {template.partitions}; retention: "
            + ("unlimited." if template.retention_hours < 0 else f"{template.retention_hours} h."),
            "messages": refs,
        }
        if template.per is not None:
            channel["parameters"] = {
                template.per: {
                    "description": f"The {template.per} the topic belongs to "
                    "(infra/registry.toml).",
                    "enum": owners[template.per],
                }
            }
        channels[template.id] = channel
        for action, operation_id, summary in _OPERATIONS.get(template.id, ()):
            operations[operation_id] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{template.id}"},
                "summary": summary,
                "messages": [{"$ref": f"#/channels/{template.id}/messages/{k}"} for k in refs],
            }
    schemas: dict[str, Any] = {HEADERS: _headers_schema()}
    for name in store.names():
        for version in store.versions(name):
            schemas[_schema_key(version)] = {
                "schemaFormat": AVRO_FORMAT,
                "schema": namespaced(version.schema),
                "x-cjsx-fingerprint": version.fingerprint.hex(),
                "x-cjsx-dataschema": version.dataschema,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "cjs-exchange",
            "version": f"topics-v{_spec_version()}.registry-v{registry.version}",
            "description": "Case-file events from the police forces of England and Wales to "
            "the CPS and the courts, on Apache Kafka. Generated by `python -m tools.generate` "
            "from infra/topics.toml, infra/registry.toml and schemas/released; do not edit. "
            "The wire format is described in docs/wire-format.md.",
        },
        "defaultContentType": "application/avro",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, which some AsyncAPI tools do not follow."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(catalog: TopicCatalog | None = None, store: SchemaStore | None = None) -> str:
    """The document as YAML text, stable from run to run."""
    doc = document(catalog or TopicCatalog(load_registry()), store or SchemaStore.load())
    header = "# Generated by `python -m tools.generate`: do not edit.\n"
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def outputs(root: Path) -> dict[Path, str]:
    return {root / DOC: render()}
