"""The gateway's OpenAPI 3.1 document, generated from the application's own routes.

Each endpoint carries its operation (``cjsx.gateway.app``); the schemas of its answers come
from the pydantic models it answers with. ``docs/gateway-openapi.json`` is this document, and
a test fails when the checked-in file differs from what the application generates.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema
from starlette.applications import Starlette
from starlette.routing import Route

from cjsx.gateway.app import Accepted, Health, Problem, Receipts, Rejected

CLOUDEVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvents 1.0 event in the exchange's JSON form (docs/wire-format.md "
    "section 4): data is the case-file event, id its envelope.event_id.",
    "required": ["specversion", "type", "source", "id", "subject", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "type": {"type": "string", "examples": ["uk.gov.cjsx.DefendantCharged"]},
        "source": {"type": "string", "examples": ["/cjs/forces/01/systems/niche-rms"]},
        "id": {"type": "string", "format": "uuid"},
        "subject": {"type": "string", "description": "The case URN."},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "dataschema": {"type": "string"},
        "data": {"type": "object"},
    },
}


def document(app: Starlette) -> dict[str, Any]:
    """The OpenAPI document of ``app``: one operation per route and method."""
    _, defs = models_json_schema(
        [(m, "serialization") for m in (Accepted, Rejected, Problem, Receipts, Health)],
        ref_template="#/components/schemas/{model}",
    )
    schemas = {**defs.get("$defs", {}), "CloudEvent": CLOUDEVENT_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for route in app.routes:
        operation = getattr(getattr(route, "endpoint", None), "openapi", None)
        if not isinstance(route, Route) or operation is None:
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                paths.setdefault(route.path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cjs-exchange CloudEvents gateway",
            "version": "1",
            "description": "How a force system without Kafka publishes case-file events and "
            "reads its receipts (README: Connect a force system; ADR 0008).",
        },
        "servers": [{"url": "https://127.0.0.1:8443"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A force's token from `cjsx gateway add-token`.",
                }
            },
        },
    }


def render(app: Starlette) -> str:
    """The document as it is checked in: indented JSON with a final newline."""
    return json.dumps(document(app), indent=2, ensure_ascii=False) + "\n"
